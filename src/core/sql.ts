/**
 * SQL shared by the SQLite (libSQL) and PostgreSQL persisters: Burr's table, the kit's indexes,
 * and every query but the dialect-specific insert. Only validated identifiers are spliced in;
 * every value is a bound parameter.
 */
import type { LoadQuery, StoredRecord, StoredRow } from './base.js';
import type { PersistedStatus } from './types.js';
import { validateIdentifier } from './validation.js';

export type SqlValue = string | number | bigint | null;
export interface SqlStatement {
  sql: string;
  args: SqlValue[];
}

export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /** Placeholder for the n-th parameter (1-based). */
  param(n: number): string;
  /** Column type of `state`: TEXT in SQLite, JSONB in PostgreSQL (as Burr). */
  readonly stateColumnType: string;
  /** Expression that reads `state` as JSON text, so the driver cannot round big integers. */
  readonly stateAsText: string;
  /** Expression that reads `created_at` as text. */
  readonly createdAtAsText: string;
  /** Tiebreak among rows with equal `created_at` (insertion order where the database has one). */
  readonly insertionOrder: string;
  /** Statement that answers one row when the table exists. */
  tableExists(table: string): SqlStatement;
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  param: () => '?',
  stateColumnType: 'TEXT',
  stateAsText: 'state',
  createdAtAsText: 'created_at',
  insertionOrder: 'rowid',
  tableExists: (table) => ({ sql: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", args: [table] }),
};

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  param: (n) => `$${n}`,
  stateColumnType: 'JSONB',
  stateAsText: 'state::text',
  // to_char, not ::text: the text form of a timestamp follows the session's DateStyle.
  createdAtAsText: `to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US')`,
  insertionOrder: 'sequence_id',
  tableExists: (table) => ({ sql: 'SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1', args: [table] }),
};

/** A result row as the drivers give it: by column name. */
export type SqlRow = Record<string, unknown>;

/** Query builder for one table of Burr's layout. */
export class BurrTable {
  readonly name: string;
  readonly dialect: SqlDialect;
  readonly #quoted: string;

  constructor(dialect: SqlDialect, tableName: string) {
    this.dialect = dialect;
    this.name = validateIdentifier('tableName', tableName);
    this.#quoted = `"${this.name}"`;
  }

  /** Burr's DDL (table and `created_at` index) plus the kit's indexes. */
  createStatements(): { table: string[]; uniqueIndex: string } {
    const t = this.#quoted;
    return {
      table: [
        `CREATE TABLE IF NOT EXISTS ${t} (
  partition_key TEXT DEFAULT '',
  app_id TEXT NOT NULL,
  sequence_id INTEGER NOT NULL,
  position TEXT NOT NULL,
  status TEXT NOT NULL,
  state ${this.dialect.stateColumnType} NOT NULL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (partition_key, app_id, sequence_id, position)
)`,
        `CREATE INDEX IF NOT EXISTS "${this.name}_created_at_index" ON ${t} (created_at)`,
        // Serves listAppIds and load(partition, null) without scanning other partitions.
        `CREATE INDEX IF NOT EXISTS "${this.#indexName('_partition_created_at_index')}" ON ${t} (partition_key, created_at)`,
      ],
      // One record per (partition, app, sequence id): Burr's key also has `position`, which would let a conflicting save in.
      uniqueIndex: `CREATE UNIQUE INDEX IF NOT EXISTS "${this.#indexName('_key_index')}" ON ${t} (partition_key, app_id, sequence_id)`,
    };
  }

  /**
   * The kit's index names. PostgreSQL cuts identifiers at 63 bytes, which would give every index
   * of a long table name the same name (and `IF NOT EXISTS` would then skip all but one), so a
   * long name is shortened and made unique with a hash of the full table name.
   */
  #indexName(suffix: string): string {
    const full = `${this.name}${suffix}`;
    if (full.length <= 63) return full;
    let hash = 2166136261;
    for (let i = 0; i < this.name.length; i++) hash = Math.imul(hash ^ this.name.charCodeAt(i), 16777619) >>> 0;
    const tag = `_${hash.toString(16).padStart(8, '0')}`;
    return `${this.name.slice(0, 63 - suffix.length - tag.length)}${tag}${suffix}`;
  }

  tableExists(): SqlStatement {
    return this.dialect.tableExists(this.name);
  }

  #selectList(): string {
    const d = this.dialect;
    return `partition_key, app_id, sequence_id, position, status, ${d.stateAsText} AS state, ${d.createdAtAsText} AS created_at`;
  }

  /** The row at a key, for telling an identical retry from a conflict. */
  selectAtKey(key: { partitionKey: string; appId: string; sequenceId: number }, firstParam = 1, condition = ''): SqlStatement {
    const p = (i: number) => this.dialect.param(firstParam + i);
    return {
      sql: `SELECT ${this.#selectList()} FROM ${this.#quoted} WHERE partition_key = ${p(0)} AND app_id = ${p(1)} AND sequence_id = ${p(2)}${condition ? ` AND ${condition}` : ''} LIMIT 1`,
      args: [key.partitionKey, key.appId, key.sequenceId],
    };
  }

  /** `load`: latest of an app, one sequence id, or the partition's most recent. */
  select(query: LoadQuery): SqlStatement {
    const p = this.dialect.param;
    if (query.appId === null) {
      return {
        sql: `SELECT ${this.#selectList()} FROM ${this.#quoted} WHERE partition_key = ${p(1)} ORDER BY created_at DESC, ${this.dialect.insertionOrder} DESC LIMIT 1`,
        args: [query.partitionKey],
      };
    }
    if (query.sequenceId !== undefined) {
      return this.selectAtKey({ partitionKey: query.partitionKey, appId: query.appId, sequenceId: query.sequenceId });
    }
    return {
      sql: `SELECT ${this.#selectList()} FROM ${this.#quoted} WHERE partition_key = ${p(1)} AND app_id = ${p(2)} ORDER BY sequence_id DESC LIMIT 1`,
      args: [query.partitionKey, query.appId],
    };
  }

  /** Distinct app ids of a partition, most recently saved first. */
  listAppIds(partitionKey: string, limit: number | undefined): SqlStatement {
    const p = this.dialect.param;
    const order = `MAX(created_at) DESC, MAX(${this.dialect.insertionOrder}) DESC, app_id`;
    return {
      sql: `SELECT app_id FROM ${this.#quoted} WHERE partition_key = ${p(1)} GROUP BY app_id ORDER BY ${order}${limit === undefined ? '' : ` LIMIT ${p(2)}`}`,
      args: limit === undefined ? [partitionKey] : [partitionKey, limit],
    };
  }

  /** Deletes every step of an app. */
  deleteApp(partitionKey: string, appId: string): SqlStatement {
    const p = this.dialect.param;
    return { sql: `DELETE FROM ${this.#quoted} WHERE partition_key = ${p(1)} AND app_id = ${p(2)}`, args: [partitionKey, appId] };
  }

  /** Insert values in column order, for the dialect-specific insert. */
  insertColumns(): string {
    return 'partition_key, app_id, sequence_id, position, status, state, created_at';
  }

  static recordArgs(record: StoredRecord): SqlValue[] {
    return [record.partitionKey, record.appId, record.sequenceId, record.position, record.status, record.stateJson];
  }

  /** A driver row (by column name) as a stored row. */
  static toStoredRow(row: SqlRow): StoredRow {
    return {
      partitionKey: row.partition_key == null ? '' : String(row.partition_key),
      appId: String(row.app_id),
      sequenceId: Number(row.sequence_id),
      position: String(row.position),
      status: String(row.status) as PersistedStatus,
      stateJson: String(row.state),
      createdAt: row.created_at instanceof Date ? row.created_at : String(row.created_at),
    };
  }
}


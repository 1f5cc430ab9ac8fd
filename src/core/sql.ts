/**
 * SQL shared by the SQLite (libSQL) and PostgreSQL persisters: Burr's table, the kit's indexes,
 * and every query but the dialect-specific insert. Only validated identifiers are spliced in;
 * every value is a bound parameter.
 */
import type { AppsQuery, HistoryQuery, LoadQuery, PruneQuery, StoredAppRow, StoredHistoryRow, StoredRecord, StoredRow } from './base.js';
import type { PageMarker } from './cursor.js';
import { FORK_KEY } from './lineage.js';
import { toSqlTimestamp } from './time.js';
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
  /** A timestamp expression as text that {@link toIsoTimestamp} reads. */
  timestampText(expression: string): string;
  /** The physical row identity (SQLite `rowid`, PostgreSQL `ctid`): one row, even among Burr's duplicate positions. */
  readonly rowIdentity: string;
  /** The state's top-level fork lineage as JSON text, or NULL. */
  readonly forkAsText: string;
  /** Collation clause that orders text by code point (UTF-8 bytes). */
  readonly byteOrder: string;
  /** `created_at` is before the bound UTC instant (`YYYY-MM-DD HH:MM:SS.sss`), whatever form Burr stored it in. */
  createdBefore(param: string): string;
  /**
   * listApps' snapshot: the column it bounds (`column <= snapshot`), its newest value now, and
   * the cast of a snapshot read back from a cursor.
   */
  readonly appsSnapshot: { column: string; newest(table: string, partitionParam: string): string; cast: string; text(expression: string): string };
  /** Cast of a bound timestamp text. */
  readonly timestampCast: string;
  /** A FROM-clause join that brings the row of `app`'s highest sequence id as `l`. */
  latestRow(table: string, partitionParam: string, app: string): string;
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  param: (n) => `?${n}`,
  stateColumnType: 'TEXT',
  stateAsText: 'state',
  createdAtAsText: 'created_at',
  insertionOrder: 'rowid',
  tableExists: (table) => ({ sql: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", args: [table] }),
  timestampText: (expression) => expression,
  rowIdentity: 'rowid',
  // instr first: a byte scan, so only states that hold the key are parsed as JSON.
  forkAsText: `CASE WHEN instr(state, '"${FORK_KEY}"') > 0 THEN state -> '$.${FORK_KEY}' END`,
  // SQLite's BINARY collation compares UTF-8 bytes, i.e. code points.
  byteOrder: '',
  // strftime reads Burr's 'YYYY-MM-DD HH:MM:SS' and the kit's '….sss' (and ISO forms) into one text form.
  createdBefore: (param) => `strftime('%Y-%m-%d %H:%M:%f', created_at) < ${param}`,
  // rowid: SQLite serializes writers, so a row saved after the snapshot has a higher rowid.
  appsSnapshot: { column: 'rowid', newest: (table) => `(SELECT MAX(rowid) FROM ${table})`, cast: '', text: (expression) => expression },
  timestampCast: '',
  // No LATERAL in SQLite; `rowid = (subquery)` is a rowid lookup.
  latestRow: (table, partition, app) =>
    `JOIN ${table} AS l ON l.rowid = (SELECT x.rowid FROM ${table} AS x WHERE x.partition_key = ${partition} AND x.app_id = ${app} ORDER BY x.sequence_id DESC LIMIT 1)`,
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
  timestampText: (expression) => `to_char(${expression}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`,
  rowIdentity: 'ctid',
  forkAsText: `(state -> '${FORK_KEY}')::text`,
  byteOrder: ' COLLATE "C"',
  createdBefore: (param) => `created_at < ${param}::timestamp`,
  // created_at: the kit's insert writes it strictly after the partition's newest row (see postgres.ts).
  appsSnapshot: {
    column: 'created_at',
    newest: (table, partitionParam) => `(SELECT max(created_at) FROM ${table} WHERE partition_key = ${partitionParam})`,
    cast: '::timestamp',
    text: (expression) => `to_char(${expression}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`,
  },
  timestampCast: '::timestamp',
  latestRow: (table, partition, app) =>
    `CROSS JOIN LATERAL (SELECT x.sequence_id, x.position, x.status, x.created_at FROM ${table} AS x WHERE x.partition_key = ${partition} AND x.app_id = ${app} ORDER BY x.sequence_id DESC LIMIT 1) AS l`,
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
        // Serves listApps (each app's newest save): the grouping reads this index, never a row and its state.
        `CREATE INDEX IF NOT EXISTS "${this.#indexName('_partition_app_created_at_index')}" ON ${t} (partition_key, app_id, created_at)`,
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

  /** Replaces one step's state column (materialize: a delta row becomes the Burr row it stands for). */
  replaceState(partitionKey: string, appId: string, sequenceId: number, stateJson: string): SqlStatement {
    const p = this.dialect.param;
    return {
      sql: `UPDATE ${this.#quoted} SET state = ${p(1)} WHERE partition_key = ${p(2)} AND app_id = ${p(3)} AND sequence_id = ${p(4)}`,
      args: [stateJson, partitionKey, appId, sequenceId],
    };
  }

  /** Deletes every step of an app. */
  deleteApp(partitionKey: string, appId: string): SqlStatement {
    const p = this.dialect.param;
    return { sql: `DELETE FROM ${this.#quoted} WHERE partition_key = ${p(1)} AND app_id = ${p(2)}`, args: [partitionKey, appId] };
  }

  /** A page of an app's steps, highest sequence id first; the state only `withState`, else the fork lineage. */
  listHistory(query: HistoryQuery): SqlStatement {
    const d = this.dialect;
    const args: SqlValue[] = [];
    const bind = (value: SqlValue) => (args.push(value), d.param(args.length));
    const extra = query.withState ? `${d.stateAsText} AS state` : `${d.forkAsText} AS forked_from`;
    const before = query.before === undefined ? '' : ` AND sequence_id < ${bind(query.before)}`;
    const [partition, app] = [bind(query.partitionKey), bind(query.appId)];
    let from = query.from === undefined ? '' : ` AND sequence_id >= ${bind(query.from)}`;
    if (query.latestBlock !== undefined && query.before === undefined) {
      // Only the newest row's block (delta-mode latest loads): the subquery is the key's last index entry.
      // Spliced, not bound: a validated integer (libSQL binds JS numbers as REAL, which would not divide as integers).
      const size = Number.isSafeInteger(query.latestBlock) && query.latestBlock > 0 ? String(query.latestBlock) : '1';
      from += ` AND sequence_id >= (SELECT (MAX(x.sequence_id) / ${size}) * ${size} FROM ${this.#quoted} AS x WHERE x.partition_key = ${partition} AND x.app_id = ${app})`;
    }
    const where = `partition_key = ${partition} AND app_id = ${app}${before}${from}`;
    return {
      sql: `SELECT sequence_id, position, status, ${d.createdAtAsText} AS created_at, ${extra} FROM ${this.#quoted} WHERE ${where} ORDER BY sequence_id DESC LIMIT ${bind(query.limit)}`,
      args,
    };
  }

  /**
   * A page of listApps. Each app is placed by its newest save among the rows at or before the
   * snapshot (`appsSnapshot.column <= snapshot`): marker (newest created_at, newest
   * insertionOrder), the order of {@link listAppIds}; app id breaks what is left. The latest
   * step's fields are read now, for the page's apps only. The first page computes the snapshot
   * in the same statement and returns it in every row.
   */
  listApps(query: AppsQuery): SqlStatement {
    const d = this.dialect;
    const t = this.#quoted;
    const snap = d.appsSnapshot;
    const args: SqlValue[] = [];
    const bind = (value: SqlValue) => (args.push(value), d.param(args.length));
    const partition = bind(query.partitionKey);
    const snapshot = query.snapshot === undefined ? snap.newest(t, partition) : `${bind(markerPart(query.snapshot, 0))}${snap.cast}`;
    let after = '';
    if (query.after) {
      // Numbered placeholders: each part of the marker is bound once and named twice.
      const at = `${bind(markerPart(query.after.marker, 0))}${d.timestampCast}`;
      const order = bind(Number(markerPart(query.after.marker, 1)));
      after = ` WHERE mc < ${at} OR (mc = ${at} AND (mo < ${order} OR (mo = ${order} AND app_id > ${bind(query.after.appId)})))`;
    }
    // SQLite's created_at may be NULL (Burr's column has a default, not NOT NULL): order it last, as listAppIds does.
    const newest = d.name === 'sqlite' ? "COALESCE(MAX(created_at), '')" : 'MAX(created_at)';
    const sql = `WITH s AS (SELECT ${snapshot} AS at),
m AS (
  SELECT app_id, ${newest} AS mc, MAX(${d.insertionOrder}) AS mo FROM ${t}
  WHERE partition_key = ${partition} AND ${snap.column} <= (SELECT at FROM s) GROUP BY app_id
),
page AS (SELECT app_id, mc, mo FROM m${after} ORDER BY mc DESC, mo DESC, app_id LIMIT ${bind(query.limit)})
SELECT page.app_id, ${d.timestampText('page.mc')} AS marker_at, page.mo AS marker_order, l.sequence_id, l.position, l.status,
  ${d.timestampText('l.created_at')} AS created_at, (SELECT ${snap.text('at')} FROM s) AS snapshot
FROM page ${d.latestRow(t, partition, 'page.app_id')}
ORDER BY page.mc DESC, page.mo DESC, page.app_id`;
    return { sql, args };
  }

  /** Partition keys after `after` (code point order, which is UTF-16 order outside U+E000–U+FFFF vs astral). */
  listPartitionKeys(limit: number, after: string | undefined): SqlStatement {
    const d = this.dialect;
    const p = d.param;
    // `>= ''` when there is no cursor: the same index range, and Burr's NULL keys (unreachable by the kit) stay out.
    return {
      sql: `SELECT partition_key FROM ${this.#quoted} WHERE partition_key${d.byteOrder} ${after === undefined ? '>=' : '>'} ${p(1)} GROUP BY partition_key ORDER BY partition_key${d.byteOrder} LIMIT ${p(2)}`,
      args: [after ?? '', limit],
    };
  }

  /**
   * Deletes the steps prune asks for, in one statement: never an app's latest sequence id; with
   * keepLast, only beyond each app's last keepLast rows; with olderThan, only rows saved before it.
   */
  prune(query: PruneQuery): SqlStatement {
    const d = this.dialect;
    const args: SqlValue[] = [];
    const bind = (value: SqlValue) => (args.push(value), d.param(args.length));
    const scope: string[] = [];
    if (query.partitionKey !== undefined) scope.push(`partition_key = ${bind(query.partitionKey)}`);
    if (query.appId !== undefined) scope.push(`app_id = ${bind(query.appId)}`);
    const conditions = ['sequence_id < top_sequence_id'];
    if (query.keepLast !== undefined) conditions.push(`place > ${bind(query.keepLast)}`);
    if (query.olderThan !== undefined) conditions.push(d.createdBefore(bind(toSqlTimestamp(query.olderThan))));
    const id = d.rowIdentity;
    const sql = `DELETE FROM ${this.#quoted} WHERE ${id} IN (
  SELECT rid FROM (
    SELECT ${id} AS rid, sequence_id, created_at,
      ROW_NUMBER() OVER (PARTITION BY partition_key, app_id ORDER BY sequence_id DESC) AS place,
      MAX(sequence_id) OVER (PARTITION BY partition_key, app_id) AS top_sequence_id
    FROM ${this.#quoted}${scope.length ? ` WHERE ${scope.join(' AND ')}` : ''}
  ) AS ranked
  WHERE ${conditions.join(' AND ')}
)`;
    return { sql, args };
  }

  /** A listHistory row. */
  static toHistoryRow(row: SqlRow): StoredHistoryRow {
    const history: StoredHistoryRow = {
      sequenceId: Number(row.sequence_id),
      position: String(row.position),
      status: String(row.status) as PersistedStatus,
      createdAt: row.created_at instanceof Date ? row.created_at : String(row.created_at),
    };
    if (row.state !== undefined) history.stateJson = String(row.state);
    history.forkedFromJson = row.forked_from == null ? null : String(row.forked_from);
    return history;
  }

  /** A listApps row: the marker is [newest created_at as text, newest insertion order]. */
  static toAppRow(row: SqlRow): StoredAppRow {
    return {
      appId: String(row.app_id),
      latestSequenceId: Number(row.sequence_id),
      position: String(row.position),
      status: String(row.status) as PersistedStatus,
      updatedAt: row.created_at instanceof Date ? row.created_at : String(row.created_at),
      marker: [row.marker_at == null ? '' : String(row.marker_at), Number(row.marker_order)],
    };
  }

  /** The snapshot a listApps page was read at, as the cursor carries it. */
  static appsSnapshot(rows: SqlRow[], query: AppsQuery): PageMarker {
    if (query.snapshot !== undefined) return query.snapshot;
    const value = rows[0]?.snapshot;
    // No row: the listing is empty and no cursor is made, so any snapshot will do.
    if (value == null) return 0;
    return typeof value === 'number' || typeof value === 'string' ? value : Number(value);
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


/** One part of a marker (a scalar marker is its own first part). */
function markerPart(marker: PageMarker, index: number): string | number {
  const part = Array.isArray(marker) ? marker[index] : index === 0 ? marker : undefined;
  if (part === undefined) throw new TypeError('a listApps cursor marker of another backend');
  return part;
}

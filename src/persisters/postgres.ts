/**
 * PostgreSQL persister over any of four drivers, through one narrow query interface: Neon's
 * `neon()` SQL-over-HTTP function (Workers, Vercel Edge, Deno), Neon's WebSocket `Pool`/`Client`,
 * `pg`'s `Pool`/`Client` (servers), and PGlite (in process, also in the browser). Same table as
 * Burr's `PostgreSQLPersister` (`state JSONB`), so Burr (Python) and this persister share a
 * database.
 *
 * @example
 * ```ts
 * import { PostgreSQLPersister } from 'burr-edge/postgres';
 * // Neon over HTTP: one fetch per save, load and list; no sockets, so it runs in a Worker.
 * const persister = PostgreSQLPersister.fromValues({ connectionString: env.DATABASE_URL });
 * await persister.initialize();
 * await persister.save({ partitionKey: 'user-1', appId: 'chat-1', sequenceId: 0, position: 'start', state: { count: 0 }, status: 'completed' });
 * const latest = await persister.load('user-1', 'chat-1');
 * ```
 */
import {
  BaseStatePersister,
  defaultErrorKind,
  type AppsQuery,
  type BasePersisterOptions,
  type ErrorKind,
  type HistoryQuery,
  type InsertOutcome,
  type LoadQuery,
  type PruneQuery,
  type StoredAppsPage,
  type StoredHistoryRow,
  type StoredRecord,
  type StoredRow,
} from '../core/base.js';
import { InvalidArgumentError, SerializationError } from '../core/errors.js';
import { LazyClient } from '../core/lazy.js';
import { BurrTable, postgresDialect, type SqlRow, type SqlStatement } from '../core/sql.js';
import { LONE_SURROGATE, jsonTextHasNul } from '../core/validation.js';

/** What a query answers, as every supported driver gives it: rows as objects keyed by column. */
export interface PgQueryResultLike {
  rows: ArrayLike<unknown>;
}

/**
 * The slice of a PostgreSQL client this persister uses: `query(text, params)` with `$n`
 * placeholders. `pg`'s `Pool` and (connected) `Client`, Neon's WebSocket `Pool` and `Client`,
 * and PGlite satisfy it as they are.
 */
export interface PgQueryable {
  query(text: string, params: unknown[]): PromiseLike<PgQueryResultLike>;
}

/** The slice of Neon's `neon()` HTTP query function this persister uses (adapted to {@link PgQueryable}). */
export interface NeonHttpQueryFunctionLike {
  (strings: TemplateStringsArray, ...params: never[]): unknown;
  query(text: string, params: unknown[], options: { arrayMode: false; fullResults: true }): PromiseLike<PgQueryResultLike>;
  /** Several queries as one transaction in one HTTP request (used by conditional saves). */
  transaction(queries: never[], options: { arrayMode: false; fullResults: true }): PromiseLike<unknown>;
}

/** A pool (`pg` or Neon `Pool`): a conditional save checks out one connection for its transaction. */
interface PgPoolLike extends PgQueryable {
  connect(): Promise<PgQueryable & { release(error?: Error | boolean): void }>;
  totalCount: number;
}

/** Any client the constructor takes. */
export type PostgresClient = PgQueryable | NeonHttpQueryFunctionLike;

/** Which Neon transport `fromValues` builds. */
export type NeonTransport = 'http' | 'websocket';

/** Options of `new PostgreSQLPersister({...})`: a client you made (dependency injection). */
export interface PostgreSQLPersisterOptions extends BasePersisterOptions {
  /**
   * A Neon `neon()` function, a Neon `Pool`/`Client`, a `pg` `Pool`/connected `Client`, a PGlite
   * instance — or a function that makes one on first use.
   */
  client: PostgresClient | (() => Promise<PostgresClient>);
  /** @default 'burr_state' */
  tableName?: string;
  /** End the client (`end()`, or PGlite's `close()`) in `close()`. `fromValues` sets it; an injected client stays yours. @default false */
  ownsClient?: boolean;
}

/** Options of `PostgreSQLPersister.fromValues({...})`: plain values; the persister builds and owns a Neon client. */
export interface PostgreSQLFromValues extends BasePersisterOptions {
  /** `postgres://user:password@host/db`, e.g. Neon's pooled connection string. */
  connectionString: string;
  /** @default 'burr_state' */
  tableName?: string;
  /**
   * `http`: Neon's `neon()` (one HTTPS request per query; Workers, Vercel Edge, Deno, Node).
   * `websocket`: Neon's `Pool` (a session over WebSocket; on Node 20 set
   * `neonConfig.webSocketConstructor` first). In a Worker, make a WebSocket persister per request.
   * @default 'http'
   */
  transport?: NeonTransport;
}

/** Burr's column type and our write: `created_at` is a zone-less TIMESTAMP holding UTC, whatever the session's time zone. */
const NOW_UTC = "(now() AT TIME ZONE 'UTC')";
/** Two-key advisory lock namespace for `initialize` (arbitrary, fixed: "burr" in ASCII). */
const INIT_LOCK = 0x62757272;

/** A single connection's transactions must not interleave: conditional saves on one client take turns. */
const connectionTurns = new WeakMap<object, Promise<unknown>>();

/**
 * Burr's `PostgreSQLPersister` over Neon (HTTP or WebSocket), `pg` or PGlite. One round trip per
 * save, load, list, history page, listing page, partition page, deleteApp and prune;
 * `initialize` is one statement. A conditional save (`expectedSequenceId`) is one round trip on
 * Neon HTTP and PGlite, three on a socket connection (`pg`, Neon WebSocket): see `storageInsert`.
 *
 * What PostgreSQL's JSONB cannot hold is refused before sending: strings with U+0000 or a lone
 * UTF-16 surrogate (`SerializationError`). JSONB keeps numbers as `numeric`: `-0` comes back as
 * `0`, and a float written in exponent form from 1e21 up comes back as an exact integer (`bigint`),
 * as Burr's Python gets an `int`.
 *
 * @example
 * ```ts
 * import { neon } from '@neondatabase/serverless';
 * import pg from 'pg';
 * import { PGlite } from '@electric-sql/pglite';
 * new PostgreSQLPersister({ client: neon(env.DATABASE_URL) });            // Workers, Vercel Edge
 * new PostgreSQLPersister({ client: new pg.Pool({ connectionString }) }); // a server
 * new PostgreSQLPersister({ client: new PGlite('idb://burr') });          // the browser
 * ```
 */
export class PostgreSQLPersister extends BaseStatePersister {
  protected readonly backendName = 'postgres';
  protected override readonly supportsExpectedSequenceId = true;
  readonly #table: BurrTable;
  readonly #quoted: string;
  readonly #ownsClient: boolean;
  readonly #client: LazyClient<PgQueryable>;
  /** What was given, for `close()` (`end` / `close` live there, not on the HTTP adapter). */
  #raw: unknown;

  /** Wraps a client you made; `close()` leaves it open unless `ownsClient` is set. Throws `InvalidArgumentError` for a bad table name or client. */
  constructor(options: PostgreSQLPersisterOptions) {
    super(options);
    const ctx = { backend: 'postgres', operation: 'construct' } as const;
    const client = options?.client;
    if (!client || (typeof client !== 'function' && typeof (client as PgQueryable).query !== 'function')) {
      throw new InvalidArgumentError('client', 'a neon() function, a Neon or pg Pool/Client, or PGlite is required', ctx);
    }
    this.#table = new BurrTable(postgresDialect, options.tableName ?? 'burr_state');
    this.#quoted = `"${this.#table.name}"`;
    this.#ownsClient = options.ownsClient === true;
    if (isNeonHttp(client) || typeof client !== 'function') {
      this.#raw = client;
      this.#client = new LazyClient<PgQueryable>(adapt(client));
    } else {
      // A factory. (A neon() function is a function too: told apart by its `query` method above.)
      this.#client = new LazyClient<PgQueryable>(async () => {
        const made = await client();
        this.#raw = made;
        return adapt(made);
      });
    }
  }

  /**
   * Builds a Neon client from a connection string, as Burr's `from_values` builds a psycopg2
   * connection. `@neondatabase/serverless` is imported on first use.
   */
  static fromValues(values: PostgreSQLFromValues): PostgreSQLPersister {
    const { connectionString, tableName, transport = 'http', ...rest } = values ?? ({} as PostgreSQLFromValues);
    const ctx = { backend: 'postgres', operation: 'construct' } as const;
    if (typeof connectionString !== 'string' || connectionString === '') throw new InvalidArgumentError('connectionString', 'a PostgreSQL connection string is required', ctx);
    if (transport !== 'http' && transport !== 'websocket') throw new InvalidArgumentError('transport', `must be 'http' or 'websocket', got ${JSON.stringify(transport)}`, ctx);
    const client = async (): Promise<PostgresClient> => {
      const driver = await import('@neondatabase/serverless');
      if (transport === 'websocket') return new driver.Pool({ connectionString }) as unknown as PgQueryable;
      return driver.neon(connectionString) as unknown as NeonHttpQueryFunctionLike;
    };
    return new PostgreSQLPersister({ ...rest, client, tableName, ownsClient: true });
  }

  /** Alias of {@link fromValues}, as Burr's persisters have both. */
  static fromConfig(values: PostgreSQLFromValues): PostgreSQLPersister {
    return PostgreSQLPersister.fromValues(values);
  }

  /** The table this persister reads and writes (validated identifier). */
  get tableName(): string {
    return this.#table.name;
  }

  protected get storageTarget(): string {
    return `table ${this.#table.name}`;
  }

  async #query(statement: SqlStatement): Promise<SqlRow[]> {
    const db = await this.#client.get();
    const result = await db.query(statement.sql, statement.args);
    return Array.from(result.rows as ArrayLike<SqlRow>);
  }

  /**
   * One statement, so one round trip on every transport (a DO block runs where a multi-statement
   * string would not: Neon's HTTP API and PGlite's `query` use the extended protocol).
   */
  protected async storageInitialize(): Promise<void> {
    const { table, uniqueIndex } = this.#table.createStatements();
    const name = this.#table.name; // a validated identifier: safe inside the literals below
    await this.#query({
      sql: `DO $burr_edge$
BEGIN
  -- Concurrent CREATE TABLE IF NOT EXISTS can fail with a duplicate pg_type row: serialize them.
  PERFORM pg_advisory_xact_lock(${INIT_LOCK}, hashtext(current_schema() || '.${name}'));
  ${table.join(';\n  ')};
  BEGIN
    ${uniqueIndex};
  EXCEPTION WHEN unique_violation THEN
    -- A table Burr filled may hold two positions for one sequence id: keep its data, go without the index.
    NULL;
  END;
END
$burr_edge$`,
      args: [],
    });
  }

  protected async storageIsInitialized(): Promise<boolean> {
    return (await this.#query(this.#table.tableExists())).length > 0;
  }

  /** Rejects what PostgreSQL cannot store, before anything is sent. */
  protected override checkRecord(record: StoredRecord): void {
    const ctx = this.context('save');
    for (const [argument, value] of [['partitionKey', record.partitionKey], ['appId', record.appId], ['position', record.position]] as const) {
      if (value.includes('\u0000')) throw new InvalidArgumentError(argument, 'contains U+0000 (NUL), which PostgreSQL text cannot hold', ctx);
    }
    if (jsonTextHasNul(record.stateJson)) {
      throw new SerializationError("the state holds a string with U+0000 (NUL), which PostgreSQL's JSONB cannot store", ctx);
    }
    if (jsonTextHasLoneSurrogate(record.stateJson)) {
      throw new SerializationError("the state holds a string with a lone UTF-16 surrogate, which PostgreSQL's JSONB cannot store", ctx);
    }
  }

  /**
   * One statement: insert unless the key is taken (NOT EXISTS for a table without the kit's
   * unique index, ON CONFLICT DO NOTHING for a concurrent writer), and in the same round trip
   * read what holds the key. JSONB equality is decided by the database, so a retry whose state
   * PostgreSQL normalized (key order, `1.0`, `-0`, `1e21`) is still recognized as identical.
   *
   * With `expectedSequenceId` the insert also requires the app's latest sequence id to be the
   * expected one. Alone that is not atomic in READ COMMITTED: two saves expecting the same step
   * with different sequence ids both pass the condition against their statement's snapshot. So
   * the statement runs after a transaction-scoped advisory lock on (table, partition, app) taken
   * by an earlier statement of its transaction: its snapshot is taken once the lock is held,
   * i.e. after the previous holder committed (see {@link #conditional}).
   */
  protected async storageInsert(record: StoredRecord): Promise<InsertOutcome> {
    const t = this.#quoted;
    const key = 'partition_key = $1 AND app_id = $2 AND sequence_id = $3';
    const expects = record.expectedSequenceId !== undefined;
    const app = `SELECT max(sequence_id) FROM ${t} WHERE partition_key = $1::text AND app_id = $2::text`;
    const statement: SqlStatement = {
      // The state is parsed to jsonb once (in `v`): PostgreSQL folds each `$6::text::jsonb` of
      // the statement into a constant at planning, which would parse a large state four times.
      sql: `WITH v AS (SELECT $6::text::jsonb AS state), ins AS (
  INSERT INTO ${t} (${this.#table.insertColumns()})
  -- Strictly after the partition's last save, so recency never ties (a clock of coarse
  -- resolution, such as PGlite's, would otherwise order two quick saves arbitrarily).
  SELECT $1::text, $2::text, $3::integer, $4::text, $5::text, v.state,
    GREATEST(${NOW_UTC}, (SELECT max(created_at) FROM ${t} WHERE partition_key = $1::text) + interval '1 microsecond')
  FROM v
  WHERE NOT EXISTS (SELECT 1 FROM ${t} WHERE ${key})${expects ? ` AND (${app}) IS NOT DISTINCT FROM $7::integer` : ''}
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::integer AS inserted, e.position, e.status,
  CASE WHEN e.state = v.state THEN NULL ELSE e.state::text END AS state,
  (e.state = v.state) AS same_state${expects ? `, (${app}) AS latest` : ''}
FROM v LEFT JOIN ${t} AS e ON e.partition_key = $1 AND e.app_id = $2 AND e.sequence_id = $3
ORDER BY (e.position = $4 AND e.status = $5 AND e.state = v.state) DESC NULLS LAST
LIMIT 1`,
      args: expects ? [...BurrTable.recordArgs(record), record.expectedSequenceId ?? null] : BurrTable.recordArgs(record),
    };
    const [row] = expects ? await this.#conditional(record, statement) : await this.#query(statement);
    if (row && Number(row.inserted) === 1) return { inserted: true };
    const latest = expects ? (row?.latest == null ? null : Number(row.latest)) : undefined;
    const refusal = expects ? { latestSequenceId: latest } : {};
    if (row && row.position != null) return { inserted: false, existing: this.#existing(record, row), ...refusal };
    // The expectation failed and the key is free: nothing more to read.
    if (expects && latest !== record.expectedSequenceId) return { inserted: false, existing: null, ...refusal };
    // The key is taken by a row committed after this statement's snapshot (a concurrent writer
    // won the unique index): read it now. The rare second round trip the budget allows.
    const [late] = await this.#query({
      sql: `SELECT position, status, CASE WHEN state = $4::text::jsonb THEN NULL ELSE state::text END AS state, (state = $4::text::jsonb) AS same_state
FROM ${t} WHERE ${key}
ORDER BY (position = $5 AND status = $6 AND state = $4::text::jsonb) DESC LIMIT 1`,
      args: [record.partitionKey, record.appId, record.sequenceId, record.stateJson, record.position, record.status],
    });
    return { inserted: false, existing: late ? this.#existing(record, late) : null };
  }

  /**
   * Runs a conditional insert after the app's advisory lock, in one transaction, by the cheapest
   * means the client has:
   * - Neon HTTP: `transaction([lock, insert])`, one HTTP request;
   * - PGlite: the statement alone (one session that runs one statement at a time: nothing can
   *   commit between its snapshot and its insert);
   * - a pool (`pg`, Neon WebSocket): one checked-out connection, three round trips:
   *   `BEGIN; SELECT pg_advisory_xact_lock(…)` (one simple-protocol message), the insert, `COMMIT`;
   * - one connection (`pg` / Neon `Client`): the same three, taking turns with this process's
   *   other conditional saves on it; inside the caller's open transaction (`getTransactionStatus()`
   *   is `'T'`) the lock and the insert only (two), and the caller's COMMIT publishes both.
   */
  async #conditional(record: StoredRecord, insert: SqlStatement): Promise<SqlRow[]> {
    const db = await this.#client.get();
    const raw = this.#raw;
    const [k1, k2] = lockKeys(this.#table.name, record.partitionKey, record.appId);
    // Two integers this process computed, never a caller's text: safe to splice, so BEGIN and the
    // lock travel as one simple-protocol message (which takes no bound parameters).
    const lock = `SELECT pg_advisory_xact_lock(${k1}, ${k2})`;
    if (isNeonHttp(raw)) {
      const options = { arrayMode: false, fullResults: true } as const;
      const queries = [raw.query(lock, [], options), raw.query(insert.sql, insert.args, options)] as never[];
      const results = (await raw.transaction(queries, options)) as PgQueryResultLike[];
      return Array.from((results[1]?.rows ?? []) as ArrayLike<SqlRow>);
    }
    if (isSingleSession(raw)) return this.#query(insert);
    const inTransaction = async (connection: PgQueryable, open: boolean): Promise<SqlRow[]> => {
      if (open) {
        await connection.query(lock, []);
        return Array.from((await connection.query(insert.sql, insert.args)).rows as ArrayLike<SqlRow>);
      }
      await connection.query(`BEGIN; ${lock}`, []);
      try {
        const rows = Array.from((await connection.query(insert.sql, insert.args)).rows as ArrayLike<SqlRow>);
        await connection.query('COMMIT', []);
        return rows;
      } catch (error) {
        await Promise.resolve(connection.query('ROLLBACK', [])).catch(() => undefined);
        throw error;
      }
    };
    if (isPool(raw)) {
      const connection = await raw.connect();
      let broken: Error | undefined;
      try {
        return await inTransaction(connection, false);
      } catch (error) {
        // A connection whose ROLLBACK may not have run must not go back to the pool.
        broken = error instanceof Error ? error : new Error(String(error));
        throw error;
      } finally {
        connection.release(broken);
      }
    }
    const turnOf = (raw ?? db) as object;
    const previous = connectionTurns.get(turnOf) ?? Promise.resolve();
    const status = (raw as { getTransactionStatus?: () => unknown } | undefined)?.getTransactionStatus;
    const turn = previous.catch(() => undefined).then(() => inTransaction(db, typeof status === 'function' && status.call(raw) === 'T'));
    connectionTurns.set(turnOf, turn);
    return turn;
  }

  /** The record at the key; its state text is ours when the database found the two JSONB values equal. */
  #existing(record: StoredRecord, row: SqlRow): StoredRecord {
    const same = row.same_state === true || row.same_state === 't';
    return {
      partitionKey: record.partitionKey,
      appId: record.appId,
      sequenceId: record.sequenceId,
      position: String(row.position),
      status: String(row.status) as StoredRecord['status'],
      stateJson: same ? record.stateJson : String(row.state),
    };
  }

  protected async storageSelect(query: LoadQuery): Promise<StoredRow | null> {
    const [row] = await this.#query(this.#table.select(query));
    return row ? BurrTable.toStoredRow(row) : null;
  }

  protected async storageListAppIds(partitionKey: string, limit: number | undefined): Promise<string[]> {
    return (await this.#query(this.#table.listAppIds(partitionKey, limit))).map((row) => String(row.app_id));
  }

  /** Deletes every saved step of one app. One round trip. */
  protected override async storageDeleteApp(key: string, app: string): Promise<void> {
    await this.#query(this.#table.deleteApp(key, app));
  }

  /** One UPDATE of the state column. */
  protected override async storageReplaceState(partitionKey: string, appId: string, sequenceId: number, stateJson: string): Promise<void> {
    await this.#query(this.#table.replaceState(partitionKey, appId, sequenceId, stateJson));
  }

  /** One query: the page's rows by sequence id, newest first. */
  protected override async storageListHistory(query: HistoryQuery): Promise<StoredHistoryRow[]> {
    return (await this.#query(this.#table.listHistory(query))).map(BurrTable.toHistoryRow);
  }

  /**
   * One query per page. Markers are (newest created_at, newest sequence id) of each app among
   * the partition's rows with `created_at <=` the snapshot (the partition's newest created_at when
   * the listing began). Exact when every save that commits during the listing was written by
   * this kit and started its statement after the first page was read: the kit writes created_at
   * strictly after the newest it sees, so such a save lands after the snapshot. A save already
   * in flight while the first page was read, or one of Burr's (`CURRENT_TIMESTAMP`, the
   * transaction's start and the session's time zone), can land at or before it and show up.
   */
  protected override async storageListApps(query: AppsQuery): Promise<StoredAppsPage> {
    const rows = await this.#query(this.#table.listApps(query));
    return { rows: rows.map(BurrTable.toAppRow), snapshot: BurrTable.appsSnapshot(rows, query) };
  }

  /** Ascending in byte (code point) order, `COLLATE "C"`, whatever the database's collation. */
  protected override async storageListPartitionKeys(limit: number, after: string | undefined): Promise<string[]> {
    return (await this.#query(this.#table.listPartitionKeys(limit, after))).map((row) => String(row.partition_key));
  }

  /** One statement: the DELETE in a CTE, and the count of its rows. */
  protected override async storagePrune(query: PruneQuery): Promise<number> {
    const remove = this.#table.prune(query);
    const [row] = await this.#query({ sql: `WITH d AS (${remove.sql} RETURNING 1) SELECT count(*)::integer AS deleted FROM d`, args: remove.args });
    return Number(row?.deleted ?? 0);
  }

  protected override async storageClose(): Promise<void> {
    if (!this.#ownsClient) return;
    await this.#client.settled(); // a client still being made is closed too, not leaked
    const raw = this.#raw as { end?: () => unknown; close?: () => unknown } | undefined;
    if (raw && typeof raw === 'object') await (typeof raw.end === 'function' ? raw.end() : raw.close?.());
  }

  protected override classifyError(error: unknown): ErrorKind {
    const { code, sourceError } = (error ?? {}) as { code?: unknown; sourceError?: unknown };
    if (code === '42P01') return 'not-initialized'; // undefined_table
    // Neon's HTTP driver wraps a failed fetch in NeonDbError with the fetch error as `sourceError`.
    if (sourceError !== undefined) return 'retryable';
    return defaultErrorKind(error);
  }
}

function isNeonHttp(client: unknown): client is NeonHttpQueryFunctionLike {
  return typeof client === 'function' && typeof (client as { query?: unknown }).query === 'function';
}

function isPool(client: unknown): client is PgPoolLike {
  return typeof client === 'object' && client !== null && typeof (client as { connect?: unknown }).connect === 'function' && typeof (client as { totalCount?: unknown }).totalCount === 'number';
}

/** PGlite: one in-process session that runs one statement at a time. */
function isSingleSession(client: unknown): boolean {
  const c = client as { exec?: unknown; transaction?: unknown; connect?: unknown } | null;
  return typeof c === 'object' && c !== null && typeof c.exec === 'function' && typeof c.transaction === 'function' && typeof c.connect !== 'function';
}

/** The advisory lock of one app of one table: two 32-bit FNV-1a hashes (a collision only makes two apps take turns). */
function lockKeys(table: string, partitionKey: string, appId: string): [number, number] {
  const text = `${table}\u0000${partitionKey}\u0000${appId}`;
  const hash = (seed: number) => {
    let h = seed;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
    return h | 0;
  };
  return [hash(2166136261), hash(0x811c9dc5 ^ 0x5bd1e995)];
}

/** Neon's HTTP function answers rows directly unless asked for full results: ask, per call. */
function adapt(client: PostgresClient): PgQueryable {
  if (!isNeonHttp(client)) return client;
  return { query: (text, params) => client.query(text, params, { arrayMode: false, fullResults: true }) };
}

// An escaped surrogate (`\ud800`) not itself escaped (`\\ud800`). The kit's stringifier writes
// surrogate pairs as raw characters, so an escaped surrogate is always a lone one.
const ESCAPED_SURROGATE = /(?:^|[^\\])(?:\\\\)*\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

/** Whether JSON text (written by the kit's stringifier) holds a lone surrogate, which JSONB refuses. */
function jsonTextHasLoneSurrogate(jsonText: string): boolean {
  return (jsonText.includes('\\u') && ESCAPED_SURROGATE.test(jsonText)) || LONE_SURROGATE.test(jsonText);
}

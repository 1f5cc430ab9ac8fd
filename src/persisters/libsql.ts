/**
 * SQLite persister over libSQL: an embedded file or `:memory:` database through
 * `@libsql/client`, or Turso / sqld over HTTP through the fetch-only `@libsql/client/web`.
 * Same table as Burr's `SQLitePersister`, so Burr (Python) and this persister share a database.
 *
 * @example
 * ```ts
 * import { SQLitePersister } from 'burr-edge/libsql';
 * const persister = SQLitePersister.fromValues({ url: 'file:burr-state.db' });
 * await persister.initialize();
 * await persister.save({ partitionKey: 'user-1', appId: 'chat-1', sequenceId: 0, position: 'start', state: { count: 0 }, status: 'completed' });
 * const latest = await persister.load('user-1', 'chat-1');
 * ```
 */
import {
  BaseStatePersister,
  defaultErrorKind,
  someCause,
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
import { InvalidArgumentError } from '../core/errors.js';
import { LazyClient } from '../core/lazy.js';
import { BurrTable, sqliteDialect, type SqlRow, type SqlStatement } from '../core/sql.js';

/** The slice of a `@libsql/client` `Client` this persister uses. */
export interface LibsqlClientLike {
  execute(statement: SqlStatement): Promise<LibsqlResultLike>;
  batch(statements: SqlStatement[], mode?: 'write' | 'read' | 'deferred'): Promise<LibsqlResultLike[]>;
  close(): void;
}

/** The slice of a libSQL `ResultSet` this persister reads. */
export interface LibsqlResultLike {
  rows: ArrayLike<SqlRow>;
  rowsAffected: number;
}

/** Options of `new SQLitePersister({...})`: a libSQL client you made (dependency injection). */
export interface SQLitePersisterOptions extends BasePersisterOptions {
  /** A `@libsql/client` client, or a function that makes one on first use. */
  client: LibsqlClientLike | (() => Promise<LibsqlClientLike>);
  /** @default 'burr_state' */
  tableName?: string;
  /** Close the client in `close()`. `fromValues` sets it; an injected client stays yours. @default false */
  ownsClient?: boolean;
}

/** Options of `SQLitePersister.fromValues({...})`: plain values; the persister builds and owns the client. */
export interface SQLiteFromValues extends BasePersisterOptions {
  /** `file:path.db`, `:memory:`, `libsql://…`, `https://…` or `http://…`. */
  url: string;
  /** Turso / sqld auth token for remote URLs. */
  authToken?: string;
  /** @default 'burr_state' */
  tableName?: string;
  /** A `fetch` for the remote client (e.g. an instrumented one). */
  fetch?: typeof fetch;
}

/** How long a local database waits for another connection's write lock before SQLITE_BUSY (Python's sqlite3 waits 5 s too). */
export const LOCAL_BUSY_TIMEOUT_MS = 5000;

// SQLite's own clock, with milliseconds, in Burr's `created_at` column format (UTC).
const NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')";

/**
 * Burr's `SQLitePersister` over libSQL. One round trip per save (conditional or not), load,
 * list, history page, listing page, partition page, deleteApp and prune.
 */
export class SQLitePersister extends BaseStatePersister {
  protected readonly backendName = 'libsql';
  // The condition runs inside the write batch's transaction, and SQLite serializes writers.
  protected override readonly supportsExpectedSequenceId = true;
  readonly #table: BurrTable;
  readonly #ownsClient: boolean;
  readonly #client: LazyClient<LibsqlClientLike>;

  constructor(options: SQLitePersisterOptions) {
    super(options);
    if (!options || !options.client) throw new InvalidArgumentError('client', 'a @libsql/client Client is required', { backend: 'libsql', operation: 'construct' });
    this.#table = new BurrTable(sqliteDialect, options.tableName ?? 'burr_state');
    this.#ownsClient = options.ownsClient === true;
    this.#client = new LazyClient(options.client);
  }

  /**
   * Builds the client from plain values, as Burr's `SQLitePersister.from_values`. The driver
   * is imported on first use: `@libsql/client` for `file:` / `:memory:`, the fetch-only
   * `@libsql/client/web` for remote URLs.
   */
  static fromValues(values: SQLiteFromValues): SQLitePersister {
    const { url, authToken, tableName, fetch: customFetch, ...rest } = values ?? ({} as SQLiteFromValues);
    if (typeof url !== 'string' || url === '') throw new InvalidArgumentError('url', 'a libSQL URL is required', { backend: 'libsql', operation: 'construct' });
    const local = url === ':memory:' || url.startsWith('file:');
    // A local file may be shared with other processes (Burr's, another worker): wait for their write lock, as sqlite3's Python module does, rather than fail at once with SQLITE_BUSY.
    const config = { url, ...(local ? { timeout: LOCAL_BUSY_TIMEOUT_MS } : {}), ...(authToken ? { authToken } : {}), ...(customFetch ? { fetch: customFetch } : {}) };
    const client = async (): Promise<LibsqlClientLike> => {
      const driver = local ? await import('@libsql/client') : await import('@libsql/client/web');
      return driver.createClient(config) as unknown as LibsqlClientLike;
    };
    return new SQLitePersister({ ...rest, client, tableName, ownsClient: true });
  }

  /** Alias of {@link fromValues}, as Burr's persisters have both. */
  static fromConfig(values: SQLiteFromValues): SQLitePersister {
    return SQLitePersister.fromValues(values);
  }

  /** The table this persister reads and writes (validated). */
  get tableName(): string {
    return this.#table.name;
  }

  protected get storageTarget(): string {
    return `table ${this.#table.name}`;
  }

  async #db(): Promise<LibsqlClientLike> {
    return this.#client.get();
  }

  protected async storageInitialize(): Promise<void> {
    const db = await this.#db();
    const { table, uniqueIndex } = this.#table.createStatements();
    const statements = [...table, uniqueIndex].map((sql) => ({ sql, args: [] }));
    try {
      await db.batch(statements, 'write');
    } catch (error) {
      // A table Burr filled may hold two positions for one sequence id; keep its data, skip the index.
      if (!isConstraintError(error)) throw error;
      await db.batch(table.map((sql) => ({ sql, args: [] })), 'write');
    }
  }

  protected async storageIsInitialized(): Promise<boolean> {
    const result = await (await this.#db()).execute(this.#table.tableExists());
    return result.rows.length > 0;
  }

  protected async storageInsert(record: StoredRecord): Promise<InsertOutcome> {
    const db = await this.#db();
    const t = `"${this.#table.name}"`;
    // Read the row back only when the insert did nothing (`changes()` counts the insert's rows on
    // this connection): a saved state is never copied back out, however large it is.
    const key = this.#table.selectAtKey(record, 1, 'changes() = 0');
    const expects = record.expectedSequenceId !== undefined;
    // `IS`: null-safe equality, so `null` expects an app without steps.
    const condition = expects ? ` AND (SELECT MAX(sequence_id) FROM ${t} WHERE partition_key = ? AND app_id = ?) IS ?` : '';
    const conditionArgs = expects ? [record.partitionKey, record.appId, record.expectedSequenceId ?? null] : [];
    // One write batch = one round trip (one HTTP request remotely) and one transaction, and SQLite
    // runs one writer at a time: insert unless the key is taken (or the app's latest step is not
    // the one expected), then read what holds the key, and the app's latest step, if it did not.
    const statements: SqlStatement[] = [
      {
        sql: `INSERT INTO ${t} (${this.#table.insertColumns()}) SELECT ?, ?, ?, ?, ?, ?, ${NOW}
WHERE NOT EXISTS (SELECT 1 FROM ${t} WHERE partition_key = ? AND app_id = ? AND sequence_id = ?)${condition}`,
        args: [...BurrTable.recordArgs(record), record.partitionKey, record.appId, record.sequenceId, ...conditionArgs],
      },
      key,
    ];
    if (expects) {
      statements.push({ sql: `SELECT MAX(sequence_id) AS latest FROM ${t} WHERE partition_key = ? AND app_id = ? AND changes() = 0`, args: [record.partitionKey, record.appId] });
    }
    const [insert, existing, latest] = await db.batch(statements, 'write');
    if (insert && insert.rowsAffected === 1) return { inserted: true };
    const row = existing?.rows[0];
    const outcome: InsertOutcome = { inserted: false, existing: row ? BurrTable.toStoredRow(row) : null };
    if (expects) {
      const value = latest?.rows[0]?.latest;
      outcome.latestSequenceId = value == null ? null : Number(value);
    }
    return outcome;
  }

  protected async storageSelect(query: LoadQuery): Promise<StoredRow | null> {
    const result = await (await this.#db()).execute(this.#table.select(query));
    const row = result.rows[0];
    return row ? BurrTable.toStoredRow(row) : null;
  }

  protected async storageListAppIds(partitionKey: string, limit: number | undefined): Promise<string[]> {
    const result = await (await this.#db()).execute(this.#table.listAppIds(partitionKey, limit));
    return Array.from(result.rows, (row) => String(row.app_id));
  }

  /** Deletes every saved step of one app. One round trip. */
  protected override async storageDeleteApp(key: string, app: string): Promise<void> {
    await (await this.#db()).execute(this.#table.deleteApp(key, app));
  }

  /** One UPDATE of the state column. */
  protected override async storageReplaceState(partitionKey: string, appId: string, sequenceId: number, stateJson: string): Promise<void> {
    await (await this.#db()).execute(this.#table.replaceState(partitionKey, appId, sequenceId, stateJson));
  }

  /** One query: the page's rows by sequence id, newest first. */
  protected override async storageListHistory(query: HistoryQuery): Promise<StoredHistoryRow[]> {
    const result = await (await this.#db()).execute(this.#table.listHistory(query));
    return Array.from(result.rows, BurrTable.toHistoryRow);
  }

  /**
   * One query per page. Markers are (newest created_at, newest rowid) of each app among the rows
   * with `rowid <=` the snapshot (the table's highest rowid when the listing began): SQLite runs
   * one writer at a time and gives each insert a rowid above every row it sees, so a save after the
   * first page never counts — exact while no step is deleted (a deleted highest rowid can be reused).
   */
  protected override async storageListApps(query: AppsQuery): Promise<StoredAppsPage> {
    const result = await (await this.#db()).execute(this.#table.listApps(query));
    const rows = Array.from(result.rows);
    return { rows: rows.map(BurrTable.toAppRow), snapshot: BurrTable.appsSnapshot(rows, query) };
  }

  protected override async storageListPartitionKeys(limit: number, after: string | undefined): Promise<string[]> {
    const result = await (await this.#db()).execute(this.#table.listPartitionKeys(limit, after));
    return Array.from(result.rows, (row) => String(row.partition_key));
  }

  /** One DELETE statement; the count is its changes. */
  protected override async storagePrune(query: PruneQuery): Promise<number> {
    const result = await (await this.#db()).execute(this.#table.prune(query));
    return result.rowsAffected;
  }

  protected override async storageClose(): Promise<void> {
    if (this.#ownsClient) (await this.#client.settled())?.close();
  }

  protected override classifyError(error: unknown): ErrorKind {
    if (/no such table/i.test(String((error as Error)?.message))) return 'not-initialized';
    // The WebSocket transport reports a refused or dropped connection only in these codes.
    if (someCause(error, ({ code }) => code === 'HRANA_WEBSOCKET_ERROR' || code === 'HRANA_CLOSED_ERROR')) return 'retryable';
    return defaultErrorKind(error);
  }
}

/** Burr's spelling (`SQLLitePersister`), kept as an alias. */
export const SQLLitePersister = SQLitePersister;
export type SQLLitePersister = SQLitePersister;

function isConstraintError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT');
}

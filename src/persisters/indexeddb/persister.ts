/**
 * The IndexedDB persister: the connection (opened lazily, reopened after another tab's upgrade),
 * error translation, and one IndexedDB transaction per operation. The layout is in schema.ts.
 */
import {
  BaseStatePersister,
  defaultErrorKind,
  type BasePersisterOptions,
  type AppsQuery,
  type ErrorKind,
  type HistoryQuery,
  type InsertOutcome,
  type LoadQuery,
  type PruneQuery,
  type StoredAppsPage,
  type StoredHistoryRow,
  type StoredRecord,
  type StoredRow,
} from '../../core/base.js';
import type { PageMarker } from '../../core/cursor.js';
import { BackendError, InvalidArgumentError, NotInitializedError, type PersisterOperation } from '../../core/errors.js';
import { IndexedDBError, type IdbDatabaseLike, type IdbDurability, type IdbOpener, type IdbTransactionLike, type IndexedDBLocation, type VersionChangeInfo } from './client.js';
import {
  BY_APP_SEQUENCE,
  BY_RECENCY,
  DEFAULT_DB_NAME,
  DEFAULT_STORE,
  callWrite,
  errorName,
  hasStores,
  openStateDatabase,
  probeStores,
  resolveFactory,
  storeNames,
  toStoredRow,
  type AppRecord,
  type StepRecord,
} from './schema.js';
import { keyRanges, listApps, listHistory, listPartitionKeys, prune } from './sessions.js';


export interface IndexedDBPersisterOptions extends BasePersisterOptions, IndexedDBLocation {
  /**
   * An open `idb` database, or a function that returns one, given the persister's own opener
   * (`async (open) => wrap(await open())`, e.g. to count transactions). Default: the persister
   * opens `dbName` itself (and reopens it after another tab's upgrade).
   */
  client?: IdbDatabaseLike | ((open: IdbOpener) => Promise<IdbDatabaseLike>);
  /** Close the database in `close()`. @default true when the persister opens it (also through a `client` function, which gets the persister's opener), false for a given database */
  ownsClient?: boolean;
  /**
   * Durability of write transactions. `strict`: a save resolves once the browser has flushed it
   * to disk, so a power cut cannot undo a saved step. `relaxed` is faster and survives a browser
   * crash, not an OS crash. @default 'strict'
   */
  durability?: IdbDurability;
  /**
   * Called when another tab opens the database at a newer version (or deletes it): the
   * persister has just closed its connection so that the upgrade can go on. A persister that
   * opened the database itself reopens it on the next call when it can (no `version` set);
   * otherwise calls fail with {@link IndexedDBError} (`newer-version` / `version-changed`) and
   * the page should reload. Default: `console.warn`.
   */
  onVersionChange?: (info: VersionChangeInfo) => void;
}

/** What `fromValues` takes: plain values, no client. */
export interface IndexedDBFromValues extends BasePersisterOptions, IndexedDBLocation {
  /** @default 'strict' */
  durability?: IdbDurability;
  onVersionChange?: (info: VersionChangeInfo) => void;
}

/** One saved step, as stored. */

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export class IndexedDBPersister extends BaseStatePersister {
  protected readonly backendName = 'indexeddb';
  protected override readonly supportsExpectedSequenceId = true;
  readonly #dbName: string;
  readonly #storeName: string;
  readonly #stores: { steps: string; apps: string };
  readonly #location: IndexedDBLocation;
  readonly #client: IndexedDBPersisterOptions['client'];
  readonly #ownsClient: boolean;
  readonly #durability: IdbDurability;
  readonly #onVersionChange: ((info: VersionChangeInfo) => void) | undefined;
  #db: IdbDatabaseLike | undefined;
  #opening: Promise<IdbDatabaseLike> | undefined;
  /** Set when the browser or another tab took the connection away. */
  #lost: { reason: 'version-changed' | 'terminated'; info?: VersionChangeInfo } | undefined;
  #closed = false;

  constructor(options: IndexedDBPersisterOptions = {}) {
    super(options);
    const ctx = { backend: 'indexeddb', operation: 'construct' as const };
    if (options.dbName !== undefined && (typeof options.dbName !== 'string' || options.dbName === '')) throw new InvalidArgumentError('dbName', 'must be a non-empty string', ctx);
    if (options.storeName !== undefined && (typeof options.storeName !== 'string' || options.storeName === '')) throw new InvalidArgumentError('storeName', 'must be a non-empty string', ctx);
    if (options.version !== undefined && !(Number.isSafeInteger(options.version) && options.version >= 1)) throw new InvalidArgumentError('version', 'must be a positive integer', ctx);
    if (options.durability !== undefined && !['strict', 'relaxed', 'default'].includes(options.durability)) throw new InvalidArgumentError('durability', "must be 'strict', 'relaxed' or 'default'", ctx);
    if (options.client !== undefined && typeof options.client !== 'function' && typeof options.client?.transaction !== 'function') {
      throw new InvalidArgumentError('client', 'must be an idb database (what openDB returns) or a function returning one', ctx);
    }
    this.#client = options.client;
    const given = typeof options.client === 'object' ? options.client : undefined;
    this.#dbName = options.dbName ?? given?.name ?? DEFAULT_DB_NAME;
    this.#storeName = options.storeName ?? DEFAULT_STORE;
    this.#stores = storeNames(this.#storeName);
    this.#location = {
      dbName: this.#dbName,
      storeName: this.#storeName,
      indexedDB: options.indexedDB,
      version: options.version,
      upgrade: options.upgrade,
      onBlocked: options.onBlocked,
    };
    // A database handed over is the caller's; one opened through the persister's opener is the persister's.
    this.#ownsClient = options.ownsClient ?? typeof options.client !== 'object';
    this.#durability = options.durability ?? 'strict';
    this.#onVersionChange = options.onVersionChange;
    if (given) this.#attach(given);
  }

  /** Opens (on first use) the database `dbName` in this origin's IndexedDB, as Burr's `from_values`. */
  static fromValues(values: IndexedDBFromValues = {}): IndexedDBPersister {
    return new IndexedDBPersister({ ...values, ownsClient: true });
  }

  /** Alias of {@link fromValues}, as Burr's persisters have both. */
  static fromConfig(values: IndexedDBFromValues = {}): IndexedDBPersister {
    return IndexedDBPersister.fromValues(values);
  }

  /** Name of the IndexedDB database. */
  get dbName(): string {
    return this.#dbName;
  }

  /** Name of the steps store. */
  get storeName(): string {
    return this.#storeName;
  }

  protected get storageTarget(): string {
    return `database ${this.#dbName} store ${this.#storeName}`;
  }

  readonly #onVersionChangeEvent = (event: Event): void => {
    const db = this.#db;
    if (!db) return;
    const change = event as IDBVersionChangeEvent;
    const info: VersionChangeInfo = { dbName: this.#dbName, oldVersion: change.oldVersion, newVersion: change.newVersion };
    // Close now, or the other tab's upgrade waits (blocked) until this page goes away.
    this.#detach(db);
    db.close();
    if (this.#closed) return;
    this.#lost = { reason: 'version-changed', info };
    if (this.#onVersionChange) this.#onVersionChange(info);
    else {
      console.warn(
        `[burr-edge] indexeddb: another tab is ${info.newVersion === null ? 'deleting' : `upgrading to version ${info.newVersion}`} database ${JSON.stringify(this.#dbName)}; this tab closed its connection (version ${info.oldVersion})`,
      );
    }
  };

  readonly #onCloseEvent = (): void => {
    // The browser closed the connection (storage cleared, disk error): reopen on the next call if we can.
    const db = this.#db;
    if (db) this.#detach(db);
    if (!this.#closed) this.#lost = { reason: 'terminated' };
  };

  #attach(db: IdbDatabaseLike): void {
    this.#db = db;
    db.addEventListener('versionchange', this.#onVersionChangeEvent);
    db.addEventListener('close', this.#onCloseEvent);
  }

  #detach(db: IdbDatabaseLike): void {
    db.removeEventListener('versionchange', this.#onVersionChangeEvent);
    db.removeEventListener('close', this.#onCloseEvent);
    if (this.#db === db) this.#db = undefined;
  }

  /** The open connection; opens (or reopens after another tab's upgrade) when the persister may. */
  #connection(operation: PersisterOperation): Promise<IdbDatabaseLike> | IdbDatabaseLike {
    if (this.#db) return this.#db;
    if (typeof this.#client === 'object') {
      // A database handed in cannot be reopened by the persister: say what happened.
      const info = this.#lost?.info;
      throw new IndexedDBError(
        'version-changed',
        info && info.newVersion === null
          ? 'another tab deleted the database; reload the page'
          : `another tab upgraded the database${info ? ` from version ${info.oldVersion} to ${String(info.newVersion)}` : ''} and this connection was closed; reload the page (or build a persister with a freshly opened database)`,
        { ...this.context(operation), retryable: false },
      );
    }
    this.#opening ??= this.#open().then(
      (db) => {
        this.#opening = undefined;
        if (this.#closed) {
          db.close();
          return db;
        }
        this.#lost = undefined;
        this.#attach(db);
        return db;
      },
      (error: unknown) => {
        this.#opening = undefined; // a failed open is retried by the next call
        throw this.#translate(operation, error, true);
      },
    );
    return this.#opening;
  }

  #open(): Promise<IdbDatabaseLike> {
    const open = (): Promise<IdbDatabaseLike> => openStateDatabase(this.#location);
    return typeof this.#client === 'function' ? this.#client(open) : open();
  }

  /** Turns the IndexedDB failures a user can act on into {@link IndexedDBError}s with a clear message. */
  #translate(operation: PersisterOperation, error: unknown, opening: boolean): unknown {
    if (error instanceof BackendError || (error as { code?: unknown })?.code === 'NOT_INITIALIZED') return error;
    const ctx = this.context(operation, error);
    const name = errorName(error);
    if (name === 'QuotaExceededError') {
      return new IndexedDBError(
        'quota-exceeded',
        `the browser refused to store more data for this origin (QuotaExceededError); nothing was written. Free space (deleteApp of old apps) or ask for persistent storage with navigator.storage.persist() (${errorText(error)})`,
        { ...ctx, retryable: false },
      );
    }
    if (name === 'VersionError') {
      return new IndexedDBError(
        'newer-version',
        `the database is at a newer version than ${String(this.#location.version)}, the version this page opens: a newer version of the app upgraded it (in another tab); reload the page (${errorText(error)})`,
        { ...ctx, retryable: false },
      );
    }
    if (name === 'NoIndexedDB' || name === 'SecurityError' || name === 'NotAllowedError' || (opening && (name === 'InvalidStateError' || name === 'UnknownError'))) {
      return new IndexedDBError(
        'unavailable',
        `IndexedDB is unavailable in this context, so state cannot be kept on this device (${errorText(error)}). Browsers refuse it in sandboxed iframes and on opaque origins (file:, data:), when site data is blocked, and in some private-browsing modes`,
        { ...ctx, retryable: false },
      );
    }
    return error;
  }

  /** Runs one transaction over `scope`. A failed write transaction is aborted, so it writes nothing. */
  async #transact<T>(operation: PersisterOperation, scope: 'steps' | 'apps' | 'both', mode: 'readonly' | 'readwrite', work: (tx: IdbTransactionLike) => Promise<T>): Promise<T> {
    const db = await this.#connection(operation);
    const names = scope === 'both' ? [this.#stores.steps, this.#stores.apps] : [this.#stores[scope]];
    let tx: IdbTransactionLike;
    try {
      tx = mode === 'readwrite' ? db.transaction(names, 'readwrite', { durability: this.#durability }) : db.transaction(names, 'readonly');
    } catch (error) {
      throw this.#translate(operation, error, false);
    }
    const done = tx.done;
    try {
      const result = await work(tx);
      // A write counts once it commits (a quota error, for one, shows up only here).
      if (mode === 'readwrite') await done;
      else done.catch(() => undefined);
      return result;
    } catch (error) {
      done.catch(() => undefined); // the abort that follows carries the same error
      try {
        tx.abort();
      } catch {
        // already finished or aborted
      }
      throw this.#translate(operation, error, false);
    }
  }

  #keyRange(lower: IDBValidKey, upper: IDBValidKey): IDBKeyRange {
    return keyRanges().bound(lower, upper);
  }

  protected async storageInitialize(): Promise<void> {
    const db = await this.#connection('initialize');
    if (!hasStores(db, this.#storeName)) {
      throw new NotInitializedError(
        `database ${JSON.stringify(db.name)} has no store ${JSON.stringify(this.#storeName)}: call createStateStores(db) in your upgrade callback, or let the persister open the database`,
        this.context('initialize'),
      );
    }
  }

  protected async storageIsInitialized(): Promise<boolean> {
    if (this.#db) return hasStores(this.#db, this.#storeName);
    try {
      return await probeStores(resolveFactory(this.#location.indexedDB), this.#dbName, this.#storeName);
    } catch (error) {
      throw this.#translate('isInitialized', error, true);
    }
  }

  protected async storageInsert(record: StoredRecord): Promise<InsertOutcome> {
    try {
      return await this.#transact('save', 'both', 'readwrite', async (tx) => {
        const steps = tx.objectStore(this.#stores.steps);
        const apps = tx.objectStore(this.#stores.apps);
        const appKey = [record.partitionKey, record.appId];
        // Readwrite transactions over the same stores run one at a time, in every tab of the
        // origin: between this read and the add below, nobody else can write the key.
        const [existing, app] = await Promise.all([steps.index(BY_APP_SEQUENCE).get([...appKey, record.sequenceId]), apps.get(appKey)]);
        const previous = app as AppRecord | undefined;
        // The expectation is checked against the app record, read under the same lock.
        const latest = previous?.latest_sequence_id ?? null;
        const checked = record.expectedSequenceId !== undefined ? { latestSequenceId: latest } : {};
        if (existing || (record.expectedSequenceId !== undefined && latest !== record.expectedSequenceId)) {
          return { inserted: false, existing: existing ? toStoredRow(existing as StepRecord) : null, ...checked };
        }
        const step: StepRecord = {
          partition_key: record.partitionKey,
          app_id: record.appId,
          sequence_id: record.sequenceId,
          position: record.position,
          status: record.status,
          state: record.stateJson,
          created_at: new Date().toISOString(),
        };
        if (record.forkedFromJson !== undefined) step.forked_from = record.forkedFromJson;
        const saveOrder = Number(await callWrite(steps, 'add', step));
        const keepsLatest = previous !== undefined && previous.latest_sequence_id > record.sequenceId;
        const next: AppRecord = {
          partition_key: record.partitionKey,
          app_id: record.appId,
          last_save_order: saveOrder,
          recency: -saveOrder,
          latest_sequence_id: keepsLatest ? previous.latest_sequence_id : record.sequenceId,
          latest_save_order: keepsLatest ? previous.latest_save_order : saveOrder,
        };
        await callWrite(apps, 'put', next);
        return { inserted: true } as const;
      });
    } catch (error) {
      // The unique index refused the key (cannot happen after the check above, but if it does,
      // the base class re-reads the record to tell a retry from a conflict).
      if (errorName(error) === 'ConstraintError') return { inserted: false, existing: null };
      throw error;
    }
  }

  protected async storageSelect(query: LoadQuery): Promise<StoredRow | null> {
    const { partitionKey, appId, sequenceId } = query;
    if (appId !== null && sequenceId !== undefined) {
      const found = await this.#transact('load', 'steps', 'readonly', (tx) => tx.objectStore(this.#stores.steps).index(BY_APP_SEQUENCE).get([partitionKey, appId, sequenceId]));
      return found ? toStoredRow(found as StepRecord) : null;
    }
    const found = await this.#transact('load', 'both', 'readonly', async (tx) => {
      const apps = tx.objectStore(this.#stores.apps);
      const app = (appId === null
        ? await apps.index(BY_RECENCY).get(this.#keyRange([partitionKey, -Infinity], [partitionKey, Infinity]))
        : await apps.get([partitionKey, appId])) as AppRecord | undefined;
      if (!app) return undefined;
      return tx.objectStore(this.#stores.steps).get(appId === null ? app.last_save_order : app.latest_save_order);
    });
    return found ? toStoredRow(found as StepRecord) : null;
  }

  protected async storageListAppIds(partitionKey: string, limit: number | undefined): Promise<string[]> {
    const apps = await this.#transact('listAppIds', 'apps', 'readonly', (tx) =>
      tx.objectStore(this.#stores.apps).index(BY_RECENCY).getAll(this.#keyRange([partitionKey, -Infinity], [partitionKey, Infinity]), limit),
    );
    return apps.map((app) => (app as AppRecord).app_id);
  }

  /** Deletes every saved step of one app. One transaction. */
  protected override storageDeleteApp(key: string, app: string): Promise<void> {
    return this.#transact('deleteApp', 'both', 'readwrite', async (tx) => {
      const steps = tx.objectStore(this.#stores.steps);
      const keys = await steps.index(BY_APP_SEQUENCE).getAllKeys(this.#keyRange([key, app, -Infinity], [key, app, Infinity]));
      await Promise.all([...keys.map((k) => callWrite(steps, 'delete', k)), callWrite(tx.objectStore(this.#stores.apps), 'delete', [key, app])]);
    });
  }

  protected override storageListHistory(query: HistoryQuery): Promise<StoredHistoryRow[]> {
    return this.#transact('listHistory', 'steps', 'readonly', (tx) => listHistory(tx, this.#stores, query));
  }

  /** Markers are `save_order`s (see sessions.ts): a cursor's must be one. */
  protected override storageListApps(query: AppsQuery): Promise<StoredAppsPage> {
    const order = (marker: PageMarker | undefined): number | undefined => {
      if (marker === undefined) return undefined;
      if (typeof marker === 'number' && Number.isSafeInteger(marker) && marker >= 0) return marker;
      throw new InvalidArgumentError('cursor', 'is not a cursor of an IndexedDB listing', this.context('listApps'));
    };
    const snapshot = order(query.snapshot);
    const after = order(query.after?.marker);
    return this.#transact('listApps', 'both', 'readonly', (tx) => listApps(tx, this.#stores, query, snapshot, after));
  }

  protected override storageListPartitionKeys(limit: number, after: string | undefined): Promise<string[]> {
    return this.#transact('listPartitionKeys', 'apps', 'readonly', (tx) => listPartitionKeys(tx, this.#stores, limit, after));
  }

  protected override storagePrune(query: PruneQuery): Promise<number> {
    return this.#transact('prune', 'both', 'readwrite', (tx) => prune(tx, this.#stores, query));
  }

  protected override async storageClose(): Promise<void> {
    this.#closed = true;
    const db = this.#db;
    if (!db) return;
    this.#detach(db);
    if (this.#ownsClient) db.close();
  }

  protected override classifyError(error: unknown): ErrorKind {
    switch (errorName(error)) {
      case 'NotFoundError': // a store is missing
        return 'not-initialized';
      case 'AbortError': // the transaction was aborted under us (another tab's upgrade, a closing connection)
      case 'TransactionInactiveError':
      case 'InvalidStateError': // the connection is closing
      case 'UnknownError': // a transient browser/disk failure
      case 'TimeoutError':
        return 'retryable';
      default:
        return defaultErrorKind(error);
    }
  }
}

/**
 * IndexedDB persister: an agent's state saved in the browser, on the device, through the `idb`
 * package. It survives reloads, browser restarts and offline use, and several tabs of one
 * origin can save to the same database without losing a write.
 *
 * Layout (the kit's own; DESIGN.md): one database (default `burr-edge`) with
 * - the object store `<storeName>` (default `burr_state`): one record per saved step with the
 *   SQL row's fields `partition_key`, `app_id`, `sequence_id`, `position`, `status`, `state`
 *   (the JSON **text**, so integers beyond 2^53 stay exact), `created_at` (ISO 8601 text), plus
 *   `save_order`, its key: a counter the store's key generator hands out, so the order of saves
 *   is total across tabs (two saves in the same millisecond never tie). A unique index
 *   `by_app_sequence` on `[partition_key, app_id, sequence_id]` refuses duplicates.
 * - the object store `<storeName>_apps`: one record per app, `[partition_key, app_id]` →
 *   where its latest step and its most recent save are, with the index `by_recency` on
 *   `[partition_key, recency]` (`recency` = −save order, so an ascending read is newest first).
 *
 * Every operation is one IndexedDB transaction (the persister's "round trip"), and each reads
 * only the records it returns: `load` latest = the app's record + one step by key; `load` by
 * sequence id = one index lookup; `load(pk, null)` = the first entry of the partition's recency
 * index + one step; `listAppIds` = one bounded index read.
 *
 * @example
 * ```ts
 * import { IndexedDBPersister } from 'burr-edge/indexeddb';
 * const persister = IndexedDBPersister.fromValues({ dbName: 'my-app' });
 * await persister.initialize();
 * await persister.save({ partitionKey: 'user-1', appId: 'wizard', sequenceId: 0, position: 'start', state: { step: 1 }, status: 'completed' });
 * const latest = await persister.load('user-1', 'wizard');
 * ```
 */
import {
  BaseStatePersister,
  defaultErrorKind,
  type BasePersisterOptions,
  type ErrorKind,
  type InsertOutcome,
  type LoadQuery,
  type StoredRecord,
  type StoredRow,
} from '../core/base.js';
import { BackendError, InvalidArgumentError, NotInitializedError, type ErrorContext, type PersisterOperation } from '../core/errors.js';
import type { PersistedStatus } from '../core/types.js';

/** The slice of an `idb` index (`IDBPIndex`) this persister uses. */
export interface IdbIndexLike {
  get(query: IDBValidKey | IDBKeyRange): Promise<unknown>;
  getAll(query?: IDBValidKey | IDBKeyRange | null, count?: number): Promise<unknown[]>;
  getAllKeys(query?: IDBValidKey | IDBKeyRange | null, count?: number): Promise<IDBValidKey[]>;
}

/**
 * The slice of an `idb` object store (`IDBPObjectStore`) this persister uses. The write methods
 * are optional and take `never` only so that idb's typing fits (it types them as `undefined` on
 * readonly stores, and with the store's value type); the persister calls them on readwrite
 * transactions only.
 */
export interface IdbObjectStoreLike {
  get(query: IDBValidKey | IDBKeyRange): Promise<unknown>;
  add?: ((value: never) => Promise<IDBValidKey>) | undefined;
  put?: ((value: never) => Promise<IDBValidKey>) | undefined;
  delete?: ((query: never) => Promise<void>) | undefined;
  index(name: string): IdbIndexLike;
}

/** The slice of an `idb` transaction (`IDBPTransaction`) this persister uses. */
export interface IdbTransactionLike {
  objectStore(name: string): IdbObjectStoreLike;
  /** Resolves when the transaction commits, rejects when it aborts (idb's `done`). */
  readonly done: Promise<void>;
  abort(): void;
}

/** How hard the browser works to make a committed write durable (`IDBTransactionOptions.durability`). */
export type IdbDurability = 'strict' | 'relaxed' | 'default';

/**
 * The slice of an `idb` database (`IDBPDatabase`, what `openDB` returns) this persister uses.
 * Any `IDBPDatabase` fits; so does a wrapper around one (e.g. one that counts transactions).
 */
export interface IdbDatabaseLike {
  readonly name: string;
  readonly version: number;
  readonly objectStoreNames: { contains(name: string): boolean };
  transaction(storeNames: string[], mode: 'readonly' | 'readwrite', options?: { durability?: IdbDurability }): IdbTransactionLike;
  close(): void;
  addEventListener(type: 'versionchange' | 'close', listener: (event: Event) => void): void;
  removeEventListener(type: 'versionchange' | 'close', listener: (event: Event) => void): void;
}

/** What happened to the connection when the persister reports it (see {@link IndexedDBPersisterOptions.onVersionChange}). */
export interface VersionChangeInfo {
  dbName: string;
  /** The version this connection had open. */
  oldVersion: number;
  /** The version another connection asks for; `null` when the database is being deleted. */
  newVersion: number | null;
}

/** Why an IndexedDB operation failed, on an {@link IndexedDBError}. */
export type IndexedDBFailure =
  /** The origin's storage quota is used up (`QuotaExceededError`). Nothing was written. */
  | 'quota-exceeded'
  /** IndexedDB cannot be used here: missing, blocked by the user or the context (sandboxed iframe, opaque origin, some private modes). */
  | 'unavailable'
  /** The database is at a newer version than this code opens (a newer app version upgraded it). Reload. */
  | 'newer-version'
  /** Another tab upgraded (or deleted) the database; this persister's connection was closed and cannot be reopened. */
  | 'version-changed';

/** An IndexedDB failure the kit recognises, with a message that says what to do. `code` is `BACKEND`. */
export class IndexedDBError extends BackendError {
  /** What went wrong, for branching: `quota-exceeded`, `unavailable`, `newer-version`, `version-changed`. */
  readonly reason: IndexedDBFailure;
  constructor(reason: IndexedDBFailure, message: string, context: ErrorContext & { retryable: boolean }) {
    super(message, context);
    this.reason = reason;
  }
}

/** Opens the database; the persister passes its own opener to a `client` function. */
export type IdbOpener = () => Promise<IdbDatabaseLike>;

/** An `idb` upgrade callback for the app's own stores, called after the persister's stores exist. */
export type IdbUpgrade = (database: unknown, oldVersion: number, newVersion: number | null, transaction: unknown) => void;

/** Where the state lives and how the database is opened. */
export interface IndexedDBLocation {
  /** @default 'burr-edge' */
  dbName?: string;
  /** Name of the steps store; the per-app store is `<storeName>_apps`. @default 'burr_state' */
  storeName?: string;
  /** The `IDBFactory` to open the database with (e.g. `new IDBFactory()` from fake-indexeddb). @default globalThis.indexedDB */
  indexedDB?: IDBFactory;
  /**
   * The database version to open. Leave it unset and the persister opens whatever version
   * exists, adding its stores with a version bump when they are missing (so several persisters
   * with different `storeName`s can share a database). Set it when the app versions the database
   * itself, and create the app's stores in `upgrade`.
   */
  version?: number;
  /** Called inside every upgrade transaction the persister runs (with idb's wrapped database and transaction), after its own stores exist: create the app's stores here. */
  upgrade?: IdbUpgrade;
  /**
   * Called when opening waits for other tabs that keep an older version open (IndexedDB's
   * `blocked`). Opening completes once they close their connections. Default: `console.warn`.
   */
  onBlocked?: (info: VersionChangeInfo) => void;
}

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
interface StepRecord {
  save_order?: number;
  partition_key: string;
  app_id: string;
  sequence_id: number;
  position: string;
  status: PersistedStatus;
  /** The serialized state as JSON text, exactly as `record.stateJson`. */
  state: string;
  created_at: string;
}

/** One app: where its latest step and its most recent save are. */
interface AppRecord {
  partition_key: string;
  app_id: string;
  /** `save_order` of the app's most recent save. */
  last_save_order: number;
  /** `-last_save_order`: the `by_recency` index reads newest first in ascending order, so `getAll(range, limit)` is one request. */
  recency: number;
  latest_sequence_id: number;
  /** `save_order` of the step with the highest sequence id. */
  latest_save_order: number;
}

const BY_APP_SEQUENCE = 'by_app_sequence';
const BY_RECENCY = 'by_recency';
const DEFAULT_DB_NAME = 'burr-edge';
const DEFAULT_STORE = 'burr_state';

/** Names of the two stores for `storeName`. */
function storeNames(storeName: string): { steps: string; apps: string } {
  return { steps: storeName, apps: `${storeName}_apps` };
}

/** The upgrade-time slice of a database (raw `IDBDatabase` or idb's wrapper). */
interface SchemaTarget {
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string, options?: IDBObjectStoreParameters): { createIndex(name: string, keyPath: string | string[], options?: IDBIndexParameters): unknown };
}

/**
 * Creates the persister's two stores and their indexes where missing. Call it from your own
 * `upgrade` callback when you open the database yourself and hand it to the persister.
 *
 * @example
 * ```ts
 * const db = await openDB('my-app', 3, { upgrade(db) { createStateStores(db); db.createObjectStore('drafts'); } });
 * const persister = new IndexedDBPersister({ client: db });
 * ```
 */
export function createStateStores(database: SchemaTarget, storeName: string = DEFAULT_STORE): void {
  const { steps, apps } = storeNames(storeName);
  if (!database.objectStoreNames.contains(steps)) {
    database.createObjectStore(steps, { keyPath: 'save_order', autoIncrement: true }).createIndex(BY_APP_SEQUENCE, ['partition_key', 'app_id', 'sequence_id'], { unique: true });
  }
  if (!database.objectStoreNames.contains(apps)) {
    database.createObjectStore(apps, { keyPath: ['partition_key', 'app_id'] }).createIndex(BY_RECENCY, ['partition_key', 'recency']);
  }
}

function hasStores(database: { objectStoreNames: { contains(name: string): boolean } }, storeName: string): boolean {
  const { steps, apps } = storeNames(storeName);
  return database.objectStoreNames.contains(steps) && database.objectStoreNames.contains(apps);
}

function errorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function resolveFactory(factory: IDBFactory | undefined): IDBFactory {
  const found = factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!found) {
    throw Object.assign(new Error('there is no IndexedDB here (no globalThis.indexedDB); in Node pass `indexedDB` (e.g. from fake-indexeddb)'), { name: 'NoIndexedDB' });
  }
  return found;
}

/** One `open` request, settled; raw IndexedDB so that any `IDBFactory` works. */
function openRaw(
  factory: IDBFactory,
  name: string,
  version: number | undefined,
  onUpgrade: (database: IDBDatabase, oldVersion: number, newVersion: number | null, transaction: IDBTransaction) => void,
  onBlocked: ((info: VersionChangeInfo) => void) | undefined,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let request: IDBOpenDBRequest;
    try {
      // `open(name, undefined)` is a TypeError in browsers: leave the argument out.
      request = version === undefined ? factory.open(name) : factory.open(name, version);
    } catch (error) {
      reject(error); // SecurityError: sandboxed iframe, opaque origin, storage blocked
      return;
    }
    let upgradeError: unknown;
    request.onupgradeneeded = (event) => {
      try {
        onUpgrade(request.result, event.oldVersion, event.newVersion, request.transaction!);
      } catch (error) {
        upgradeError = error;
        request.transaction?.abort();
      }
    };
    request.onblocked = (event) => {
      const info = { dbName: name, oldVersion: event.oldVersion, newVersion: event.newVersion };
      if (onBlocked) onBlocked(info);
      else console.warn(`[burr-edge] indexeddb: opening ${JSON.stringify(name)} at version ${String(event.newVersion)} waits until other tabs close version ${event.oldVersion}`);
    };
    request.onsuccess = () => {
      const database = request.result;
      // Until someone listens, never be the connection that blocks another tab's upgrade.
      database.onversionchange = () => database.close();
      resolve(database);
    };
    request.onerror = (event) => {
      event.preventDefault();
      reject(upgradeError ?? request.error);
    };
  });
}

/**
 * Opens the database with the persister's stores, wrapped by `idb`. Without `version` it opens
 * the current version and, when the stores are missing, bumps the version once to add them
 * (retrying if another tab bumped it first).
 */
export async function openStateDatabase(location: IndexedDBLocation = {}): Promise<IdbDatabaseLike> {
  const factory = resolveFactory(location.indexedDB);
  const dbName = location.dbName ?? DEFAULT_DB_NAME;
  const storeName = location.storeName ?? DEFAULT_STORE;
  const { wrap } = await import('idb');
  const upgrade = (database: IDBDatabase, oldVersion: number, newVersion: number | null, transaction: IDBTransaction): void => {
    createStateStores(database, storeName);
    location.upgrade?.(wrap(database), oldVersion, newVersion, wrap(transaction));
  };
  let database: IDBDatabase;
  if (location.version !== undefined) {
    database = await openRaw(factory, dbName, location.version, upgrade, location.onBlocked);
    if (!hasStores(database, storeName)) {
      database.close();
      throw new NotInitializedError(
        `database ${JSON.stringify(dbName)} version ${location.version} exists without the store ${JSON.stringify(storeName)}; raise \`version\` so the upgrade creates it (or call createStateStores in your upgrade)`,
      );
    }
  } else {
    database = await openRaw(factory, dbName, undefined, upgrade, location.onBlocked);
    for (let attempt = 0; !hasStores(database, storeName); attempt++) {
      if (attempt === 5) throw new Error(`could not add the store ${JSON.stringify(storeName)} to database ${JSON.stringify(dbName)}: other tabs keep upgrading it`);
      const next = database.version + 1;
      database.close();
      try {
        database = await openRaw(factory, dbName, next, upgrade, location.onBlocked);
      } catch (error) {
        if (errorName(error) !== 'VersionError') throw error;
        database = await openRaw(factory, dbName, undefined, upgrade, location.onBlocked); // another tab went further: look again
      }
    }
  }
  return wrap(database) as unknown as IdbDatabaseLike;
}

/**
 * Whether `dbName` holds the persister's stores, without creating anything: opening a database
 * that does not exist fires `upgradeneeded`, which is aborted, so nothing is left behind.
 */
async function probeStores(factory: IDBFactory, dbName: string, storeName: string): Promise<boolean> {
  let created = false;
  try {
    const database = await openRaw(
      factory,
      dbName,
      undefined,
      (_db, _old, _new, transaction) => {
        created = true;
        transaction.abort();
      },
      undefined,
    );
    const found = hasStores(database, storeName);
    database.close();
    return found;
  } catch (error) {
    if (created) return false;
    throw error;
  }
}

/** Burr's persister contract over IndexedDB. One transaction per save, load, list and delete. */
export class IndexedDBPersister extends BaseStatePersister {
  protected readonly backendName = 'indexeddb';
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
    const KeyRange = (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange;
    if (!KeyRange) throw Object.assign(new Error('IDBKeyRange is not defined (in Node, import "fake-indexeddb/auto" for the classes idb needs)'), { name: 'NoIndexedDB' });
    return KeyRange.bound(lower, upper);
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
        if (existing) return { inserted: false, existing: toStoredRow(existing as StepRecord) };
        const step: StepRecord = {
          partition_key: record.partitionKey,
          app_id: record.appId,
          sequence_id: record.sequenceId,
          position: record.position,
          status: record.status,
          state: record.stateJson,
          created_at: new Date().toISOString(),
        };
        const saveOrder = Number(await callWrite(steps, 'add', step));
        const previous = app as AppRecord | undefined;
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

/** Calls a write method of a readwrite store (idb types them as absent on readonly stores). */
function callWrite<K extends 'add' | 'put' | 'delete'>(store: IdbObjectStoreLike, method: K, value: unknown): Promise<unknown> {
  const fn = store[method] as ((value: unknown) => Promise<unknown>) | undefined;
  if (typeof fn !== 'function') throw new TypeError(`${method} is missing: the transaction is not readwrite`);
  return fn.call(store, value);
}

function toStoredRow(record: StepRecord): StoredRow {
  if (typeof record.state !== 'string' || typeof record.app_id !== 'string') {
    throw new BackendError('a stored record is not in the burr-edge layout (state must be JSON text)', { backend: 'indexeddb', retryable: false });
  }
  return {
    partitionKey: record.partition_key,
    appId: record.app_id,
    sequenceId: record.sequence_id,
    position: record.position,
    status: record.status,
    stateJson: record.state,
    createdAt: record.created_at,
  };
}

/**
 * The slice of `idb` the IndexedDB persister uses, the failures it reports, and where the
 * database is. Types only (and the error class): no IndexedDB is touched here.
 */
import { BackendError, type ErrorContext } from '../../core/errors.js';

/** The slice of an `idb` cursor (`IDBPCursor`) this persister uses: `continue` resolves to the cursor moved on, or `null` at the end. */
export interface IdbCursorLike {
  readonly key: IDBValidKey;
  readonly primaryKey: IDBValidKey;
  continue(key?: IDBValidKey): Promise<this | null>;
}

/** A cursor that also reads the record (`IDBPCursorWithValue`). */
export interface IdbCursorWithValueLike extends IdbCursorLike {
  readonly value: unknown;
}

/** The slice of an `idb` index (`IDBPIndex`) this persister uses. */
export interface IdbIndexLike {
  get(query: IDBValidKey | IDBKeyRange): Promise<unknown>;
  getAll(query?: IDBValidKey | IDBKeyRange | null, count?: number): Promise<unknown[]>;
  getAllKeys(query?: IDBValidKey | IDBKeyRange | null, count?: number): Promise<IDBValidKey[]>;
  openCursor(query?: IDBValidKey | IDBKeyRange | null, direction?: IDBCursorDirection): Promise<IdbCursorWithValueLike | null>;
  openKeyCursor(query?: IDBValidKey | IDBKeyRange | null, direction?: IDBCursorDirection): Promise<IdbCursorLike | null>;
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
  /** Read to learn whether an index of a newer layout exists; a wrapper without it gets the fallback. */
  readonly indexNames?: { contains(name: string): boolean };
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

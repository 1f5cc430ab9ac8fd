/**
 * The IndexedDB layout (the kit's own; DESIGN.md) and how a database gets it: the two stores,
 * their indexes, the upgrade that adds what an older layout lacks, and the opener.
 *
 * - `<storeName>` (default `burr_state`): one record per saved step with the SQL row's fields
 *   `partition_key`, `app_id`, `sequence_id`, `position`, `status`, `state` (the JSON **text**, so
 *   integers beyond 2^53 stay exact), `created_at` (ISO 8601 text), `forked_from` (the lineage's
 *   JSON text, only on a fork's first step), plus `save_order`, its key: a counter the store's key
 *   generator hands out, so the order of saves is total across tabs. Indexes: `by_app_sequence`
 *   (unique) on `[partition_key, app_id, sequence_id]`, refusing duplicates; `by_app_order` on
 *   `[partition_key, app_id, save_order]` (added in layout 2), an app's saves in the order made.
 * - `<storeName>_apps`: one record per app, `[partition_key, app_id]` → where its latest step and
 *   its most recent save are, with the index `by_recency` on `[partition_key, recency]`
 *   (`recency` = −save order, so an ascending read is newest first).
 *
 * The database version is not the layout's: it is shared with the app's own stores (or chosen by
 * the app). A database whose steps store lacks `by_app_order` (written before layout 2) keeps
 * working: the persister's opener adds the index with one version bump, and where it cannot (a
 * fixed `version`, a database handed in) the one operation that uses it falls back to a walk.
 */
import { BackendError, NotInitializedError } from '../../core/errors.js';
import type { StoredRow } from '../../core/base.js';
import type { PersistedStatus } from '../../core/types.js';
import type { IdbDatabaseLike, IdbObjectStoreLike, IndexedDBLocation, VersionChangeInfo } from './client.js';

/** One saved step, as stored. */
export interface StepRecord {
  save_order?: number;
  partition_key: string;
  app_id: string;
  sequence_id: number;
  position: string;
  status: PersistedStatus;
  /** The serialized state as JSON text, exactly as `record.stateJson`. */
  state: string;
  created_at: string;
  /** The fork lineage (`__burr_edge_fork__`) as JSON text, so history can report it without reading the state. Absent on other steps. */
  forked_from?: string;
}

/** One app: where its latest step and its most recent save are. */
export interface AppRecord {
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

export const BY_APP_SEQUENCE = 'by_app_sequence';
export const BY_APP_ORDER = 'by_app_order';
export const BY_RECENCY = 'by_recency';
export const DEFAULT_DB_NAME = 'burr-edge';
export const DEFAULT_STORE = 'burr_state';

/** Names of the two stores for `storeName`. */
export function storeNames(storeName: string): { steps: string; apps: string } {
  return { steps: storeName, apps: `${storeName}_apps` };
}

interface IndexTarget {
  readonly indexNames: { contains(name: string): boolean };
  createIndex(name: string, keyPath: string | string[], options?: IDBIndexParameters): unknown;
}

/** The upgrade-time slice of a database (raw `IDBDatabase` or idb's wrapper). */
interface SchemaTarget {
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string, options?: IDBObjectStoreParameters): IndexTarget;
}

/**
 * Creates the persister's two stores and their indexes where missing. Call it from your own
 * `upgrade` callback when you open the database yourself and hand it to the persister; pass the
 * upgrade transaction too, so that stores made by an earlier version of burr-edge get the
 * indexes added since.
 *
 * @example
 * ```ts
 * const db = await openDB('my-app', 3, { upgrade(db, _old, _new, tx) { createStateStores(db, 'burr_state', tx); db.createObjectStore('drafts'); } });
 * const persister = new IndexedDBPersister({ client: db });
 * ```
 */
export function createStateStores(database: SchemaTarget, storeName: string = DEFAULT_STORE, transaction?: { objectStore(name: string): IndexTarget }): void {
  const { steps, apps } = storeNames(storeName);
  if (!database.objectStoreNames.contains(steps)) {
    const store = database.createObjectStore(steps, { keyPath: 'save_order', autoIncrement: true });
    store.createIndex(BY_APP_SEQUENCE, ['partition_key', 'app_id', 'sequence_id'], { unique: true });
    store.createIndex(BY_APP_ORDER, ['partition_key', 'app_id', 'save_order']);
  } else if (transaction) {
    // Layout 1 → 2: the index is built from the records already there (every one has the three fields).
    const store = transaction.objectStore(steps);
    if (!store.indexNames.contains(BY_APP_ORDER)) store.createIndex(BY_APP_ORDER, ['partition_key', 'app_id', 'save_order']);
  }
  if (!database.objectStoreNames.contains(apps)) {
    database.createObjectStore(apps, { keyPath: ['partition_key', 'app_id'] }).createIndex(BY_RECENCY, ['partition_key', 'recency']);
  }
}

export function hasStores(database: { objectStoreNames: { contains(name: string): boolean } }, storeName: string): boolean {
  const { steps, apps } = storeNames(storeName);
  return database.objectStoreNames.contains(steps) && database.objectStoreNames.contains(apps);
}

/** Whether the stores exist with every index of the current layout (a transaction without requests: nothing is read). */
function hasLayout(database: IDBDatabase, storeName: string): boolean {
  if (!hasStores(database, storeName)) return false;
  return database.transaction(storeName, 'readonly').objectStore(storeName).indexNames.contains(BY_APP_ORDER);
}

export function errorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

export function resolveFactory(factory: IDBFactory | undefined): IDBFactory {
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
 * the current version and, when the stores or an index of the current layout are missing, bumps
 * the version once to add them (retrying if another tab bumped it first). With `version`, missing
 * stores are an error (raise it) and a missing index is not (see the module comment).
 */
export async function openStateDatabase(location: IndexedDBLocation = {}): Promise<IdbDatabaseLike> {
  const factory = resolveFactory(location.indexedDB);
  const dbName = location.dbName ?? DEFAULT_DB_NAME;
  const storeName = location.storeName ?? DEFAULT_STORE;
  const { wrap } = await import('idb');
  const upgrade = (database: IDBDatabase, oldVersion: number, newVersion: number | null, transaction: IDBTransaction): void => {
    createStateStores(database, storeName, transaction);
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
    for (let attempt = 0; !hasLayout(database, storeName); attempt++) {
      if (attempt === 5) throw new Error(`could not add the store ${JSON.stringify(storeName)} (or its indexes) to database ${JSON.stringify(dbName)}: other tabs keep upgrading it`);
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
export async function probeStores(factory: IDBFactory, dbName: string, storeName: string): Promise<boolean> {
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

/** Calls a write method of a readwrite store (idb types them as absent on readonly stores). */
export function callWrite<K extends 'add' | 'put' | 'delete'>(store: IdbObjectStoreLike, method: K, value: unknown): Promise<unknown> {
  const fn = store[method] as ((value: unknown) => Promise<unknown>) | undefined;
  if (typeof fn !== 'function') throw new TypeError(`${method} is missing: the transaction is not readwrite`);
  return fn.call(store, value);
}

export function toStoredRow(record: StepRecord): StoredRow {
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

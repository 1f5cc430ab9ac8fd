/**
 * `burr-edge/indexeddb`: an agent's state saved in the browser, on the device, through the `idb`
 * package. It survives reloads, browser restarts and offline use, and several tabs of one
 * origin can save to the same database without losing a write.
 *
 * Every operation is one IndexedDB transaction (the persister's "round trip"); the layout and
 * its upgrades are described in schema.ts.
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
export { IndexedDBPersister, type IndexedDBFromValues, type IndexedDBPersisterOptions } from './persister.js';
export { createStateStores, openStateDatabase } from './schema.js';
export {
  IndexedDBError,
  type IdbDatabaseLike,
  type IdbDurability,
  type IdbIndexLike,
  type IdbObjectStoreLike,
  type IdbOpener,
  type IdbTransactionLike,
  type IdbUpgrade,
  type IndexedDBFailure,
  type IndexedDBLocation,
  type VersionChangeInfo,
} from './client.js';

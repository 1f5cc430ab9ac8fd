/**
 * The conformance suite against real IndexedDB in real Chromium (the browser project). Each
 * case gets its own database, deleted afterwards; round trips are IndexedDB transactions,
 * counted by wrapping the idb database's `transaction` method; the side channel is a second,
 * raw connection that reads the stored records around the persister.
 */
import { describe, it } from 'vitest';
import { IndexedDBPersister } from '../../src/persisters/indexeddb/index.js';
import { countCalls, inDeltaMode, runConformanceSuite, type ConformanceTarget } from '../../src/testing/index.js';

function settle<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function rawSteps(dbName: string, partitionKey: string, appId: string): Promise<{ sequence_id: number; state: string }[]> {
  const db = await settle(indexedDB.open(dbName));
  try {
    const index = db.transaction('burr_state', 'readonly').objectStore('burr_state').index('by_app_sequence');
    return (await settle(index.getAll(IDBKeyRange.bound([partitionKey, appId, -Infinity], [partitionKey, appId, Infinity])))) as { sequence_id: number; state: string }[];
  } finally {
    db.close();
  }
}

const target: ConformanceTarget = {
  name: 'indexeddb (Chromium)',
  countsRoundTrips: true,
  initializeRoundTrips: 0, // opening the database is not a transaction
  async create({ id, storage }) {
    const dbName = `burr-edge-conformance-${id}`;
    let counted: { calls(): number } | undefined;
    const persister = new IndexedDBPersister({
      ...storage,
      dbName,
      client: async (open) => (counted = countCalls(await open(), ['transaction'])).client,
      ownsClient: true,
    });
    return {
      persister,
      roundTrips: () => counted?.calls() ?? 0,
      async inspect(partitionKey, appId) {
        return (await rawSteps(dbName, partitionKey, appId)).map((row) => ({ sequenceId: row.sequence_id, stateJson: row.state }));
      },
      async dispose() {
        await settle(indexedDB.deleteDatabase(dbName));
      },
    };
  },
};

runConformanceSuite(target, { describe, it });
runConformanceSuite(inDeltaMode(target), { describe, it });

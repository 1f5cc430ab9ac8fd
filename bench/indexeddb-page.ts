/**
 * Bundled by bench/indexeddb-chromium.ts and run in Chromium: burr-edge's IndexedDBPersister
 * through the same runner as every other row. IndexedDB transactions are counted by wrapping
 * `IDBDatabase.prototype.transaction` (the persister's only way to the database).
 */
import { IndexedDBPersister } from '../src/persisters/indexeddb/index.js';
import { burrSession } from './burr-session.js';
import { measureSystem, type SystemResult } from './runner.js';
import type { Scale } from './workload.js';

declare global {
  interface Window {
    benchProgress(text: string): Promise<void>;
    benchCpu(): Promise<number>;
    runBench(scale: Scale, runs: number, delta: boolean): Promise<SystemResult>;
  }
}

let transactions = 0;
const transaction = IDBDatabase.prototype.transaction;
IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof transaction>) {
  transactions++;
  return transaction.apply(this, args);
};

const opened: string[] = [];

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

window.runBench = (scale, runs, delta) =>
  measureSystem(
    {
      name: delta ? 'burr-edge · IndexedDB (Chromium) · delta' : 'burr-edge · IndexedDB (Chromium)',
      ...(delta ? { fullRow: 'burr-edge · IndexedDB (Chromium)' } : {}),
      library: 'burr-edge',
      tags: ['indexeddb', 'chromium', 'browser', 'burr-edge', ...(delta ? ['delta'] : [])],
      durability: "Chromium's IndexedDB on disk (fresh profile), write transactions durability: 'strict' (the persister's default)",
      notes: [`${navigator.userAgent.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? 'Chromium'}, headless, driven by playwright-core`, 'requests = IndexedDB transactions; CPU = the renderer main thread (CDP TaskDuration)'],
      storedMeasure: 'navigator.storage.estimate().usage (the origin, earlier runs’ databases deleted)',
      cpu: () => window.benchCpu(),
      async open(label) {
        // Only this run's database stays, so the origin's usage is this run's.
        while (opened.length) await deleteDatabase(opened.pop()!);
        const dbName = `bench-${label}`;
        opened.push(dbName);
        const persister = new IndexedDBPersister({ dbName, ...(delta ? { storage: 'delta' as const } : {}) });
        await persister.initialize();
        return burrSession(persister, {
          requests: () => transactions,
          async storedBytes() {
            return (await navigator.storage.estimate()).usage;
          },
        });
      },
    },
    { scale, runs, progress: (text) => void window.benchProgress(text) },
  );

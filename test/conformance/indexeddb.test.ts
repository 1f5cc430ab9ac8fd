/**
 * IndexedDBPersister in Node over fake-indexeddb: the conformance suite, the stored layout
 * (read around the persister), the browser realities that fake-indexeddb models (another
 * connection upgrading, a blocked open, a newer database), and the error typing for failures
 * only a real browser produces (quota, unavailable) through stub factories.
 *
 * idb checks values against IndexedDB's global classes (`instanceof IDBRequest`), so the
 * classes come from `fake-indexeddb/auto`; the database itself is an explicitly injected
 * `IDBFactory`, a fresh one per case, and the global factory is never touched.
 */
import 'fake-indexeddb/auto';
import { IDBFactory, forceCloseDatabase } from 'fake-indexeddb';
import { unwrap } from 'idb';
import { describe, expect, it } from 'vitest';
import { IndexedDBError, IndexedDBPersister, createStateStores, openStateDatabase, type IdbDatabaseLike, type IdbTransactionLike, type VersionChangeInfo } from '../../src/persisters/indexeddb/index.js';
import { countCalls, inDeltaMode, runConformanceSuite, type ConformanceTarget } from '../../src/testing/index.js';
import { isPersisterError, type PersisterError, type SaveParams } from '../../src/index.js';

interface RawStep {
  save_order: number;
  partition_key: string;
  app_id: string;
  sequence_id: number;
  position: string;
  status: string;
  state: string;
  created_at: string;
}

/** Opens `dbName` directly (no persister, no idb): the side channel. */
function rawOpen(factory: IDBFactory, dbName: string, version?: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = version === undefined ? factory.open(dbName) : factory.open(dbName, version);
    request.onupgradeneeded = () => upgrade?.(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Every stored step of one app, read with a separate raw connection. */
async function rawSteps(factory: IDBFactory, dbName: string, partitionKey: string, appId: string, storeName = 'burr_state'): Promise<RawStep[]> {
  const db = await rawOpen(factory, dbName);
  try {
    const index = db.transaction(storeName, 'readonly').objectStore(storeName).index('by_app_sequence');
    return (await request(index.getAll(IDBKeyRange.bound([partitionKey, appId, -Infinity], [partitionKey, appId, Infinity])))) as RawStep[];
  } finally {
    db.close();
  }
}

function step(appId: string, sequenceId: number, state: Record<string, unknown> = { n: sequenceId }, partitionKey = 'p'): SaveParams {
  return { partitionKey, appId, sequenceId, position: `step-${sequenceId}`, state, status: 'completed' };
}

async function rejection(run: () => Promise<unknown>): Promise<PersisterError> {
  try {
    await run();
  } catch (error) {
    if (isPersisterError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

const target: ConformanceTarget = {
  name: 'indexeddb (fake-indexeddb, injected IDBFactory)',
  countsRoundTrips: true,
  initializeRoundTrips: 0, // opening the database is not a transaction
  async create({ id, storage }) {
    const factory = new IDBFactory();
    const dbName = `conformance-${id}`;
    let counted: { calls(): number } | undefined;
    const persister = new IndexedDBPersister({
      ...storage,
      indexedDB: factory,
      dbName,
      // The persister opens the database itself; the wrapper only counts transactions (= round trips).
      client: async (open) => {
        const wrapped = countCalls(await open(), ['transaction']);
        counted = wrapped;
        return wrapped.client;
      },
      ownsClient: true,
    });
    return {
      persister,
      roundTrips: () => counted?.calls() ?? 0,
      async inspect(partitionKey, appId) {
        return (await rawSteps(factory, dbName, partitionKey, appId)).map((row) => ({ sequenceId: row.sequence_id, stateJson: row.state }));
      },
    };
  },
};

runConformanceSuite(target, { describe, it });
runConformanceSuite(inDeltaMode(target), { describe, it });

describe('indexeddb (fake-indexeddb): layout, costs and browser realities', () => {
  it('stores the SQL row fields, state as lossless JSON text and created_at as ISO text', async () => {
    const factory = new IDBFactory();
    const persister = new IndexedDBPersister({ indexedDB: factory, dbName: 'layout' });
    await persister.initialize();
    await persister.save({ ...step('app', 0, { big: 9007199254740993n, text: 'é' }), partitionKey: 'user' });
    const [row] = await rawSteps(factory, 'layout', 'user', 'app');
    expect(Object.keys(row!).sort()).toEqual(['app_id', 'created_at', 'partition_key', 'position', 'save_order', 'sequence_id', 'state', 'status']);
    expect(row).toMatchObject({ partition_key: 'user', app_id: 'app', sequence_id: 0, position: 'step-0', status: 'completed', state: '{"big":9007199254740993,"text":"é"}' });
    expect(row!.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect((await persister.load('user', 'app'))?.state.big).toBe(9007199254740993n);
    await persister.close();
  });

  it('the global indexedDB is never touched when a factory is injected', async () => {
    const before = (await indexedDB.databases()).length;
    const persister = new IndexedDBPersister({ indexedDB: new IDBFactory(), dbName: 'injected-only' });
    await persister.initialize();
    await persister.save(step('a', 0));
    expect((await indexedDB.databases()).length).toBe(before);
    await persister.close();
  });

  it('isInitialized asks without creating the database', async () => {
    const factory = new IDBFactory();
    const persister = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'probe' });
    expect(await persister.isInitialized()).toBe(false);
    expect(await factory.databases()).toEqual([]);
    await persister.initialize();
    expect(await persister.isInitialized()).toBe(true);
    const second = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'probe' });
    expect(await second.isInitialized()).toBe(true); // asked through its own probe connection
    await Promise.all([persister.close(), second.close()]);
  });

  it('deleteApp removes one app in one transaction and leaves the others', async () => {
    const factory = new IDBFactory();
    let counted: { calls(): number } | undefined;
    const persister = new IndexedDBPersister({
      indexedDB: factory,
      dbName: 'delete',
      client: async (open) => (counted = countCalls(await open(), ['transaction'])).client,
      ownsClient: true,
    });
    await persister.initialize();
    for (let i = 0; i < 3; i++) await persister.save(step('gone', i));
    await persister.save(step('kept', 0));
    await persister.save(step('gone', 0, {}, 'other-partition'));
    const before = counted!.calls();
    await persister.deleteApp('p', 'gone');
    expect(counted!.calls() - before).toBe(1);
    expect(await persister.load('p', 'gone')).toBeNull();
    expect(await persister.listAppIds('p')).toEqual(['kept']);
    expect(await persister.load('p', null)).toMatchObject({ appId: 'kept' });
    expect(await rawSteps(factory, 'delete', 'p', 'gone')).toEqual([]);
    expect(await persister.load('other-partition', 'gone')).toMatchObject({ sequenceId: 0 });
    // the app can start over after a delete
    await persister.save(step('gone', 0, { again: true }));
    expect((await persister.load('p', 'gone'))?.state).toEqual({ again: true });
    expect(await persister.listAppIds('p')).toEqual(['gone', 'kept']);
    await persister.close();
  });

  it('two persisters with different store names share one database (the version is bumped to add stores)', async () => {
    const factory = new IDBFactory();
    const a = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'shared', storeName: 'agent_a' });
    await a.initialize();
    const b = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'shared', storeName: 'agent_b', onVersionChange: () => undefined });
    // a stays open while b upgrades: a steps aside, then reopens by itself
    await b.initialize();
    await b.save(step('x', 0, { who: 'b' }));
    await a.save(step('x', 0, { who: 'a' }));
    expect((await a.load('p', 'x'))?.state).toEqual({ who: 'a' });
    expect((await b.load('p', 'x'))?.state).toEqual({ who: 'b' });
    const raw = await rawOpen(factory, 'shared');
    expect(raw.version).toBe(2);
    expect([...raw.objectStoreNames].sort()).toEqual(['agent_a', 'agent_a_apps', 'agent_b', 'agent_b_apps']);
    raw.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('another connection upgrading: the persister closes its connection, says so, and reopens on the next call', async () => {
    const factory = new IDBFactory();
    const changes: VersionChangeInfo[] = [];
    const persister = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'upgrade', onVersionChange: (info) => changes.push(info) });
    await persister.initialize();
    await persister.save(step('app', 0));
    let blocked = false;
    // A newer version of the app, opened elsewhere, adds its own store.
    const newer = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = factory.open('upgrade', 2);
      req.onupgradeneeded = () => req.result.createObjectStore('drafts');
      req.onblocked = () => (blocked = true);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    expect(blocked).toBe(false);
    expect(changes).toEqual([{ dbName: 'upgrade', oldVersion: 1, newVersion: 2 }]);
    newer.close();
    await persister.save(step('app', 1)); // reopened at version 2
    expect((await persister.load('p', 'app'))?.sequenceId).toBe(1);
    await persister.close();
  });

  it('a connection the browser closes (storage cleared, disk error) is reopened on the next call', async () => {
    const factory = new IDBFactory();
    let opened = 0;
    let raw: IDBDatabase | undefined;
    const persister = new IndexedDBPersister({
      indexedDB: factory,
      dbName: 'terminated',
      client: async (open) => {
        const db = await open();
        opened++;
        raw = unwrap(db as unknown as Parameters<typeof unwrap>[0]) as unknown as IDBDatabase;
        return db;
      },
      ownsClient: true,
    });
    await persister.initialize();
    await persister.save(step('app', 0));
    forceCloseDatabase(raw as unknown as Parameters<typeof forceCloseDatabase>[0]); // fires 'close', as a browser does
    await persister.save(step('app', 1));
    expect(opened).toBe(2);
    expect((await persister.load('p', 'app'))?.sequenceId).toBe(1);
    await persister.close();
  });

  it('with a fixed version, an upgrade elsewhere leaves a typed "newer-version" error: reload', async () => {
    const factory = new IDBFactory();
    const changes: VersionChangeInfo[] = [];
    const old = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'fixed', version: 1, onVersionChange: (info) => changes.push(info) });
    await old.initialize();
    await old.save(step('app', 0));
    const newer = IndexedDBPersister.fromValues({
      indexedDB: factory,
      dbName: 'fixed',
      version: 2,
      upgrade: (db) => (db as IDBDatabase).createObjectStore('drafts'),
    });
    await newer.initialize();
    expect(changes).toEqual([{ dbName: 'fixed', oldVersion: 1, newVersion: 2 }]);
    const error = await rejection(() => old.save(step('app', 1)));
    expect(error).toBeInstanceOf(IndexedDBError);
    expect(error).toMatchObject({ code: 'BACKEND', reason: 'newer-version', retryable: false });
    expect(error.message).toMatch(/reload the page/);
    // Nothing was lost: the newer version reads what the old one saved.
    expect((await newer.load('p', 'app'))?.sequenceId).toBe(0);
    await Promise.all([old.close(), newer.close()]);
  });

  it('a database handed in is closed on versionchange and later calls say so', async () => {
    const factory = new IDBFactory();
    const db = await openStateDatabase({ indexedDB: factory, dbName: 'handed' });
    const persister = new IndexedDBPersister({ client: db, onVersionChange: () => undefined });
    await persister.initialize();
    await persister.save(step('app', 0));
    const newer = await rawOpen(factory, 'handed', db.version + 1);
    newer.close();
    const error = await rejection(() => persister.load('p', 'app'));
    expect(error).toMatchObject({ code: 'BACKEND', reason: 'version-changed', retryable: false });
    await persister.close();
  });

  it('blocked: opening a newer version waits for an old connection that ignores versionchange, and reports it', async () => {
    const factory = new IDBFactory();
    const stubborn = await rawOpen(factory, 'blocked', 1, (db) => createStateStores(db));
    stubborn.onversionchange = null; // an old tab that does not step aside
    const reports: VersionChangeInfo[] = [];
    const newer = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'blocked', version: 2, onBlocked: (info) => reports.push(info) });
    const opening = newer.initialize();
    await new Promise((r) => setTimeout(r, 50));
    expect(reports).toEqual([{ dbName: 'blocked', oldVersion: 1, newVersion: 2 }]);
    stubborn.close(); // the old tab goes away
    await opening;
    await newer.save(step('app', 0));
    await newer.close();
  });

  it('a database at a newer version than asked for is a typed error', async () => {
    const factory = new IDBFactory();
    (await rawOpen(factory, 'ahead', 5)).close();
    const persister = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'ahead', version: 2 });
    const error = await rejection(() => persister.initialize());
    expect(error).toMatchObject({ code: 'BACKEND', reason: 'newer-version', operation: 'initialize' });
    await persister.close();
  });

  it('a fixed version that exists without the stores is NOT_INITIALIZED with advice', async () => {
    const factory = new IDBFactory();
    (await rawOpen(factory, 'bare', 1)).close();
    const persister = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'bare', version: 1 });
    const error = await rejection(() => persister.initialize());
    expect(error.code).toBe('NOT_INITIALIZED');
    expect(error.message).toMatch(/raise `version`/);
  });

  it('no IndexedDB at all, or one that refuses (private mode, sandbox): "unavailable", not retryable', async () => {
    const saved = globalThis.indexedDB;
    try {
      // @ts-expect-error the test removes the global on purpose
      delete globalThis.indexedDB;
      const missing = await rejection(() => IndexedDBPersister.fromValues({ dbName: 'x' }).initialize());
      expect(missing).toMatchObject({ code: 'BACKEND', reason: 'unavailable', retryable: false });
      expect(missing.message).toMatch(/no globalThis.indexedDB/);
    } finally {
      globalThis.indexedDB = saved;
    }
    for (const [name, message] of [
      ['SecurityError', 'Access to the IndexedDB API is denied in this context.'],
      ['InvalidStateError', 'A mutation operation was attempted on a database that did not allow mutations.'],
    ] as const) {
      const refusing = { open: () => { throw new DOMException(message, name); } } as unknown as IDBFactory;
      const persister = IndexedDBPersister.fromValues({ indexedDB: refusing });
      const error = await rejection(() => persister.initialize());
      expect(error).toBeInstanceOf(IndexedDBError);
      expect(error).toMatchObject({ reason: 'unavailable', retryable: false });
      expect(error.message).toContain(name);
      expect(error.message).toMatch(/private-browsing/);
      await expect(persister.isInitialized()).rejects.toMatchObject({ reason: 'unavailable' });
    }
  });

  it('QuotaExceededError at commit: typed "quota-exceeded", and nothing is written', async () => {
    const factory = new IDBFactory();
    let failNextCommit = false;
    // What Chromium does when the origin is over quota: the requests succeed, the commit fails
    // (and the transaction is rolled back).
    const quota = (db: IdbDatabaseLike): IdbDatabaseLike =>
      new Proxy(db, {
        get(target, property) {
          if (property !== 'transaction') {
            const value = Reflect.get(target, property) as unknown;
            return typeof value === 'function' ? value.bind(target) : value;
          }
          return (...args: Parameters<IdbDatabaseLike['transaction']>): IdbTransactionLike => {
            const tx = target.transaction(...args);
            if (!failNextCommit || args[1] !== 'readwrite') return tx;
            failNextCommit = false;
            const done = tx.done.then(
              () => Promise.reject(new Error('the stub expected to abort this transaction')),
              () => Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError')),
            );
            return {
              abort: () => tx.abort(),
              done,
              objectStore(name) {
                const store = tx.objectStore(name);
                return {
                  get: (query) => store.get(query),
                  index: (index) => store.index(index),
                  add: ((value: never) => store.add!(value)) as (value: never) => Promise<IDBValidKey>,
                  put: (async (value: never) => {
                    const key = await store.put!(value);
                    tx.abort(); // the commit that follows the last write fails
                    return key;
                  }) as (value: never) => Promise<IDBValidKey>,
                };
              },
            };
          };
        },
      });
    const persister = new IndexedDBPersister({ indexedDB: factory, dbName: 'quota', client: async (open) => quota(await open()), ownsClient: true });
    await persister.initialize();
    failNextCommit = true;
    const error = await rejection(() => persister.save(step('app', 0)));
    expect(error).toMatchObject({ code: 'BACKEND', reason: 'quota-exceeded', retryable: false, operation: 'save' });
    expect(error.message).toMatch(/QuotaExceededError.*nothing was written/);
    expect(await persister.load('p', 'app')).toBeNull();
    await persister.save(step('app', 0)); // once there is room again
    expect((await persister.load('p', 'app'))?.sequenceId).toBe(0);
    await persister.close();
  });

  /** The layout before by_app_order (burr-edge ≤ the sessions release), created by hand at `version`. */
  const layoutOne = (db: IDBDatabase) => {
    db.createObjectStore('burr_state', { keyPath: 'save_order', autoIncrement: true }).createIndex('by_app_sequence', ['partition_key', 'app_id', 'sequence_id'], { unique: true });
    db.createObjectStore('burr_state_apps', { keyPath: ['partition_key', 'app_id'] }).createIndex('by_recency', ['partition_key', 'recency']);
  };

  /** Every app id of a listing, two per page, with `between` run after each page. */
  async function listIds(persister: IndexedDBPersister, partitionKey: string, between: (page: number) => Promise<void>): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const result = await persister.listApps(partitionKey, { limit: 2, cursor });
      ids.push(...result.apps.map((a) => a.appId));
      cursor = result.nextCursor;
      if (cursor) await between(page++);
    } while (cursor);
    return ids;
  }

  it('a layout-1 database (no by_app_order): opened at its fixed version it works as is; opened by the persister it gets the index with one version bump', async () => {
    const factory = new IDBFactory();
    (await rawOpen(factory, 'layout1', 1, layoutOne)).close();
    const fixed = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'layout1', version: 1, onVersionChange: () => undefined });
    await fixed.initialize();
    for (const app of ['a', 'b', 'c', 'd', 'e']) await fixed.save(step(app, 0));
    await fixed.save(step('b', 1));
    // Saves between pages: listed and unlisted apps move, a new app appears; the listing stays as it began.
    const expected = await fixed.listAppIds('p');
    const between = (persister: IndexedDBPersister, round: string) => async (page: number) => {
      const latest = async (app: string) => (await persister.load('p', app))!.sequenceId;
      await persister.save(step(expected[page]!, (await latest(expected[page]!)) + 1));
      await persister.save(step(expected[expected.length - 1]!, (await latest(expected[expected.length - 1]!)) + 1));
      await persister.save(step(`new-${round}-${page}`, 0));
    };
    expect(await listIds(fixed, 'p', between(fixed, 'fixed'))).toEqual(expected);
    const raw = await rawOpen(factory, 'layout1');
    expect(raw.version).toBe(1); // a fixed version is the app's: the persister does not bump it
    raw.close();

    // The persister opening the database itself adds the index, built from the records already there.
    const upgraded = IndexedDBPersister.fromValues({ indexedDB: factory, dbName: 'layout1' });
    await upgraded.initialize();
    const db = await rawOpen(factory, 'layout1');
    expect(db.version).toBe(2);
    const store = db.transaction('burr_state', 'readonly').objectStore('burr_state');
    expect([...store.indexNames].sort()).toEqual(['by_app_order', 'by_app_sequence']);
    const stored = await request(store.count());
    expect(await request(store.index('by_app_order').count())).toBe(stored);
    db.close();
    // The tab at the old fixed version was told and must reload; the upgraded one has all its data.
    await expect(fixed.load('p', 'a')).rejects.toMatchObject({ reason: 'newer-version' });
    const again = await upgraded.listAppIds('p');
    expect(await listIds(upgraded, 'p', between(upgraded, 'upgraded'))).toEqual(again);
    await Promise.all([fixed.close(), upgraded.close()]);
  });

  it('forked_from is stored beside the state on a fork\'s first step only', async () => {
    const factory = new IDBFactory();
    const persister = new IndexedDBPersister({ indexedDB: factory, dbName: 'lineage' });
    await persister.initialize();
    await persister.save(step('source', 0));
    await persister.save(step('branch', 0, { n: 0, __burr_edge_fork__: { partition_key: 'p', app_id: 'source', sequence_id: 0 } }));
    await persister.save(step('branch', 1));
    const [first, second] = await rawSteps(factory, 'lineage', 'p', 'branch');
    expect(JSON.parse((first as RawStep & { forked_from: string }).forked_from)).toEqual({ partition_key: 'p', app_id: 'source', sequence_id: 0 });
    expect(second).not.toHaveProperty('forked_from');
    expect((await persister.listHistory('p', 'branch')).steps.map((s) => s.forkedFrom)).toEqual([undefined, { partitionKey: 'p', appId: 'source', sequenceId: 0 }]);
    await persister.close();
  });

  it('prune that removes an app\'s most recent save (an older step saved last) moves the app to its newest remaining save', async () => {
    const factory = new IDBFactory();
    const persister = new IndexedDBPersister({ indexedDB: factory, dbName: 'prune-recency' });
    await persister.initialize();
    await persister.save(step('a', 5));
    await persister.save(step('b', 0));
    await persister.save(step('a', 3)); // a's most recent save, not its latest step
    expect(await persister.listAppIds('p')).toEqual(['a', 'b']);
    expect((await persister.prune({ partitionKey: 'p', keepLast: 1 })).deletedSteps).toBe(1);
    expect(await persister.listAppIds('p')).toEqual(['b', 'a']);
    expect(await persister.load('p', null)).toMatchObject({ appId: 'b', sequenceId: 0 });
    expect((await persister.listApps('p')).apps.map((a) => [a.appId, a.latestSequenceId])).toEqual([['b', 0], ['a', 5]]);
    await persister.close();
  });

  it('refuses bad options at construction', () => {
    expect(() => new IndexedDBPersister({ dbName: '' })).toThrow(/dbName/);
    expect(() => new IndexedDBPersister({ storeName: '' })).toThrow(/storeName/);
    expect(() => new IndexedDBPersister({ version: 0 })).toThrow(/version/);
    expect(() => new IndexedDBPersister({ client: {} as IdbDatabaseLike })).toThrow(/idb database/);
  });
});

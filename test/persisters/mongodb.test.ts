/**
 * MongoDBPersister beyond the shared conformance suite: the constructors (`fromValues` loads the
 * driver at run time and owns its client), which duplicate-key errors mean "already exists",
 * Burr collections the unique index cannot be built over, Burr's document fields, writers in
 * separate processes racing with `expectedSequenceId`, and native expiry (`expireAfterSeconds`).
 * Run on the harness's MongoDB endpoints (the test server; a real MongoDB with MONGODB_URL).
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MongoDBPersister as EdgeMongoDBPersister } from '../../src/persisters/mongodb/index.js';
import { MongoDBPersister, type MongoClientLike } from '../../src/persisters/mongodb/node.js';
import { startMongoTestServer } from '../harness/mongodb/server.js';
import { raceProcesses } from '../harness/race.js';

const step = (sequenceId: number, position = `step-${sequenceId}`) => ({ partitionKey: 'p', appId: 'a', sequenceId, position, state: { n: sequenceId }, status: 'completed' as const });

for (const endpoint of inject('harness').mongodb) {
  describe(`MongoDBPersister (${endpoint.server})`, () => {
    let client: MongoClient;
    let counter = 0;
    const fresh = () => `persister_${Date.now().toString(36)}_${counter++}`;
    const transports = {
      driver: (collectionName: string) => new MongoDBPersister({ client: client as unknown as MongoClientLike, dbName: endpoint.database, collectionName }),
      http: (collection: string) => MongoDBPersister.fromHttp({ url: endpoint.gatewayUrl, apiKey: endpoint.gatewayKey, database: endpoint.database, collection }),
    };

    beforeAll(() => {
      client = new MongoClient(endpoint.url);
    });
    afterAll(() => client?.close());

    it('fromValues builds its own client from the URI (driver imported at run time), and close() closes it', async () => {
      const collectionName = fresh();
      const persister = MongoDBPersister.fromValues({ uri: endpoint.url, dbName: endpoint.database, collectionName });
      await persister.initialize();
      await persister.save(step(0));
      expect((await persister.load('p', 'a'))?.state).toEqual({ n: 0 });
      const connections = async () => Number(((await client.db('admin').command({ serverStatus: 1 })) as { connections: { current: number } }).connections.current);
      const open = await connections();
      await persister.close();
      await expect(persister.load('p', 'a')).rejects.toMatchObject({ code: 'CLOSED' });
      // Its client is gone (its connections closed); the injected client of this test is not.
      // The server learns of a closed socket when the FIN arrives, after close() resolves
      // (Bun's sockets were seen to lag a few milliseconds), so the count is polled.
      await expect.poll(connections, { timeout: 5_000, interval: 25 }).toBeLessThan(open);
      // The document is there for anyone else: the client closed, the data did not go.
      expect(await client.db(endpoint.database).collection(collectionName).countDocuments()).toBe(1);
    });

    it('the edge build (what bundlers pick for Workers, Vercel Edge, browsers) has no driver: fromValues says to use fromHttp or pass a client', async () => {
      const persister = EdgeMongoDBPersister.fromValues({ uri: endpoint.url, dbName: endpoint.database, collectionName: fresh() });
      const error = await persister.initialize().then(() => null, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(String((error as Error).message)).toMatch(/use fromHttp .* pass new MongoDBPersister\(\{ client \}\)/);
    });

    it('fromHttp and fromValues build the class they are called on (Node\'s build)', () => {
      expect(MongoDBPersister.fromHttp({ url: endpoint.gatewayUrl, apiKey: endpoint.gatewayKey, database: endpoint.database, collection: 'c' })).toBeInstanceOf(MongoDBPersister);
      expect(MongoDBPersister.fromValues({ uri: endpoint.url })).toBeInstanceOf(MongoDBPersister);
    });

    it('listAppIds over HTTP names every app of a partition holding more apps than the gateway returns documents (1001 > 1000)', async () => {
      const collectionName = fresh();
      const http = transports.http(collectionName);
      await http.initialize();
      const at = (i: number) => `2026-11-27T08:15:${String(Math.floor(i / 1000)).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}000+00:00`;
      await client.db(endpoint.database).collection(collectionName).insertMany(Array.from({ length: 1001 }, (_, i) => ({ partition_key: 'big', app_id: `app-${i}`, sequence_id: 0, position: 'x', state: '{}', status: 'completed', created_at: at(i) })));
      const listed = await http.listAppIds('big');
      expect(listed).toHaveLength(1001);
      expect(listed.slice(0, 2)).toEqual(['app-1000', 'app-999']); // most recently saved first
      expect(await http.listAppIds('big', { limit: 3 })).toEqual(['app-1000', 'app-999', 'app-998']);
    });

    it("fromValues takes Burr's defaults for the database and collection names", () => {
      const persister = MongoDBPersister.fromValues({ uri: endpoint.url });
      expect(String((persister as unknown as { storageTarget: string }).storageTarget)).toBe('collection mydatabase.mystates');
    });

    it('bad constructor arguments are typed errors, before anything is sent', () => {
      expect(() => MongoDBPersister.fromValues({ uri: 'postgres://x' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => MongoDBPersister.fromValues({ uri: endpoint.url, dbName: 'a/b' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => MongoDBPersister.fromValues({ uri: endpoint.url, collectionName: 'system.users' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => MongoDBPersister.fromHttp({ url: 'ftp://x', apiKey: 'k', database: 'd', collection: 'c' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => MongoDBPersister.fromHttp({ url: endpoint.gatewayUrl, apiKey: '', database: 'd', collection: 'c' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => new MongoDBPersister({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    });

    for (const [name, make] of Object.entries(transports)) {
      it(`${name}: a duplicate on another unique index is a backend error, not ALREADY_EXISTS, and nothing is written`, async () => {
        const collectionName = fresh();
        const persister = make(collectionName);
        await persister.initialize();
        await client.db(endpoint.database).collection(collectionName).createIndex({ position: 1 }, { unique: true, name: 'position_unique' });
        await persister.save(step(0, 'same'));
        await expect(persister.save(step(1, 'same'))).rejects.toMatchObject({ code: 'BACKEND', retryable: false });
        expect(await persister.load('p', 'a')).toMatchObject({ sequenceId: 0 });
      });

      it(`${name}: a collection Burr filled with two documents at one key cannot take the unique index: initialize says so and changes nothing`, async () => {
        const collectionName = fresh();
        const burrDoc = (state: string) => ({ partition_key: 'p', app_id: 'a', sequence_id: 0, position: 'x', state, status: 'completed', created_at: '2026-11-27T08:15:03.873418+00:00' });
        await client.db(endpoint.database).collection(collectionName).insertMany([burrDoc('{"n": 1}'), burrDoc('{"n": 2}')]);
        const persister = make(collectionName);
        const error = await persister.initialize().then(() => null, (e: unknown) => e);
        expect(error).toMatchObject({ code: 'BACKEND', retryable: false });
        expect(String((error as Error).message)).toMatch(/two documents with the same \(partition_key, app_id, sequence_id\)/);
        expect(await client.db(endpoint.database).collection(collectionName).countDocuments()).toBe(2);
        expect(await persister.isInitialized()).toBe(false);
      });
    }

    for (const [name, make] of Object.entries(transports)) {
      it(`${name}: writers in 3 processes racing with expectedSequenceId — one winner per step, none lost`, async () => {
        const collectionName = fresh();
        const persister = make(collectionName);
        await persister.initialize();
        // The CLI's store arguments: the driver's URI, or the gateway's URL, each naming the collection.
        const store = name === 'driver' ? `${endpoint.url}#${endpoint.database}.${collectionName}` : `mongodb-gateway:${endpoint.gatewayUrl}#${endpoint.database}.${collectionName}`;
        const results = await raceProcesses({ persister, store, partitionKey: 'race', appId: 'session', writers: 3, rounds: 6, env: { MONGODB_GATEWAY_API_KEY: endpoint.gatewayKey } });
        expect(results).toHaveLength(3);
        // Both sides read the same documents: what one transport's writers saved, the driver counts.
        expect(await client.db(endpoint.database).collection(collectionName).countDocuments({ partition_key: 'race', app_id: 'session' })).toBe(19);
      }, 60_000);

      it(`${name}: expireAfterSeconds writes a BSON date expire_at on each step and initialize() adds a TTL index; Burr's fields are untouched`, async () => {
        const collectionName = fresh();
        const plain = make(collectionName);
        await plain.initialize();
        await plain.save(step(0));
        const build = name === 'driver'
          ? () => new MongoDBPersister({ client: client as unknown as MongoClientLike, dbName: endpoint.database, collectionName, expireAfterSeconds: 3600 })
          : () => MongoDBPersister.fromHttp({ url: endpoint.gatewayUrl, apiKey: endpoint.gatewayKey, database: endpoint.database, collection: collectionName, expireAfterSeconds: 3600 });
        const expiring = build();
        // A collection initialized without the TTL index is not in place for an expiring persister: its steps would never go.
        expect(await expiring.isInitialized()).toBe(false);
        await expect(expiring.save(step(1))).rejects.toMatchObject({ code: 'NOT_INITIALIZED' });
        await expiring.initialize();
        expect(await build().isInitialized()).toBe(true);
        const before = Date.now();
        await expiring.save(step(1));
        const raw = client.db(endpoint.database).collection(collectionName);
        const ttl = (await raw.listIndexes().toArray()).find((index) => index.name === 'expire_at_1');
        expect(ttl).toMatchObject({ key: { expire_at: 1 }, expireAfterSeconds: 0 });
        const saved = await raw.findOne({ sequence_id: 1 });
        expect(saved?.expire_at).toBeInstanceOf(Date);
        expect((saved!.expire_at as Date).getTime() - before).toBeGreaterThanOrEqual(3600_000 - 50);
        expect((saved!.expire_at as Date).getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
        expect(Object.keys(saved!).sort()).toEqual(['_id', 'app_id', 'created_at', 'expire_at', 'partition_key', 'position', 'sequence_id', 'state', 'status']);
        expect(typeof saved!.created_at).toBe('string');
        expect((await raw.findOne({ sequence_id: 0 }))?.expire_at).toBeUndefined(); // saved without expiry: kept forever
        expect((await expiring.load('p', 'a'))?.state).toEqual({ n: 1 });
        for (const bad of [0, -1, Number.NaN, Infinity, '60']) {
          expect(() => new MongoDBPersister({ client: client as unknown as MongoClientLike, dbName: endpoint.database, collectionName, expireAfterSeconds: bad as number })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
        }
      });

      it(`${name}: a fork's lineage is stored beside the state (forked_from), so history without state reports it`, async () => {
        const collectionName = fresh();
        const persister = make(collectionName);
        await persister.initialize();
        await persister.save({ ...step(3), state: { n: 3, __burr_edge_fork__: { partition_key: 'p', app_id: 'src', sequence_id: 3 } } });
        const doc = await client.db(endpoint.database).collection(collectionName).findOne({ sequence_id: 3 });
        expect(JSON.parse(String(doc?.forked_from))).toEqual({ partition_key: 'p', app_id: 'src', sequence_id: 3 });
        expect((await persister.listHistory('p', 'a')).steps[0]?.forkedFrom).toEqual({ partitionKey: 'p', appId: 'src', sequenceId: 3 });
      });
    }

    it('HTTP: prune and listApps over more apps than the gateway returns documents (1001 > 1000)', async () => {
      const collectionName = fresh();
      const http = transports.http(collectionName);
      await http.initialize();
      const at = (i: number, s: number) => `2026-11-27T08:${String(10 + s).padStart(2, '0')}:${String(Math.floor(i / 1000)).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}000+00:00`;
      const doc = (i: number, s: number) => ({ partition_key: 'big', app_id: `app-${i}`, sequence_id: s, position: 'x', state: '{}', status: 'completed', created_at: at(i, s) });
      await client.db(endpoint.database).collection(collectionName).insertMany(Array.from({ length: 1001 }, (_, i) => [doc(i, 0), doc(i, 1)]).flat());
      expect((await http.listApps('big', { limit: 2 })).apps.map((app) => app.appId)).toEqual(['app-1000', 'app-999']);
      expect(await http.prune({ partitionKey: 'big', keepLast: 1 })).toEqual({ deletedSteps: 1001 });
      expect(await client.db(endpoint.database).collection(collectionName).countDocuments({ sequence_id: 0 })).toBe(0);
      expect(await client.db(endpoint.database).collection(collectionName).countDocuments({ sequence_id: 1 })).toBe(1001);
    });

    it("listApps and prune read Burr's text created_at, with or without a fraction of a second, in time order", async () => {
      const collectionName = fresh();
      const persister = transports.driver(collectionName);
      await persister.initialize();
      // Python's isoformat() leaves the fraction out at a whole second: '…:05+00:00' is before '…:05.000001+00:00'.
      const doc = (app: string, sequenceId: number, created: string) => ({ partition_key: 'p', app_id: app, sequence_id: sequenceId, position: 'x', state: '{}', status: 'completed', created_at: created });
      await client.db(endpoint.database).collection(collectionName).insertMany([
        doc('whole', 0, '2026-11-27T08:15:04.999999+00:00'),
        doc('whole', 1, '2026-11-27T08:15:05+00:00'),
        doc('whole', 2, '2026-11-27T08:15:07+00:00'),
        doc('fraction', 0, '2026-11-27T08:15:05.000001+00:00'),
      ]);
      expect((await persister.listApps('p')).apps.map((app) => app.appId)).toEqual(['whole', 'fraction']);
      // Before 08:15:05 exactly: only the step a microsecond earlier; the one at 05 is not "before".
      expect(await persister.prune({ partitionKey: 'p', olderThan: new Date('2026-11-27T08:15:05.000Z') })).toEqual({ deletedSteps: 1 });
      expect((await persister.listHistory('p', 'whole')).steps.map((s) => s.sequenceId)).toEqual([2, 1]);
    });

    it("ids that look like operators are stored and matched as text", async () => {
      const persister = transports.http(fresh());
      await persister.initialize();
      await persister.save({ ...step(0), appId: '{"$gt": ""}' });
      await persister.save({ ...step(0), appId: 'plain' });
      expect((await persister.load('p', '{"$gt": ""}'))?.appId).toBe('{"$gt": ""}');
      expect(await persister.load('p', '{"$ne": null}')).toBeNull();
      await persister.deleteApp('p', '{"$gt": ""}');
      expect(await persister.listAppIds('p')).toEqual(['plain']);
    });
  });
}

describe('MongoDBPersister expiry on a test server whose TTL sweep runs every 100 ms (mongod sweeps every 60 s)', () => {
  it('a step saved with expireAfterSeconds is gone once that time has passed; a step without expire_at stays', async () => {
    const server = await startMongoTestServer({ ttlSweepMs: 100 });
    const client = new MongoClient(server.url);
    try {
      const collectionName = 'expiring';
      const forever = new MongoDBPersister({ client: client as unknown as MongoClientLike, dbName: 'ttl', collectionName });
      const brief = new MongoDBPersister({ client: client as unknown as MongoClientLike, dbName: 'ttl', collectionName, expireAfterSeconds: 0.5 });
      await brief.initialize();
      await forever.save({ ...step(0), appId: 'kept' });
      await brief.save(step(0));
      await brief.save(step(1));
      expect(await brief.listAppIds('p')).toEqual(['a', 'kept']);
      await expect.poll(() => brief.load('p', 'a'), { timeout: 5_000, interval: 100 }).toBeNull();
      expect(await brief.listAppIds('p')).toEqual(['kept']);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

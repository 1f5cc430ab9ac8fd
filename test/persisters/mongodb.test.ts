/**
 * MongoDBPersister beyond the shared conformance suite: the constructors (`fromValues` loads the
 * driver at run time and owns its client), which duplicate-key errors mean "already exists",
 * Burr collections the unique index cannot be built over, Burr's document fields, writers in
 * separate processes racing with `expectedSequenceId`, writers expecting one step while saving
 * different sequence ids (the follows index), and native expiry (`expireAfterSeconds`).
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
      it(`${name}: two documents of one app with one follows (written around the kit) stop the follows index: initialize says so and builds nothing`, async () => {
        const collectionName = fresh();
        const doc = (sequenceId: number) => ({ partition_key: 'p', app_id: 'a', sequence_id: sequenceId, position: 'x', state: '{}', status: 'completed', created_at: '2026-11-27T08:15:03.873418+00:00', follows: null });
        const raw = client.db(endpoint.database).collection(collectionName);
        await raw.insertMany([doc(0), doc(3)]);
        const persister = make(collectionName);
        const error = await persister.initialize().then(() => null, (e: unknown) => e);
        expect(error).toMatchObject({ code: 'BACKEND', retryable: false });
        expect(String((error as Error).message)).toMatch(/same `follows`/);
        expect((await raw.listIndexes().toArray()).map((index) => index.name)).toEqual(['_id_']);
        expect(await persister.isInitialized()).toBe(false);
      });

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

      it(`${name}: writers expecting the same step but saving different sequence ids (gapped, and creators of one app) — exactly one wins per expectation`, async () => {
        const collectionName = fresh();
        const writers = 4;
        const rounds = 12;
        // Separate clients (driver) or separate persisters over fetch (HTTP): no shared connection orders them.
        const clients = name === 'driver' ? Array.from({ length: writers }, () => new MongoClient(endpoint.url)) : [];
        const persisters = name === 'driver'
          ? clients.map((own) => new MongoDBPersister({ client: own as unknown as MongoClientLike, dbName: endpoint.database, collectionName, ownsClient: true }))
          : Array.from({ length: writers }, () => make(collectionName));
        try {
          await persisters[0]!.initialize();
          await Promise.all(persisters.slice(1).map((p) => p.initialize()));
          let expected: number | null = null;
          for (let round = 0; round < rounds; round++) {
            const base: number = expected === null ? 0 : expected + 1;
            // Writer i saves base + 3i: every writer expects the same step, no two save the same key.
            const outcomes = await Promise.allSettled(
              persisters.map((p, i) => p.save({ partitionKey: 'gaps', appId: 'session', sequenceId: base + 3 * i, position: `w${i}`, state: { round, writer: i }, status: 'completed', expectedSequenceId: expected })),
            );
            const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
            expect(won, `round ${round} (expecting ${String(expected)}): one winner`).toHaveLength(1);
            for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'CONCURRENT_UPDATE' });
            expected = base + 3 * won[0]!;
            expect((await persisters[1]!.load('gaps', 'session'))?.sequenceId).toBe(expected);
          }
          const raw = client.db(endpoint.database).collection(collectionName);
          expect(await raw.countDocuments({ partition_key: 'gaps', app_id: 'session' })).toBe(rounds);
          // Each stored step follows the one before it: one chain, nothing lost or forked.
          const chain = await raw.find({ partition_key: 'gaps', app_id: 'session' }, { sort: { sequence_id: 1 } }).toArray();
          chain.forEach((doc, i) => expect(doc.follows).toBe(i === 0 ? null : chain[i - 1]!.sequence_id));
        } finally {
          await Promise.all(persisters.map((p) => p.close()));
        }
      }, 60_000);

      it(`${name}: a conditional save stores follows (null: it created the app), an unconditional one Burr's fields only; without the follows index the collection is not in place`, async () => {
        const collectionName = fresh();
        const raw = client.db(endpoint.database).collection(collectionName);
        // A collection an older kit (or Burr plus the kit's other indexes) set up: no follows index.
        await raw.createIndexes([
          { key: { partition_key: 1, app_id: 1, sequence_id: 1 }, name: 'partition_key_1_app_id_1_sequence_id_1', unique: true },
          { key: { partition_key: 1, created_at: -1, _id: -1 }, name: 'partition_key_1_created_at_-1__id_-1' },
        ]);
        const persister = make(collectionName);
        // Conditional saves would lose their one-winner guarantee: not in place until initialize() adds the index.
        expect(await persister.isInitialized()).toBe(false);
        await expect(persister.save(step(0))).rejects.toMatchObject({ code: 'NOT_INITIALIZED' });
        await persister.initialize();
        expect(await make(collectionName).isInitialized()).toBe(true);
        const follows = (await raw.listIndexes().toArray()).find((index) => index.name === 'partition_key_1_app_id_1_follows_1');
        expect(follows).toMatchObject({ key: { partition_key: 1, app_id: 1, follows: 1 }, unique: true, partialFilterExpression: { follows: { $exists: true } } });
        await persister.save({ ...step(0), expectedSequenceId: null });
        await persister.save({ ...step(4), expectedSequenceId: 0 });
        await persister.save(step(5));
        await persister.save(step(6));
        expect((await raw.findOne({ sequence_id: 0 }))?.follows).toBeNull();
        expect((await raw.findOne({ sequence_id: 4 }))?.follows).toBe(0);
        expect(Object.keys((await raw.findOne({ sequence_id: 5 }))!).sort()).toEqual(['_id', 'app_id', 'created_at', 'partition_key', 'position', 'sequence_id', 'state', 'status']);
        // Unconditional steps are not in the index: many of them, none conflicting.
        expect(await raw.countDocuments({ follows: { $exists: false } })).toBe(2);
        // A retry of a conditional save finds its own record: success; another record expecting the same step: refused.
        await persister.save({ ...step(7), expectedSequenceId: 6 });
        await persister.save({ ...step(7), expectedSequenceId: 6 });
        await expect(persister.save({ ...step(9), expectedSequenceId: 6 })).rejects.toMatchObject({ code: 'CONCURRENT_UPDATE' });
        // Another app in the partition, and the same app id in another partition, create freely.
        await persister.save({ ...step(0), appId: 'b', expectedSequenceId: null });
        await persister.save({ ...step(0), partitionKey: 'q', expectedSequenceId: null });
        expect(await raw.countDocuments({ follows: { $type: 'null' } })).toBe(3); // (`follows: null` would match a missing field too)
      });

      it(`${name}: a duplicate on the follows index with the read passed is CONCURRENT_UPDATE, and nothing is written`, async () => {
        const collectionName = fresh();
        const persister = make(collectionName);
        await persister.initialize();
        await persister.save({ ...step(0), expectedSequenceId: null });
        const raw = client.db(endpoint.database).collection(collectionName);
        // Stands in for another writer that, between this writer's read (latest 0) and its insert, saved a step after 0:
        // a document following 0 that is not the latest, so the read passes and only the index refuses.
        await raw.insertOne({ partition_key: 'p', app_id: 'a', sequence_id: -1, position: 'other', state: '{}', status: 'completed', created_at: '2000-01-01T00:00:00+00:00', follows: 0 });
        const error = await persister.save({ ...step(3), expectedSequenceId: 0 }).then(() => null, (e: unknown) => e);
        expect(error).toMatchObject({ code: 'CONCURRENT_UPDATE', expectedSequenceId: 0 });
        expect(await raw.countDocuments({ sequence_id: 3 })).toBe(0);
      });

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

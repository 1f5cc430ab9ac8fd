/**
 * MongoDBPersister beyond the shared conformance suite: the constructors (`fromValues` loads the
 * driver at run time and owns its client), which duplicate-key errors mean "already exists",
 * Burr collections the unique index cannot be built over, and Burr's document fields.
 * Run on the harness's MongoDB endpoints (the test server; a real MongoDB with MONGODB_URL).
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MongoDBPersister as EdgeMongoDBPersister } from '../../src/persisters/mongodb/index.js';
import { MongoDBPersister, type MongoClientLike } from '../../src/persisters/mongodb/node.js';

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

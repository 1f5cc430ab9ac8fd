/**
 * Burr (Python) and burr-edge share a MongoDB collection: every document Burr's
 * `MongoDBBasePersister` inserted (`../shared/fixtures/burr-python/mongodb/burr_state.json`) is
 * inserted as pymongo sent it, the kit reads it over both transports (the driver, and fetch to
 * the gateway) exactly as Burr's `load` / `list_app_ids` returned it (`expected.json`), and what
 * the kit writes is read back by a transliteration of Burr's own `load`, field by field.
 *
 * Run on the harness's MongoDB: the wire-protocol test server, or a real one with MONGODB_URL.
 */
import { readFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jsonEqual } from '../../src/core/compare.js';
import { parseJson, type JsonObject, type JsonValue } from '../../src/core/json.js';
import { MongoDBPersister, type MongoClientLike } from '../../src/persisters/mongodb/index.js';
import { instrumentFetch } from '../../src/testing/index.js';
import { FIXTURES_DIR, expectSameAsBurr, expectedFor, partitionArg } from './fixtures.js';

const expected = expectedFor('mongodb');
const fixture = JSON.parse(readFileSync(`${FIXTURES_DIR}mongodb/burr_state.json`, 'utf8')) as { database: string; collection: string; documents: Record<string, unknown>[] };

// The test server always; a real MongoDB too when MONGODB_URL is set.
for (const endpoint of inject('harness').mongodb) {
  describe(`Burr's MongoDB documents (${endpoint.server})`, () => {
    const database = endpoint.database;
    const collectionName = `burr_interop_${Date.now().toString(36)}`;
    let client: MongoClient;
    const requests = instrumentFetch();
    const transports: { name: string; persister: () => MongoDBPersister }[] = [];

    beforeAll(async () => {
      client = new MongoClient(endpoint.url);
      // As pymongo sent them: Burr's fields, `sequence_id` an int32, `state` JSON text.
      await client.db(database).collection(collectionName).insertMany(fixture.documents.map((d) => ({ ...d })));
      const driver = new MongoDBPersister({ client: client as unknown as MongoClientLike, dbName: database, collectionName });
      const http = MongoDBPersister.fromHttp({ url: endpoint.gatewayUrl, apiKey: endpoint.gatewayKey, database, collection: collectionName, fetch: requests.fetch });
      // Burr made no index: initialize() adds the kit's over Burr's documents.
      await driver.initialize();
      await http.initialize();
      transports.push({ name: 'driver', persister: () => driver }, { name: 'HTTP gateway', persister: () => http });
    });

    afterAll(async () => {
      await client?.db(database).collection(collectionName).drop().catch(() => undefined);
      await client?.close();
    });

    /** Burr's `MongoDBBasePersister.load` (b_pymongo.py) over the driver: find_one sorted by sequence_id desc, json.loads of `state`. */
    async function burrLoad(partitionKey: string | null, appId: string, sequenceId?: number) {
      const query: Record<string, unknown> = { partition_key: partitionKey, app_id: appId };
      if (sequenceId !== undefined) query.sequence_id = sequenceId;
      const document = await client.db(database).collection(collectionName).findOne(query, { sort: { sequence_id: -1 } });
      if (!document) return null;
      return { partition_key: partitionKey, app_id: appId, sequence_id: document.sequence_id as number, position: document.position, state: parseJson(String(document.state)), created_at: document.created_at, status: document.status };
    }

    for (const transport of ['driver', 'HTTP gateway']) {
      describe(`reads Burr's MongoDB documents as Burr does (${transport})`, () => {
        for (const { query, result } of expected.loads) {
          it(`load(${JSON.stringify(query.partition_key)}, ${query.app_id}, ${query.sequence_id})${transport === 'HTTP gateway' ? ' in one request' : ''}`, async () => {
            const { persister } = transports.find((t) => t.name === transport)!;
            const before = requests.requests();
            const loaded = await persister().load(query.partition_key, query.app_id, query.sequence_id);
            if (transport === 'HTTP gateway') expect(requests.requests() - before).toBe(1);
            if (!expectSameAsBurr(loaded, result) || result === null) return;
            const stored = fixture.documents.find((d) => d.app_id === result.app_id && d.partition_key === result.partition_key && d.sequence_id === result.sequence_id)!;
            expect(loaded.createdAt).toBe(`${String(stored.created_at).slice(0, 23)}Z`);
          });
        }

        for (const [partition, ids] of Object.entries(expected.list_app_ids)) {
          it(`listAppIds(${partition}) names Burr's apps once each, the most recently saved first`, async () => {
            const { persister } = transports.find((t) => t.name === transport)!;
            const listed = await persister().listAppIds(partitionArg(partition));
            expect([...listed].sort()).toEqual([...ids].sort());
            const latestAt = (app: string) => fixture.documents.filter((d) => d.partition_key === partitionArg(partition) && d.app_id === app).map((d) => String(d.created_at)).sort().at(-1)!;
            expect(listed).toEqual([...ids].sort((a, b) => latestAt(b).localeCompare(latestAt(a))));
          });
        }

        it("the session API reads Burr's documents: history newest first, apps by last save, partitions ascending", async () => {
          const persister = transports.find((t) => t.name === transport)!.persister();
          const steps = (pk: string, app: string) => fixture.documents.filter((d) => d.partition_key === pk && d.app_id === app);
          const history = await persister.listHistory('user-a', 'app-1', { limit: 4 });
          expect(history.steps.map((s) => [s.sequenceId, s.status])).toEqual(steps('user-a', 'app-1').map((d) => [d.sequence_id, d.status]).reverse().slice(0, 4));
          expect(history.steps[0]!.createdAt).toBe(`${String(steps('user-a', 'app-1').at(-1)!.created_at).slice(0, 23)}Z`);
          expect((await persister.listHistory('user-a', 'app-1', { before: history.nextBefore!, withState: true })).steps.map((s) => s.state)).toEqual(steps('user-a', 'app-1').slice(0, 2).reverse().map((d) => parseJson(String(d.state))));
          const apps = await persister.listApps('user-a', { limit: 2 });
          const rest = await persister.listApps('user-a', { cursor: apps.nextCursor });
          expect([...apps.apps, ...rest.apps].map((a) => a.appId)).toEqual(await persister.listAppIds('user-a'));
          expect(apps.apps[0]).toMatchObject({ appId: 'big-state', latestSequenceId: 1, status: 'completed' });
          const keys = [...new Set(fixture.documents.map((d) => String(d.partition_key)))].sort();
          expect((await persister.listPartitionKeys()).partitionKeys).toEqual(keys);
        });

        it('keeps the integer beyond 2^53 exact and -0.0 negative', async () => {
          const loaded = await transports.find((t) => t.name === transport)!.persister().load('user-a', 'edge-cases');
          expect(loaded!.state.big_int).toBe(9007199254740993n);
          expect(Object.is((loaded!.state.floats as number[])[1], -0)).toBe(true);
        });
      });
    }

    describe("writes what Burr's MongoDBBasePersister reads", () => {
      it("a saved step is a document with exactly Burr's fields and types, and Burr's load returns it", async () => {
        const persister = transports[0]!.persister();
        const state: JsonObject = { count: 7, big: 9007199254740993n, where: { __burr_serde__: 'point', x: 1.5, y: -2 }, __SEQUENCE_ID: 0, __PRIOR_STEP: 'counter' };
        await persister.save({ partitionKey: 'user-b', appId: 'from-edge', sequenceId: 0, position: 'counter', state, status: 'completed' });
        const document = await client.db(database).collection(collectionName).findOne({ app_id: 'from-edge' }, { projection: { _id: 0 } });
        const burrDocument = fixture.documents[0]!;
        expect(Object.keys(document!).sort()).toEqual(Object.keys(burrDocument).sort());
        for (const field of Object.keys(burrDocument)) expect(typeof document![field], field).toBe(typeof burrDocument[field]);
        expect(document!.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
        // BSON types, not just JS ones: sequence_id an int32 (as pymongo writes a small int), the rest strings.
        expect(await client.db(database).collection(collectionName).countDocuments({ app_id: 'from-edge', sequence_id: { $type: 'int' }, state: { $type: 'string' }, created_at: { $type: 'string' } })).toBe(1);
        expect(document!.state).toContain('"big":9007199254740993');
        const read = await burrLoad('user-b', 'from-edge');
        expect(read).toMatchObject({ partition_key: 'user-b', app_id: 'from-edge', sequence_id: 0, position: 'counter', status: 'completed', created_at: document!.created_at });
        expect(jsonEqual(read!.state, state as JsonValue)).toBe(true);
      });

      it("the kit's step after Burr's is Burr's latest, a duplicate of Burr's step is refused, Burr's document untouched", async () => {
        const http = transports[1]!.persister();
        await http.save({ partitionKey: 'user-a', appId: 'app-1', sequenceId: 6, position: 'counter', state: { count: 4 }, status: 'completed' });
        expect((await burrLoad('user-a', 'app-1'))?.sequence_id).toBe(6);
        expect((await burrLoad('user-a', 'app-1', 5))?.status).toBe('failed');
        expect((await http.listAppIds('user-a'))[0]).toBe('app-1');
        expect((await http.load('user-a', null))?.sequenceId).toBe(6);
        const before = await client.db(database).collection(collectionName).findOne({ partition_key: 'user-a', app_id: 'app-1', sequence_id: 5 });
        await expect(http.save({ partitionKey: 'user-a', appId: 'app-1', sequenceId: 5, position: 'boom', state: { other: true }, status: 'failed' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
        expect(await client.db(database).collection(collectionName).findOne({ partition_key: 'user-a', app_id: 'app-1', sequence_id: 5 })).toEqual(before);
      });

      it("a conditional save continues Burr's latest step; a fork's forked_from and an expiring step's expire_at do not disturb Burr's load", async () => {
        const http = transports[1]!.persister();
        await http.save({ partitionKey: 'user-a', appId: 'app-2', sequenceId: 2, position: 'counter', state: { count: 2 }, status: 'completed', expectedSequenceId: 1 });
        expect((await burrLoad('user-a', 'app-2'))?.sequence_id).toBe(2);
        await expect(http.save({ partitionKey: 'user-a', appId: 'app-2', sequenceId: 2, position: 'late', state: {}, status: 'completed', expectedSequenceId: 1 })).rejects.toMatchObject({ code: 'CONCURRENT_UPDATE' });
        const expiring = new MongoDBPersister({ client: client as unknown as MongoClientLike, dbName: database, collectionName, expireAfterSeconds: 86_400 });
        await expiring.initialize();
        const state = { count: 1, __burr_edge_fork__: { partition_key: 'user-a', app_id: 'app-1', sequence_id: 1 } };
        await expiring.save({ partitionKey: 'user-b', appId: 'forked', sequenceId: 1, position: 'counter', state, status: 'completed' });
        const document = await client.db(database).collection(collectionName).findOne({ app_id: 'forked' });
        expect(document).toMatchObject({ forked_from: JSON.stringify(state.__burr_edge_fork__), expire_at: expect.any(Date) });
        const read = await burrLoad('user-b', 'forked');
        expect(read).toMatchObject({ partition_key: 'user-b', app_id: 'forked', sequence_id: 1, position: 'counter', status: 'completed' });
        expect(read!.state).toEqual(state);
      });

      it("the kit's empty partition key is Burr's None (null)", async () => {
        await transports[0]!.persister().save({ partitionKey: null, appId: 'no-partition', sequenceId: 0, position: 'x', state: { n: 1 }, status: 'completed' });
        expect((await burrLoad(null, 'no-partition'))?.state).toEqual({ n: 1 });
        expect((await client.db(database).collection(collectionName).findOne({ app_id: 'no-partition' }))?.partition_key).toBeNull();
      });
    });
  });
}

/**
 * Burr (Python) and burr-edge share a Redis database: every key Burr's `RedisBasePersister`
 * wrote (`../shared/fixtures/burr-python/redis/burr_state.json`, namespace `demo`) is replayed
 * into a real redis-server, the kit reads it through the Upstash REST front exactly as Burr's
 * `load` / `list_app_ids` returned it (`expected.json`), and what the kit writes is read back
 * by a transliteration of Burr's own `load` over raw Redis.
 */
import { readFileSync } from 'node:fs';
import { Redis as IORedis } from 'ioredis';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonEqual } from '../../src/core/compare.js';
import { parseJson, type JsonObject, type JsonValue } from '../../src/core/json.js';
import { RedisPersister } from '../../src/persisters/redis/index.js';
import { instrumentFetch } from '../../src/testing/index.js';
import { upstashRequester } from '../conformance/redis-targets.js';
import { startRedis, startUpstashFront, type RedisServer, type UpstashFront } from '../harness/redis.js';
import { FIXTURES_DIR, expectSameAsBurr, expectedFor, partitionArg } from './fixtures.js';

interface DumpedKey {
  type: 'hash' | 'zset';
  value: Record<string, string> | [string, number][];
}

const expected = expectedFor('redis');
const TOKEN = 'interop-token';
let server: RedisServer;
let front: UpstashFront;
let raw: IORedis;
let persister: RedisPersister;
const requests = instrumentFetch();
let dump: { namespace: string; keys: Record<string, DumpedKey> };

beforeAll(async () => {
  // A server of its own: the fixture's keys live in namespace `demo`, unshared with other files.
  server = await startRedis();
  front = await startUpstashFront({ redisUrl: server.url, token: TOKEN });
  raw = new IORedis(server.url);
  dump = JSON.parse(readFileSync(`${FIXTURES_DIR}redis/burr_state.json`, 'utf8')) as typeof dump;
  for (const [key, { type, value }] of Object.entries(dump.keys)) {
    if (type === 'hash') await raw.hset(key, value as Record<string, string>);
    else for (const [member, score] of value as [string, number][]) await raw.zadd(key, score, member);
  }
  // Burr's namespace, the client's defaults (automatic deserialization on), no initialize():
  // a Worker pointed at Burr's data goes straight to work.
  persister = new RedisPersister({ client: new Redis(upstashRequester(front.url, TOKEN, requests.fetch)), namespace: dump.namespace, assumeInitialized: true });
  // The first load on this fresh server's cold script cache costs EVALSHA (NOSCRIPT) + EVAL.
  const before = requests.requests();
  await persister.load('nobody', 'nothing');
  expect(requests.requests() - before).toBe(2);
});

afterAll(async () => {
  raw?.disconnect();
  await front?.close();
  await server?.stop();
});

/**
 * Burr's `RedisBasePersister.load` (b_redis.py), over raw Redis: ZSCORE for the latest sequence
 * id, HGETALL of `<ns>:<pk>:<app>:<seq>`, `json.loads` of the state.
 */
async function burrLoad(namespace: string, partitionKey: string | null, appId: string, sequenceId?: number) {
  const pk = partitionKey ?? '';
  const zsetKey = namespace ? `${namespace}:${pk}` : pk;
  let seq = sequenceId;
  if (seq === undefined) {
    const score = await raw.zscore(zsetKey, appId);
    if (score === null) return null;
    seq = Math.trunc(Number(score));
  }
  const key = namespace ? `${namespace}:${pk}:${appId}:${seq}` : `${pk}:${appId}:${seq}`;
  const data = await raw.hgetall(key);
  if (Object.keys(data).length === 0) return null;
  return { partition_key: pk, app_id: appId, sequence_id: seq, position: data.position, state: parseJson(data.state!), created_at: data.created_at, status: data.status };
}

describe("reads Burr's Redis data as Burr does (namespace demo)", () => {
  for (const { query, result } of expected.loads) {
    it(`load(${JSON.stringify(query.partition_key)}, ${query.app_id}, ${query.sequence_id}) in one request`, async () => {
      const before = requests.requests();
      const loaded = await persister.load(query.partition_key, query.app_id, query.sequence_id);
      expect(requests.requests() - before).toBe(1); // EVALSHA (the script was cached in beforeAll)
      if (!expectSameAsBurr(loaded, result) || result === null) return;
      // Burr's `+00:00` microseconds, as ISO UTC with milliseconds.
      const stored = (dump.keys[`demo:${result.partition_key}:${result.app_id}:${result.sequence_id}`]!.value as Record<string, string>).created_at!;
      expect(loaded.createdAt).toBe(`${stored.slice(0, 23)}Z`);
    });
  }

  it('after the script is cached every load is one request', async () => {
    const before = requests.requests();
    for (const { query } of expected.loads) await persister.load(query.partition_key, query.app_id, query.sequence_id);
    expect(requests.requests() - before).toBe(expected.loads.length);
  });

  it('keeps the integer beyond 2^53 exact and -0.0 negative', async () => {
    const loaded = await persister.load('user-a', 'edge-cases');
    expect(loaded!.state.big_int).toBe(9007199254740993n);
    expect(Object.is((loaded!.state.floats as number[])[1], -0)).toBe(true);
  });

  for (const [partition, ids] of Object.entries(expected.list_app_ids)) {
    it(`listAppIds(${partition}) is Burr's list, in Burr's order (highest sequence id first)`, async () => {
      expect(await persister.listAppIds(partitionArg(partition))).toEqual(ids);
    });
  }

  it("load(pk, null) on a partition only Burr wrote: the app whose latest step Burr saved last", async () => {
    const apps = (dump.keys['demo:user-a']!.value as [string, number][]).map(([app, seq]) => ({ app, seq, at: (dump.keys[`demo:user-a:${app}:${seq}`]!.value as Record<string, string>).created_at! }));
    const newest = apps.reduce((a, b) => (b.at > a.at ? b : a));
    const loaded = await persister.load('user-a', null);
    expect([loaded?.appId, loaded?.sequenceId]).toEqual([newest.app, newest.seq]);
  });
});

describe("writes what Burr's RedisPersister reads", () => {
  it('a saved step has Burr\'s key, fields and sorted-set member, and Burr\'s load returns it', async () => {
    const state: JsonObject = { count: 7, big: 9007199254740993n, where: { __burr_serde__: 'point', x: 1.5, y: -2 }, __SEQUENCE_ID: 0, __PRIOR_STEP: 'counter' };
    await persister.save({ partitionKey: 'user-b', appId: 'from-edge', sequenceId: 0, position: 'counter', state, status: 'completed' });
    const fields = await raw.hgetall('demo:user-b:from-edge:0');
    // The same seven fields as every hash Burr wrote.
    const burrFields = Object.keys(dump.keys['demo:user-b:app-3:0']!.value as Record<string, string>).sort();
    expect(Object.keys(fields).sort()).toEqual(burrFields);
    expect(fields.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
    expect(fields.state).toContain('"big":9007199254740993');
    expect(await raw.zscore('demo:user-b', 'from-edge')).toBe('0');

    const read = await burrLoad('demo', 'user-b', 'from-edge');
    expect(read).toMatchObject({ partition_key: 'user-b', app_id: 'from-edge', sequence_id: 0, position: 'counter', status: 'completed', created_at: fields.created_at });
    expect(jsonEqual(read!.state, state as JsonValue)).toBe(true);
  });

  it("Burr's load sees the kit's next step of Burr's app as latest, and the kit's list puts it first", async () => {
    await persister.save({ partitionKey: 'user-a', appId: 'app-1', sequenceId: 6, position: 'counter', state: { count: 4 }, status: 'completed' });
    expect((await burrLoad('demo', 'user-a', 'app-1'))?.sequence_id).toBe(6);
    expect((await burrLoad('demo', 'user-a', 'app-1', 5))?.status).toBe('failed');
    // Burr's list_app_ids (ZREVRANGE by sequence id) still names every app once.
    expect(await raw.zrevrange('demo:user-a', 0, -1)).toEqual(['app-1', 'edge-cases', 'big-state', 'app-2']);
    expect(await persister.listAppIds('user-a')).toEqual(['app-1', 'edge-cases', 'big-state', 'app-2']);
    expect((await persister.load('user-a', null))?.sequenceId).toBe(6);
    // A duplicate of a step Burr wrote is refused, and Burr's hash is untouched.
    const before = await raw.hgetall('demo:user-a:app-1:5');
    await expect(persister.save({ partitionKey: 'user-a', appId: 'app-1', sequenceId: 5, position: 'boom', state: { other: true }, status: 'failed' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await raw.hgetall('demo:user-a:app-1:5')).toEqual(before);
  });
});

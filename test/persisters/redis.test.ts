/**
 * RedisPersister against its own real redis-server behind the harness's Upstash REST front
 * (private to this file, so flushing the script cache cannot disturb other files' request
 * counts). Raw storage is checked around the persister with ioredis.
 */
import fc from 'fast-check';
import { Redis as IORedis } from 'ioredis';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { isPersisterError, type PersisterError } from '../../src/core/errors.js';
import {
  LUA_COMMON,
  RedisPersister,
  WRITE_SCRIPT,
  escapeKeyPart,
  redisKeyLayout,
  unescapeKeyPart,
  type RedisPersisterOptions,
} from '../../src/persisters/redis/index.js';
import { instrumentFetch, type InstrumentedFetch } from '../../src/testing/index.js';
import { startRedis, startUpstashFront, type RedisServer, type UpstashFront } from '../harness/redis.js';
import { upstashRequester } from '../conformance/redis-targets.js';
import { raceProcesses } from '../harness/race.js';

const TOKEN = 'secret-token-redis-tests';
let server: RedisServer;
let front: UpstashFront;
let raw: IORedis;

beforeAll(async () => {
  server = await startRedis();
  front = await startUpstashFront({ redisUrl: server.url, token: TOKEN });
  raw = new IORedis(server.url);
});

afterAll(async () => {
  raw?.disconnect();
  await front?.close();
  await server?.stop();
});

beforeEach(async () => {
  await raw.flushall();
});

interface Subject {
  persister: RedisPersister;
  fetch: InstrumentedFetch;
  /** Commands sent (lower-cased name first), in order. */
  sent: string[][];
}

/** A persister over the unmodified client (its defaults: automatic deserialization on) with an instrumented fetch. */
async function subject(options: Partial<RedisPersisterOptions> = {}, init = true): Promise<Subject> {
  const sent: string[][] = [];
  const instrumented = instrumentFetch(async (input, request) => {
    const body = JSON.parse(String(request?.body)) as unknown[];
    sent.push((Array.isArray(body[0]) ? (body[0] as unknown[]) : body).map(String));
    return fetch(input, request);
  });
  const client = new Redis(upstashRequester(front.url, TOKEN, instrumented.fetch));
  const persister = new RedisPersister({ client, ...options });
  if (init) await persister.initialize();
  return { persister, fetch: instrumented, sent };
}

async function requestsOf(s: Subject, run: () => Promise<unknown>): Promise<number> {
  const before = s.fetch.requests();
  await run();
  return s.fetch.requests() - before;
}

async function errorOf(run: () => Promise<unknown>): Promise<PersisterError> {
  try {
    await run();
  } catch (error) {
    if (isPersisterError(error)) return error;
    throw error;
  }
  throw new Error('expected a PersisterError');
}

const step = (partitionKey: string | null, appId: string, sequenceId: number, state: Record<string, unknown> = { n: sequenceId }) =>
  ({ partitionKey, appId, sequenceId, position: `step-${sequenceId}`, state, status: 'completed' as const });

/** Burr's Python key functions (burr/integrations/persisters/b_redis.py), transliterated. */
const burr = {
  addNamespace: (partitionKey: string, namespace: string) => (namespace ? `${namespace}:${partitionKey}` : partitionKey),
  createKey: (appId: string, partitionKey: string, sequenceId: number, namespace: string) => burr.addNamespace(`${partitionKey}:${appId}:${sequenceId}`, namespace),
};

const PYTHON_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;

describe("Burr's key layout", () => {
  for (const namespace of ['demo', '']) {
    it(`keys and fields are byte-identical to Burr's for ordinary ids (namespace ${JSON.stringify(namespace)})`, async () => {
      const { persister } = await subject({ namespace });
      const state = { count: 1, messages: [{ role: 'user', content: 'hi' }] };
      await persister.save({ ...step('user-a', 'app-1', 0, state), position: 'counter' });
      await persister.save(step('user-a', 'app-1', 1));
      await persister.save(step(null, 'app-2', 0));

      const hash0 = burr.createKey('app-1', 'user-a', 0, namespace);
      const zset = burr.addNamespace('user-a', namespace);
      const keys = redisKeyLayout(namespace);
      expect(keys.record('user-a', 'app-1', 0)).toBe(hash0);
      expect(keys.partition('user-a')).toBe(zset);
      expect((await raw.keys('*')).sort()).toEqual(
        [
          hash0,
          burr.createKey('app-1', 'user-a', 1, namespace),
          burr.createKey('app-2', '', 0, namespace),
          zset,
          burr.addNamespace('', namespace),
          // the kit's own keys, beside Burr's
          keys.recentApps('user-a'),
          keys.latestRecord('user-a'),
          keys.recentApps(''),
          keys.latestRecord(''),
          keys.steps('user-a', 'app-1'),
          keys.steps('', 'app-2'),
          keys.partitions,
          keys.marker,
        ].sort(),
      );
      expect(await raw.type(hash0)).toBe('hash');
      expect(await raw.type(zset)).toBe('zset');
      const fields = await raw.hgetall(hash0);
      expect(Object.keys(fields).sort()).toEqual(['app_id', 'created_at', 'partition_key', 'position', 'sequence_id', 'state', 'status']);
      expect({ ...fields, created_at: undefined }).toEqual({
        partition_key: 'user-a',
        app_id: 'app-1',
        sequence_id: '0',
        position: 'counter',
        state: JSON.stringify(state),
        status: 'completed',
        created_at: undefined,
      });
      expect(fields.created_at).toMatch(PYTHON_ISO);
      expect(await raw.zrange(zset, 0, -1, 'WITHSCORES')).toEqual(['app-1', '1']);
      expect(await raw.hget(burr.createKey('app-2', '', 0, namespace), 'partition_key')).toBe('');
    });
  }

  it('for ids without : or %, every key is the one Burr computes (property)', () => {
    const ordinary = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'Z', '-', '_', '.', '/', ' ', '3', 'A'), fc.constantFrom('é', '日', '🚀')), maxLength: 12 });
    fc.assert(
      fc.property(fc.constantFrom('', 'demo', 'ns-1'), ordinary, ordinary.filter((s) => s !== ''), fc.nat(2 ** 31 - 1), (namespace, partitionKey, appId, sequenceId) => {
        const keys = redisKeyLayout(namespace);
        return (
          keys.record(partitionKey, appId, sequenceId) === burr.createKey(appId, partitionKey, sequenceId, namespace) &&
          keys.partition(partitionKey) === burr.addNamespace(partitionKey, namespace)
        );
      }),
      { numRuns: 500 },
    );
  });

  it('escapes : and % so partition a:b + app c and partition a + app b:c do not share a key', async () => {
    const { persister } = await subject({ namespace: 'x' });
    await persister.save(step('a:b', 'c', 0, { owner: 'a:b/c' }));
    await persister.save(step('a', 'b:c', 0, { owner: 'a/b:c' }));
    await persister.save(step('100%', 'd', 0, { owner: '100%' }));
    expect((await persister.load('a:b', 'c'))?.state).toEqual({ owner: 'a:b/c' });
    expect((await persister.load('a', 'b:c'))?.state).toEqual({ owner: 'a/b:c' });
    expect(await persister.listAppIds('a')).toEqual(['b:c']);
    expect(await persister.listAppIds('a:b')).toEqual(['c']);
    expect(await raw.hget('x:a%3Ab:c:0', 'state')).toBe('{"owner":"a:b/c"}');
    expect(await raw.hget('x:a:b%3Ac:0', 'state')).toBe('{"owner":"a/b:c"}');
    expect(await raw.hget('x:100%25:d:0', 'app_id')).toBe('d');
  });

  it('no two different (partition, app, sequence) share a key, and no record or sorted set shares a key with the kit\'s own keys (property)', () => {
    const part = fc.string({ unit: fc.oneof(fc.constantFrom(':', '%', '3', 'A', '2', '5', 'a', 'b'), fc.constantFrom('é', '🚀', '日'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 8 });
    const triple = fc.tuple(part, part.filter((s) => s !== ''), fc.nat(2 ** 31 - 1));
    fc.assert(
      fc.property(fc.constantFrom('', 'demo'), triple, triple, (namespace, [p1, a1, s1], [p2, a2, s2]) => {
        const keys = redisKeyLayout(namespace);
        const same = p1 === p2 && a1 === a2 && s1 === s2;
        if ((keys.record(p1, a1, s1) === keys.record(p2, a2, s2)) !== same) return false;
        if ((keys.partition(p1) === keys.partition(p2)) !== (p1 === p2)) return false;
        const records = [keys.record(p1, a1, s1), keys.record(p2, a2, s2)];
        const partitions = [keys.partition(p1), keys.partition(p2)];
        const own = [p1, p2].flatMap((p) => [keys.recentApps(p), keys.latestRecord(p)]).concat(keys.steps(p1, a1), keys.steps(p2, a2), keys.partitions, keys.marker);
        if ((keys.steps(p1, a1) === keys.steps(p2, a2)) !== (p1 === p2 && a1 === a2)) return false;
        if (records.some((k) => partitions.includes(k) || own.includes(k))) return false;
        if (partitions.some((k) => own.includes(k))) return false;
        if (keys.recentApps(p1) === keys.latestRecord(p2)) return false;
        return unescapeKeyPart(escapeKeyPart(p1)) === p1 && !escapeKeyPart(a1).includes(':');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('sorted sets', () => {
  it("Burr's sorted set never moves backwards: a late save of an older step keeps the latest", async () => {
    const { persister } = await subject({ namespace: 'z' });
    await persister.save(step('p', 'app', 5));
    await persister.save(step('p', 'app', 2));
    expect(await raw.zscore('z:p', 'app')).toBe('5');
    expect((await persister.load('p', 'app'))?.sequenceId).toBe(5);
    // A score Burr's Python persister left stays too.
    await raw.zadd('z:p', 9, 'burr-app');
    await raw.hset('z:p:burr-app:9', { partition_key: 'p', app_id: 'burr-app', sequence_id: '9', position: 'x', state: '{}', status: 'completed', created_at: '2026-01-01T00:00:00+00:00' });
    await persister.save(step('p', 'burr-app', 3));
    expect(await raw.zscore('z:p', 'burr-app')).toBe('9');
    expect((await persister.load('p', 'burr-app'))?.sequenceId).toBe(9);
  });

  it('load(pk, null) is the most recently saved step, also a late save of an older step', async () => {
    const { persister } = await subject({ namespace: 'r' });
    await persister.save(step('p', 'a', 4));
    await persister.save(step('p', 'b', 0));
    await persister.save(step('p', 'a', 1)); // late save of an older step of a
    const latest = await persister.load('p', null);
    expect([latest?.appId, latest?.sequenceId]).toEqual(['a', 1]);
    expect(await persister.listAppIds('p')).toEqual(['a', 'b']);
  });

  it('apps only Burr\'s Python persister saved come after the kit\'s, highest sequence id first; load(pk, null) falls back to created_at', async () => {
    const { persister } = await subject({ namespace: 'm' });
    const burrSave = async (app: string, seq: number, createdAt: string) => {
      await raw.hset(`m:p:${app}:${seq}`, { partition_key: 'p', app_id: app, sequence_id: String(seq), position: 'x', state: `{"app": "${app}"}`, status: 'completed', created_at: createdAt });
      await raw.zadd('m:p', seq, app);
    };
    await burrSave('py-old', 7, '2026-01-01T00:00:01.500000+00:00');
    await burrSave('py-new', 2, '2026-01-01T00:00:02+00:00');
    await burrSave('py-mid', 3, '2026-01-01T00:00:01.900000+00:00');
    expect(await persister.listAppIds('p')).toEqual(['py-old', 'py-mid', 'py-new']);
    const fallback = await persister.load('p', null);
    expect([fallback?.appId, fallback?.createdAt]).toEqual(['py-new', '2026-01-01T00:00:02.000Z']);

    await persister.save(step('p', 'edge', 0));
    await persister.save(step('p', 'py-mid', 4));
    expect(await persister.listAppIds('p')).toEqual(['py-mid', 'edge', 'py-old', 'py-new']);
    expect(await persister.listAppIds('p', { limit: 3 })).toEqual(['py-mid', 'edge', 'py-old']);
    expect((await persister.load('p', null))?.appId).toBe('py-mid');
  });
});

describe('costs', () => {
  it('loads run EVALSHA_RO, saves EVALSHA, one request each; readOnlyEval: false uses EVALSHA for loads', async () => {
    const s = await subject({ namespace: 'c' });
    s.sent.length = 0;
    await s.persister.save(step('p', 'a', 0));
    await s.persister.load('p', 'a');
    await s.persister.load('p', 'a', 0);
    await s.persister.load('p', null);
    await s.persister.listAppIds('p');
    expect(s.sent.map((c) => c[0])).toEqual(['evalsha', 'evalsha_ro', 'evalsha_ro', 'evalsha_ro', 'evalsha_ro']);
    const rw = await subject({ namespace: 'c2', readOnlyEval: false });
    rw.sent.length = 0;
    await rw.persister.load('p', 'a');
    expect(rw.sent.map((c) => c[0])).toEqual(['evalsha']);
  });

  it('EVALSHA: initialize loads the scripts (2 requests); on a cold script cache one operation costs 2, then 1', async () => {
    await raw.script('FLUSH');
    const cold = await subject({ namespace: 'k', assumeInitialized: true }, false);
    expect(await requestsOf(cold, () => cold.persister.save(step('p', 'a', 0)))).toBe(2);
    expect(cold.sent.map((c) => c[0])).toEqual(['evalsha', 'eval']);
    expect(await requestsOf(cold, () => cold.persister.save(step('p', 'a', 1)))).toBe(1);
    expect(await requestsOf(cold, () => cold.persister.load('p', 'a'))).toBe(2); // the read script was not loaded yet
    expect(await requestsOf(cold, () => cold.persister.load('p', 'a'))).toBe(1);

    await raw.script('FLUSH');
    const primed = await subject({ namespace: 'k2' }, false);
    expect(await requestsOf(primed, () => primed.persister.initialize())).toBe(2);
    expect(await requestsOf(primed, () => primed.persister.save(step('p', 'a', 0)))).toBe(1);
    expect(await requestsOf(primed, () => primed.persister.load('p', 'a'))).toBe(1);
    expect(await requestsOf(primed, () => primed.persister.listAppIds('p'))).toBe(1);
  });

  it('evalsha: false sends EVAL: one request even on a cold script cache; initialize is one request', async () => {
    await raw.script('FLUSH');
    const s = await subject({ namespace: 'e', evalsha: false }, false);
    expect(await requestsOf(s, () => s.persister.initialize())).toBe(1);
    await raw.script('FLUSH');
    expect(await requestsOf(s, () => s.persister.save(step('p', 'a', 0)))).toBe(1);
    await raw.script('FLUSH');
    expect(await requestsOf(s, () => s.persister.load('p', 'a'))).toBe(1);
    expect(s.sent.slice(-2).map((c) => c[0])).toEqual(['eval', 'eval_ro']);
  });

  it('a duplicate costs one request and changes nothing; an identical re-save costs one request', async () => {
    const s = await subject({ namespace: 'd' });
    await s.persister.save(step('p', 'a', 0, { v: 1 }));
    const before = await raw.hgetall('d:p:a:0');
    const recentBefore = await raw.zrange('d:p:%recent', 0, -1, 'WITHSCORES');
    let error: PersisterError | undefined;
    expect(await requestsOf(s, async () => (error = await errorOf(() => s.persister.save(step('p', 'a', 0, { v: 2 })))))).toBe(1);
    expect(error?.code).toBe('ALREADY_EXISTS');
    expect(await raw.hgetall('d:p:a:0')).toEqual(before);
    expect(await raw.zrange('d:p:%recent', 0, -1, 'WITHSCORES')).toEqual(recentBefore);
    expect(await requestsOf(s, () => s.persister.save(step('p', 'a', 0, { v: 1 })))).toBe(1);
    expect(await raw.hgetall('d:p:a:0')).toEqual(before);
  });
});

/** Every key matching `pattern`, with its DUMP (the serialized value, byte for byte) as hex. */
async function snapshot(pattern = '*'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of (await raw.keys(pattern)).sort()) out.set(key, (await raw.dumpBuffer(key)).toString('hex'));
  return out;
}

/** `snapshot()` without the keys `drop` names. */
function without(snap: Map<string, string>, drop: (key: string) => boolean): Map<string, string> {
  return new Map([...snap].filter(([key]) => !drop(key)));
}

describe('deleteApp', () => {
  it('one EVALSHA removes every step of the app, sparse ones included; every other key is byte-identical (other apps, partitions, namespaces)', async () => {
    const s = await subject({ namespace: 'del' });
    const other = await subject({ namespace: 'del2' });
    for (const seq of [0, 1, 2, 5, 9]) await s.persister.save(step('p', 'gone', seq)); // sparse: 3, 4, 6, 7, 8 never saved
    await s.persister.save(step('p', 'keep', 0));
    await s.persister.save(step('p', 'keep', 1));
    await s.persister.save(step('q', 'gone', 0)); // same app id, another partition
    await other.persister.save(step('p', 'gone', 0)); // same ids, another namespace
    await s.persister.save(step('p', 'gone', 10)); // the app is the partition's latest
    const goneKeys = [0, 1, 2, 5, 9, 10].map((seq) => s.persister.keys.record('p', 'gone', seq)).concat(s.persister.keys.steps('p', 'gone'));
    const before = await snapshot();
    for (const key of goneKeys) expect(before.has(key), key).toBe(true);
    const zsetBefore = await raw.zrange('del:p', 0, -1, 'WITHSCORES');
    const recentBefore = await raw.zrange('del:p:%recent', 0, -1, 'WITHSCORES');

    s.sent.length = 0;
    expect(await requestsOf(s, () => s.persister.deleteApp('p', 'gone'))).toBe(1);
    expect(s.sent.map((c) => c[0])).toEqual(['evalsha']);

    const after = await snapshot();
    expect([...after.keys()].filter((key) => key.startsWith('del:p:gone:'))).toEqual([]);
    const changed = new Set(['del:p', 'del:p:%recent', 'del:p:%latest']);
    expect([...without(after, (key) => changed.has(key))]).toEqual([...without(before, (key) => goneKeys.includes(key) || changed.has(key))]);
    // The two sorted sets lose exactly the app's member; the scores of the others are kept.
    const drop = (pairs: string[]) => pairs.filter((_, i) => pairs[i - (i % 2)] !== 'gone');
    expect(await raw.zrange('del:p', 0, -1, 'WITHSCORES')).toEqual(drop(zsetBefore));
    expect(await raw.zrange('del:p:%recent', 0, -1, 'WITHSCORES')).toEqual(drop(recentBefore));
    expect(await raw.get('del:p:%latest')).toBe('keep:1');

    expect(await s.persister.load('p', 'gone')).toBeNull();
    expect((await s.persister.load('q', 'gone'))?.sequenceId).toBe(0);
    expect((await other.persister.load('p', 'gone'))?.sequenceId).toBe(0);
  });

  it('an app never saved: succeeds in one request and changes nothing', async () => {
    const s = await subject({ namespace: 'none' });
    await s.persister.save(step('p', 'a', 0));
    const before = await snapshot();
    expect(await requestsOf(s, () => s.persister.deleteApp('p', 'never'))).toBe(1);
    expect(await requestsOf(s, () => s.persister.deleteApp('empty-partition', 'never'))).toBe(1);
    expect(await snapshot()).toEqual(before);
  });

  it('ids that share a prefix are separate: deleting app leaves app2, app:1, app%, and partition p:app', async () => {
    const { persister } = await subject({ namespace: 'pre' });
    const apps = ['app', 'app2', 'app:1', 'app%', 'ap', 'app:'];
    for (const app of apps) for (let seq = 0; seq < 12; seq++) await persister.save(step('p', app, seq, { app }));
    await persister.save(step('p:app', '1', 0)); // key pre:p%3Aapp:1:0
    await persister.save(step('p', 'app', 12)); // `app` is the latest: the pointer moves
    const before = await snapshot();
    const isApp = (key: string) => /^pre:p:app:(\d+|%steps)$/.test(key);
    expect([...before.keys()].filter(isApp)).toHaveLength(14);
    expect(before.has('pre:p:app%3A1:0') && before.has('pre:p:app%25:0') && before.has('pre:p:app%3A:11') && before.has('pre:p%3Aapp:1:0')).toBe(true);

    await persister.deleteApp('p', 'app');
    const after = await snapshot();
    const partitionKeys = new Set(['pre:p', 'pre:p:%recent', 'pre:p:%latest']);
    expect([...without(after, (key) => partitionKeys.has(key))]).toEqual([...without(before, (key) => isApp(key) || partitionKeys.has(key))]);
    expect(await persister.listAppIds('p')).toEqual(['app:', 'ap', 'app%', 'app:1', 'app2']);
    for (const app of apps.slice(1)) expect((await persister.load('p', app))?.state).toEqual({ app });
    expect((await persister.load('p:app', '1'))?.sequenceId).toBe(0);

    // The other way round: deleting `app:1` and `app:` (escaped app%3A1, app%3A) leaves app2.
    await persister.deleteApp('p', 'app:1');
    await persister.deleteApp('p', 'app:');
    expect(await raw.keys('pre:p:app%3A*')).toEqual([]);
    expect(await raw.keys('pre:p:app2:[0-9]*')).toHaveLength(12);
    expect(await persister.listAppIds('p')).toEqual(['ap', 'app%', 'app2']);
  });

  it("the partition's latest pointer falls back to the most recently saved app left, or goes away with the last app", async () => {
    const s = await subject({ namespace: 'lat', ttlSeconds: 1000 });
    const { persister } = s;
    await persister.save(step('p', 'a', 0));
    await persister.save(step('p', 'x:y', 0));
    await persister.save(step('p', 'x:y', 1));
    await persister.save(step('p', 'b', 0));
    await persister.save(step('p', 'a', 3)); // a is the latest
    await persister.save(step('p', 'c', 0));
    expect(await raw.get('lat:p:%latest')).toBe('c:0');

    await persister.deleteApp('p', 'c');
    expect(await raw.get('lat:p:%latest')).toBe('a:3');
    expect(await raw.ttl('lat:p:%latest')).toBeGreaterThan(900); // the pointer keeps its expiry
    expect(await requestsOf(s, async () => expect((await persister.load('p', null))?.sequenceId).toBe(3))).toBe(1);

    await persister.deleteApp('p', 'b'); // not the latest: the pointer stays
    expect(await raw.get('lat:p:%latest')).toBe('a:3');

    await persister.deleteApp('p', 'a');
    expect(await raw.get('lat:p:%latest')).toBe('x%3Ay:1'); // escaped as the save writes it
    const latest = await persister.load('p', null);
    expect([latest?.appId, latest?.sequenceId]).toEqual(['x:y', 1]);

    await persister.deleteApp('p', 'x:y');
    expect(await raw.keys('lat:p*')).toEqual([]); // no step, no sorted set, no pointer
    expect(await persister.load('p', null)).toBeNull();
    expect(await persister.listAppIds('p')).toEqual([]);
  });

  it("apps only Burr's Python persister saved are deleted too; then load(pk, null) falls back to created_at", async () => {
    const { persister } = await subject({ namespace: 'py' });
    const burrSave = async (app: string, seq: number, createdAt: string) => {
      await raw.hset(`py:p:${app}:${seq}`, { partition_key: 'p', app_id: app, sequence_id: String(seq), position: 'x', state: '{}', status: 'completed', created_at: createdAt });
      await raw.zadd('py:p', seq, app);
    };
    await burrSave('py-a', 0, '2026-01-01T00:00:01+00:00');
    await burrSave('py-a', 1, '2026-01-01T00:00:02+00:00');
    await burrSave('py-b', 0, '2026-01-01T00:00:03+00:00');
    await persister.save(step('p', 'edge', 0));
    await persister.deleteApp('p', 'py-b');
    expect(await raw.keys('py:p:py-b:*')).toEqual([]);
    await persister.deleteApp('p', 'edge'); // the pointer named edge and no app of the kit's is left: it goes
    expect(await raw.exists('py:p:%latest')).toBe(0);
    expect((await persister.load('p', null))?.appId).toBe('py-a');
    await persister.deleteApp('p', 'py-a');
    expect(await raw.keys('py:*')).toEqual(['py:%burr-edge']);
  });

  it('the bound: sequence ids up to 99999 are deleted in one script; an app with 100000 or more is refused and nothing changes', async () => {
    const s = await subject({ namespace: 'big' });
    await s.persister.save(step('p', 'wide', 0));
    await s.persister.save(step('p', 'wide', 99_999));
    await s.persister.save(step('p', 'huge', 100_000));
    const before = await snapshot();
    const error = await errorOf(() => s.persister.deleteApp('p', 'huge'));
    expect([error.code, error.retryable]).toEqual(['BACKEND', false]);
    expect(error.message).toMatch(/deleteApp covers sequence ids below 100000.*100000/);
    expect(await snapshot()).toEqual(before);

    const started = Date.now();
    expect(await requestsOf(s, () => s.persister.deleteApp('p', 'wide'))).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await raw.keys('big:p:wide:*')).toEqual([]);
    expect(await s.persister.listAppIds('p')).toEqual(['huge']);
  });

  it('is validated before sending, like every operation', async () => {
    const s = await subject({ namespace: 'v' });
    expect(await requestsOf(s, async () => expect((await errorOf(() => s.persister.deleteApp('p', ''))).code).toBe('INVALID_ARGUMENT'))).toBe(0);
    expect(await requestsOf(s, async () => expect((await errorOf(() => s.persister.deleteApp('p\ud800', 'a'))).code).toBe('INVALID_ARGUMENT'))).toBe(0);
    const fresh = await subject({ namespace: 'v2' }, false);
    expect((await errorOf(() => fresh.persister.deleteApp('p', 'a'))).code).toBe('NOT_INITIALIZED');
  });
});

describe('values come back exactly as stored', () => {
  it('automatic deserialization of the client cannot turn "1"-like strings into other values', async () => {
    const { persister } = await subject({ namespace: 'j' }); // the client's default: automaticDeserialization on
    const state = { n: '1', t: 'true', nul: 'null', obj: '{"a":1}', big: '9007199254740993', arr: '[1]' };
    await persister.save({ partitionKey: 'null', appId: '123', sequenceId: 0, position: '1', state, status: 'failed' });
    await persister.save({ partitionKey: 'null', appId: 'true', sequenceId: 1, position: '{}', state: {}, status: 'completed' });
    const loaded = await persister.load('null', '123');
    expect(loaded).toMatchObject({ partitionKey: 'null', appId: '123', sequenceId: 0, position: '1', status: 'failed', state });
    expect((await persister.load('null', 'true', 1))?.position).toBe('{}');
    expect((await persister.load('null', null))?.appId).toBe('true');
    expect(await persister.listAppIds('null')).toEqual(['true', '123']);
    expect(await raw.hget('j:null:123:0', 'state')).toBe(JSON.stringify(state));
    expect(await raw.hget('j:null:123:0', 'position')).toBe('1');
  });

  it('created_at is the server clock in Burr\'s format, and loads as ISO UTC with milliseconds', async () => {
    const { persister } = await subject({ namespace: 't' });
    await persister.save(step('p', 'a', 0));
    const stored = (await raw.hget('t:p:a:0', 'created_at'))!;
    expect(stored).toMatch(PYTHON_ISO);
    const [sec, usec] = (await raw.time()).map(Number) as [number, number];
    expect(Math.abs(Date.parse(stored.replace(/(\.\d{3})\d{3}/, '$1')) - (sec * 1000 + usec / 1000))).toBeLessThan(5000);
    expect((await persister.load('p', 'a'))?.createdAt).toBe(`${stored.slice(0, 23)}Z`);
  });

  it("the script's calendar arithmetic agrees with Date for any second from 1970 to 9999 (property)", async () => {
    const script = `${LUA_COMMON}\nreturn iso(tonumber(ARGV[1]), tonumber(ARGV[2]))`;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 253402300799 }), fc.integer({ min: 0, max: 999999 }), async (sec, usec) => {
        const text = (await raw.eval(script, 0, String(sec), String(usec))) as string;
        const expected = new Date(sec * 1000).toISOString().slice(0, 19) + `.${String(usec).padStart(6, '0')}+00:00`;
        return text === expected;
      }),
      { numRuns: 300, examples: [[0, 0], [951782400, 1], [4107542399, 999999], [1709164800, 500000]] },
    );
  });

  it('a partition key with a lone surrogate is refused before anything is sent (UTF-8 would store U+FFFD)', async () => {
    const s = await subject({ namespace: 'u' });
    let error: PersisterError | undefined;
    expect(await requestsOf(s, async () => (error = await errorOf(() => s.persister.save(step('p\ud800', 'a', 0)))))).toBe(0);
    expect(error?.code).toBe('INVALID_ARGUMENT');
    await s.persister.save(step('p\ud83d\ude80', 'a', 0)); // a whole pair is fine
    expect((await s.persister.listAppIds('p\ud83d\ude80'))).toEqual(['a']);
  });
});

describe('size limit', () => {
  it('a state over the default 10 MiB request limit fails with StateTooLargeError and sends nothing', async () => {
    const s = await subject({ namespace: 's' });
    let error: PersisterError | undefined;
    const state = { blob: 'x'.repeat(10 * 1024 * 1024) };
    expect(await requestsOf(s, async () => (error = await errorOf(() => s.persister.save(step('p', 'a', 0, state)))))).toBe(0);
    expect(error?.code).toBe('STATE_TOO_LARGE');
    expect(error?.name).toBe('StateTooLargeError');
    expect((error as PersisterError & { limitBytes: number }).limitBytes).toBe(10 * 1024 * 1024);
    expect(await raw.exists('s:p:a:0')).toBe(0);
  });

  it('maxRequestBytes counts the request as sent: JSON escaping of the state inside the command included', async () => {
    // The limit leaves room for the script text itself (an EVAL carries it).
    const limit = 8000 + WRITE_SCRIPT.length;
    const s = await subject({ namespace: 'q', maxRequestBytes: limit });
    // 2000 quotes: 4 KB of state JSON (each "\""), 8 KB once escaped again inside the request.
    const quoted = { q: '"'.repeat(2000) };
    expect(JSON.stringify(quoted).length).toBeLessThan(8000);
    let error: (PersisterError & { sizeBytes?: number }) | undefined;
    expect(await requestsOf(s, async () => (error = await errorOf(() => s.persister.save(step('p', 'a', 0, quoted)))))).toBe(0);
    expect(error?.code).toBe('STATE_TOO_LARGE');
    expect(error?.sizeBytes).toBeGreaterThan(limit);
    // The same bytes without escaping fit, and the request really sent is under the limit.
    let sent = 0;
    const measured = new RedisPersister({
      client: new Redis(upstashRequester(front.url, TOKEN, async (input, init) => {
        sent = Math.max(sent, new TextEncoder().encode(String(init?.body)).length);
        return fetch(input, init);
      })),
      namespace: 'q',
      maxRequestBytes: limit,
      evalsha: false,
    });
    await measured.initialize();
    await measured.save(step('p', 'b', 0, { q: 'x'.repeat(2000) }));
    expect(sent).toBeGreaterThan(2000);
    expect(sent).toBeLessThanOrEqual(limit);
  });
});

describe('TTL', () => {
  it('every key a save writes expires ttlSeconds after it; without ttlSeconds nothing expires (as Burr)', async () => {
    const { persister } = await subject({ namespace: 'ttl', ttlSeconds: 100 });
    await persister.save(step('p', 'a', 0));
    for (const key of ['ttl:p:a:0', 'ttl:p', 'ttl:p:%recent', 'ttl:p:%latest']) {
      const ttl = await raw.ttl(key);
      expect(ttl, key).toBeGreaterThan(90);
      expect(ttl, key).toBeLessThanOrEqual(100);
    }
    const keep = await subject({ namespace: 'keep' });
    await keep.persister.save(step('p', 'a', 0));
    for (const key of ['keep:p:a:0', 'keep:p', 'keep:p:%recent', 'keep:p:%latest']) expect(await raw.ttl(key), key).toBe(-1);
  });

  it('an app whose last save is older than the TTL is not listed, and the next save drops it from both sorted sets', async () => {
    const { persister } = await subject({ namespace: 'old', ttlSeconds: 60 });
    await persister.save(step('p', 'stale', 0));
    await persister.save(step('p', 'fresh', 0));
    // Age `stale` by two minutes, as if its records had expired.
    const score = Number(await raw.zscore('old:p:%recent', 'stale'));
    await raw.zadd('old:p:%recent', score - 120_000_000, 'stale');
    await raw.del('old:p:stale:0');
    expect(await persister.listAppIds('p')).toEqual(['fresh']);
    await persister.save(step('p', 'fresh', 1));
    expect(await raw.zrange('old:p:%recent', 0, -1)).toEqual(['fresh']);
    expect(await raw.zrange('old:p', 0, -1)).toEqual(['fresh']);
  });
});

describe('errors', () => {
  it('a Redis error is a non-retryable BackendError naming the keys, without the state or the token', async () => {
    const { persister } = await subject({ namespace: 'w' });
    await raw.set('w:p', 'not a sorted set');
    const secret = 'state-text-that-must-not-leak';
    const error = await errorOf(() => persister.save(step('p', 'a', 0, { secret })));
    expect(error.code).toBe('BACKEND');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/WRONGTYPE/);
    expect(error.message).toContain('keys w:*');
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain(TOKEN);
    expect(String((error.cause as Error).cause ?? error.cause)).toContain(secret); // the driver's error, kept as the cause
  });

  it('a wrong token is a non-retryable BackendError', async () => {
    const persister = new RedisPersister({ client: new Redis(upstashRequester(front.url, 'wrong', fetch)), assumeInitialized: true });
    const error = await errorOf(() => persister.load('p', 'a'));
    expect([error.code, error.retryable]).toEqual(['BACKEND', false]);
    expect(error.message).toContain('Unauthorized');
  });

  it('options are validated when constructed', () => {
    const client = new Redis(upstashRequester(front.url, TOKEN, fetch));
    for (const options of [{ ttlSeconds: 0 }, { ttlSeconds: 1.5 }, { maxRequestBytes: -1 }, { namespace: 7 as unknown as string }]) {
      expect(() => new RedisPersister({ client, ...options })).toThrow(/INVALID|must be/);
    }
    expect(() => new RedisPersister({} as RedisPersisterOptions)).toThrow(/client/);
    expect(() => RedisPersister.fromValues({ url: '', token: 'x' })).toThrow(/url/);
  });
});

describe('fromValues and fromEnv: the client @upstash/redis builds itself', () => {
  const realFetch = globalThis.fetch;
  let instrumented: InstrumentedFetch;
  beforeEach(() => {
    instrumented = instrumentFetch(realFetch);
    // The client's HttpClient calls the global fetch; route only its requests to the front through the instrument.
    globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) =>
      String(input instanceof Request ? input.url : input).startsWith(front.url) ? instrumented.fetch(input, init) : realFetch(input, init)) as typeof fetch;
    return () => {
      globalThis.fetch = realFetch;
    };
  });

  it('fromValues: one request per operation; with the client\'s own retries a lost response is retried into success, one record', async () => {
    const persister = RedisPersister.fromValues({ url: front.url, token: TOKEN, namespace: 'fv', retry: { retries: 3, backoff: () => 1 } });
    await persister.initialize();
    const before = instrumented.requests();
    await persister.save(step('p', 'a', 0, { v: '1' }));
    await persister.load('p', 'a');
    await persister.listAppIds('p');
    expect(instrumented.requests() - before).toBe(3);

    instrumented.failNext('response-lost');
    const beforeRetry = instrumented.requests();
    const reachedServer = front.requestCount();
    await persister.save(step('p', 'a', 1, { v: '2' }));
    expect(instrumented.requests() - beforeRetry).toBe(2);
    // Both reached the server: the first save committed, its answer was lost, the retry found it.
    expect(front.requestCount() - reachedServer).toBe(2);
    expect(await raw.keys('fv:p:a:[0-9]*')).toHaveLength(2);
    expect((await persister.load('p', 'a'))?.state).toEqual({ v: '2' });
  });

  it('fromEnv reads Upstash\'s variables (or Vercel KV\'s) from the object given, and names a missing one without its value', async () => {
    const persister = RedisPersister.fromEnv({ UPSTASH_REDIS_REST_URL: front.url, UPSTASH_REDIS_REST_TOKEN: TOKEN }, { namespace: 'env' });
    await persister.initialize();
    await persister.save(step('p', 'a', 0));
    expect(await raw.exists('env:p:a:0')).toBe(1);
    const kv = RedisPersister.fromEnv({ KV_REST_API_URL: front.url, KV_REST_API_TOKEN: TOKEN }, { namespace: 'env' });
    await kv.initialize();
    expect((await kv.load('p', 'a'))?.sequenceId).toBe(0);
    const missing = (() => {
      try {
        RedisPersister.fromEnv({ UPSTASH_REDIS_REST_URL: front.url, OTHER: TOKEN });
      } catch (error) {
        return error as PersisterError;
      }
      return undefined;
    })();
    expect(missing?.code).toBe('INVALID_ARGUMENT');
    expect(missing?.message).toContain('UPSTASH_REDIS_REST_TOKEN');
    expect(missing?.message).not.toContain(TOKEN);
  });
});

describe('sessions', () => {
  const burrSave = async (ns: string, pk: string, app: string, seq: number, createdAt = '2026-01-01T00:00:00.000000+00:00') => {
    await raw.hset(`${ns}:${pk}:${app}:${seq}`, { partition_key: pk, app_id: app, sequence_id: String(seq), position: `py-${seq}`, state: `{"seq": ${seq}}`, status: 'completed', created_at: createdAt });
    await raw.zadd(`${ns}:${pk}`, 'GT', seq, app);
  };

  it('each session operation is one script call: EVALSHA for writes, EVALSHA_RO for listings', async () => {
    const s = await subject({ namespace: 'ops' });
    await s.persister.save(step('p', 'a', 0));
    s.sent.length = 0;
    await s.persister.save({ ...step('p', 'a', 1), expectedSequenceId: 0 });
    await s.persister.listHistory('p', 'a', { withState: true });
    await s.persister.listApps('p');
    await s.persister.listPartitionKeys();
    await s.persister.prune({ keepLast: 1 });
    await s.persister.deleteApp('p', 'a');
    expect(s.sent.map((c) => c[0])).toEqual(['evalsha', 'evalsha_ro', 'evalsha_ro', 'evalsha_ro', 'evalsha', 'evalsha']);
  });

  it("a step's extras live in its index member, not in Burr's hash: marker, the app's previous marker, a fork's lineage", async () => {
    const { persister } = await subject({ namespace: 'mem' });
    await persister.save(step('p', 'a', 0));
    await persister.save(step('p', 'a', 1));
    await persister.save(step('p', 'b', 3, { __burr_edge_fork__: { partition_key: 'p', app_id: 'a', sequence_id: 1 }, n: 1 }));
    const [m0, m1] = (await raw.zrange('mem:p:a:%steps', 0, -1)).map((m) => m.split(':'));
    expect([m0![0], m0![1], m0![2]]).toEqual(['0', expect.stringMatching(/^\d{16}$/), '']); // a new app: no previous marker
    expect(m1![2]).toBe(m0![1]); // step 1 records where the app stood before it: step 0's marker
    expect(Number(m1![1])).toBe(Number(await raw.zscore('mem:p:%recent', 'a')));
    const [fork] = await raw.zrange('mem:p:b:%steps', 0, -1);
    expect(fork).toMatch(/^3:\d+::\{"partition_key":"p","app_id":"a","sequence_id":1\}$/);
    expect(Object.keys(await raw.hgetall('mem:p:b:3')).sort()).toEqual(['app_id', 'created_at', 'partition_key', 'position', 'sequence_id', 'state', 'status']);
    expect((await persister.listHistory('p', 'b')).steps[0]?.forkedFrom).toEqual({ partitionKey: 'p', appId: 'a', sequenceId: 1 });
  });

  it("data Burr's Python wrote: history probes its sequence ids, listApps puts its apps after the kit's, the kit's first save indexes the app", async () => {
    const s = await subject({ namespace: 'bp' });
    for (const seq of [0, 1, 2, 3]) await burrSave('bp', 'p', 'py', seq);
    await burrSave('bp', 'p', 'py-old', 7);
    await burrSave('bp', 'p', 'py-b', 7);
    await s.persister.save(step('p', 'edge', 0));
    expect((await s.persister.listHistory('p', 'py')).steps.map((x) => [x.sequenceId, x.position])).toEqual([[3, 'py-3'], [2, 'py-2'], [1, 'py-1'], [0, 'py-0']]);
    expect((await s.persister.listHistory('p', 'py', { before: 2, limit: 1 })).steps.map((x) => x.sequenceId)).toEqual([1]);
    const listed = async (limit: number) => {
      const out: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<RedisPersister['listApps']>> = await s.persister.listApps('p', { limit, cursor });
        out.push(...page.apps.map((a) => a.appId));
        cursor = page.nextCursor;
      } while (cursor);
      return out;
    };
    // Burr's apps after the kit's, highest sequence id first, then app id descending (as listAppIds: ZREVRANGE)
    expect(await listed(1)).toEqual(['edge', 'py-old', 'py-b', 'py']);
    expect(await listed(1)).toEqual(await s.persister.listAppIds('p'));
    expect((await s.persister.listApps('p')).apps.find((a) => a.appId === 'py')).toMatchObject({ latestSequenceId: 3, position: 'py-3', updatedAt: '2026-01-01T00:00:00.000Z' });
    // A listing that began before the kit's first save to a Burr app keeps it in Burr's place.
    const first = await s.persister.listApps('p', { limit: 1 });
    await s.persister.save({ ...step('p', 'py', 4), expectedSequenceId: 3 });
    expect(await raw.zrange('bp:p:py:%steps', 0, -1, 'WITHSCORES').then((r) => r.filter((_, i) => i % 2 === 1))).toEqual(['0', '1', '2', '3', '4']);
    const rest: string[] = [];
    for (let cursor = first.nextCursor; cursor; ) {
      const page = await s.persister.listApps('p', { limit: 1, cursor });
      rest.push(...page.apps.map((a) => a.appId));
      cursor = page.nextCursor;
    }
    expect(rest).toEqual(['py-old', 'py-b', 'py']);
    expect(await listed(2)).toEqual(['py', 'edge', 'py-old', 'py-b']);
    expect((await s.persister.listHistory('p', 'py')).steps.map((x) => x.sequenceId)).toEqual([4, 3, 2, 1, 0]);
    // A partition only Burr wrote is not in the partitions index.
    await burrSave('bp', 'only-burr', 'x', 0);
    expect((await s.persister.listPartitionKeys()).partitionKeys).toEqual(['p']);
    // prune of a partition prunes Burr's apps too (by probing), never the latest step.
    expect((await s.persister.prune({ partitionKey: 'p', keepLast: 1 })).deletedSteps).toBe(4);
    expect(await raw.keys('bp:p:py:[0-9]*')).toEqual(['bp:p:py:4']);
  });

  it("listApps pages through Burr's apps, also those at sequence id 0 (their cursor markers are safe integers)", async () => {
    const s = await subject({ namespace: 'bz' });
    for (const app of ['z0', 'z1', 'z2']) await burrSave('bz', 'p', app, 0);
    await s.persister.save(step('p', 'edge', 0));
    const seen: string[] = [];
    for (let cursor: string | null = null, pages = 0; pages === 0 || cursor; pages++) {
      const page: Awaited<ReturnType<RedisPersister['listApps']>> = await s.persister.listApps('p', { limit: 1, cursor });
      seen.push(...page.apps.map((a) => a.appId));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(['edge', 'z2', 'z1', 'z0']);
  });

  it('expectedSequenceId sees the latest step as Burr\'s sorted set names it; a refusal reports it and writes nothing', async () => {
    const s = await subject({ namespace: 'exp' });
    await burrSave('exp', 'p', 'py', 2);
    const before = await snapshot('exp:*');
    const error = await errorOf(() => s.persister.save({ ...step('p', 'py', 5), expectedSequenceId: 4 }));
    expect(error).toMatchObject({ code: 'CONCURRENT_UPDATE', expectedSequenceId: 4, actualSequenceId: 2 });
    expect(await snapshot('exp:*')).toEqual(before);
    expect(await requestsOf(s, () => s.persister.save({ ...step('p', 'py', 3), expectedSequenceId: 2 }))).toBe(1);
  });

  it('with ttlSeconds the kit keys expire with the steps; listings skip what expired, and an expired app counts as no step', async () => {
    const { persister } = await subject({ namespace: 'tl', ttlSeconds: 100 });
    await persister.save(step('p', 'a', 0));
    await persister.save(step('p', 'a', 1));
    await persister.save(step('p', 'b', 0));
    for (const key of ['tl:p:a:%steps', 'tl:%partitions']) expect(await raw.ttl(key), key).toBeGreaterThan(90);
    // Expire step 0 of a and all of b, as Redis would.
    await raw.del('tl:p:a:0', 'tl:p:b:0', 'tl:p:b:%steps');
    expect((await persister.listHistory('p', 'a')).steps.map((x) => x.sequenceId)).toEqual([1]);
    expect((await persister.listApps('p')).apps.map((x) => x.appId)).toEqual(['a']);
    await persister.save({ ...step('p', 'b', 0), expectedSequenceId: null });
    await persister.save(step('p', 'a', 2)); // trims the expired head of a's index
    expect((await raw.zrange('tl:p:a:%steps', 0, -1)).map((m) => m.split(':')[0])).toEqual(['1', '2']);
    await raw.del('tl:q', 'tl:p');
    await persister.save(step('q', 'c', 0));
    await raw.del('tl:q');
    expect((await persister.listPartitionKeys()).partitionKeys).toEqual([]);
  });

  it('partition keys come in UTF-8 byte (code point) order, which differs from UTF-16 order only around U+E000–U+FFFF', async () => {
    const { persister } = await subject({ namespace: 'ord' });
    for (const key of ['\u{1F600}', '\uFFFD', 'é', 'a']) await persister.save(step(key, 'app', 0));
    expect((await persister.listPartitionKeys()).partitionKeys).toEqual(['a', 'é', '\uFFFD', '\u{1F600}']);
    expect(['\u{1F600}', '\uFFFD', 'é', 'a'].sort()).toEqual(['a', 'é', '\u{1F600}', '\uFFFD']); // JavaScript's order
  });

  it('writers in 3 processes racing with expectedSequenceId through the harness\'s Upstash front — one winner per step, none lost', async () => {
    const harness = inject('harness');
    const namespace = `race-${Date.now().toString(36)}`;
    const persister = new RedisPersister({ client: new Redis(upstashRequester(harness.upstashUrl, harness.upstashToken, fetch)), namespace });
    await persister.initialize();
    const results = await raceProcesses({ persister, store: `upstash:${harness.upstashUrl}#${namespace}`, partitionKey: 'race', appId: 'session', writers: 3, rounds: 6, env: { UPSTASH_REDIS_REST_TOKEN: harness.upstashToken } });
    expect(results).toHaveLength(3);
    const history = await persister.listHistory('race', 'session', { limit: 100 });
    expect(history.steps.map((x) => x.sequenceId)).toEqual(Array.from({ length: 19 }, (_, i) => 18 - i));
  }, 60_000);
});

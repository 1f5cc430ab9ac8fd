/**
 * Proves the harness: a real redis-server behind the Upstash REST front, driven by the
 * unmodified @upstash/redis client. Endpoint usage is observed by wrapping global fetch.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { Redis } from '@upstash/redis';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startRedis, startUpstashFront, type RedisServer, type UpstashFront } from './redis.js';

const TOKEN = 'test-token';
let server: RedisServer;
let front: UpstashFront;
let raw: Redis; // automaticDeserialization: false — what a persister should use
let auto: Redis; // the client's defaults (auto-pipelining, JSON deserialization)

/** Paths the client requested since the last reset, e.g. ['/pipeline', '/']. */
const paths: string[] = [];
const realFetch = globalThis.fetch;

beforeAll(async () => {
  server = await startRedis();
  front = await startUpstashFront({ redisUrl: server.url, token: TOKEN });
  globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.startsWith(front.url)) paths.push(new URL(url).pathname);
    return realFetch(input, init);
  };
  raw = new Redis({ url: front.url, token: TOKEN, automaticDeserialization: false, enableTelemetry: false });
  auto = new Redis({ url: front.url, token: TOKEN, enableTelemetry: false });
});

afterAll(async () => {
  globalThis.fetch = realFetch;
  await front?.close();
  await server?.stop();
  // Nothing of ours may survive: no live (non-zombie) redis-server on our port.
  const ps = execFileSync('ps', ['-eo', 'stat=,args='], { encoding: 'utf8' });
  const ours = ps.split('\n').filter((l) => l.includes('redis-server') && l.includes(`:${server.port}`));
  expect(ours.filter((l) => !l.trim().startsWith('Z'))).toEqual([]);
});

/** Runs fn and returns what it resolved to plus the HTTP requests it cost. */
async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; requests: number; paths: string[] }> {
  front.resetCount();
  paths.length = 0;
  const value = await fn();
  return { value, requests: front.requestCount(), paths: [...paths] };
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  realFetch(front.url + path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, ...headers },
    body: JSON.stringify(body),
  });

describe('redis harness + Upstash REST front, unmodified @upstash/redis', () => {
  it('set/get keeps a unicode string exact', async () => {
    const s = 'héllo wörld — 你好 🎉 "q" \\ \u0000 end';
    const set = await measure(() => raw.set('u', s));
    expect(set).toEqual({ value: 'OK', requests: 1, paths: ['/pipeline'] }); // auto-pipelined
    expect(await raw.get('u')).toBe(s);
    // Defaults: stored JSON comes back parsed, and a numeric string comes back as a number.
    await auto.set('j', { a: 1, b: ['x'] });
    expect(await auto.get('j')).toEqual({ a: 1, b: ['x'] });
    await raw.set('one', '1');
    expect(await auto.get('one')).toBe(1);
    expect(await raw.get('one')).toBe('1');
  });

  it('hset/hgetall', async () => {
    await raw.hset('h', { a: '1', b: 'ünï' });
    const got = await measure(() => raw.hgetall('h'));
    // hgetall is excluded from auto-pipelining → POST /. Without deserialization the client
    // hands back the flat field/value array rather than an object.
    expect(got).toEqual({ value: ['a', '1', 'b', 'ünï'], requests: 1, paths: ['/'] });
    expect(await auto.hgetall('h')).toEqual({ a: 1, b: 'ünï' });
  });

  it('zadd/zrange with rev and with scores', async () => {
    await raw.zadd('z', { score: 1, member: 'a' }, { score: 2.5, member: 'b' }, { score: 3, member: 'c' });
    const rev = await measure(() => raw.zrange('z', 0, -1, { rev: true }));
    expect(rev).toEqual({ value: ['c', 'b', 'a'], requests: 1, paths: ['/'] });
    expect(await raw.zrange('z', 0, -1, { withScores: true })).toEqual(['a', '1', 'b', '2.5', 'c', '3']);
    expect(await auto.zrange('z', 0, 1, { rev: true, withScores: true })).toEqual(['c', 3, 'b', 2.5]);
  });

  it('eval, evalsha, and the Script NOSCRIPT fallback', async () => {
    const lua = 'return {KEYS[1], ARGV[1], 42}';
    expect(await raw.eval(lua, ['k'], ['v'])).toEqual(['k', 'v', 42]);
    const sha = await raw.scriptLoad(lua);
    expect(sha).toBe(createHash('sha1').update(lua).digest('hex'));
    expect(await raw.evalsha(sha, ['k2'], ['v2'])).toEqual(['k2', 'v2', 42]);

    await expect(raw.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
    // Not auto-pipelined (no proxy): the single-command 400 path carries NOSCRIPT too.
    const plain = new Redis({ url: front.url, token: TOKEN, enableAutoPipelining: false, enableTelemetry: false });
    await expect(plain.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/^NOSCRIPT No matching script/);

    const script = raw.createScript(`return ARGV[1] .. '${randomUUID()}'`); // never loaded before
    const first = await measure(() => script.exec([], ['x']));
    expect(first.value).toMatch(/^x[0-9a-f-]{36}$/);
    expect(first.paths).toEqual(['/pipeline', '/pipeline']); // EVALSHA fails → EVAL
    const second = await measure(() => script.exec([], ['y']));
    expect(second.paths).toEqual(['/pipeline']); // EVAL cached it, EVALSHA now hits
  });

  it('a pipeline is exactly one HTTP request; failed items do not fail the request', async () => {
    const run = await measure(() =>
      raw.pipeline().set('p', 'x').incr('p').get('p').hset('ph', { f: 'v' }).exec({ keepErrors: true }),
    );
    expect(run.requests).toBe(1);
    expect(run.paths).toEqual(['/pipeline']);
    expect(run.value.map((r) => r.result)).toEqual(['OK', undefined, 'x', 1]);
    expect(run.value[1]?.error).toBe('ERR value is not an integer or out of range');
    await expect(raw.pipeline().incr('p').exec()).rejects.toThrow(/Command 1 \[ incr \] failed: ERR value is not an integer/);

    // Auto-pipelining: commands issued in the same tick share one request.
    const batched = await measure(() => Promise.all([auto.set('ap1', 'a'), auto.set('ap2', 'b'), auto.get('ap1'), auto.get('ap2')]));
    expect(batched.value).toEqual(['OK', 'OK', 'a', 'b']);
    expect(batched.paths).toEqual(['/pipeline', '/pipeline']); // one for writes, one for reads
  });

  it('multi() runs as one MULTI/EXEC request', async () => {
    const tx = await measure(() => raw.multi().set('m', '1').incr('m').get('m').exec());
    expect(tx).toEqual({ value: ['OK', 2, '2'], requests: 1, paths: ['/multi-exec'] });
    // An error while EXEC runs affects only its item, as in Redis.
    const partial = await raw.multi().set('m2', 'a').hget('m2', 'f').get('m2').exec({ keepErrors: true });
    expect(partial.map((r) => r.result)).toEqual(['OK', undefined, 'a']);
    expect(partial[1]?.error).toMatch(/^WRONGTYPE/);
    // A command refused at queue time aborts it all: HTTP 400 with that command's error.
    const res = await post('/multi-exec', [['SET', 'm3', '1'], ['SET', 'm3']]);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "ERR wrong number of arguments for 'set' command" });
    expect(await raw.exists('m3')).toBe(0);
    // Concurrent transactions never interleave on the front's transaction connection.
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, i) => raw.multi().set(`c${i}`, String(i)).incr(`c${i}`).get(`c${i}`).exec()),
    );
    many.forEach((r, i) => expect(r).toEqual(['OK', i + 1, String(i + 1)]));
  });

  it('an error from a single command is thrown with the Redis message', async () => {
    await raw.set('str', 'x');
    // zrange is not auto-pipelined: POST / → HTTP 400 {"error": "WRONGTYPE …"}.
    await expect(raw.zrange('str', 0, -1)).rejects.toThrow(
      /^WRONGTYPE Operation against a key holding the wrong kind of value, command was: \["zrange","str",0,-1\]$/,
    );
    // incr is auto-pipelined: the per-item error is rethrown with a prefix.
    await expect(raw.incr('str')).rejects.toThrow('Command failed: ERR value is not an integer or out of range');
  });

  it('rejects a wrong or missing token with 401', async () => {
    const bad = new Redis({ url: front.url, token: 'wrong', enableTelemetry: false });
    await expect(bad.get('u')).rejects.toThrow(/^Unauthorized/);
    const res = await realFetch(front.url + '/', { method: 'POST', body: '["GET","u"]' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'Unauthorized' });
  });

  it('64-bit integers: exact on the wire, rounded by the client', async () => {
    await raw.set('big', String(2 ** 53 - 2));
    const incr = await raw.incrby('big', 3); // Redis now holds 9007199254740993
    const wire = await (await post('/', ['GET', 'big'], { 'Upstash-Encoding': 'base64' })).json();
    expect(wire).toEqual({ result: Buffer.from('9007199254740993').toString('base64') });
    const wireInt = await (await post('/', ['INCRBY', 'big', '0'])).text();
    expect(wireInt).toBe('{"result":9007199254740993}'); // digits kept, like Upstash
    // The client JSON.parses the body, so an integer reply loses precision…
    expect(incr).toBe(9007199254740992);
    expect(await auto.incrby('big', 0)).toBe(9007199254740992);
    // …but the stored string survives: raw gives it back, and auto-deserialization keeps the
    // string because JSON.parse(s).toString() !== s.
    expect(await raw.get('big')).toBe('9007199254740993');
    expect(await auto.get('big')).toBe('9007199254740993');
    await raw.set('max', '9223372036854775806');
    expect(await raw.incr('max')).toBe(9223372036854775807); // JS number 2^63, rounded
  });

  it('base64 encoding is of the raw bytes; path-style commands work; CORS preflight', async () => {
    const put = await realFetch(`${front.url}/set/bin?EX=100`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: new Uint8Array([0xff, 0x00, 0xfe]),
    });
    expect(await put.json()).toEqual({ result: 'OK' });
    const b64 = await (await post('/', ['GET', 'bin'], { 'Upstash-Encoding': 'base64' })).json();
    expect(b64).toEqual({ result: '/wD+' });
    const ttl = await (await realFetch(`${front.url}/ttl/bin?_token=${TOKEN}`)).json();
    expect((ttl as { result: number }).result).toBeGreaterThan(90);
    const nested = await (await post('/', ['EVAL', "return {'é', {1, false}}", '0'], { 'Upstash-Encoding': 'base64' })).json();
    expect(nested).toEqual({ result: [Buffer.from('é').toString('base64'), [1, null]] });

    front.resetCount();
    const pre = await realFetch(front.url + '/pipeline', {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,upstash-encoding' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization,content-type,upstash-encoding');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    expect(front.requestCount()).toBe(0); // preflights are not counted
    const got = await post('/', ['PING']);
    expect(got.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('startRedis explains how to install a missing redis-server', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startRedis()).rejects.toThrow('apt-get install -y redis-server');
    } finally {
      process.env.PATH = path;
    }
  });
});

/**
 * Redis persister over Upstash's REST API (`@upstash/redis`, fetch only), so it runs in
 * Cloudflare Workers, Vercel Edge, Deno, Node and the browser. Same keys as Burr's Python
 * `RedisBasePersister`, so Burr (Python) and this persister share a database.
 *
 * Every operation is one server-side Lua script, so `save`, `load`, `listAppIds` and `deleteApp`
 * are one HTTP request each, and `save` and `deleteApp` are atomic.
 *
 * @example
 * ```ts
 * import { RedisPersister } from 'burr-edge/redis';
 * const persister = RedisPersister.fromValues({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, namespace: 'my-agent' });
 * await persister.initialize();
 * await persister.save({ partitionKey: 'user-1', appId: 'chat-1', sequenceId: 0, position: 'start', state: { count: 0 }, status: 'completed' });
 * const latest = await persister.load('user-1', 'chat-1');
 * ```
 */
import { BaseStatePersister, defaultErrorKind, someCause, type BasePersisterOptions, type ErrorKind, type InsertOutcome, type LoadQuery, type StoredRecord, type StoredRow } from '../core/base.js';
import { BurrKeyCollisionError, InvalidArgumentError, StateTooLargeError } from '../core/errors.js';

export { BurrKeyCollisionError };
import { utf8Length } from '../core/json.js';
import { LazyClient } from '../core/lazy.js';
import type { PersistedStatus } from '../core/types.js';

/**
 * The slice of an `@upstash/redis` `Redis` client this persister uses: running a Lua script.
 * The read-only variants (Redis 7's `EVAL_RO` / `EVALSHA_RO`) are used for loads when present.
 * Any client with these methods works, whatever its deserialization settings: every string a
 * script returns is tagged so that a client's automatic JSON parsing cannot change it.
 */
export interface UpstashRedisLike {
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown>;
  evalRo?(script: string, keys: string[], args: string[]): Promise<unknown>;
  evalshaRo?(sha1: string, keys: string[], args: string[]): Promise<unknown>;
}

/** Options of `new RedisPersister({...})`: an `@upstash/redis` client you made. */
export interface RedisPersisterOptions extends BasePersisterOptions {
  /** An `@upstash/redis` `Redis` client, or a function that makes one on first use. */
  client: UpstashRedisLike | (() => Promise<UpstashRedisLike>);
  /**
   * Prefix of every key, as Burr's `namespace`: keys are `<namespace>:<partition>…`. Used
   * verbatim (Burr does not escape it either); `''` means no prefix.
   * @default ''
   */
  namespace?: string;
  /**
   * Expire saved steps this many seconds after they were saved. Each save also refreshes the
   * expiry of its partition's sorted sets, so an idle partition disappears entirely.
   * @default undefined (keep forever, as Burr)
   */
  ttlSeconds?: number;
  /**
   * Largest HTTP request a save may send, in bytes (the whole command: the state JSON, escaped
   * once more inside the request's JSON, plus keys and script). A bigger save fails with
   * `StateTooLargeError` before anything is sent. Upstash refuses requests over 10 MB on its
   * Free and Pay-as-you-go plans; raise this on a plan that allows more.
   * @default 10485760
   */
  maxRequestBytes?: number;
  /**
   * Send `EVALSHA` (40-byte digest) and fall back to `EVAL` when the server answers `NOSCRIPT`:
   * one request per operation once the server has the script (`initialize()` loads it), two on
   * a cold script cache. `false`: always send `EVAL` with the script text (≈2–3 KB), one request
   * guaranteed even on a server that never saw the script.
   * @default true
   */
  evalsha?: boolean;
  /**
   * Run loads with `EVALSHA_RO` / `EVAL_RO` (Redis ≥ 7), which Upstash may serve from a read
   * replica. Set `false` for a server older than Redis 7 or a client without `evalRo`.
   * @default true
   */
  readOnlyEval?: boolean;
  /**
   * `'read'`: also read the steps Burr's Python persister wrote for ids holding `:` or `%`, which
   * it keeps at its unescaped keys (`<ns:>a:b:c:0` for partition `a:b`, app `c` — and for
   * partition `a`, app `b:c`). A load that finds nothing at burr-edge's escaped key then reads
   * Burr's key; when the step there names the other of two such apps (Burr let one overwrite the
   * other), the load fails with `BurrKeyCollisionError`, naming both. Saves always go to the
   * escaped keys (`burr-edge copy` moves such apps there).
   * @default undefined (escaped keys only)
   */
  burrKeys?: 'read';
}

/** Retries of the Upstash client on network errors (its own option, passed through). */
export type UpstashRetryConfig = false | { retries?: number; backoff?: (retryCount: number) => number };

/** Options of `RedisPersister.fromValues({...})`: plain values; the persister builds and owns the client. */
export interface RedisFromValues extends Omit<RedisPersisterOptions, 'client'> {
  /** The database's REST URL, `https://….upstash.io` (`UPSTASH_REDIS_REST_URL`). */
  url: string;
  /** The REST token (`UPSTASH_REDIS_REST_TOKEN`). */
  token: string;
  /**
   * The client's retries on network errors; `false` for none. Retrying a save is safe: a save
   * that already reached the server finds its own record and succeeds.
   * @default the client's (5 retries, exponential backoff)
   */
  retry?: UpstashRetryConfig;
}

/** Environment variables `fromEnv` reads, as Upstash's and Vercel's integrations set them. */
export type RedisEnv = Readonly<Record<string, unknown>>;

/** Upstash's documented maximum request size on its Free and Pay-as-you-go plans. */
export const UPSTASH_MAX_REQUEST_BYTES = 10 * 1024 * 1024;

// ───────────────────────────── key layout ─────────────────────────────

/** Escapes `%` and `:` inside one key part; a part without them is unchanged (Burr's key). */
export function escapeKeyPart(part: string): string {
  return part.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** The inverse of {@link escapeKeyPart}. */
export function unescapeKeyPart(part: string): string {
  return part.replace(/%3A/g, ':').replace(/%25/g, '%');
}

/** The Redis keys of one namespace. */
export interface RedisKeyLayout {
  /** `<ns:>` or `''`. */
  readonly prefix: string;
  /** Burr's sorted set of a partition: member app id, score its highest sequence id. */
  partition(partitionKey: string): string;
  /** Burr's hash of one saved step: `<ns:><partition>:<app>:<sequence>`. */
  record(partitionKey: string, appId: string, sequenceId: number): string;
  /** burr-edge's sorted set of a partition's apps by time of their last save (for `listAppIds`). */
  recentApps(partitionKey: string): string;
  /** burr-edge's pointer to the partition's most recently saved step (for `load(pk, null)`). */
  latestRecord(partitionKey: string): string;
  /** burr-edge's marker that `initialize()` ran in this namespace. */
  readonly marker: string;
}

/**
 * The keys burr-edge uses, for tools that read Redis around the persister. For partition keys
 * and app ids without `:` or `%` they are byte-identical to Burr's. Escaped parts never hold a
 * `:`, and a `%` in them is always followed by `25` or `3A`, so the kit's own keys (a part
 * starting `%r`, `%l` or `%b`) can collide neither with Burr's keys for ordinary ids nor with
 * the kit's keys for any ids.
 */
export function redisKeyLayout(namespace = ''): RedisKeyLayout {
  const prefix = namespace ? `${namespace}:` : '';
  const partition = (partitionKey: string): string => prefix + escapeKeyPart(partitionKey);
  return {
    prefix,
    partition,
    record: (partitionKey, appId, sequenceId) => `${partition(partitionKey)}:${escapeKeyPart(appId)}:${sequenceId}`,
    recentApps: (partitionKey) => `${partition(partitionKey)}:%recent`,
    latestRecord: (partitionKey) => `${partition(partitionKey)}:%latest`,
    marker: `${prefix}%burr-edge`,
  };
}

// ───────────────────────────── scripts ─────────────────────────────

/**
 * Lua shared by both scripts (kept terse: it is sent with every EVAL and ships in the bundle).
 * - `tag`: every string a script returns is prefixed with `=`, which no JSON text starts with:
 *   a client that JSON-parses replies (`@upstash/redis`'s default) leaves it as it is, so `"1"`
 *   cannot come back as the number 1.
 * - `esc`: {@link escapeKeyPart} in Lua. `int`: a score or id as integer digits (Lua's own
 *   number formatting would write 1.7e+15).
 * - `iso`: `TIME` as Python's `datetime.now(timezone.utc).isoformat()`, always with microseconds
 *   (days-to-civil after Howard Hinnant).
 * @internal
 */
// The Lua is written without indentation: it ships in every Redis bundle, where each byte counts
// against the backend's 4 KB budget (test/bundle/size.test.ts).
export const LUA_COMMON = `
local function tag(v) if v then return '=' .. v end return false end
local function esc(s) return (string.gsub(string.gsub(s, '%%', '%%25'), ':', '%%3A')) end
local function int(n) return string.format('%.0f', tonumber(n)) end
local function iso(sec, usec)
local f = math.floor
local days = f(sec / 86400)
local rem = sec - days * 86400
local z = days + 719468
local era = f(z / 146097)
local doe = z - era * 146097
local yoe = f((doe - f(doe / 1460) + f(doe / 36524) - f(doe / 146096)) / 365)
local doy = doe - (365 * yoe + f(yoe / 4) - f(yoe / 100))
local mp = f((5 * doy + 2) / 153)
local d = doy - f((153 * mp + 2) / 5) + 1
local m = mp < 10 and mp + 3 or mp - 9
local y = yoe + era * 400
if m <= 2 then y = y + 1 end
return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00', y, m, d, f(rem / 3600), f(rem % 3600 / 60), rem % 60, usec)
end
`;

/**
 * The write script.
 * - `init`: KEYS = {marker}; ARGV = {op, value}.
 * - `save`: KEYS = {record hash, Burr's sorted set, recency sorted set, latest pointer};
 *   ARGV = {op, partition_key, app_id, sequence_id, position, state, status, ttl seconds (0:
 *   none), pointer}. Atomically: refuses an existing key (returning what holds it); writes
 *   Burr's hash with the server's clock; `ZADD GT` on Burr's sorted set (Burr sets the score to
 *   the saved sequence id, so a late save of an older step would lower it); records recency as
 *   microseconds of the server clock, forced to increase even if the clock steps back; points
 *   the partition's latest pointer at this step; with a TTL, expires all four keys and drops
 *   from both sorted sets the apps whose last save is older than the TTL (no step of theirs is
 *   left).
 * - `del`: KEYS = {Burr's sorted set, recency sorted set, latest pointer}; ARGV = {op, app_id,
 *   partition prefix}. Atomically: deletes the hashes of sequence ids 0 to the app's score in
 *   Burr's sorted set (steps may be sparse; deleting a missing key is harmless), in batches of
 *   1000 keys; removes the app from both sorted sets; when the latest pointer names this app,
 *   points it at the latest step of the most recently saved app left (keeping its TTL), or
 *   deletes it. Refuses (changing nothing) an app whose score is 100000 or more: the loop costs
 *   one `DEL` per sequence id, and the script holds the server while it runs.
 * @internal
 */
export const WRITE_SCRIPT = `${LUA_COMMON}
local op = ARGV[1]
if op == 'init' then
redis.call('SET', KEYS[1], ARGV[2])
return 1
end
if op == 'del' then
local app, pre = ARGV[2], esc(ARGV[2]) .. ':'
local n = tonumber(redis.call('ZSCORE', KEYS[1], app) or -1)
if n >= 100000 then return redis.error_reply('ERR burr-edge: deleteApp covers sequence ids below 100000, the app has ' .. int(n)) end
for i = 0, n, 1000 do
local ks = {}
for j = i, math.min(i + 999, n) do ks[#ks + 1] = ARGV[3] .. pre .. j end
redis.call('DEL', unpack(ks))
end
redis.call('ZREM', KEYS[1], app)
redis.call('ZREM', KEYS[2], app)
local p = redis.call('GET', KEYS[3])
if p and string.sub(p, 1, #pre) == pre then
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0)[1]
local seq = top and redis.call('ZSCORE', KEYS[1], top)
if seq then redis.call('SET', KEYS[3], esc(top) .. ':' .. int(seq), 'KEEPTTL') else redis.call('DEL', KEYS[3]) end
end
return 1
end
if redis.call('EXISTS', KEYS[1]) == 1 then
local v = redis.call('HMGET', KEYS[1], 'position', 'status', 'state')
return {0, tag(v[1]), tag(v[2]), tag(v[3])}
end
local t = redis.call('TIME')
local sec, usec = tonumber(t[1]), tonumber(t[2])
redis.call('HSET', KEYS[1], 'partition_key', ARGV[2], 'app_id', ARGV[3], 'sequence_id', ARGV[4], 'position', ARGV[5], 'state', ARGV[6], 'status', ARGV[7], 'created_at', iso(sec, usec))
redis.call('ZADD', KEYS[2], 'GT', ARGV[4], ARGV[3])
local now = sec * 1000000 + usec
local score = now
local top = redis.call('ZREVRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if top[2] and tonumber(top[2]) >= score then score = tonumber(top[2]) + 1 end
redis.call('ZADD', KEYS[3], int(score), ARGV[3])
redis.call('SET', KEYS[4], ARGV[9])
local ttl = tonumber(ARGV[8])
if ttl > 0 then
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. int(now - ttl * 1000000), 'LIMIT', 0, 500)
if #stale > 0 then
redis.call('ZREM', KEYS[3], unpack(stale))
redis.call('ZREM', KEYS[2], unpack(stale))
end
end
return {1}
`;

/**
 * The read script; it writes nothing (runs under `EVAL_RO`). A record comes back as
 * {partition_key, app_id, sequence_id, position, status, state, created_at}, tagged.
 * - `latest`: KEYS = {Burr's sorted set}; ARGV = {op, app_id, record key prefix}. ZSCORE then
 *   HMGET in one request (the record key is derived from the score, as Burr does).
 * - `seq`: KEYS = {record hash}.
 * - `partition`: KEYS = {latest pointer, Burr's sorted set}; ARGV = {op, partition prefix}. The
 *   pointer's step; without one (a partition only Burr's Python persister wrote), of each app's
 *   latest step the one created last (UTC ISO text with `+00:00` sorts by time, also when
 *   Python left the fraction out: `+` sorts before `.`).
 * - `list`: KEYS = {Burr's sorted set, recency sorted set}; ARGV = {op, limit (0: all), ttl}.
 *   Apps by recency (with a TTL, only those saved within it), then apps only Burr's Python
 *   persister saved, highest sequence id first. Every app the kit saved is in both sets, so
 *   equal sizes mean there is no such app and the second pass is skipped.
 * - `check`: KEYS = {marker}; ARGV = {op, SCAN pattern of the namespace, cursor}. 1 when the
 *   marker exists or a key of the namespace does (a store only Burr's Python wrote has no marker),
 *   0 when the scan is done and found none, else the tagged cursor to go on from (at most 20
 *   SCAN calls of 1000 per request, so one request never holds the server long).
 * @internal
 */
export const READ_SCRIPT = `${LUA_COMMON}
local FIELDS = {'partition_key', 'app_id', 'sequence_id', 'position', 'status', 'state', 'created_at'}
local function row(key)
local v = redis.call('HMGET', key, unpack(FIELDS))
if not v[6] then return false end
local out = {}
for i = 1, 7 do out[i] = tag(v[i]) end
return out
end
local op = ARGV[1]
if op == 'seq' then return row(KEYS[1]) end
if op == 'latest' then
local seq = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not seq then return false end
return row(ARGV[3] .. int(seq))
end
if op == 'partition' then
local pointer = redis.call('GET', KEYS[1])
if pointer then
local r = row(ARGV[2] .. pointer)
if r then return r end
end
local best, bestAt = false, false
local apps = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #apps, 2 do
local key = ARGV[2] .. esc(apps[i]) .. ':' .. int(apps[i + 1])
local at = redis.call('HGET', key, 'created_at')
if at and (not bestAt or at > bestAt) then best, bestAt = key, at end
end
if best then return row(best) end
return false
end
if op == 'list' then
local limit = tonumber(ARGV[2])
local min = '-inf'
local ttl = tonumber(ARGV[3])
if ttl > 0 then
local t = redis.call('TIME')
min = int(tonumber(t[1]) * 1000000 + tonumber(t[2]) - ttl * 1000000)
end
local recent
if limit > 0 then recent = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', min, 'LIMIT', 0, limit)
else recent = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', min) end
local out = {}
for i, app in ipairs(recent) do out[i] = tag(app) end
if limit > 0 and #out >= limit then return out end
if redis.call('ZCARD', KEYS[1]) == redis.call('ZCARD', KEYS[2]) then return out end
for _, app in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
if not redis.call('ZSCORE', KEYS[2], app) then
out[#out + 1] = tag(app)
if limit > 0 and #out >= limit then break end
end
end
return out
end
if op == 'check' then
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local c = ARGV[3]
for i = 1, 20 do
local r = redis.call('SCAN', c, 'MATCH', ARGV[2], 'COUNT', 1000)
if #r[2] > 0 then return 1 end
c = r[1]
if c == '0' then return 0 end
end
return tag(c)
end
return redis.error_reply('ERR burr-edge: unknown operation ' .. tostring(op))
`;

const MARKER_VALUE = 'burr-edge redis layout 1';

/** A script and its SHA-1, computed once per script with Web Crypto where there is one. */
class LuaScript {
  #sha: Promise<string | null> | undefined;
  constructor(readonly text: string) {}

  /** Hex SHA-1, or `null` where Web Crypto is missing (e.g. a page over plain http): then EVAL is used. */
  sha1(): Promise<string | null> {
    this.#sha ??= (async () => {
      const subtle = globalThis.crypto?.subtle;
      if (!subtle) return null;
      try {
        const digest = await subtle.digest('SHA-1', new TextEncoder().encode(this.text));
        return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
      } catch {
        return null;
      }
    })();
    return this.#sha;
  }
}

const WRITE = new LuaScript(WRITE_SCRIPT);
const READ = new LuaScript(READ_SCRIPT);

/** A driver error with the command (state included) cut from its message; the driver error is its `cause`. */
class RedisCommandError extends Error {
  override name = 'RedisCommandError';
}

// ───────────────────────────── persister ─────────────────────────────

const CONSTRUCT = { backend: 'redis', operation: 'construct' } as const;

/** Burr's `RedisBasePersister` over Upstash REST. One request per save, load, list and delete. */
export class RedisPersister extends BaseStatePersister {
  protected readonly backendName = 'redis';
  readonly #client: LazyClient<UpstashRedisLike>;
  readonly #keys: RedisKeyLayout;
  readonly #ttl: number;
  readonly #maxRequestBytes: number;
  readonly #evalsha: boolean;
  readonly #readOnlyEval: boolean;
  readonly #burrKeys: boolean;

  constructor(options: RedisPersisterOptions) {
    super(options);
    if (!options || !options.client) throw new InvalidArgumentError('client', 'an @upstash/redis Redis client is required', CONSTRUCT);
    const { namespace = '', ttlSeconds, maxRequestBytes = UPSTASH_MAX_REQUEST_BYTES } = options;
    if (typeof namespace !== 'string') throw new InvalidArgumentError('namespace', 'must be a string', CONSTRUCT);
    if (ttlSeconds !== undefined && (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1)) {
      throw new InvalidArgumentError('ttlSeconds', `must be a positive integer, got ${String(ttlSeconds)}`, CONSTRUCT);
    }
    if (!Number.isSafeInteger(maxRequestBytes) || maxRequestBytes < 1) {
      throw new InvalidArgumentError('maxRequestBytes', `must be a positive integer, got ${String(maxRequestBytes)}`, CONSTRUCT);
    }
    this.#client = new LazyClient(options.client);
    this.#keys = redisKeyLayout(namespace);
    this.#ttl = ttlSeconds ?? 0;
    this.#maxRequestBytes = maxRequestBytes;
    this.#evalsha = options.evalsha !== false;
    this.#readOnlyEval = options.readOnlyEval !== false;
    this.#burrKeys = options.burrKeys === 'read';
  }

  /**
   * Builds an `@upstash/redis` client from the REST URL and token, as Burr's
   * `RedisBasePersister.from_values` builds a redis-py client. The driver is imported on first
   * use (its Workers build inside Cloudflare Workers). The client returns raw strings and sends
   * each operation as its own request (no auto-pipelining), so the size check holds per request.
   */
  static fromValues(values: RedisFromValues): RedisPersister {
    const { url, token, retry, ...rest } = values ?? ({} as RedisFromValues);
    if (typeof url !== 'string' || url === '') throw new InvalidArgumentError('url', 'the Upstash REST URL is required', CONSTRUCT);
    if (typeof token !== 'string' || token === '') throw new InvalidArgumentError('token', 'the Upstash REST token is required', CONSTRUCT);
    // `retry: false` still makes one retry in @upstash/redis 1.39 (attempts: 1 on a `<=` loop).
    const retryConfig = retry === false ? { retries: 0 } : retry;
    const config = { url, token, automaticDeserialization: false, enableAutoPipelining: false, ...(retryConfig !== undefined ? { retry: retryConfig } : {}) };
    const client = async (): Promise<UpstashRedisLike> => {
      // The Node build sends `cache: 'no-store'`, which Workers refuse before compatibility date 2024-11-11.
      const inWorkers = typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers';
      const { Redis } = inWorkers ? await import('@upstash/redis/cloudflare') : await import('@upstash/redis');
      return new Redis(config) as unknown as UpstashRedisLike;
    };
    return new RedisPersister({ ...rest, client });
  }

  /** Alias of {@link fromValues}, as Burr's persisters have both. */
  static fromConfig(values: RedisFromValues): RedisPersister {
    return RedisPersister.fromValues(values);
  }

  /**
   * Builds the client from `UPSTASH_REDIS_REST_URL` / `UPSTASH_REDIS_REST_TOKEN` (or Vercel's
   * `KV_REST_API_URL` / `KV_REST_API_TOKEN`). Pass a Worker's `env`; elsewhere `process.env` is
   * read when there is one.
   */
  static fromEnv(env?: RedisEnv, options: Omit<RedisFromValues, 'url' | 'token'> = {}): RedisPersister {
    const source = env ?? (globalThis as { process?: { env?: RedisEnv } }).process?.env ?? {};
    const pick = (...names: string[]): string | undefined => {
      for (const name of names) if (typeof source[name] === 'string' && source[name] !== '') return source[name] as string;
      return undefined;
    };
    const url = pick('UPSTASH_REDIS_REST_URL', 'KV_REST_API_URL');
    const token = pick('UPSTASH_REDIS_REST_TOKEN', 'KV_REST_API_TOKEN');
    if (!url) throw new InvalidArgumentError('env', 'UPSTASH_REDIS_REST_URL (or KV_REST_API_URL) is not set', CONSTRUCT);
    if (!token) throw new InvalidArgumentError('env', 'UPSTASH_REDIS_REST_TOKEN (or KV_REST_API_TOKEN) is not set', CONSTRUCT);
    return RedisPersister.fromValues({ ...options, url, token });
  }

  /** The key prefix (`''` for none). */
  get namespace(): string {
    return this.#keys.prefix.slice(0, -1);
  }

  /** The keys this persister reads and writes. */
  get keys(): RedisKeyLayout {
    return this.#keys;
  }

  protected get storageTarget(): string {
    return this.#keys.prefix ? `keys ${this.#keys.prefix}*` : 'keys (no namespace)';
  }

  protected async storageInitialize(): Promise<void> {
    // EVAL, not EVALSHA: loads both scripts into the server's cache, so later calls are one
    // request each; nothing else needs creating.
    await this.#run(WRITE, false, [this.#keys.marker], ['init', MARKER_VALUE], true);
    // The marker now exists, so `check` answers before it would scan.
    if (this.#evalsha) await this.#run(READ, true, [this.#keys.marker], ['check'], true);
  }

  /** The marker `initialize()` writes, or any key of the namespace (Burr's Python writes no marker). */
  protected async storageIsInitialized(): Promise<boolean> {
    const pattern = `${this.#keys.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    for (let cursor = '0'; ; ) {
      const reply = await this.#run(READ, true, [this.#keys.marker], ['check', pattern, cursor]);
      if (typeof reply !== 'string') return Number(reply) === 1;
      cursor = this.#untag(reply);
    }
  }

  protected override checkRecord(record: StoredRecord): void {
    const ctx = this.context('save');
    const size = this.#requestBytes(record);
    if (size > this.#maxRequestBytes) throw new StateTooLargeError(size, this.#maxRequestBytes, ctx);
  }

  /**
   * Bytes of the save's request body (its EVAL form, the larger of the two a save may send).
   * Counted exactly only when a cheap upper bound does not already fit under the limit.
   */
  #requestBytes(record: StoredRecord): number {
    const { keys, args } = this.#saveCommand(record);
    // JSON escaping at most sextuples a UTF-16 unit (\uXXXX); UTF-8 at most triples one.
    const bound = [WRITE_SCRIPT, ...keys, ...args].reduce((sum, part) => sum + part.length * 6 + 3, 32);
    if (bound <= this.#maxRequestBytes) return bound;
    return utf8Length(JSON.stringify(['EVAL', WRITE_SCRIPT, keys.length, ...keys, ...args]));
  }

  #saveCommand(record: StoredRecord): { keys: string[]; args: string[] } {
    const { partitionKey, appId, sequenceId } = record;
    return {
      keys: [this.#keys.record(partitionKey, appId, sequenceId), this.#keys.partition(partitionKey), this.#keys.recentApps(partitionKey), this.#keys.latestRecord(partitionKey)],
      args: ['save', partitionKey, appId, String(sequenceId), record.position, record.stateJson, record.status, String(this.#ttl), `${escapeKeyPart(appId)}:${sequenceId}`],
    };
  }

  protected async storageInsert(record: StoredRecord): Promise<InsertOutcome> {
    const { keys, args } = this.#saveCommand(record);
    const reply = await this.#run(WRITE, false, keys, args);
    if (!Array.isArray(reply)) throw this.#unexpected(reply);
    if (reply[0] === 1) return { inserted: true };
    const [, position, status, state] = reply as unknown[];
    if (position === null || status === null || state === null) return { inserted: false, existing: null };
    return {
      inserted: false,
      existing: { ...record, position: this.#untag(position), status: this.#untag(status) as PersistedStatus, stateJson: this.#untag(state) },
    };
  }

  protected async storageSelect(query: LoadQuery): Promise<StoredRow | null> {
    const { partitionKey, appId, sequenceId } = query;
    const { prefix } = this.#keys;
    // An app's steps: `escape` gives burr-edge's keys, the identity Burr Python's unescaped ones.
    const read = (escape: (part: string) => string, app: string): Promise<unknown> => {
      const set = prefix + escape(partitionKey);
      const key = `${set}:${escape(app)}:`;
      return sequenceId === undefined ? this.#run(READ, true, [set], ['latest', app, key]) : this.#run(READ, true, [key + sequenceId], ['seq']);
    };
    let reply: unknown;
    let burrKey = '';
    if (appId === null) {
      reply = await this.#run(READ, true, [this.#keys.latestRecord(partitionKey), this.#keys.partition(partitionKey)], ['partition', `${this.#keys.partition(partitionKey)}:`]);
    } else {
      reply = await read(escapeKeyPart, appId);
      if (reply == null && this.#burrKeys && /[:%]/.test(partitionKey + appId)) {
        reply = await read((part) => part, appId);
        burrKey = `${prefix}${partitionKey}:${appId}:`;
      }
    }
    if (reply === null || reply === undefined) return null;
    if (!Array.isArray(reply) || reply.length !== 7) throw this.#unexpected(reply);
    const [pk, app, seq, position, status, state, createdAt] = reply.map((v: unknown) => (v === null ? null : this.#untag(v)));
    if (burrKey && ((pk ?? partitionKey) !== partitionKey || (app ?? appId) !== appId)) {
      throw new BurrKeyCollisionError(burrKey + seq, [{ partitionKey, appId: appId! }, { partitionKey: pk!, appId: app! }], this.context('load'));
    }
    if (seq === null || position === null || status === null || state === null) throw new RedisCommandError('a stored record lacks one of Burr\'s fields (sequence_id, position, status, state)');
    return {
      // Burr writes every field; the ids asked for stand in should a foreign writer have left one out.
      partitionKey: pk ?? partitionKey,
      appId: app ?? appId ?? '',
      sequenceId: Number(seq),
      position: position!,
      status: status as PersistedStatus,
      stateJson: state!,
      createdAt: createdAt ?? '',
    };
  }

  protected async storageListAppIds(partitionKey: string, limit: number | undefined): Promise<string[]> {
    const reply = await this.#run(READ, true, [this.#keys.partition(partitionKey), this.#keys.recentApps(partitionKey)], ['list', String(limit ?? 0), String(this.#ttl)]);
    if (!Array.isArray(reply)) throw this.#unexpected(reply);
    return reply.map((v: unknown) => this.#untag(v));
  }

  /**
   * Deletes every saved step of one app, in one request: one script removes the steps, the app's
   * entries in both sorted sets, and moves the partition's latest pointer off the app. Apps with
   * a sequence id of 100000 or more are refused (a `BackendError`; nothing is deleted).
   */
  protected override async storageDeleteApp(key: string, app: string): Promise<void> {
    const k = this.#keys;
    await this.#run(WRITE, false, [k.partition(key), k.recentApps(key), k.latestRecord(key)], ['del', app, `${k.partition(key)}:`]);
  }

  protected override classifyError(error: unknown): ErrorKind {
    const transient = someCause(
      error,
      ({ name, message }) =>
        // The client got a non-JSON answer: a gateway's error page (502/503/504), not Redis'.
        name === 'UpstashJSONParseError' ||
        (typeof message === 'string' && /^(?:Command failed: )?(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN)\b|max concurrent connections/.test(message)),
    );
    return transient ? 'retryable' : defaultErrorKind(error);
  }

  /**
   * Runs a script: EVALSHA, then EVAL on NOSCRIPT (or EVAL straight away). Loads use the
   * read-only variants when the client has them.
   */
  async #run(script: LuaScript, readOnly: boolean, keys: string[], args: string[], forceEval = false): Promise<unknown> {
    const client = await this.#client.get();
    const ro = readOnly && this.#readOnlyEval && typeof client.evalRo === 'function' && typeof client.evalshaRo === 'function';
    try {
      if (this.#evalsha && !forceEval) {
        const sha = await script.sha1();
        if (sha) {
          try {
            return await (ro ? client.evalshaRo!(sha, keys, args) : client.evalsha(sha, keys, args));
          } catch (error) {
            if (!isNoScript(error)) throw error;
          }
        }
      }
      return await (ro ? client.evalRo!(script.text, keys, args) : client.eval(script.text, keys, args));
    } catch (error) {
      throw new RedisCommandError(shortMessage(error), { cause: error });
    }
  }

  #untag(value: unknown): string {
    if (typeof value !== 'string' || value[0] !== '=') throw this.#unexpected(value);
    return value.slice(1);
  }

  #unexpected(value: unknown): Error {
    return new RedisCommandError(`unexpected script reply (${typeof value}); is the client an @upstash/redis Redis?`);
  }
}

function isNoScript(error: unknown): boolean {
  return someCause(error, ({ message }) => /NOSCRIPT/i.test(String(message)));
}

/** The driver's message without the command it echoes (which holds the whole state). */
function shortMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cut = message.replace(/,? command was: [\s\S]*$/, '').replace(/^Command failed: /, '');
  return cut.length > 300 ? `${cut.slice(0, 300)}…` : cut;
}

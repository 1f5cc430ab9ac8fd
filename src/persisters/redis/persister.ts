/**
 * Redis persister over Upstash's REST API (`@upstash/redis`, fetch only), so it runs in
 * Cloudflare Workers, Vercel Edge, Deno, Node and the browser. Same keys as Burr's Python
 * `RedisBasePersister`, so Burr (Python) and this persister share a database.
 *
 * Every operation is one server-side Lua script, so each is one HTTP request (with EVALSHA on a
 * warm script cache) and atomic: `save` (also with `expectedSequenceId`), `load`, `listAppIds`,
 * `listHistory`, `listApps` and `listPartitionKeys` pages, `deleteApp` and `prune`.
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
import {
  BaseStatePersister,
  defaultErrorKind,
  someCause,
  type AppsQuery,
  type BasePersisterOptions,
  type ErrorKind,
  type HistoryQuery,
  type InsertOutcome,
  type LoadQuery,
  type PruneQuery,
  type StoredAppRow,
  type StoredAppsPage,
  type StoredHistoryRow,
  type StoredRecord,
  type StoredRow,
} from '../../core/base.js';
import { BurrKeyCollisionError, InvalidArgumentError, StateTooLargeError } from '../../core/errors.js';
import { utf8Length } from '../../core/json.js';
import { LazyClient } from '../../core/lazy.js';
import type { PersistedStatus } from '../../core/types.js';
import { escapeKeyPart, redisKeyLayout, type RedisKeyLayout } from './keys.js';
import { READ, WRITE, WRITE_SCRIPT, type LuaScript } from './scripts.js';

export { BurrKeyCollisionError };

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
   * Expire saved steps this many seconds after they were saved (Redis' own expiry). Each save
   * also refreshes the expiry of its partition's sorted sets and pointer, of its app's steps
   * index, and of the namespace's partitions index, so an idle app, partition or namespace
   * disappears entirely. Listings skip what expired: `listAppIds` and `listApps` the apps whose
   * latest step is gone, `listHistory` the steps that are gone, `listPartitionKeys` the
   * partitions whose sorted set is gone; an expectation (`expectedSequenceId`) sees an app whose
   * latest step expired as an app with no step. Use one `ttlSeconds` per namespace: a save
   * without it does not take back the expiry another persister's save set on the shared keys.
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

const MARKER_VALUE = 'burr-edge redis layout 1';

/** A driver error with the command (state included) cut from its message; the driver error is its `cause`. */
class RedisCommandError extends Error {
  override name = 'RedisCommandError';
}

// ───────────────────────────── persister ─────────────────────────────

const CONSTRUCT = { backend: 'redis', operation: 'construct' } as const;

/**
 * Burr's `RedisBasePersister` over Upstash REST. One request per save, load, listing page,
 * delete and prune.
 *
 * Beside Burr's keys the kit keeps, per partition, `%recent` (apps by time of last save) and
 * `%latest` (the partition's last saved step); per app, `%steps` (its sequence ids); per
 * namespace, `%partitions` (the partition keys) and `%burr-edge` (set by `initialize()`). A
 * step's hash holds exactly Burr's seven fields; what the kit adds per step (its marker, the
 * app's previous marker, a fork's lineage) is in its member of `%steps` (see `./scripts.ts`).
 *
 * Data Burr's Python persister wrote (no kit keys) loads as before. The listings see it as
 * follows: `listAppIds` and `listApps` list its apps after the kit's, highest sequence id first;
 * `listHistory` finds its steps by probing sequence ids below the app's latest; `prune` with a
 * partition prunes its apps too; `listPartitionKeys` and `prune` over every partition do not see
 * a partition until the kit has saved into it (they read the partitions index). The kit's first
 * save to such an app indexes its earlier steps, and from then on it is like any other.
 */
export class RedisPersister extends BaseStatePersister {
  protected readonly backendName = 'redis';
  protected override readonly supportsExpectedSequenceId = true;
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
    const { partitionKey, appId, sequenceId, expectedSequenceId } = record;
    const k = this.#keys;
    const expected = expectedSequenceId === undefined ? '' : expectedSequenceId === null ? '-1' : String(expectedSequenceId);
    return {
      keys: [k.record(partitionKey, appId, sequenceId), k.partition(partitionKey), k.recentApps(partitionKey), k.latestRecord(partitionKey), k.steps(partitionKey, appId), k.partitions],
      args: [
        'save',
        partitionKey,
        appId,
        String(sequenceId),
        record.position,
        record.stateJson,
        record.status,
        String(this.#ttl),
        `${escapeKeyPart(appId)}:${sequenceId}`,
        expected,
        record.forkedFromJson ?? '',
        k.record(partitionKey, appId, sequenceId).slice(0, -String(sequenceId).length),
      ],
    };
  }

  protected async storageInsert(record: StoredRecord): Promise<InsertOutcome> {
    const { keys, args } = this.#saveCommand(record);
    const reply = await this.#run(WRITE, false, keys, args);
    if (!Array.isArray(reply)) throw this.#unexpected(reply);
    if (reply[0] === 1) return { inserted: true };
    const [, position, status, state, latest] = reply as unknown[];
    // The script reports the app's latest step only when the record carried an expectation (-1: none).
    const reported = latest === undefined || latest === null ? {} : { latestSequenceId: Number(latest) < 0 ? null : Number(latest) };
    if (position === null || status === null || state === null) return { inserted: false, existing: null, ...reported };
    return {
      inserted: false,
      existing: { ...record, position: this.#untag(position), status: this.#untag(status) as PersistedStatus, stateJson: this.#untag(state) },
      ...reported,
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
   * steps index, its entries in both sorted sets, moves the partition's latest pointer off the
   * app, and drops the partition from the partitions index when no app is left. Apps with a
   * sequence id of 100000 or more are refused (a `BackendError`; nothing is deleted).
   */
  protected override async storageDeleteApp(key: string, app: string): Promise<void> {
    const k = this.#keys;
    await this.#run(WRITE, false, [k.partition(key), k.recentApps(key), k.latestRecord(key), k.steps(key, app), k.partitions], ['del', app, `${k.partition(key)}:`, key]);
  }

  /**
   * A page of an app's steps from its steps index (`<ns:><partition>:<app>:%steps`, kept by
   * every save), highest sequence id first; steps whose hash expired or was pruned are skipped.
   * An app only Burr's Python persister wrote has no index: its steps are found by probing the
   * sequence ids below its latest (Burr's score), at most 100000 ids per page — Burr numbers
   * steps from 0 without gaps, so that finds them all. The kit's first save to such an app
   * indexes its earlier steps. A step reports its fork lineage without its state when the kit
   * saved it (kept in its `%steps` member); Burr's steps report it only with `withState`.
   */
  protected override async storageListHistory(query: HistoryQuery): Promise<StoredHistoryRow[]> {
    const { partitionKey, appId, limit, before, withState } = query;
    const k = this.#keys;
    const prefix = k.record(partitionKey, appId, 0).slice(0, -1);
    const reply = await this.#run(READ, true, [k.steps(partitionKey, appId), k.partition(partitionKey)], ['history', appId, prefix, String(limit), before === undefined ? '' : String(before), withState ? '1' : '0', query.from === undefined ? '' : String(query.from), query.latestBlock === undefined ? '' : String(query.latestBlock)]);
    if (!Array.isArray(reply)) throw this.#unexpected(reply);
    return reply.map((row: unknown) => {
      if (!Array.isArray(row)) throw this.#unexpected(row);
      const [seq, position, status, createdAt, fork, state] = row.map((v: unknown) => (v === null || v === undefined ? null : this.#untag(v)));
      return {
        sequenceId: Number(seq),
        position: position ?? '',
        status: status as PersistedStatus,
        createdAt: createdAt ?? '',
        forkedFromJson: fork,
        ...(withState ? { stateJson: state ?? undefined } : {}),
      };
    });
  }

  /**
   * A page of a partition's apps, in one request. Markers are the recency scores (`%recent`):
   * microseconds of the server clock at each save, forced above every earlier marker of the
   * partition, so they increase in commit order (Lua scripts run one at a time). The snapshot is
   * the partition's newest marker when the listing began; an app saved since is placed where
   * it stood then, read from the `%steps` members of its newest steps (each holds its marker and
   * the app's marker before it); an app created since is left out.
   *
   * Exact — every app that had a step at the snapshot listed once, in its place then — while
   * other writers save, provided that (1) no step saved during the listing has a lower sequence
   * id than a step of the same app saved before it (always so with `expectedSequenceId` and for
   * Burr applications, which number steps upwards); (2) no app is deleted or pruned away, and no
   * latest step expires, during the listing (it then drops out); (3) with `readOnlyEval` on a
   * database with read replicas, the replica that answers a page has caught up with the
   * snapshot. Apps only Burr's Python persister saved (in Burr's sorted set, not in the kit's
   * `%recent`) come after the kit's, highest sequence id first, then app id descending; Burr's
   * Python saves during a listing are not held to the snapshot (such an app may move).
   */
  protected override async storageListApps(query: AppsQuery): Promise<StoredAppsPage> {
    const { partitionKey, limit, snapshot, after } = query;
    const k = this.#keys;
    const marker = (value: unknown): string => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        throw new InvalidArgumentError('cursor', 'is not a cursor of this Redis listing; pass the nextCursor of the previous page unchanged', this.context('listApps'));
      }
      return String(value);
    };
    const args = ['apps', `${k.partition(partitionKey)}:`, String(limit), snapshot === undefined ? '' : marker(snapshot), after ? marker(after.marker) : '', after?.appId ?? ''];
    const reply = await this.#run(READ, true, [k.partition(partitionKey), k.recentApps(partitionKey)], args);
    if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) throw this.#unexpected(reply);
    const rows = (reply[1] as unknown[]).map((row): StoredAppRow => {
      if (!Array.isArray(row) || row.length !== 6) throw this.#unexpected(row);
      const [app, seq, position, status, createdAt, place] = row as unknown[];
      return {
        appId: this.#untag(app),
        latestSequenceId: Number(seq),
        position: this.#untag(position),
        status: this.#untag(status) as PersistedStatus,
        updatedAt: createdAt === null ? '' : this.#untag(createdAt),
        marker: Number(place),
      };
    });
    return { rows, snapshot: Number(reply[0]) };
  }

  /**
   * A page of the partition keys from the kit's partitions index (`<ns:>%partitions`, kept by
   * save and deleteApp), skipping partitions whose sorted set expired. Ascending by UTF-8 bytes
   * (ZRANGEBYLEX), which is Unicode code point order: it differs from JavaScript's UTF-16 order
   * only between characters U+E000–U+FFFF and those above U+FFFF. Partitions only Burr's Python
   * persister wrote are not in the index until the kit saves into them.
   */
  protected override async storageListPartitionKeys(limit: number, after: string | undefined): Promise<string[]> {
    const reply = await this.#run(READ, true, [this.#keys.partitions], ['parts', this.#keys.prefix, String(limit), after === undefined ? '0' : '1', after ?? '']);
    if (!Array.isArray(reply)) throw this.#unexpected(reply);
    return reply.map((v: unknown) => this.#untag(v));
  }

  /**
   * Prunes in one request (one script: it holds the server for as long as the steps in scope
   * take). Apps are found in Burr's sorted sets; every partition means the partitions index, so
   * partitions only Burr's Python wrote are left alone. `olderThan` compares `created_at` as text
   * in Burr's format (`…T12:00:00.123456+00:00`).
   */
  protected override async storagePrune(query: PruneQuery): Promise<number> {
    const { partitionKey, appId, olderThan, keepLast } = query;
    const scope = partitionKey === undefined ? 'all' : appId === undefined ? 'partition' : 'app';
    const cutoff = olderThan === undefined ? '' : `${olderThan.toISOString().slice(0, 23)}000+00:00`;
    const reply = await this.#run(WRITE, false, [this.#keys.partitions], ['prune', this.#keys.prefix, scope, partitionKey ?? '', appId ?? '', String(keepLast ?? 0), cutoff]);
    if (typeof reply !== 'number') throw this.#unexpected(reply);
    return reply;
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

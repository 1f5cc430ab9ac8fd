/**
 * Conformance target for Redis over Upstash REST that needs nothing but `fetch` and the
 * harness's addresses, so every runtime project (node, edge, workerd, browser, Deno) builds it
 * the same way.
 *
 * `@upstash/redis` has no `fetch` option (its HTTP client calls the global `fetch`), but it
 * takes a custom `Requester`: {@link upstashRequester} speaks the same REST protocol as the
 * client's own (POST JSON commands, `Upstash-Encoding: base64`, `{result}` / `{error}` bodies,
 * the same error classes) over an injected — here instrumented — `fetch`. Everything above
 * the transport (commands, automatic deserialization) is the unmodified client.
 */
import { Redis, errors, type Requester } from '@upstash/redis';
import { RedisPersister, redisKeyLayout, type RedisPersisterOptions } from '../../src/persisters/redis/index.js';
import { instrumentFetch, type ConformanceTarget } from '../../src/testing/index.js';

export interface UpstashAddresses {
  upstashUrl: string;
  upstashToken: string;
}

type Encoded = string | number | null | Encoded[];

function decodeBase64(text: string): string {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** Upstash's base64 result encoding: every string (nested too) but the status `OK`. */
function decode(value: Encoded | undefined, top = true): unknown {
  if (typeof value === 'string') return top && value === 'OK' ? value : decodeBase64(value);
  if (Array.isArray(value)) return value.map((v) => decode(v, false));
  return value;
}

/** A `Requester` for `new Redis(requester)` that sends through `fetchFn`, as Upstash's HttpClient does. */
export function upstashRequester(url: string, token: string, fetchFn: typeof fetch): Requester {
  return {
    async request<TResult>(req: { path?: string[]; body?: unknown }) {
      const response = await fetchFn([url.replace(/\/$/, ''), ...(req.path ?? [])].join('/'), {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Upstash-Encoding': 'base64' },
        body: JSON.stringify(req.body),
      });
      const text = await response.text();
      let body: { result?: Encoded; error?: string } | { result?: Encoded; error?: string }[];
      try {
        body = JSON.parse(text) as typeof body;
      } catch (error) {
        throw new errors.UpstashJSONParseError(text, { cause: error });
      }
      if (!response.ok) throw new errors.UpstashError(`${(body as { error?: string }).error}, command was: ${JSON.stringify(req.body)}`);
      if (Array.isArray(body)) return body.map(({ result, error }) => ({ result: decode(result), error })) as never;
      return { result: decode(body.result) as TResult, error: body.error };
    },
  };
}

/** One raw REST command (no base64, no client), for reading storage around the persister. */
export async function upstashCommand(addresses: UpstashAddresses, command: (string | number)[], fetchFn: typeof fetch = fetch): Promise<unknown> {
  const response = await fetchFn(addresses.upstashUrl, {
    method: 'POST',
    headers: { Authorization: `Bearer ${addresses.upstashToken}` },
    body: JSON.stringify(command),
  });
  const body = (await response.json()) as { result?: unknown; error?: string };
  if (!response.ok || body.error) throw new Error(`${String(command[0])}: ${body.error}`);
  return body.result;
}

/** Glob-escapes a literal for SCAN MATCH. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Every saved step of one app as `{sequenceId, stateJson}`, read by SCAN + HGET over raw REST. */
export async function inspectUpstash(
  addresses: UpstashAddresses,
  namespace: string,
  partitionKey: string,
  appId: string,
  fetchFn: typeof fetch = fetch,
): Promise<{ sequenceId: number; stateJson: string }[]> {
  const keys = redisKeyLayout(namespace);
  const prefix = keys.record(partitionKey, appId, 0).slice(0, -1);
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await upstashCommand(addresses, ['SCAN', cursor, 'MATCH', `${globLiteral(prefix)}*`, 'COUNT', 1000], fetchFn)) as [string, string[]];
    cursor = String(next);
    // The pattern also matches an app whose escaped id starts with this one's: keep exact `<prefix><digits>`.
    found.push(...batch.filter((key) => /^\d+$/.test(key.slice(prefix.length))));
  } while (cursor !== '0');
  const records = await Promise.all(
    found.map(async (key) => ({ sequenceId: Number(key.slice(prefix.length)), stateJson: String(await upstashCommand(addresses, ['HGET', key, 'state'], fetchFn)) })),
  );
  return records.sort((a, b) => a.sequenceId - b.sequenceId);
}

/**
 * Upstash REST through the unmodified `@upstash/redis` client (automatic deserialization left
 * on, to prove it cannot change a state), fetch instrumented, client retries off (the suite
 * checks what a lost request does to the persister, not the client's retry loop).
 */
export function upstashTarget(addresses: UpstashAddresses, options: Pick<RedisPersisterOptions, 'evalsha' | 'readOnlyEval'> = {}): ConformanceTarget {
  const variant = [options.evalsha === false ? 'EVAL always' : 'EVALSHA', options.readOnlyEval === false ? 'read-write' : ''].filter(Boolean).join(', ');
  return {
    name: `redis (Upstash REST, @upstash/redis, ${variant})`,
    countsRoundTrips: true,
    // EVAL loads both scripts into the server's cache (and writes the marker); without EVALSHA there is nothing to preload.
    initializeRoundTrips: options.evalsha === false ? 1 : 2,
    injectsFaults: true,
    reopens: true,
    async create({ id, storage }) {
      const instrumented = instrumentFetch();
      const client = new Redis(upstashRequester(addresses.upstashUrl, addresses.upstashToken, instrumented.fetch));
      const namespace = `conf-${id}`;
      const persister = new RedisPersister({ ...storage, client, namespace, ...options });
      return {
        persister,
        reopen: () => new RedisPersister({ ...storage, client: new Redis(upstashRequester(addresses.upstashUrl, addresses.upstashToken, fetch)), namespace, ...options }),
        roundTrips: instrumented.requests,
        failNext: instrumented.failNext,
        inspect: (partitionKey, appId) => inspectUpstash(addresses, namespace, partitionKey, appId),
      };
    },
  };
}

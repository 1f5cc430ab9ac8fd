/**
 * The conformance suite over a real redis-server behind the harness's Upstash REST front:
 * through a `Requester` with instrumented fetch (the runtime-neutral target, in both script
 * modes and with plain EVAL/EVALSHA for loads), and through `RedisPersister.fromValues` — the
 * client's own HTTP transport — with requests counted and faults injected at the global fetch.
 */
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { RedisPersister } from '../../src/persisters/redis/index.js';
import { inDeltaMode, instrumentFetch, runConformanceSuite, type ConformanceTarget, type InstrumentedFetch } from '../../src/testing/index.js';
import { inspectUpstash, upstashTarget } from './redis-targets.js';

const harness = inject('harness');

runConformanceSuite(upstashTarget(harness), { describe, it });
runConformanceSuite(inDeltaMode(upstashTarget(harness)), { describe, it });
runConformanceSuite(upstashTarget(harness, { evalsha: false }), { describe, it });
runConformanceSuite(upstashTarget(harness, { readOnlyEval: false }), { describe, it });

// The client's HttpClient calls the global fetch. Cases run one after another in this file, so
// one global wrapper that routes requests to the Upstash front through the current subject's
// instrument counts exactly that subject's requests.
const realFetch = globalThis.fetch;
let current: InstrumentedFetch | undefined;
beforeAll(() => {
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    if (current && url.startsWith(harness.upstashUrl)) return current.fetch(input, init);
    return realFetch(input, init);
  }) as typeof fetch;
});
afterAll(() => {
  globalThis.fetch = realFetch;
});

const fromValuesTarget: ConformanceTarget = {
  name: 'redis (RedisPersister.fromValues: @upstash/redis own HTTP client)',
  countsRoundTrips: true,
  initializeRoundTrips: 2,
  injectsFaults: true,
  async create({ id, storage }) {
    const instrumented = instrumentFetch(realFetch);
    current = instrumented;
    const namespace = `conf-fv-${id}`;
    // Client retries off: the suite checks what a lost request does, not the client's retry loop.
    const persister = RedisPersister.fromValues({ ...storage, url: harness.upstashUrl, token: harness.upstashToken, namespace, retry: false });
    return {
      persister,
      roundTrips: instrumented.requests,
      failNext: instrumented.failNext,
      inspect: (partitionKey, appId) => inspectUpstash(harness, namespace, partitionKey, appId, realFetch),
      async dispose() {
        current = undefined;
      },
    };
  },
};

runConformanceSuite(fromValuesTarget, { describe, it });

/**
 * Every conformance target that needs only `fetch` and the harness's addresses. The runtime
 * projects (edge, workerd, browser, Deno) run exactly this list, as Node does.
 */
import type { ConformanceTarget } from '../../src/testing/index.js';
import type { HarnessAddresses } from '../harness/addresses.js';
import { libsqlRemoteTarget } from './libsql-targets.js';
import { mongoHttpTarget } from './mongodb-targets.js';
import { neonHttpTarget, neonWebSocketTarget } from './postgres-targets.js';
import { upstashTarget } from './redis-targets.js';

export function fetchTargets(harness: HarnessAddresses): ConformanceTarget[] {
  return [
    libsqlRemoteTarget(harness),
    neonHttpTarget(harness),
    upstashTarget(harness),
    // The gateway in front of the test server (and of a real MongoDB when MONGODB_URL is set).
    ...harness.mongodb.map((endpoint) => mongoHttpTarget({ url: endpoint.gatewayUrl, apiKey: endpoint.gatewayKey, database: endpoint.database, server: endpoint.server })),
    // one line per fetch-transport backend
  ];
}

/**
 * Targets that need the runtime's own global `WebSocket` (edge-runtime, workerd, Deno, the
 * browser): Neon's `Pool` through the harness's ws→TCP proxy. Node 20 has no global WebSocket;
 * its run passes the `ws` package instead (postgres.test.ts).
 */
export function webSocketTargets(harness: HarnessAddresses): ConformanceTarget[] {
  return [neonWebSocketTarget(harness)];
}

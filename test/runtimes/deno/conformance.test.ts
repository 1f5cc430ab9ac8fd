/**
 * The conformance suite in Deno 2 (`deno test`, the npm `deno` package, offline): every
 * fetch-transport backend against the harness, the in-memory persister, libSQL's `file:`
 * path through the native driver (Deno loads Node-API addons), and MongoDB's official driver. Run it through
 * `npm run test:deno` (scripts/test.ts), which starts the harness and passes its
 * addresses in BURR_HARNESS.
 *
 * Plain Deno.test and node:assert — no `jsr:` imports, which need the network.
 */
import { createClient } from '@libsql/client';
import { conformanceCases, inDeltaMode } from '../../../src/testing/index.js';
import { fetchTargets, webSocketTargets } from '../../conformance/fetch-targets.js';
import { libsqlLocalTarget } from '../../conformance/libsql-targets.js';
import { mongoDriverTarget } from '../../conformance/mongodb-driver-targets.js';
import type { HarnessAddresses } from '../../harness/addresses.js';
import { inMemoryTarget } from '../shared.js';

/** The slice of the Deno namespace used here (typed locally: tsc checks this file without Deno's lib). */
interface DenoApi {
  test(definition: { name: string; fn: () => Promise<void>; ignore?: boolean; sanitizeOps?: boolean; sanitizeResources?: boolean }): void;
  env: { get(name: string): string | undefined };
  makeTempDirSync(options?: { prefix?: string }): string;
  version: { deno: string };
}
const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

const raw = deno.env.get('BURR_HARNESS');
if (!raw) throw new Error('BURR_HARNESS is not set: run the Deno suite through `npm run test:deno`, which starts the harness');
const harness = JSON.parse(raw) as HarnessAddresses;

const dir = deno.makeTempDirSync({ prefix: 'burr-edge-deno-' });

/** libSQL's embedded `file:` database in Deno, round trips counted at the driver. */
const libsqlFileTarget = libsqlLocalTarget('libsql (file:, Deno)', (id) => `file:${dir}/${id}.db`, createClient);

deno.test({
  name: 'runtime: is Deno 2',
  async fn() {
    if (!/^2\./.test(deno.version.deno)) throw new Error(`expected Deno 2, got ${deno.version.deno}`);
  },
});

/** MongoDB over the official driver (Node compatibility), on every endpoint the harness has. */
const mongoDriverTargets = harness.mongodb.map((endpoint) => mongoDriverTarget(endpoint.url, `${endpoint.server}, Deno`, endpoint.database));

const targets = [inMemoryTarget(), libsqlFileTarget, ...mongoDriverTargets, ...fetchTargets(harness), ...webSocketTargets(harness)];
// Every target also in delta mode (storage: 'delta').
for (const target of [...targets, ...targets.map((t) => inDeltaMode(t))]) {
  for (const c of conformanceCases(target)) {
    deno.test({
      name: `conformance: ${target.name} > ${c.name}`,
      fn: () => c.run(target),
      // Drivers keep keep-alive sockets and timers across cases by design (one client per persister, closed in dispose).
      sanitizeOps: false,
      sanitizeResources: false,
    });
  }
}

deno.test({
  name: 'mongodb: close the driver targets',
  fn: async () => {
    await Promise.all(mongoDriverTargets.map((target) => target.close()));
  },
  sanitizeOps: false,
  sanitizeResources: false,
});

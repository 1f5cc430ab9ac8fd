/**
 * The conformance suite over MongoDB on both transports, on every MongoDB endpoint the harness
 * has: the wire-protocol test server, and a real MongoDB when MONGODB_URL is set. Each target's
 * name says which server it ran on.
 */
import { afterAll, describe, inject, it } from 'vitest';
import { inDeltaMode, runConformanceSuite } from '../../src/testing/index.js';
import { mongoDriverTarget } from './mongodb-driver-targets.js';
import { mongoHttpTarget } from './mongodb-targets.js';

for (const endpoint of inject('harness').mongodb) {
  const driver = mongoDriverTarget(endpoint.url, endpoint.server, endpoint.database);
  afterAll(() => driver.close());
  const http = mongoHttpTarget({ url: endpoint.gatewayUrl, apiKey: endpoint.gatewayKey, database: endpoint.database, server: endpoint.server });
  for (const target of [driver, http]) {
    runConformanceSuite(target, { describe, it });
    runConformanceSuite(inDeltaMode(target), { describe, it });
  }
}

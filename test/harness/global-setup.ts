/**
 * Starts every server the suite needs once per `vitest run` and hands their addresses to all
 * projects (node, edge, workerd, browser) through `provide`/`inject`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { HarnessAddresses } from './addresses.js';
import { startHranaServer } from './hrana.js';
import { startNeonHttpFront, startNeonWsProxy, startPostgres } from './postgres.js';
import { startRedis, startUpstashFront } from './redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    harness: HarnessAddresses;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'burr-edge-test-'));
  const [hrana, postgres, redis] = await Promise.all([
    startHranaServer({ dbPath: join(dir, 'remote.db'), token: 'test-token-hrana' }),
    startPostgres(),
    startRedis(),
  ]);
  const [neonHttp, neonWs, upstash] = await Promise.all([
    startNeonHttpFront({ connectionString: postgres.connectionString }),
    startNeonWsProxy(),
    startUpstashFront({ redisUrl: redis.url, token: 'test-token-upstash' }),
  ]);
  project.provide('harness', {
    hranaUrl: hrana.url,
    hranaToken: hrana.token,
    postgresUrl: postgres.connectionString,
    neonSqlEndpoint: neonHttp.sqlEndpoint,
    neonWsProxyPort: neonWs.port,
    upstashUrl: upstash.url,
    upstashToken: upstash.token,
    redisUrl: redis.url,
  });
  return async () => {
    await Promise.allSettled([hrana.close(), neonHttp.close(), neonWs.close(), upstash.close()]);
    await Promise.allSettled([postgres.stop(), redis.stop()]);
    await rm(dir, { recursive: true, force: true });
  };
}

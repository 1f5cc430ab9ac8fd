/**
 * Starts every server and protocol front the suite uses — a Hrana front over a real libSQL
 * file, a real PostgreSQL with Neon's HTTP and WebSocket fronts, a real redis-server with an
 * Upstash REST front — and stops them all. Used by vitest's global setup, the Deno run and the
 * benchmarks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HarnessAddresses } from './addresses.js';
import { startHranaServer } from './hrana.js';
import { startNeonHttpFront, startNeonWsProxy, startPostgres } from './postgres.js';
import { startRedis, startUpstashFront } from './redis.js';

export interface Harness {
  addresses: HarnessAddresses;
  /** A temporary directory removed by `stop()`, for databases of the caller's own. */
  dir: string;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'burr-edge-harness-'));
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
  return {
    dir,
    addresses: {
      hranaUrl: hrana.url,
      hranaToken: hrana.token,
      postgresUrl: postgres.connectionString,
      neonSqlEndpoint: neonHttp.sqlEndpoint,
      neonWsProxyPort: neonWs.port,
      upstashUrl: upstash.url,
      upstashToken: upstash.token,
      redisUrl: redis.url,
    },
    async stop() {
      await Promise.allSettled([hrana.close(), neonHttp.close(), neonWs.close(), upstash.close()]);
      await Promise.allSettled([postgres.stop(), redis.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

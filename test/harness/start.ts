/**
 * Starts every server and protocol front the suite uses — a Hrana front over a real libSQL
 * file, a real PostgreSQL with Neon's HTTP and WebSocket fronts, a real redis-server with an
 * Upstash REST front, a MongoDB wire-protocol test server (plus a real MongoDB when MONGODB_URL
 * is set) each with burr-edge's gateway in front — and stops them all. Used by vitest's global setup, the Deno run and the
 * benchmarks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMongoDBGateway } from '../../src/gateway/mongodb.js';
import type { HarnessAddresses, MongoEndpoint } from './addresses.js';
import { startHranaServer } from './hrana.js';
import { startNeonHttpFront, startNeonWsProxy, startPostgres } from './postgres.js';
import { startMongoTestServer } from './mongodb/server.js';
import { startRedis, startUpstashFront } from './redis.js';

export interface Harness {
  addresses: HarnessAddresses;
  /** A temporary directory removed by `stop()`, for databases of the caller's own. */
  dir: string;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'burr-edge-harness-'));
  const [hrana, postgres, redis, mongoTestServer] = await Promise.all([
    startHranaServer({ dbPath: join(dir, 'remote.db'), token: 'test-token-hrana' }),
    startPostgres(),
    startRedis(),
    startMongoTestServer(),
  ]);
  const mongoServers = [{ server: 'test server', url: mongoTestServer.url, database: 'burr_conformance' }];
  // A real MongoDB gets a database of this run's own, dropped by stop(): every case makes a collection.
  if (process.env.MONGODB_URL) mongoServers.push({ server: 'real MongoDB', url: process.env.MONGODB_URL, database: `burr_edge_test_${Date.now().toString(36)}` });
  const gatewayKey = 'test-gateway-key-0123456789abcdef';
  const gateways = await Promise.all(
    mongoServers.map(({ url, database }) =>
      startMongoDBGateway({
        uri: url,
        database,
        // Each conformance case makes a collection of its own.
        collection: (name) => /^[A-Za-z0-9_]+$/.test(name),
        apiKeys: [gatewayKey],
        corsOrigin: '*',
      }),
    ),
  );
  const mongodb: MongoEndpoint[] = mongoServers.map(({ server, url, database }, i) => ({ server, url, gatewayUrl: gateways[i]!.url, gatewayKey, database }));
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
      mongodb,
    },
    async stop() {
      await Promise.allSettled([hrana.close(), neonHttp.close(), neonWs.close(), upstash.close(), ...gateways.map((g) => g.close())]);
      await Promise.allSettled([postgres.stop(), redis.stop(), mongoTestServer.close(), ...mongodb.slice(1).map(dropDatabase)]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Drops the run's own database on a real MongoDB (never the test server's, which goes away). */
async function dropDatabase({ url, database }: MongoEndpoint): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.db(database).dropDatabase();
  } finally {
    await client.close();
  }
}

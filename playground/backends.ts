/**
 * Builds a persister from plain configuration, for the CLI demo and the Worker example. Each
 * backend's module is imported only when chosen, so the demo never loads a driver it does not use.
 */
import type { StatePersister } from '../src/index.js';

export type ManagedPersister = StatePersister & { close(): Promise<void>; listAppIds(partitionKey: string | null | undefined, options?: { limit?: number }): Promise<string[]> };

export type BackendConfig =
  | { backend: 'libsql'; url: string; authToken?: string; tableName?: string }
  | {
      backend: 'postgres';
      /** Neon (or any PostgreSQL behind Neon's HTTP / WebSocket fronts) connection string. */
      connectionString: string;
      tableName?: string;
      /** @default 'http' */
      transport?: 'http' | 'websocket';
      /** Where Neon's `neon()` POSTs queries, for a local Neon-compatible front. Sets the driver's global `neonConfig.fetchEndpoint`: the app's choice to make, never the persister's. */
      fetchEndpoint?: string;
    }
  | {
      backend: 'redis';
      /** Upstash REST URL (`UPSTASH_REDIS_REST_URL`). */
      url: string;
      /** Upstash REST token (`UPSTASH_REDIS_REST_TOKEN`). */
      token: string;
      /** Key prefix, as Burr's `namespace`. @default '' */
      namespace?: string;
      /** Expire saved steps after this many seconds. @default never */
      ttlSeconds?: number;
    };

export const BACKENDS = ['libsql', 'postgres', 'redis'] as const;

/** A persister for `config`, initialized and ready. */
export async function createPersister(config: BackendConfig): Promise<ManagedPersister> {
  let persister: ManagedPersister & { initialize(): Promise<void> };
  switch (config.backend) {
    case 'libsql': {
      const { SQLitePersister } = await import('../src/persisters/libsql.js');
      persister = SQLitePersister.fromValues(config);
      break;
    }
    case 'postgres': {
      const { PostgreSQLPersister } = await import('../src/persisters/postgres.js');
      const { fetchEndpoint, ...values } = config;
      if (fetchEndpoint) (await import('@neondatabase/serverless')).neonConfig.fetchEndpoint = fetchEndpoint;
      persister = PostgreSQLPersister.fromValues(values);
      break;
    }
    case 'redis': {
      const { RedisPersister } = await import('../src/persisters/redis.js');
      persister = RedisPersister.fromValues(config);
      break;
    }
    default:
      throw new Error(`unknown backend ${(config as { backend: string }).backend}; choose one of ${BACKENDS.join(', ')}`);
  }
  await persister.initialize();
  return persister;
}

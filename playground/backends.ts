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

/** Settings read from the environment (a Worker's `env`, or `process.env` for the CLI demo). */
export interface BackendEnv {
  /** Which backend stores the state. @default 'libsql' */
  BURR_BACKEND?: string;
  /** libSQL / Turso: `libsql://<db>-<org>.turso.io`, or `http://127.0.0.1:8080` for `turso dev`. */
  LIBSQL_URL?: string;
  /** libSQL / Turso auth token (a secret: `wrangler secret put LIBSQL_AUTH_TOKEN`). */
  LIBSQL_AUTH_TOKEN?: string;
  /** PostgreSQL / Neon: the connection string (a secret: `wrangler secret put DATABASE_URL`). */
  DATABASE_URL?: string;
  /** PostgreSQL: where Neon's HTTP driver sends queries, for a local Neon-compatible front; unset for Neon itself. */
  NEON_FETCH_ENDPOINT?: string;
  /** Redis / Upstash: the REST URL, as Upstash's console names it. */
  UPSTASH_REDIS_REST_URL?: string;
  /** Redis / Upstash: the REST token (a secret: `wrangler secret put UPSTASH_REDIS_REST_TOKEN`). */
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Redis: key prefix, as Burr's `namespace`. @default '' */
  BURR_NAMESPACE?: string;
  /** Table (SQL backends) the agent's steps go to. @default 'burr_state' */
  BURR_TABLE?: string;
}

/** A missing or unknown setting; the message says what to set. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the backend configuration from the environment. Never echoes a secret. */
export function backendConfigFromEnv(env: BackendEnv): BackendConfig {
  const backend = env.BURR_BACKEND ?? 'libsql';
  const tableName = env.BURR_TABLE ? { tableName: env.BURR_TABLE } : {};
  switch (backend) {
    case 'libsql':
      if (!env.LIBSQL_URL) throw new ConfigError('LIBSQL_URL is not set (a Worker: wrangler.toml [vars], .dev.vars or `wrangler secret put`; the CLI: --db or the environment)');
      return { backend, url: env.LIBSQL_URL, ...(env.LIBSQL_AUTH_TOKEN ? { authToken: env.LIBSQL_AUTH_TOKEN } : {}), ...tableName };
    case 'postgres':
      if (!env.DATABASE_URL) throw new ConfigError('DATABASE_URL is not set (a Worker: `wrangler secret put DATABASE_URL` or .dev.vars; the CLI: the environment)');
      return { backend, connectionString: env.DATABASE_URL, ...(env.NEON_FETCH_ENDPOINT ? { fetchEndpoint: env.NEON_FETCH_ENDPOINT } : {}), ...tableName };
    case 'redis':
      if (!env.UPSTASH_REDIS_REST_URL || !env.UPSTASH_REDIS_REST_TOKEN) {
        throw new ConfigError('UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must both be set (the token with `wrangler secret put`)');
      }
      return { backend, url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, ...(env.BURR_NAMESPACE ? { namespace: env.BURR_NAMESPACE } : {}) };
    default:
      throw new ConfigError(`BURR_BACKEND=${backend} is not supported; choose one of ${BACKENDS.join(', ')}`);
  }
}

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
      throw new ConfigError(`unknown backend ${(config as { backend: string }).backend}; choose one of ${BACKENDS.join(', ')}`);
  }
  await persister.initialize();
  return persister;
}

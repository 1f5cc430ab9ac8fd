/**
 * Builds a persister from plain configuration, for the CLI demo, the Worker and the Vercel function. Each
 * backend's module is imported only when chosen, so the demo never loads a driver it does not use.
 */
import type { SessionPersister } from '../src/index.js';

/** What the examples use of a persister: saves and loads, the session listings, and close. */
export type ManagedPersister = SessionPersister & { close(): Promise<void> };

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
    }
  | {
      backend: 'mongodb';
      /** burr-edge's MongoDB gateway (`burr-edge mongodb-gateway`), reached over `fetch`. */
      url: string;
      apiKey: string;
      database: string;
      collection: string;
    };

export const BACKENDS = ['libsql', 'postgres', 'redis', 'mongodb'] as const;
export type Backend = (typeof BACKENDS)[number];

/**
 * Settings read from the environment (a Worker's `env`, Vercel's `process.env`, or `process.env`
 * for the CLI demo). Where a hosting integration names a variable its own way, both names work;
 * the first one set wins.
 */
export interface BackendEnv {
  /** Which backend stores the state. @default the one whose variables are set (see {@link STORES}) */
  BURR_BACKEND?: string;
  /** libSQL / Turso: `libsql://<db>-<org>.turso.io`, or `http://127.0.0.1:8080` for `turso dev`. */
  LIBSQL_URL?: string;
  /** libSQL / Turso auth token (a secret: `wrangler secret put LIBSQL_AUTH_TOKEN`). */
  LIBSQL_AUTH_TOKEN?: string;
  /** Turso's Vercel integration's name for {@link LIBSQL_URL}. */
  TURSO_DATABASE_URL?: string;
  /** Turso's Vercel integration's name for {@link LIBSQL_AUTH_TOKEN}. */
  TURSO_AUTH_TOKEN?: string;
  /** PostgreSQL / Neon: the connection string (a secret: `wrangler secret put DATABASE_URL`; Neon's Vercel integration sets it). */
  DATABASE_URL?: string;
  /** PostgreSQL: where Neon's HTTP driver sends queries, for a local Neon-compatible front; unset for Neon itself. */
  NEON_FETCH_ENDPOINT?: string;
  /** Redis / Upstash: the REST URL, as Upstash's console names it. */
  UPSTASH_REDIS_REST_URL?: string;
  /** Redis / Upstash: the REST token (a secret: `wrangler secret put UPSTASH_REDIS_REST_TOKEN`). */
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Vercel's Upstash (KV) integration's name for {@link UPSTASH_REDIS_REST_URL}. */
  KV_REST_API_URL?: string;
  /** Vercel's Upstash (KV) integration's name for {@link UPSTASH_REDIS_REST_TOKEN}. */
  KV_REST_API_TOKEN?: string;
  /** Redis: key prefix, as Burr's `namespace`. @default '' */
  BURR_NAMESPACE?: string;
  /** Table (SQL backends) the agent's steps go to. @default 'burr_state' */
  BURR_TABLE?: string;
  /** MongoDB: the base URL of burr-edge's gateway (`npx burr-edge mongodb-gateway`). */
  MONGODB_GATEWAY_URL?: string;
  /** MongoDB: one of the gateway's API keys (a secret). */
  MONGODB_GATEWAY_API_KEY?: string;
  /** MongoDB: the database the gateway serves. @default 'burr' */
  MONGODB_DATABASE?: string;
  /** MongoDB: the collection the agent's steps go to. @default 'burr_state' */
  MONGODB_COLLECTION?: string;
}

type EnvName = keyof BackendEnv;

/** A missing, partial or unknown setting; the message says what to set, `missing` names the variables. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    /** The variables to set: each entry is one setting, alternatives joined by ` or `. */
    readonly missing: string[] = [],
  ) {
    super(message);
  }
}

/**
 * How one store is configured from the environment. A new store is one more entry in
 * {@link STORES}: its variables and how they become a {@link BackendConfig}.
 */
export interface StoreVariables {
  backend: Backend;
  /** What a user calls it, in messages. */
  label: string;
  /** Settings that must be set; each lists the variables that can carry it, preferred first. */
  required: Record<string, readonly EnvName[]>;
  /** Settings of this store only that may be set (they also select it). */
  optional: Record<string, readonly EnvName[]>;
  /** The variables to set, as a message lists them when no store is configured. */
  summary: string;
  /** Where to set them, for messages. */
  hint: string;
  toConfig(values: Record<string, string>, env: BackendEnv): BackendConfig;
}

const tableOf = (env: BackendEnv) => (env.BURR_TABLE ? { tableName: env.BURR_TABLE } : {});

/** Every store the examples can use, in the order messages list them. */
export const STORES: readonly StoreVariables[] = [
  {
    backend: 'postgres',
    label: 'Neon (PostgreSQL over HTTP)',
    required: { connectionString: ['DATABASE_URL'] },
    optional: { fetchEndpoint: ['NEON_FETCH_ENDPOINT'] },
    summary: 'DATABASE_URL',
    hint: 'a Worker: `wrangler secret put DATABASE_URL` or .dev.vars; Vercel: the Neon integration or `vercel env add DATABASE_URL`; the CLI: the environment',
    toConfig: ({ connectionString = '', fetchEndpoint }, env) => ({ backend: 'postgres', connectionString, ...(fetchEndpoint ? { fetchEndpoint } : {}), ...tableOf(env) }),
  },
  {
    backend: 'redis',
    label: 'Upstash Redis (REST)',
    required: { url: ['UPSTASH_REDIS_REST_URL', 'KV_REST_API_URL'], token: ['UPSTASH_REDIS_REST_TOKEN', 'KV_REST_API_TOKEN'] },
    optional: {},
    summary: 'UPSTASH_REDIS_REST_URL + UPSTASH_REDIS_REST_TOKEN (or KV_REST_API_URL + KV_REST_API_TOKEN)',
    hint: 'a Worker: the token with `wrangler secret put`; Vercel: the Upstash integration or `vercel env add`',
    toConfig: ({ url = '', token = '' }, env) => ({ backend: 'redis', url, token, ...(env.BURR_NAMESPACE ? { namespace: env.BURR_NAMESPACE } : {}) }),
  },
  {
    backend: 'libsql',
    label: 'Turso (libSQL over HTTP)',
    required: { url: ['LIBSQL_URL', 'TURSO_DATABASE_URL'] },
    optional: { authToken: ['LIBSQL_AUTH_TOKEN', 'TURSO_AUTH_TOKEN'] },
    summary: 'TURSO_DATABASE_URL + TURSO_AUTH_TOKEN (or LIBSQL_URL + LIBSQL_AUTH_TOKEN)',
    hint: 'a Worker: wrangler.toml [vars], .dev.vars or `wrangler secret put`; Vercel: the Turso integration or `vercel env add`; the CLI: --db or the environment',
    toConfig: ({ url = '', authToken }, env) => ({ backend: 'libsql', url, ...(authToken ? { authToken } : {}), ...tableOf(env) }),
  },
  {
    backend: 'mongodb',
    label: 'MongoDB (through burr-edge\'s gateway)',
    required: { url: ['MONGODB_GATEWAY_URL'], apiKey: ['MONGODB_GATEWAY_API_KEY'] },
    optional: { database: ['MONGODB_DATABASE'], collection: ['MONGODB_COLLECTION'] },
    summary: 'MONGODB_GATEWAY_URL + MONGODB_GATEWAY_API_KEY',
    hint: 'run `npx burr-edge mongodb-gateway` next to the database; a Worker: `wrangler secret put MONGODB_GATEWAY_API_KEY`; Vercel: `vercel env add`',
    toConfig: ({ url = '', apiKey = '', database = 'burr', collection = 'burr_state' }) => ({ backend: 'mongodb', url, apiKey, database, collection }),
  },
];

const read = (env: BackendEnv, names: readonly EnvName[]): string | undefined => {
  for (const name of names) {
    const value = env[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
};

/** The store's values, and the settings it lacks (each as `A or B`). */
function readStore(store: StoreVariables, env: BackendEnv): { values: Record<string, string>; missing: string[]; present: boolean } {
  const values: Record<string, string> = {};
  const missing: string[] = [];
  let present = false;
  for (const [key, names] of Object.entries(store.required)) {
    const value = read(env, names);
    if (value === undefined) missing.push(names.join(' or '));
    else (values[key] = value), (present = true);
  }
  for (const [key, names] of Object.entries(store.optional)) {
    const value = read(env, names);
    if (value !== undefined) (values[key] = value), (present = true);
  }
  return { values, missing, present };
}

function incomplete(store: StoreVariables, missing: string[]): ConfigError {
  const notSet = missing.map((setting) => {
    const [first, ...others] = setting.split(' or ');
    return `${first} is not set${others.length > 0 ? ` (nor ${others.join(' nor ')})` : ''}`;
  });
  return new ConfigError(`${store.label}: ${notSet.join('; ')} (${store.hint})`, missing);
}

/**
 * Reads the backend configuration from the environment. Never echoes a secret.
 *
 * `BURR_BACKEND` picks the store when set; otherwise the store is the one whose variables are
 * present (as a hosting integration sets them). None, a partial set, or two stores at once is a
 * {@link ConfigError} that names the variables to set.
 */
export function backendConfigFromEnv(env: BackendEnv): BackendConfig {
  const chosen = env.BURR_BACKEND;
  if (chosen) {
    const store = STORES.find((s) => s.backend === chosen);
    if (!store) throw new ConfigError(`BURR_BACKEND=${chosen} is not supported; choose one of ${BACKENDS.join(', ')}`, ['BURR_BACKEND']);
    const { values, missing } = readStore(store, env);
    if (missing.length > 0) throw incomplete(store, missing);
    return store.toConfig(values, env);
  }
  const found = STORES.map((store) => ({ store, ...readStore(store, env) })).filter((s) => s.present);
  if (found.length === 0) {
    const options = STORES.map((s) => `${s.summary} for ${s.label}`);
    throw new ConfigError(`no store is configured; set one of: ${options.join('; ')}`, STORES.flatMap((s) => Object.values(s.required).map((names) => names.join(' or '))));
  }
  if (found.length > 1) {
    throw new ConfigError(`variables of several stores are set (${found.map((s) => s.store.label).join(', ')}): set BURR_BACKEND to one of ${found.map((s) => s.store.backend).join(', ')}`, ['BURR_BACKEND']);
  }
  const [{ store, values, missing }] = found as [(typeof found)[number]];
  if (missing.length > 0) throw incomplete(store, missing);
  return store.toConfig(values, env);
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
      const { RedisPersister } = await import('../src/persisters/redis/index.js');
      persister = RedisPersister.fromValues(config);
      break;
    }
    case 'mongodb': {
      const { MongoDBPersister } = await import('../src/persisters/mongodb/index.js');
      const { backend: _backend, ...values } = config;
      persister = MongoDBPersister.fromHttp(values);
      break;
    }
    default:
      throw new ConfigError(`unknown backend ${(config as { backend: string }).backend}; choose one of ${BACKENDS.join(', ')}`);
  }
  await persister.initialize();
  return persister;
}

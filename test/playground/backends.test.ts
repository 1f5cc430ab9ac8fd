/**
 * How the examples pick their store from the environment (playground/backends.ts): `BURR_BACKEND`
 * when set, otherwise the store whose variables are present — under the names Vercel's Neon,
 * Upstash and Turso integrations set as well as the Worker's. None, half of a store, or two
 * stores is a ConfigError whose `missing` names what to set, and no message repeats a value.
 */
import { describe, expect, it } from 'vitest';
import { BACKENDS, ConfigError, STORES, backendConfigFromEnv, type BackendEnv } from '../../playground/backends.js';

const SECRET = 'sekr1t-value-never-echoed';

function configError(env: BackendEnv): ConfigError {
  try {
    backendConfigFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain(SECRET);
    return error as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(Object.keys(env))}`);
}

describe('backendConfigFromEnv', () => {
  it('picks the store whose variables are set, under the Vercel integrations’ names', () => {
    expect(backendConfigFromEnv({ DATABASE_URL: 'postgres://u:p@ep-x.neon.tech/db' })).toEqual({ backend: 'postgres', connectionString: 'postgres://u:p@ep-x.neon.tech/db' });
    expect(backendConfigFromEnv({ UPSTASH_REDIS_REST_URL: 'https://x.upstash.io', UPSTASH_REDIS_REST_TOKEN: 't' })).toEqual({ backend: 'redis', url: 'https://x.upstash.io', token: 't' });
    expect(backendConfigFromEnv({ KV_REST_API_URL: 'https://kv.upstash.io', KV_REST_API_TOKEN: 'k' })).toEqual({ backend: 'redis', url: 'https://kv.upstash.io', token: 'k' });
    expect(backendConfigFromEnv({ TURSO_DATABASE_URL: 'libsql://db-org.turso.io', TURSO_AUTH_TOKEN: 'j' })).toEqual({ backend: 'libsql', url: 'libsql://db-org.turso.io', authToken: 'j' });
    expect(backendConfigFromEnv({ LIBSQL_URL: 'http://127.0.0.1:8080' })).toEqual({ backend: 'libsql', url: 'http://127.0.0.1:8080' });
  });

  it('passes the shared settings through and prefers the first name of a setting', () => {
    expect(backendConfigFromEnv({ DATABASE_URL: 'postgres://h/db', NEON_FETCH_ENDPOINT: 'http://127.0.0.1:1/sql', BURR_TABLE: 't1' })).toEqual({
      backend: 'postgres',
      connectionString: 'postgres://h/db',
      fetchEndpoint: 'http://127.0.0.1:1/sql',
      tableName: 't1',
    });
    expect(backendConfigFromEnv({ UPSTASH_REDIS_REST_URL: 'https://a', KV_REST_API_URL: 'https://b', UPSTASH_REDIS_REST_TOKEN: 't', BURR_NAMESPACE: 'ns' })).toEqual({ backend: 'redis', url: 'https://a', token: 't', namespace: 'ns' });
    // The CLI's --db arrives as LIBSQL_URL and wins over a Turso URL in the environment.
    expect(backendConfigFromEnv({ BURR_BACKEND: 'libsql', LIBSQL_URL: 'file:./x.db', TURSO_DATABASE_URL: 'libsql://other.turso.io' })).toMatchObject({ url: 'file:./x.db' });
  });

  it('BURR_BACKEND chooses among several configured stores', () => {
    const both: BackendEnv = { DATABASE_URL: 'postgres://h/db', UPSTASH_REDIS_REST_URL: 'https://u', UPSTASH_REDIS_REST_TOKEN: 't' };
    const several = configError(both);
    expect(several.missing).toEqual(['BURR_BACKEND']);
    expect(several.message).toContain('set BURR_BACKEND to one of postgres, redis');
    expect(backendConfigFromEnv({ ...both, BURR_BACKEND: 'redis' })).toMatchObject({ backend: 'redis' });
    expect(backendConfigFromEnv({ ...both, BURR_BACKEND: 'postgres' })).toMatchObject({ backend: 'postgres' });
  });

  it('none set: names every store’s variables', () => {
    const none = configError({ BURR_TABLE: 'only-a-shared-setting', BURR_BACKEND: '' });
    expect(none.missing).toEqual(['DATABASE_URL', 'UPSTASH_REDIS_REST_URL or KV_REST_API_URL', 'UPSTASH_REDIS_REST_TOKEN or KV_REST_API_TOKEN', 'LIBSQL_URL or TURSO_DATABASE_URL', 'MONGODB_GATEWAY_URL', 'MONGODB_GATEWAY_API_KEY']);
    for (const name of ['DATABASE_URL', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'TURSO_DATABASE_URL', 'TURSO_AUTH_TOKEN']) expect(none.message).toContain(name);
    // Empty strings (an unset secret, `KEY=` in a .env file) count as unset.
    expect(configError({ DATABASE_URL: '', UPSTASH_REDIS_REST_URL: '' }).missing).toEqual(none.missing);
  });

  it('half a store: names the variable that is missing, never the value that is set', () => {
    expect(configError({ UPSTASH_REDIS_REST_URL: 'https://x.upstash.io' }).missing).toEqual(['UPSTASH_REDIS_REST_TOKEN or KV_REST_API_TOKEN']);
    const noUrl = configError({ UPSTASH_REDIS_REST_TOKEN: SECRET });
    expect(noUrl.missing).toEqual(['UPSTASH_REDIS_REST_URL or KV_REST_API_URL']);
    expect(noUrl.message).toContain('UPSTASH_REDIS_REST_URL is not set (nor KV_REST_API_URL)');
    expect(configError({ TURSO_AUTH_TOKEN: SECRET }).missing).toEqual(['LIBSQL_URL or TURSO_DATABASE_URL']);
    expect(configError({ NEON_FETCH_ENDPOINT: 'http://127.0.0.1:1/sql' }).missing).toEqual(['DATABASE_URL']);
    // The Worker's message for an explicit backend without its address (test/runtimes/workerd/worker.test.ts).
    expect(configError({ BURR_BACKEND: 'libsql', TURSO_AUTH_TOKEN: SECRET }).message).toContain('LIBSQL_URL is not set');
    expect(configError({ BURR_BACKEND: 'redis', UPSTASH_REDIS_REST_URL: 'https://x' }).missing).toEqual(['UPSTASH_REDIS_REST_TOKEN or KV_REST_API_TOKEN']);
  });

  it('an unknown BURR_BACKEND lists the supported ones', () => {
    const unknown = configError({ BURR_BACKEND: 'cassandra', DATABASE_URL: 'postgres://h/db' });
    expect(unknown.message).toBe(`BURR_BACKEND=cassandra is not supported; choose one of ${BACKENDS.join(', ')}`);
  });

  it('every backend has exactly one entry in the store table', () => {
    expect(STORES.map((s) => s.backend).sort()).toEqual([...BACKENDS].sort());
  });
});

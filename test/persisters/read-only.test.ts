/**
 * Read-only use (Burr's `is_initialized`): a persister opened with read-only credentials on a
 * table that exists works without `initialize()` or `assumeInitialized`, and on a table that was
 * never created fails with NOT_INITIALIZED — a real PostgreSQL role with SELECT only — and a
 * SQLite file Burr's Python wrote is read without initialize and without a change to its schema.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SQLitePersister } from '../../src/persisters/libsql.js';
import { PostgreSQLPersister } from '../../src/persisters/postgres.js';
import { FIXTURES_DIR, expectSameAsBurr, expectedFor } from '../interop/fixtures.js';

const harness = inject('harness');
const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const table = `ro_${id}`;
const role = `reader_${id}`;
let admin: pg.Pool;
let reader: pg.Pool;

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(() => undefined, (e: { code?: string }) => e.code);
}

beforeAll(async () => {
  admin = new pg.Pool({ connectionString: harness.postgresUrl, max: 2 });
  const owner = new PostgreSQLPersister({ client: admin, tableName: table });
  await owner.initialize();
  await owner.save({ partitionKey: 'p', appId: 'app', sequenceId: 0, position: 'start', state: { n: 0 }, status: 'completed' });
  await owner.save({ partitionKey: 'p', appId: 'app', sequenceId: 1, position: 'next', state: { n: 1 }, status: 'completed' });
  await admin.query(`CREATE ROLE "${role}" LOGIN PASSWORD 'read-only'`);
  await admin.query(`GRANT SELECT ON "${table}" TO "${role}"`);
  const url = new URL(harness.postgresUrl);
  url.username = role;
  url.password = 'read-only';
  reader = new pg.Pool({ connectionString: url.toString(), max: 2 });
});

afterAll(async () => {
  await reader?.end();
  await admin?.query(`DROP TABLE IF EXISTS "${table}"`).catch(() => undefined);
  await admin?.query(`DROP ROLE IF EXISTS "${role}"`).catch(() => undefined);
  await admin?.end();
});

describe('PostgreSQL with a role that may only SELECT', () => {
  it('the role really is read-only', async () => {
    await expect(reader.query(`INSERT INTO "${table}" (partition_key, app_id, sequence_id, position, status, state) VALUES ('p', 'x', 0, 'x', 'completed', '{}')`)).rejects.toThrow(/permission denied/);
  });

  it('load and listAppIds work without initialize or assumeInitialized', async () => {
    const persister = new PostgreSQLPersister({ client: reader, tableName: table });
    expect(await persister.load('p', 'app')).toMatchObject({ sequenceId: 1, state: { n: 1 } });
    expect(await persister.load('p', 'app', 0)).toMatchObject({ position: 'start' });
    expect(await persister.listAppIds('p')).toEqual(['app']);
    expect(await persister.isInitialized()).toBe(true);
  });

  it('writing fails as the database says (permission denied), not as NOT_INITIALIZED', async () => {
    const persister = new PostgreSQLPersister({ client: reader, tableName: table });
    expect(await codeOf(persister.save({ partitionKey: 'p', appId: 'app', sequenceId: 2, position: 'x', state: {}, status: 'completed' }))).toBe('BACKEND');
    expect(await codeOf(persister.initialize())).toBe('BACKEND');
  });

  it('a table never created: NOT_INITIALIZED, saying to initialize', async () => {
    const persister = new PostgreSQLPersister({ client: reader, tableName: `${table}_missing` });
    await expect(persister.load('p', 'app')).rejects.toMatchObject({ code: 'NOT_INITIALIZED', message: expect.stringMatching(/initialize\(\)/) });
    await expect(persister.listAppIds('p')).rejects.toMatchObject({ code: 'NOT_INITIALIZED' });
  });
});

describe("SQLite: Burr Python's file, opened without initialize", () => {
  // (@libsql/client has no read-only mode for files; what is checked is that reading changes nothing.)
  it('answers every load Burr answered and adds nothing to the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burr-edge-ro-'));
    const file = join(dir, 'burr_state.db');
    copyFileSync(join(FIXTURES_DIR, 'sqlite/burr_state.db'), file);
    const client = createClient({ url: `file:${file}` });
    try {
      const schema = async () => (await client.execute('SELECT type, name FROM sqlite_master ORDER BY name')).rows.map((r) => `${String(r.type)} ${String(r.name)}`);
      const before = await schema();
      const persister = new SQLitePersister({ client });
      for (const { query, result } of expectedFor('sqlite').loads) expectSameAsBurr(await persister.load(query.partition_key, query.app_id, query.sequence_id), result);
      expect(await schema()).toEqual(before);
      expect(before).not.toContain('index burr_state_key_index'); // Burr's table, not the kit's
    } finally {
      client.close();
    }
  });
});

/**
 * PostgreSQL-specific behaviour, against the harness's real server: what JSONB cannot store is
 * refused before sending, `created_at` is UTC whatever the session time zone, JSONB's
 * normalization does not turn a retry into a conflict, the one-statement insert under real
 * concurrency (separate connections, and a writer committing after the statement's snapshot),
 * and tables Burr created without the kit's unique index.
 */
import { Pool as NeonPool, neon, neonConfig } from '@neondatabase/serverless';
import pg from 'pg';
import ws from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgreSQLPersister } from '../../src/persisters/postgres.js';
import { isPersisterError, type PersisterError } from '../../src/core/errors.js';
import { instrumentFetch } from '../../src/testing/index.js';
import { configureNeonForHarness } from '../harness/postgres.js';
import { raceProcesses } from '../harness/race.js';

const harness = inject('harness');
const raw = new pg.Pool({ connectionString: harness.postgresUrl, max: 4 });
let restoreNeonConfig: (() => void) | undefined;
let counter = 0;

beforeAll(() => {
  restoreNeonConfig = configureNeonForHarness(neonConfig, {
    http: { sqlEndpoint: harness.neonSqlEndpoint },
    ws: { wsProxy: (host, port) => `127.0.0.1:${harness.neonWsProxyPort}/v1?address=${host}:${port}` },
    webSocketConstructor: ws,
  });
});

afterAll(async () => {
  restoreNeonConfig?.();
  await raw.end();
});

function tableName(label: string): string {
  return `pg_${label}_${Date.now().toString(36)}_${(counter++).toString(36)}`;
}

/** Neon HTTP with this test's own instrumented fetch (neonConfig.fetchFunction is global-only: restore it). */
function countedNeon(): { persister: (table: string) => PostgreSQLPersister; requests(): number; restore(): void } {
  const instrumented = instrumentFetch();
  const previous = neonConfig.fetchFunction as unknown;
  neonConfig.fetchFunction = instrumented.fetch;
  return {
    persister: (table) => new PostgreSQLPersister({ client: neon(harness.postgresUrl), tableName: table }),
    requests: instrumented.requests,
    restore: () => void (neonConfig.fetchFunction = previous),
  };
}

async function connectedClients(n: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const client = new pg.Client({ connectionString: harness.postgresUrl });
      await client.connect();
      return client;
    }),
  );
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return isPersisterError(error) ? error.code : `not a PersisterError: ${String(error)}`;
  }
}

async function waitForLockWaiters(table: string, count: number): Promise<void> {
  // Every save must be blocked on the uncommitted row before the blocker ends: poll the server's own view.
  for (let i = 0; i < 500; i++) {
    const { rows } = await raw.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
      [`%INSERT INTO "${table}"%`],
    );
    if (rows[0]!.n >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`fewer than ${count} saves ever waited on the lock`);
}

const BURR_DDL = (table: string) => `CREATE TABLE "${table}" (
    partition_key text DEFAULT ''::text NOT NULL,
    app_id text NOT NULL,
    sequence_id integer NOT NULL,
    "position" text NOT NULL,
    status text NOT NULL,
    state jsonb NOT NULL,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (partition_key, app_id, sequence_id, "position")
  );
  CREATE INDEX "${table}_created_at_index" ON "${table}" (created_at);`;

async function indexNames(table: string): Promise<string[]> {
  const { rows } = await raw.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname', [table]);
  return rows.map((row) => row.indexname);
}

describe('what PostgreSQL cannot store is refused before anything is sent', () => {
  it('NUL and lone surrogates in state (SERIALIZATION) and NUL in keys (INVALID_ARGUMENT): zero HTTP requests', async () => {
    const neonHttp = countedNeon();
    try {
      const persister = neonHttp.persister(tableName('nul'));
      await persister.initialize();
      const before = neonHttp.requests();
      const base = { partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', status: 'completed' } as const;
      const refused = [
        persister.save({ ...base, state: { text: 'a\u0000b' } }),
        persister.save({ ...base, state: { ['key\u0000']: 1 } }),
        persister.save({ ...base, state: { deep: [[{ x: '\u0000' }]] } }),
        persister.save({ ...base, state: { lone: '\udfff' } }),
        persister.save({ ...base, appId: 'a\u0000', state: {} }),
        persister.save({ ...base, position: 'x\u0000', state: {} }),
        persister.save({ ...base, partitionKey: '\ud800', state: {} }),
      ];
      expect(await Promise.all(refused.map(codeOf))).toEqual(['SERIALIZATION', 'SERIALIZATION', 'SERIALIZATION', 'SERIALIZATION', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
      expect(neonHttp.requests() - before).toBe(0);
      const error = (await persister.save({ ...base, state: { text: '\u0000' } }).catch((e: unknown) => e)) as PersisterError;
      expect(error.message).toMatch(/JSONB cannot store/);
      // Text that only looks like an escape is fine: a backslash, then "u0000".
      await persister.save({ ...base, state: { text: '\\u0000 \\\\u0000 \\ud800' } });
      expect((await persister.load('p', 'a'))!.state).toEqual({ text: '\\u0000 \\\\u0000 \\ud800' });
      expect(neonHttp.requests() - before).toBe(2); // that save and that load; every refused save sent nothing
    } finally {
      neonHttp.restore();
    }
  });
});

describe('created_at is UTC whatever the session time zone', () => {
  it("written and returned in UTC under SET TIME ZONE 'America/New_York' (pg)", async () => {
    const [client] = await connectedClients(1);
    try {
      await client!.query("SET TIME ZONE 'America/New_York'");
      const table = tableName('tz');
      const persister = new PostgreSQLPersister({ client: client!, tableName: table });
      await persister.initialize();
      await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', state: {}, status: 'completed' });
      // Burr's own way (the column default, CURRENT_TIMESTAMP) in this session writes New York wall time.
      await client!.query(`INSERT INTO "${table}" (partition_key, app_id, sequence_id, position, status, state) VALUES ('p', 'burr', 0, 'x', 'completed', '{}')`);
      const { rows } = await raw.query<{ kit: string; burr: string; server_utc: string }>(
        `SELECT (SELECT created_at::text FROM "${table}" WHERE app_id = 'a') AS kit, (SELECT created_at::text FROM "${table}" WHERE app_id = 'burr') AS burr, (now() AT TIME ZONE 'UTC')::text AS server_utc`,
      );
      const { kit, burr, server_utc: serverUtc } = rows[0]!;
      const asUtc = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);
      // Within a minute of the server's UTC clock; New York is 4 or 5 hours away from it.
      expect(Math.abs(asUtc(serverUtc) - asUtc(kit))).toBeLessThan(60_000);
      expect(Math.abs(asUtc(serverUtc) - asUtc(burr))).toBeGreaterThan(3 * 3_600_000);
      const loaded = await persister.load('p', 'a');
      expect(loaded!.createdAt).toBe(new Date(asUtc(kit)).toISOString());
      expect(loaded!.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    } finally {
      await client!.end();
    }
  });
});

describe('recency never ties', () => {
  it('two saves within one transaction (one now()) still list the later one first', async () => {
    const [client] = await connectedClients(1);
    try {
      const table = tableName('ties');
      const persister = new PostgreSQLPersister({ client: client!, tableName: table });
      await persister.initialize();
      await client!.query('BEGIN');
      await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', state: {}, status: 'completed' });
      await persister.save({ partitionKey: 'p', appId: 'b', sequenceId: 0, position: 'x', state: {}, status: 'completed' });
      await client!.query('COMMIT');
      expect(await persister.listAppIds('p')).toEqual(['b', 'a']);
      expect((await persister.load('p', null))!.appId).toBe('b');
    } finally {
      await client!.end();
    }
  });
});

describe('created_at does not depend on the session DateStyle', () => {
  it("is read correctly under SET DateStyle = 'SQL, DMY' (pg)", async () => {
    const [client] = await connectedClients(1);
    try {
      await client!.query("SET DateStyle = 'SQL, DMY'");
      const table = tableName('datestyle');
      const persister = new PostgreSQLPersister({ client: client!, tableName: table });
      await persister.initialize();
      await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', state: {}, status: 'completed' });
      const { rows } = await client!.query<{ shown: string }>(`SELECT created_at::text AS shown FROM "${table}"`);
      expect(rows[0]!.shown).toMatch(/^\d{2}\/\d{2}\/\d{4} /); // what ::text would have handed the parser
      const { rows: utc } = await raw.query<{ iso: string }>(`SELECT to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS iso FROM "${table}"`);
      expect((await persister.load('p', 'a'))!.createdAt).toBe(utc[0]!.iso);
    } finally {
      await client!.end();
    }
  });
});

describe("JSONB normalizes what it stores; a retry is still a retry", () => {
  it('an identical re-save succeeds in one request although the stored text differs; a different one is refused', async () => {
    const neonHttp = countedNeon();
    try {
      const table = tableName('jsonb');
      const persister = neonHttp.persister(table);
      await persister.initialize();
      const state = { zebra: 1, a: { long_key: [1, 2], k: -0 }, float: 1e21, ratio: 2.5, tiny: 1e-300, big: 9007199254740993n };
      const save = { partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', state, status: 'completed' } as const;
      await persister.save(save);
      const { rows } = await raw.query<{ state: string }>(`SELECT state::text AS state FROM "${table}"`);
      // JSONB sorted the keys (shorter first) and rewrote the numbers: the text is not what was sent.
      expect(rows[0]!.state.startsWith('{"a": {"k": 0.0, "long_key": [1, 2]}')).toBe(true);
      expect(rows[0]!.state).toContain('"float": 1000000000000000000000');
      const before = neonHttp.requests();
      await persister.save(save);
      await persister.save({ ...save, state: { big: 9007199254740993n, tiny: 1e-300, ratio: 2.5, float: 1e21, a: { k: 0, long_key: [1, 2] }, zebra: 1.0 } });
      expect(neonHttp.requests() - before).toBe(2);
      expect(await codeOf(persister.save({ ...save, state: { ...state, big: 9007199254740992n } }))).toBe('ALREADY_EXISTS');
      expect(await codeOf(persister.save({ ...save, state: { ...state, a: { long_key: [2, 1], k: 0 } } }))).toBe('ALREADY_EXISTS');
      expect(await codeOf(persister.save({ ...save, position: 'y' }))).toBe('ALREADY_EXISTS');
      expect(neonHttp.requests() - before).toBe(5);
      const { rows: count } = await raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`);
      expect(count[0]!.n).toBe(1);
    } finally {
      neonHttp.restore();
    }
  });
});

describe('the one-statement insert under concurrency (separate connections)', () => {
  it('10 concurrent saves of one key with different states: exactly one wins, nine get ALREADY_EXISTS', async () => {
    const clients = await connectedClients(10);
    try {
      const table = tableName('race');
      await new PostgreSQLPersister({ client: clients[0]!, tableName: table }).initialize();
      const persisters = clients.map((client) => new PostgreSQLPersister({ client, tableName: table, assumeInitialized: true }));
      const codes = await Promise.all(persisters.map((p, i) => codeOf(p.save({ partitionKey: 'p', appId: 'race', sequenceId: 0, position: 'x', state: { writer: i }, status: 'completed' }))));
      expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
      expect(codes.filter((c) => c === 'ALREADY_EXISTS')).toHaveLength(9);
      const { rows } = await raw.query<{ writer: number }>(`SELECT (state->>'writer')::int AS writer FROM "${table}"`);
      expect(rows).toEqual([{ writer: codes.indexOf('ok') }]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('a writer that commits after the statements started: identical saves all succeed, different ones all fail, each in at most two round trips', async () => {
    const clients = await connectedClients(11);
    const [blocker, ...writers] = clients as [pg.Client, ...pg.Client[]];
    try {
      const table = tableName('late');
      await new PostgreSQLPersister({ client: blocker, tableName: table }).initialize();
      for (const [appId, blockerState, expected] of [
        // -0: stored by JSONB as 0, so only the database can tell these states are the same.
        ['same', '{"v": 1, "z": -0.0}', 'ok'],
        ['different', '{"v": 2, "z": -0.0}', 'ALREADY_EXISTS'],
      ] as const) {
        // An uncommitted row at the key: every save passes NOT EXISTS, then waits on the unique index.
        await blocker.query('BEGIN');
        await blocker.query(`INSERT INTO "${table}" (partition_key, app_id, sequence_id, position, status, state) VALUES ('p', $1, 0, 'x', 'completed', $2::text::jsonb)`, [appId, blockerState]);
        const counted = writers.map((client) => {
          let calls = 0;
          const persister = new PostgreSQLPersister({ client: { query: (text: string, params: unknown[]) => (calls++, client.query(text, params)) }, tableName: table, assumeInitialized: true });
          return { persister, calls: () => calls };
        });
        const saves = counted.map(({ persister }) => codeOf(persister.save({ partitionKey: 'p', appId, sequenceId: 0, position: 'x', state: { v: 1, z: -0 }, status: 'completed' })));
        await waitForLockWaiters(table, writers.length);
        await blocker.query('COMMIT'); // committed after every waiting statement took its snapshot
        expect(await Promise.all(saves)).toEqual(writers.map(() => expected));
        // The statement's snapshot cannot see the row: each save re-read it (the rare second round trip).
        expect(counted.map(({ calls }) => calls())).toEqual(writers.map(() => 2));
      }
      const { rows } = await raw.query<{ app_id: string; n: number }>(`SELECT app_id, count(*)::int AS n FROM "${table}" GROUP BY app_id ORDER BY app_id`);
      expect(rows).toEqual([{ app_id: 'different', n: 1 }, { app_id: 'same', n: 1 }]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('a writer that rolls back: exactly one waiting save wins', async () => {
    const clients = await connectedClients(11);
    const [blocker, ...writers] = clients as [pg.Client, ...pg.Client[]];
    try {
      const table = tableName('rollback');
      await new PostgreSQLPersister({ client: blocker, tableName: table }).initialize();
      await blocker.query('BEGIN');
      await blocker.query(`INSERT INTO "${table}" (partition_key, app_id, sequence_id, position, status, state) VALUES ('p', 'a', 0, 'x', 'completed', '{}')`);
      const saves = writers.map((client, i) => codeOf(new PostgreSQLPersister({ client, tableName: table, assumeInitialized: true }).save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', state: { writer: i }, status: 'completed' })));
      await waitForLockWaiters(table, writers.length);
      await blocker.query('ROLLBACK');
      const codes = await Promise.all(saves);
      expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
      expect(codes.filter((c) => c === 'ALREADY_EXISTS')).toHaveLength(writers.length - 1);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('concurrent initialize of one new table from separate connections all succeed', async () => {
    const clients = await connectedClients(5);
    try {
      const table = tableName('init');
      const results = await Promise.all(clients.map((client) => codeOf(new PostgreSQLPersister({ client, tableName: table }).initialize())));
      expect(results).toEqual(clients.map(() => 'ok'));
      expect(await indexNames(table)).toEqual([`${table}_created_at_index`, `${table}_key_index`, `${table}_partition_app_created_at_index`, `${table}_partition_created_at_index`, `${table}_pkey`]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});

describe("tables Burr created (no unique index on the kit's key)", () => {
  it("initialize adds the kit's unique index when Burr's rows allow it", async () => {
    const table = tableName('burr_ok');
    await raw.query(BURR_DDL(table));
    await raw.query(`INSERT INTO "${table}" (partition_key, app_id, sequence_id, position, status, state) VALUES ('p', 'a', 0, 'x', 'completed', '{"n": 1}')`);
    const persister = new PostgreSQLPersister({ client: raw, tableName: table });
    expect(await persister.isInitialized()).toBe(true);
    await persister.initialize();
    expect(await indexNames(table)).toContain(`${table}_key_index`);
    expect((await persister.load('p', 'a'))!.state).toEqual({ n: 1 });
  });

  it("keeps Burr's rows when two positions share a sequence id, goes without the index, and still refuses a conflicting save", async () => {
    const table = tableName('burr_dup');
    await raw.query(BURR_DDL(table));
    await raw.query(`INSERT INTO "${table}" (partition_key, app_id, sequence_id, position, status, state) VALUES
      ('p', 'a', 0, 'first', 'completed', '{"n": 1}'), ('p', 'a', 0, 'second', 'completed', '{"n": 2}')`);
    const neonHttp = countedNeon();
    try {
      const persister = neonHttp.persister(table);
      await persister.initialize();
      expect(await indexNames(table)).not.toContain(`${table}_key_index`);
      const { rows } = await raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`);
      expect(rows[0]!.n).toBe(2);
      const before = neonHttp.requests();
      // Not the same position as either stored row: refused by NOT EXISTS, nothing written.
      expect(await codeOf(persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'third', state: { n: 3 }, status: 'completed' }))).toBe('ALREADY_EXISTS');
      // Identical to one of Burr's rows: a retry, whichever row the key finds first.
      await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'second', state: { n: 2 }, status: 'completed' });
      await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 1, position: 'next', state: { n: 4 }, status: 'completed' });
      expect(neonHttp.requests() - before).toBe(3);
      expect((await persister.load('p', 'a'))!.sequenceId).toBe(1);
      const { rows: after } = await raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`);
      expect(after[0]!.n).toBe(3);
    } finally {
      neonHttp.restore();
    }
  });

  it('assumeInitialized on a table that does not exist: NOT_INITIALIZED from the database error', async () => {
    const persister = new PostgreSQLPersister({ client: raw, tableName: tableName('missing'), assumeInitialized: true });
    expect(await codeOf(persister.load('p', 'a'))).toBe('NOT_INITIALIZED');
    expect(await codeOf(persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', state: {}, status: 'completed' }))).toBe('NOT_INITIALIZED');
  });
});

describe('clients', () => {
  it('reads state and created_at as text, so a client with its own type parsers changes nothing (none set globally)', async () => {
    const jsonbParser = pg.types.getTypeParser(3802);
    const client = new pg.Client({
      connectionString: harness.postgresUrl,
      // Per-client parsers that would break a persister reading typed values.
      types: { getTypeParser: ((oid: number) => (oid === 3802 || oid === 1114 ? () => { throw new Error(`parsed oid ${oid}`); } : oid === 23 ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid))) as typeof pg.types.getTypeParser },
    });
    await client.connect();
    try {
      const persister = new PostgreSQLPersister({ client, tableName: tableName('types') });
      await persister.initialize();
      await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 3, position: 'x', state: { big: 9007199254740993n }, status: 'failed' });
      const loaded = await persister.load('p', 'a');
      expect(loaded).toMatchObject({ sequenceId: 3, status: 'failed', state: { big: 9007199254740993n } });
      await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 3, position: 'x', state: { big: 9007199254740993n }, status: 'failed' });
      expect(pg.types.getTypeParser(3802)).toBe(jsonbParser);
    } finally {
      await client.end();
    }
  });

  it('a neon() function made with arrayMode / fullResults options works the same', async () => {
    const table = tableName('neonopts');
    for (const client of [neon(harness.postgresUrl, { arrayMode: true }), neon(harness.postgresUrl, { fullResults: true }), neon(harness.postgresUrl, { arrayMode: true, fullResults: true })]) {
      const persister = new PostgreSQLPersister({ client, tableName: table });
      await persister.initialize();
      await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', state: { v: 1 }, status: 'completed' });
      expect((await persister.load('p', 'a'))!.state).toEqual({ v: 1 });
      expect(await persister.listAppIds('p')).toEqual(['a']);
    }
  });

  it('fromValues builds a Neon HTTP client (default) or a WebSocket Pool, and close() ends what it built', async () => {
    const table = tableName('fromvalues');
    const http = PostgreSQLPersister.fromValues({ connectionString: harness.postgresUrl, tableName: table });
    await http.initialize();
    await http.save({ partitionKey: 'p', appId: 'http', sequenceId: 0, position: 'x', state: { via: 'http' }, status: 'completed' });
    await http.close();
    const socket = PostgreSQLPersister.fromConfig({ connectionString: harness.postgresUrl, tableName: table, transport: 'websocket', assumeInitialized: true });
    await socket.save({ partitionKey: 'p', appId: 'ws', sequenceId: 0, position: 'x', state: { via: 'ws' }, status: 'completed' });
    expect((await socket.load('p', 'http'))!.state).toEqual({ via: 'http' });
    expect(await socket.listAppIds('p')).toEqual(['ws', 'http']);
    await socket.close();
    expect(await codeOf(socket.load('p', 'ws'))).toBe('CLOSED');
    expect(() => PostgreSQLPersister.fromValues({ connectionString: '' })).toThrow(/connectionString/);
    expect(() => PostgreSQLPersister.fromValues({ connectionString: harness.postgresUrl, transport: 'tcp' as 'http' })).toThrow(/transport/);
  });

  it('takes a factory, and ends an owned pool on close but never an injected one', async () => {
    const table = tableName('owned');
    let made = 0;
    let ended = 0;
    const factory = async () => {
      made++;
      const pool = new NeonPool({ connectionString: harness.postgresUrl });
      const end = pool.end.bind(pool);
      return Object.assign(pool, { end: () => (ended++, end()) });
    };
    const owned = new PostgreSQLPersister({ client: factory, tableName: table, ownsClient: true });
    expect(made).toBe(0); // made on first use
    await owned.initialize();
    await owned.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', state: {}, status: 'completed' });
    await owned.close();
    expect([made, ended]).toEqual([1, 1]);
    const injected = new PostgreSQLPersister({ client: raw, tableName: table });
    await injected.close();
    expect((await raw.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]); // still usable
    expect(() => new PostgreSQLPersister({ client: {} as never })).toThrow(/client/);
  });

  it('deleteApp removes every step of one app in one request', async () => {
    const neonHttp = countedNeon();
    try {
      const persister = neonHttp.persister(tableName('delete'));
      await persister.initialize();
      for (let i = 0; i < 3; i++) await persister.save({ partitionKey: 'p', appId: 'gone', sequenceId: i, position: 'x', state: {}, status: 'completed' });
      await persister.save({ partitionKey: 'p', appId: 'kept', sequenceId: 0, position: 'x', state: {}, status: 'completed' });
      const before = neonHttp.requests();
      await persister.deleteApp('p', 'gone');
      expect(neonHttp.requests() - before).toBe(1);
      expect(await persister.load('p', 'gone')).toBeNull();
      expect(await persister.listAppIds('p')).toEqual(['kept']);
    } finally {
      neonHttp.restore();
    }
  });
});

describe('expectedSequenceId under real concurrency', () => {
  it('three processes (pg Pool each) racing on one session: one winner per step, none lost', async () => {
    const table = tableName('race_procs');
    const persister = new PostgreSQLPersister({ client: raw, tableName: table });
    await persister.initialize();
    // raceProcesses checks the outcome: one winner per step, each step extending the one before.
    await raceProcesses({ persister, store: `${harness.postgresUrl}#${table}`, partitionKey: 'p', appId: 'race', writers: 3, rounds: 8 });
  }, 120_000);

  /**
   * Writers that expect the same step but save different sequence ids (as forks and gapped
   * numbering do): the unique index never arbitrates, so only the advisory lock keeps a second
   * writer from passing the condition against a snapshot taken before the first committed.
   */
  async function gappedRace(persisters: PostgreSQLPersister[], table: string, rounds: number): Promise<void> {
    await persisters[0]!.save({ partitionKey: 'p', appId: 'gaps', sequenceId: 0, position: 'start', state: { after: null }, status: 'completed', expectedSequenceId: null });
    let refused = 0;
    const wins = await Promise.all(
      persisters.map(async (persister, writer) => {
        let won = 0;
        for (let attempt = 0; won < rounds && attempt < 100 * rounds; attempt++) {
          const latest = (await persister.load('p', 'gaps'))!;
          // A different sequence id per writer for the same expected step.
          const sequenceId = latest.sequenceId + 1 + writer;
          const code = await codeOf(persister.save({ partitionKey: 'p', appId: 'gaps', sequenceId, position: `w${writer}`, state: { after: latest.sequenceId }, status: 'completed', expectedSequenceId: latest.sequenceId }));
          if (code === 'ok') won++;
          else if (code === 'CONCURRENT_UPDATE') refused++;
          else throw new Error(`writer ${writer}: ${code}`);
        }
        return won;
      }),
    );
    expect(wins).toEqual(persisters.map(() => rounds));
    const { rows } = await raw.query<{ sequence_id: number; after: number | null }>(`SELECT sequence_id, (state->>'after')::int AS after FROM "${table}" WHERE app_id = 'gaps' ORDER BY sequence_id`);
    expect(rows).toHaveLength(1 + persisters.length * rounds);
    // Every step was saved on the step just before it: no two saves passed on the same expectation.
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.after, `step ${rows[i]!.sequence_id}`).toBe(rows[i - 1]!.sequence_id);
    expect(refused).toBeGreaterThan(0);
  }

  it('gapped ids, eight pg connections (BEGIN; lock / insert / COMMIT): every step follows the one before', async () => {
    const table = tableName('gaps_pg');
    const pools = Array.from({ length: 8 }, () => new pg.Pool({ connectionString: harness.postgresUrl, max: 2 }));
    try {
      await new PostgreSQLPersister({ client: pools[0]!, tableName: table }).initialize();
      await gappedRace(pools.map((client) => new PostgreSQLPersister({ client, tableName: table, assumeInitialized: true })), table, 10);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  }, 120_000);

  it('gapped ids, six Neon HTTP clients (transaction([lock, insert]), one request each): every step follows the one before', async () => {
    const table = tableName('gaps_neon');
    const neonHttp = countedNeon();
    try {
      const persisters = Array.from({ length: 6 }, () => neonHttp.persister(table));
      await persisters[0]!.initialize();
      const before = neonHttp.requests();
      await persisters[0]!.save({ partitionKey: 'p', appId: 'one', sequenceId: 0, position: 'x', state: {}, status: 'completed', expectedSequenceId: null });
      expect(neonHttp.requests() - before).toBe(1);
      await gappedRace(persisters, table, 5);
    } finally {
      neonHttp.restore();
    }
  }, 120_000);

  it('a bare pg Client: conditional saves of one persister take turns on the connection; inside the caller\'s transaction they commit with it', async () => {
    const [client] = await connectedClients(1);
    try {
      const table = tableName('bare');
      const persister = new PostgreSQLPersister({ client: client!, tableName: table });
      await persister.initialize();
      await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', state: {}, status: 'completed', expectedSequenceId: null });
      // Concurrent saves on one connection: exactly one of those expecting step 0 wins.
      const codes = await Promise.all([1, 2, 3, 4].map((sequenceId) => codeOf(persister.save({ partitionKey: 'p', appId: 'a', sequenceId, position: 'x', state: { sequenceId }, status: 'completed', expectedSequenceId: 0 }))));
      expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
      expect(codes.filter((c) => c === 'CONCURRENT_UPDATE')).toHaveLength(3);
      const latest = (await persister.load('p', 'a'))!.sequenceId;
      await client!.query('BEGIN');
      await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: latest + 1, position: 'x', state: {}, status: 'completed', expectedSequenceId: latest });
      const { rows: outside } = await raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`);
      expect(outside[0]!.n).toBe(2); // not committed by the save: the caller's transaction is still open
      await client!.query('ROLLBACK');
      expect((await persister.load('p', 'a'))!.sequenceId).toBe(latest);
    } finally {
      await client!.end();
    }
  });
});

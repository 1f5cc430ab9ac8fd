/**
 * Burr (Python) and burr-edge share a PostgreSQL database. The dump Burr's `PostgreSQLPersister`
 * (psycopg2) left is loaded into the harness's real server, unmodified but for the table's name
 * (one table per run, so nothing else in the shared database is touched); every transport reads
 * every row as Burr returns it; and what the kit writes is read back with Burr's own SQL.
 */
import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Pool as NeonPool, neon, neonConfig } from '@neondatabase/serverless';
import pg from 'pg';
import ws from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jsonEqual } from '../../src/core/compare.js';
import { parseJson, type JsonValue } from '../../src/core/json.js';
import { State } from '../../src/core/state.js';
import { PostgreSQLPersister, type PostgresClient } from '../../src/persisters/postgres.js';
import { configureNeonForHarness } from '../harness/postgres.js';
import { FIXTURES_DIR, expectSameAsBurr, expectedFor, partitionArg } from './fixtures.js';

const harness = inject('harness');
const expected = expectedFor('postgresql');
const table = `burr_state_${Date.now().toString(36)}`;
const dump = readFileSync(`${FIXTURES_DIR}postgresql/burr_state.sql`, 'utf8');

/** Burr's dump with its table (and that table's constraint and index) renamed. */
function renamed(sql: string, name: string): string {
  return sql.replace(/\bpublic\.burr_state\b/g, `public.${name}`).replace(/\bburr_state_(pkey|created_at_index)\b/g, `${name}_$1`);
}

const raw = new pg.Pool({ connectionString: harness.postgresUrl, max: 2 });
let pglite: PGlite;
let neonPool: NeonPool;
let restoreNeonConfig: () => void;

beforeAll(async () => {
  restoreNeonConfig = configureNeonForHarness(neonConfig, {
    http: { sqlEndpoint: harness.neonSqlEndpoint },
    ws: { wsProxy: (host, port) => `127.0.0.1:${harness.neonWsProxyPort}/v1?address=${host}:${port}` },
    webSocketConstructor: ws,
  });
  neonPool = new NeonPool({ connectionString: harness.postgresUrl });
  // A client of its own: the dump empties search_path for its session (pg_dump does).
  const loader = new pg.Client({ connectionString: harness.postgresUrl });
  await loader.connect();
  try {
    await loader.query(renamed(dump, table)); // simple protocol: the whole dump in one go
  } finally {
    await loader.end();
  }
  pglite = new PGlite();
  await pglite.exec(renamed(dump, table));
  await pglite.exec('RESET search_path');
}, 60_000);

afterAll(async () => {
  await Promise.all([neonPool?.end(), pglite?.close()]);
  restoreNeonConfig?.();
  await raw.query(`DROP TABLE IF EXISTS "${table}"`);
  await raw.end();
});

const transports: [string, () => PostgresClient][] = [
  ['Neon HTTP', () => neon(harness.postgresUrl)],
  ['Neon WebSocket Pool', () => neonPool],
  ['pg Pool', () => raw],
  ['PGlite (dump loaded in process)', () => pglite],
];

for (const [name, client] of transports) {
  describe(`reads Burr's PostgreSQL rows as Burr does: ${name}`, () => {
    let persister: PostgreSQLPersister;
    beforeAll(async () => {
      persister = new PostgreSQLPersister({ client: client(), tableName: table });
      expect(await persister.isInitialized()).toBe(true);
      await persister.initialize(); // Burr's table stays; the kit's indexes are added
    });

    for (const { query, result } of expected.loads) {
      it(`load(${JSON.stringify(query.partition_key)}, ${query.app_id}, ${query.sequence_id})`, async () => {
        const loaded = await persister.load(query.partition_key, query.app_id, query.sequence_id);
        if (!expectSameAsBurr(loaded, result)) return;
        expect(loaded!.createdAt).toMatch(/^2026-11-27T08:15:03\.\d{3}Z$/);
      });
    }

    it("keeps the integer beyond 2^53 exact and created_at as Burr's UTC wall time", async () => {
      const edge = await persister.load('user-a', 'edge-cases');
      expect(edge!.state.big_int).toBe(9007199254740993n);
      // Burr wrote -0.0; JSONB keeps no negative zero, so Burr reads 0.0 back too (expected.json).
      expect((edge!.state.floats as number[])[1]).toBe(0);
      expect((await persister.load('user-a', 'app-1', 0))!.createdAt).toBe('2026-11-27T08:15:03.626Z');
      expect(((await persister.load('user-a', 'big-state'))!.state.blob as string).length).toBeGreaterThan(250_000);
    });

    for (const [partition, ids] of Object.entries(expected.list_app_ids)) {
      it(`listAppIds(${partition}) has Burr's app ids, each once, most recent first`, async () => {
        const listed = await persister.listAppIds(partitionArg(partition));
        expect([...listed].sort()).toEqual([...new Set(ids)].sort());
        // Burr's own order (created_at DESC) with the duplicates removed.
        expect(listed).toEqual([...new Set(ids)]);
      });
    }
  });
}

describe("what the kit writes, Burr's SQL reads", () => {
  const kitState = { count: 7, big: 9007199254740993n, where: { __burr_serde__: 'point', x: 1.5, y: -2 }, text: 'naïve "quoted" \\ 🚀', __SEQUENCE_ID: 3, __PRIOR_STEP: 'counter' };

  /** Burr's `load` queries (psycopg2's %s as $n): the row and the state text json.loads would get. */
  async function burrLoad(t: string, partitionKey: string, appId: string | null, sequenceId?: number) {
    const columns = 'position, state::text AS state, sequence_id, app_id, created_at::text AS created_at, status';
    const { rows } =
      appId === null
        ? await raw.query(`SELECT ${columns} FROM "${t}" WHERE partition_key = $1 ORDER BY CREATED_AT DESC LIMIT 1`, [partitionKey])
        : sequenceId === undefined
          ? await raw.query(`SELECT ${columns} FROM "${t}" WHERE partition_key = $1 AND app_id = $2 ORDER BY sequence_id DESC LIMIT 1`, [partitionKey, appId])
          : await raw.query(`SELECT ${columns} FROM "${t}" WHERE partition_key = $1 AND app_id = $2 AND sequence_id = $3`, [partitionKey, appId, sequenceId]);
    return rows[0] as { position: string; state: string; sequence_id: number; app_id: string; created_at: string; status: string } | undefined;
  }

  it("into Burr's table: Burr's load, load-latest-of-partition and list_app_ids see the kit's rows", async () => {
    const persister = new PostgreSQLPersister({ client: neon(harness.postgresUrl), tableName: table, assumeInitialized: true });
    await persister.save({ partitionKey: 'user-a', appId: 'from-edge', sequenceId: 0, position: 'counter', state: kitState, status: 'completed' });
    await persister.save({ partitionKey: 'user-a', appId: 'from-edge', sequenceId: 1, position: 'boom', state: new State({ when: new Date('2026-01-02T03:04:05.678Z') }), status: 'failed' });

    const latest = await burrLoad(table, 'user-a', 'from-edge');
    expect(latest).toMatchObject({ position: 'boom', sequence_id: 1, app_id: 'from-edge', status: 'failed' });
    const first = await burrLoad(table, 'user-a', 'from-edge', 0);
    expect(first).toMatchObject({ position: 'counter', sequence_id: 0, status: 'completed' });
    // Plain JSON (what json.loads takes), with the big integer written as an integer.
    expect(() => JSON.parse(first!.state)).not.toThrow();
    expect(first!.state).toContain('"big": 9007199254740993');
    expect(jsonEqual(parseJson(first!.state), kitState as unknown as JsonValue)).toBe(true);
    // A naive timestamp in Burr's column format (psycopg2 gives a naive datetime), UTC.
    expect(first!.created_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$/);
    expect(Math.abs(Date.parse(`${first!.created_at.replace(' ', 'T')}Z`) - Date.now())).toBeLessThan(5 * 60_000);

    expect((await burrLoad(table, 'user-a', null))!.app_id).toBe('from-edge');
    const { rows } = await raw.query<{ app_id: string }>(`SELECT DISTINCT app_id, created_at FROM "${table}" WHERE partition_key = $1 ORDER BY created_at DESC`, ['user-a']);
    expect(rows[0]!.app_id).toBe('from-edge');
    expect((await persister.listAppIds('user-a'))[0]).toBe('from-edge');
  });

  it("a table the kit creates has Burr's columns, and rows Burr inserts into it load in the kit", async () => {
    const kitTable = `${table}_kit`;
    const persister = new PostgreSQLPersister({ client: raw, tableName: kitTable });
    await persister.initialize();
    try {
      const columns = async (t: string) =>
        (await raw.query(`SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [t])).rows;
      expect(await columns(kitTable)).toEqual(await columns(table));
      const key = async (t: string) =>
        (await raw.query(`SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY a.attnum`, [t])).rows;
      expect(await key(kitTable)).toEqual(await key(table));
      // Burr's save: INSERT … VALUES (%s, …) with json.dumps(state); created_at from the column default.
      await raw.query(`INSERT INTO "${kitTable}" (partition_key, app_id, sequence_id, position, state, status) VALUES ($1, $2, $3, $4, $5, $6)`, [
        'user-a', 'from-python', 0, 'counter', '{"count": 1, "big": 9007199254740993, "f": -0.0}', 'completed',
      ]);
      const loaded = await persister.load('user-a', 'from-python');
      expect(loaded).toMatchObject({ partitionKey: 'user-a', appId: 'from-python', sequenceId: 0, position: 'counter', status: 'completed' });
      expect(jsonEqual(loaded!.state, { count: 1, big: 9007199254740993n, f: 0 })).toBe(true);
      await persister.save({ partitionKey: 'user-a', appId: 'from-python', sequenceId: 1, position: 'chat', state: { count: 2 }, status: 'completed' });
      expect((await burrLoad(kitTable, 'user-a', 'from-python'))!.sequence_id).toBe(1);
    } finally {
      await raw.query(`DROP TABLE IF EXISTS "${kitTable}"`);
    }
  });
});

/**
 * Burr (Python) and burr-edge share a SQLite database: the kit reads every row Burr's
 * `SQLitePersister` wrote exactly as Burr returns it, and what the kit writes into Burr's table
 * is in Burr's format.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonEqual } from '../../src/core/compare.js';
import { parseJson, type JsonValue } from '../../src/core/json.js';
import { SQLitePersister } from '../../src/persisters/libsql.js';
import { FIXTURES_DIR, expectSameAsBurr, expectedFor, partitionArg } from './fixtures.js';

const expected = expectedFor('sqlite');
let client: Client;
let persister: SQLitePersister;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burr-interop-'));
  const file = join(dir, 'burr_state.db');
  copyFileSync(join(FIXTURES_DIR, 'sqlite/burr_state.db'), file);
  client = createClient({ url: `file:${file}` });
  persister = new SQLitePersister({ client });
  await persister.initialize();
});

afterAll(() => client.close());

describe("reads Burr's SQLite data as Burr does", () => {
  for (const { query, result } of expected.loads) {
    it(`load(${JSON.stringify(query.partition_key)}, ${query.app_id}, ${query.sequence_id})`, async () => {
      const loaded = await persister.load(query.partition_key, query.app_id, query.sequence_id);
      if (!expectSameAsBurr(loaded, result)) return;
      expect(loaded!.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });
  }

  it('keeps the integer beyond 2^53 exact and -0.0 negative', async () => {
    const loaded = await persister.load('user-a', 'edge-cases');
    expect(loaded!.state.big_int).toBe(9007199254740993n);
    expect(Object.is((loaded!.state.floats as number[])[1], -0)).toBe(true);
  });

  for (const [partition, ids] of Object.entries(expected.list_app_ids)) {
    it(`listAppIds(${partition}) has Burr's app ids, each once`, async () => {
      const listed = await persister.listAppIds(partitionArg(partition));
      expect([...listed].sort()).toEqual([...new Set(ids)].sort());
    });
  }
});

describe("writes Burr's format into Burr's table", () => {
  it('a saved row has Burr columns, JSON Burr can parse, and a comparable created_at', async () => {
    const state = { count: 7, big: 9007199254740993n, where: { __burr_serde__: 'point', x: 1.5, y: -2 } };
    await persister.save({ partitionKey: 'user-a', appId: 'from-edge', sequenceId: 0, position: 'counter', state, status: 'completed' });
    const raw = await client.execute({
      sql: 'SELECT partition_key, app_id, sequence_id, position, status, state, created_at, typeof(state) AS state_type, typeof(sequence_id) AS seq_type FROM burr_state WHERE app_id = ?',
      args: ['from-edge'],
    });
    const row = raw.rows[0]!;
    expect(row.state_type).toBe('text');
    expect(row.seq_type).toBe('integer');
    expect(row.partition_key).toBe('user-a');
    expect(row.position).toBe('counter');
    expect(row.status).toBe('completed');
    expect(String(row.state)).toContain('"big":9007199254740993');
    expect(jsonEqual(parseJson(String(row.state)), state as unknown as JsonValue)).toBe(true);
    // Burr's column format ('YYYY-MM-DD HH:MM:SS', UTC) plus milliseconds: sorts after Burr's rows.
    expect(String(row.created_at)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
    const newest = await client.execute("SELECT app_id FROM burr_state WHERE partition_key = 'user-a' ORDER BY created_at DESC LIMIT 1");
    expect(newest.rows[0]!.app_id).toBe('from-edge');
    // Burr's own latest-of-partition query picks up the kit's row.
    expect((await persister.load('user-a', null))!.appId).toBe('from-edge');
  });

  it("Burr's primary key and index are untouched and the kit's indexes were added", async () => {
    const indexes = await client.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'burr_state' ORDER BY name");
    const names = indexes.rows.map((r) => String(r.name));
    expect(names).toContain('burr_state_created_at_index');
    expect(names).toContain('burr_state_key_index');
    expect(names).toContain('burr_state_partition_created_at_index');
  });
});

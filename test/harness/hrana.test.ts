import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, LibsqlError, type Client } from '@libsql/client/web';
import { startHranaServer, type HranaServer } from './hrana.js';

describe('Hrana-over-HTTP test server (real libSQL file, unmodified @libsql/client/web)', () => {
  let dir: string;
  let server: HranaServer;
  let client: Client;
  let big: Client; // intMode 'bigint' to read 64-bit integers back exactly

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hrana-'));
    server = await startHranaServer({ dbPath: join(dir, 'db.sqlite'), token: 'secret-token' });
    client = createClient({ url: server.url, authToken: server.token });
    big = createClient({ url: server.url, authToken: server.token, intMode: 'bigint' });
    await client.execute('CREATE TABLE kv (id INTEGER PRIMARY KEY, k TEXT UNIQUE NOT NULL, v)');
  });

  afterAll(async () => {
    client?.close();
    big?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('executes with positional and named args', async () => {
    const ins = await client.execute({ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['pos', 'one'] });
    expect(ins.rowsAffected).toBe(1);
    expect(typeof ins.lastInsertRowid).toBe('bigint');
    await client.execute({ sql: 'INSERT INTO kv (k, v) VALUES (:k, $v)', args: { k: 'named', v: 'two' } });
    const rs = await client.execute({ sql: 'SELECT k, v FROM kv WHERE k IN (@a, :b) ORDER BY k', args: { a: 'pos', b: 'named' } });
    expect(rs.columns).toEqual(['k', 'v']);
    expect(rs.columnTypes).toEqual(['TEXT', '']);
    expect(rs.rows.map((r) => [r.k, r.v])).toEqual([['named', 'two'], ['pos', 'one']]);
    expect(rs.rowsAffected).toBe(0);
  });

  it('round-trips integers beyond 2^53 exactly, and keeps floats and blobs', async () => {
    const n = 2n ** 62n + 12345n; // not representable as a double
    await big.execute({ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['big', n] });
    const rs = await big.execute({ sql: 'SELECT v, typeof(v) AS t, ? AS neg, ? AS f, ? AS b FROM kv WHERE k = ?', args: [-(2n ** 63n), 1.5, new Uint8Array([0, 1, 255]), 'big'] });
    const row = rs.rows[0]!;
    expect(row.v).toBe(n);
    expect(row.t).toBe('integer');
    expect(row.neg).toBe(-(2n ** 63n));
    expect(row.f).toBe(1.5);
    expect(new Uint8Array(row.b as ArrayBuffer)).toEqual(new Uint8Array([0, 1, 255]));
    const id = await big.execute({ sql: 'INSERT INTO kv (id, k) VALUES (?, ?)', args: [n, 'bigid'] });
    expect(id.lastInsertRowid).toBe(n);
  });

  it('keeps unicode and special characters intact', async () => {
    const text = 'héllo 🌍 ✓ 中文 — "quotes" \'single\' \\ back\nslash\ttab \u2028 𝔘';
    await client.execute({ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['text', text] });
    const rs = await client.execute({ sql: 'SELECT v FROM kv WHERE k = ?', args: ['text'] });
    expect(rs.rows[0]!.v).toBe(text);
  });

  it("commits batch('write') atomically and rolls back a failing batch entirely", async () => {
    const ok = await client.batch([
      { sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['b1', 1n] },
      { sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['b2', 2n] },
      'SELECT count(*) AS c FROM kv WHERE k LIKE \'b_\'',
    ], 'write');
    expect(ok).toHaveLength(3);
    expect(ok[2]!.rows[0]!.c).toBe(2);

    const err = await client.batch([
      { sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['b3', 3n] },
      { sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['b1', 'dup'] }, // unique violation
    ], 'write').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibsqlError);
    expect((err as LibsqlError).code).toMatch(/^SQLITE_CONSTRAINT/);
    const rs = await client.execute("SELECT k FROM kv WHERE k LIKE 'b_' ORDER BY k");
    expect(rs.rows.map((r) => r.k)).toEqual(['b1', 'b2']); // b3 was rolled back
  });

  it('runs interactive transactions: commit and rollback', async () => {
    const tx = await client.transaction('write');
    await tx.execute({ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['t1', 'x'] });
    const inside = await tx.execute({ sql: 'SELECT count(*) AS c FROM kv WHERE k = ?', args: ['t1'] });
    expect(inside.rows[0]!.c).toBe(1);
    // Another stream must not see the uncommitted row (separate connection per stream).
    const outside = await client.execute({ sql: 'SELECT count(*) AS c FROM kv WHERE k = ?', args: ['t1'] });
    expect(outside.rows[0]!.c).toBe(0);
    await tx.commit();
    expect((await client.execute("SELECT count(*) AS c FROM kv WHERE k = 't1'")).rows[0]!.c).toBe(1);

    const tx2 = await client.transaction('write');
    await tx2.execute({ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['t2', 'y'] });
    await tx2.execute({ sql: 'UPDATE kv SET v = ? WHERE k = ?', args: ['changed', 't1'] });
    await tx2.rollback();
    const rs = await client.execute("SELECT k, v FROM kv WHERE k IN ('t1', 't2')");
    expect(rs.rows.map((r) => [r.k, r.v])).toEqual([['t1', 'x']]);
  });

  it('makes a concurrent write wait for an open write transaction instead of failing with SQLITE_BUSY', async () => {
    const other = createClient({ url: server.url, authToken: server.token });
    const tx = await client.transaction('write');
    await tx.execute({ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['lock', 'held'] });
    let done = false;
    const waiter = other.batch([{ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', args: ['waiter', 'ok'] }], 'write')
      .finally(() => { done = true; });
    await new Promise((r) => setTimeout(r, 200));
    expect(done).toBe(false); // still waiting for the lock, and the event loop is not blocked
    await tx.commit();
    await waiter;
    const rs = await client.execute("SELECT k FROM kv WHERE k IN ('lock', 'waiter') ORDER BY k");
    expect(rs.rows.map((r) => r.k)).toEqual(['lock', 'waiter']);
    other.close();
  });

  it('rejects anonymous ? mixed with named args instead of crashing the native addon', async () => {
    const e = await client.execute({ sql: 'SELECT ?, :a', args: { a: 1 } }).catch((err: unknown) => err);
    expect((e as LibsqlError).code).toBe('ARGS_INVALID');
    const rs = await client.execute({ sql: "SELECT ':x?' AS lit, :a AS a -- ? in a comment", args: { a: 'ok' } });
    expect([rs.rows[0]!.lit, rs.rows[0]!.a]).toEqual([':x?', 'ok']);
  });

  it('surfaces constraint violations as LibsqlError with a SQLITE_CONSTRAINT* code', async () => {
    const e1 = await client.execute({ sql: 'INSERT INTO kv (k) VALUES (?)', args: ['pos'] }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(LibsqlError);
    expect((e1 as LibsqlError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    const e2 = await client.execute({ sql: 'INSERT INTO kv (id, k) VALUES (1, ?)', args: ['other'] }).catch((e: unknown) => e);
    expect((e2 as LibsqlError).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    const e3 = await client.execute('SELECT nope FROM kv').catch((e: unknown) => e);
    expect((e3 as LibsqlError).code).toBe('SQLITE_ERROR');
  });

  it('rejects a wrong or missing token', async () => {
    for (const authToken of ['wrong', undefined]) {
      const bad = createClient({ url: server.url, authToken });
      const e = await bad.execute('SELECT 1').catch((err: unknown) => err);
      bad.close();
      expect(e).toBeInstanceOf(LibsqlError);
      expect((e as LibsqlError).message).toMatch(/401/);
    }
  });

  it('counts exactly one pipeline request per execute and per batch', async () => {
    server.resetCount();
    await client.execute('SELECT 1');
    expect(server.requestCount()).toBe(1);
    await client.batch(['SELECT 1', 'SELECT 2', 'SELECT 1'], 'write');
    expect(server.requestCount()).toBe(2);
    await client.batch(['SELECT 1'], 'read');
    expect(server.requestCount()).toBe(3);
    const tx = await client.transaction('write');
    await tx.execute('SELECT 1');
    await tx.execute('SELECT 2');
    await tx.commit();
    expect(server.requestCount()).toBe(6); // BEGIN+stmt, stmt, COMMIT+close
  });

  it('answers CORS preflight and protocol probes', async () => {
    const pre = await fetch(`${server.url}/v2/pipeline`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-methods')).toBe('GET,POST,OPTIONS');
    expect((await fetch(`${server.url}/v3-protobuf`)).status).toBe(404);
    expect((await fetch(`${server.url}/v2`)).status).toBe(200);
    const res = await fetch(`${server.url}/v2/pipeline`, { method: 'POST', body: '{"requests":[]}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });
});

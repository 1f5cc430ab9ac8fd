// Proves the harness: the unmodified @neondatabase/serverless driver (HTTP and WebSocket) and plain
// pg all talk to the same real PostgreSQL server.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { neon, neonConfig, NeonDbError, Pool as NeonPool } from '@neondatabase/serverless';
import pg from 'pg';
import ws from 'ws';
import {
  configureNeonForHarness, startNeonHttpFront, startNeonWsProxy, startPostgres,
  type NeonHttpFront, type NeonWsProxy, type PostgresServer,
} from './postgres.js';

let server: PostgresServer;
let front: NeonHttpFront;
let proxy: NeonWsProxy;
let restoreNeonConfig: () => void;
let pgPool: pg.Pool;
let neonPool: NeonPool;

beforeAll(async () => {
  const t0 = performance.now();
  server = await startPostgres();
  console.log(`startPostgres took ${Math.round(performance.now() - t0)} ms (port ${server.port})`);
  [front, proxy] = await Promise.all([
    startNeonHttpFront({ connectionString: server.connectionString }),
    startNeonWsProxy(),
  ]);
  restoreNeonConfig = configureNeonForHarness(neonConfig, { http: front, ws: proxy, webSocketConstructor: ws });
  pgPool = new pg.Pool({ connectionString: server.connectionString });
  neonPool = new NeonPool({ connectionString: server.connectionString });
  // Pool.end() resolves once it has *asked* its idle clients to end, not when their connections
  // are closed: a server stopped right after can still reach one with FATAL 57P01, which an
  // idle client reports as the pool's 'error' event (uncaught without a listener).
  pgPool.on('error', () => {});
  neonPool.on('error', () => {});
  await pgPool.query(`CREATE TABLE items (
    id int PRIMARY KEY, name text UNIQUE, state jsonb, at timestamptz)`);
}, 60_000);

afterAll(async () => {
  // Clients first, then the fronts, then the server: a server stopped under open pools would
  // surface as connection errors.
  await Promise.all([pgPool?.end(), neonPool?.end()]);
  restoreNeonConfig?.();
  await Promise.all([front?.close(), proxy?.close()]);
  await server?.stop();
});

describe('neon() over the HTTP front', () => {
  it('runs a parameterised query in exactly one request', async () => {
    const sql = neon(server.connectionString);
    front.resetCount();
    const rows = await sql`SELECT ${1}::int + ${2}::int AS sum, ${'x'}::text AS s, ${null}::text AS n`;
    expect(rows).toEqual([{ sum: 3, s: 'x', n: null }]);
    expect(front.requestCount()).toBe(1);
    await sql.query('SELECT $1::int8 AS big', ['9007199254740993']);
    expect(front.requestCount()).toBe(2);
  });

  it('returns full results with fields, command and rowCount', async () => {
    const sql = neon(server.connectionString, { fullResults: true });
    const result = await sql`INSERT INTO items (id, name) VALUES (100, 'full'), (101, 'full2')`;
    expect(result.command).toBe('INSERT');
    expect(result.rowCount).toBe(2);
    const select = await sql`SELECT id, name FROM items WHERE id >= 100 ORDER BY id`;
    expect(select.fields.map((f) => [f.name, f.dataTypeID])).toEqual([['id', 23], ['name', 25]]);
    expect(select.rows).toEqual([{ id: 100, name: 'full' }, { id: 101, name: 'full2' }]);
  });

  it('sends transaction() as one request and commits it', async () => {
    const sql = neon(server.connectionString);
    front.resetCount();
    const [, , check] = await sql.transaction([
      sql`INSERT INTO items (id, name) VALUES (1, 'a')`,
      sql`INSERT INTO items (id, name) VALUES (2, 'b')`,
      sql`SELECT count(*)::int AS n FROM items WHERE id IN (1, 2)`,
    ]);
    expect(check).toEqual([{ n: 2 }]);
    expect(front.requestCount()).toBe(1);
  });

  it('rolls the whole transaction back when one statement fails', async () => {
    const sql = neon(server.connectionString);
    front.resetCount();
    const failing = sql.transaction([
      sql`INSERT INTO items (id, name) VALUES (3, 'c')`,
      sql`INSERT INTO items (id, name) VALUES (4, 'a')`, // 'a' is taken → 23505
    ]);
    await expect(failing).rejects.toMatchObject({ code: '23505' });
    expect(front.requestCount()).toBe(1);
    expect(await sql`SELECT id FROM items WHERE id IN (3, 4)`).toEqual([]);
  });

  it('passes the transaction options to BEGIN', async () => {
    const sql = neon(server.connectionString);
    const [rows] = await sql.transaction(
      [sql`SELECT current_setting('transaction_isolation') AS iso, current_setting('transaction_read_only') AS ro`],
      { isolationLevel: 'Serializable', readOnly: true },
    );
    expect(rows).toEqual([{ iso: 'serializable', ro: 'on' }]);
  });

  it('raises a NeonDbError with the SQLSTATE for a unique violation', async () => {
    const sql = neon(server.connectionString);
    front.resetCount();
    const error = await sql`INSERT INTO items (id, name) VALUES (5, 'a')`.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code: '23505', constraint: 'items_name_key', severity: 'ERROR' });
    expect(front.requestCount()).toBe(1);
  });

  it('keeps a big integer inside JSONB exact when read as text', async () => {
    const sql = neon(server.connectionString);
    await sql`INSERT INTO items (id, state) VALUES (6, ${'{"n": 9007199254740993}'}::jsonb)`;
    const [row] = await sql`SELECT state::text AS state FROM items WHERE id = 6`;
    expect(row?.state).toBe('{"n": 9007199254740993}');
  });

  it('round-trips a timestamptz', async () => {
    const sql = neon(server.connectionString);
    const at = new Date('2024-02-29T23:59:58.123Z');
    await sql`INSERT INTO items (id, at) VALUES (7, ${at})`;
    const [row] = await sql`SELECT at FROM items WHERE id = 7`;
    expect(row?.at).toBeInstanceOf(Date);
    expect((row?.at as Date).toISOString()).toBe(at.toISOString());
  });

  it('answers a CORS preflight', async () => {
    const res = await fetch(front.sqlEndpoint, {
      method: 'OPTIONS',
      headers: { origin: 'http://example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,neon-connection-string' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization,neon-connection-string');
  });
});

describe('Neon Pool over the WebSocket proxy', () => {
  it('runs a query', async () => {
    const { rows } = await neonPool.query('SELECT $1::text AS greeting', ['hello']);
    expect(rows).toEqual([{ greeting: 'hello' }]);
    expect(proxy.connectionCount()).toBeGreaterThan(0);
  });

  it('commits a BEGIN/COMMIT transaction and rolls back a ROLLBACK one', async () => {
    const client = await neonPool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO items (id, name) VALUES (10, 'ws')`);
      await client.query('COMMIT');
      await client.query('BEGIN');
      await client.query(`INSERT INTO items (id, name) VALUES (11, 'ws-rolled-back')`);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const { rows } = await pgPool.query('SELECT id FROM items WHERE id IN (10, 11)');
    expect(rows).toEqual([{ id: 10 }]);
  });

  it('reports a unique violation with code 23505', async () => {
    await expect(neonPool.query(`INSERT INTO items (id, name) VALUES (12, 'a')`)).rejects.toMatchObject({ code: '23505' });
  });
});

describe('pg directly', () => {
  it('sees what the Neon fronts wrote', async () => {
    const { rows } = await pgPool.query('SELECT id FROM items WHERE id IN (1, 2, 6, 7, 10) ORDER BY id');
    expect(rows.map((r: { id: number }) => r.id)).toEqual([1, 2, 6, 7, 10]);
  });
});

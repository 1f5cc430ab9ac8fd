/**
 * PostgreSQL conformance targets that need nothing but `fetch` (Neon's SQL-over-HTTP) or an
 * injected in-process database (PGlite), so every runtime project (node, edge, workerd, browser,
 * Deno) builds them the same way. No `node:` imports and no `pg` here.
 *
 * Two suite cases cannot pass on PostgreSQL by construction (JSONB has no negative zero and no
 * lone surrogates, as for Burr's Python persister); they are excluded and replaced by
 * {@link postgresCases}, which check the same things with PostgreSQL's rules.
 */
import { Pool as NeonPool, neon, neonConfig, type NeonConfig } from '@neondatabase/serverless';
import { PostgreSQLPersister, type PgQueryable } from '../../src/persisters/postgres.js';
import { State } from '../../src/core/state.js';
import { countCalls, equal, instrumentFetch, jsonEquals, ok, rejectsWith, type ConformanceCase, type ConformanceSubject, type ConformanceTarget } from '../../src/testing/index.js';

export interface NeonHttpAddresses {
  /** Any valid connection string: the harness's front ignores it, Neon routes by it. */
  postgresUrl: string;
  /** The harness's SQL-over-HTTP endpoint (`…/sql`). */
  neonSqlEndpoint: string;
}

/** Cases of the shared suite PostgreSQL cannot pass as written, with the reason. */
export const POSTGRES_EXCLUDES: Record<string, string> = {
  'unicode, quotes and control characters survive':
    'JSONB cannot hold a lone UTF-16 surrogate; postgresCases checks the rest and that it is refused before sending',
  'integers beyond 2^53 and special floats are exact':
    'JSONB numbers are numeric, which has no -0 (stored as 0, as Burr Python gets it); postgresCases checks the rest',
};

// The per-instance fetch rides in neon()'s `fetchOptions` (merged into fetch's init) under this
// key, and one global `fetchFunction` hands the request to it: in @neondatabase/serverless 1.x,
// `fetchFunction` and `fetchEndpoint` exist only on the global neonConfig.
const TAP = 'burrEdgeFetch';
type Fetch = typeof fetch;

function route(input: RequestInfo | URL, init?: RequestInit & { [TAP]?: Fetch }): Promise<Response> {
  const tap = init?.[TAP];
  if (typeof tap !== 'function') return fetch(input, init);
  const { [TAP]: _tap, ...rest } = init!;
  return tap(input, rest);
}

let users = 0;
let restore: (() => void) | undefined;

/** Points the global neonConfig at the harness while at least one subject uses it; restores it after. */
function useHarnessEndpoint(endpoint: string): () => void {
  if (users++ === 0) {
    const saved = { ...neonConfig.opts };
    neonConfig.fetchEndpoint = endpoint;
    neonConfig.fetchFunction = route;
    restore = () => {
      for (const key of Object.keys(neonConfig.opts)) delete (neonConfig.opts as Record<string, unknown>)[key];
      Object.assign(neonConfig.opts, saved);
    };
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users === 0) restore?.();
  };
}

/** Reads the stored rows of one app around the persister. */
function inspector(db: PgQueryable, table: string): NonNullable<ConformanceSubject['inspect']> {
  return async (partitionKey, appId) => {
    const result = await db.query(`SELECT sequence_id, state::text AS state FROM "${table}" WHERE partition_key = $1 AND app_id = $2 ORDER BY sequence_id`, [partitionKey, appId]);
    return Array.from(result.rows as ArrayLike<{ sequence_id: number; state: string }>, (row) => ({ sequenceId: Number(row.sequence_id), stateJson: row.state }));
  };
}

/**
 * Neon's `neon()` over HTTP through the harness's SQL-over-HTTP front, the driver unmodified:
 * HTTP requests counted, faults injected, rows inspected through a second, uninstrumented `neon()`.
 */
export function neonHttpTarget(addresses: NeonHttpAddresses): ConformanceTarget {
  return {
    name: 'postgres (Neon HTTP, neon())',
    tableNames: true,
    exclude: POSTGRES_EXCLUDES,
    async create({ id, tableName }) {
      const release = useHarnessEndpoint(addresses.neonSqlEndpoint);
      const instrumented = instrumentFetch();
      const sql = neon(addresses.postgresUrl, { fetchOptions: { [TAP]: instrumented.fetch }, disableWarningInBrowsers: true });
      const raw = neon(addresses.postgresUrl, { fullResults: true, disableWarningInBrowsers: true });
      const table = tableName ?? `t_${id}`;
      try {
        return {
          persister: new PostgreSQLPersister({ client: sql, tableName: table }),
          roundTrips: instrumented.requests,
          failNext: instrumented.failNext,
          inspect: inspector({ query: (text, params) => raw.query(text, params) }, table),
          async dispose() {
            release();
          },
        };
      } catch (error) {
        release(); // a refused table name: nothing to dispose later
        throw error;
      }
    },
  };
}

export interface NeonWebSocketAddresses {
  /** The harness server's own connection string: the proxy dials the host and port in it. */
  postgresUrl: string;
  neonSqlEndpoint: string;
  /** The harness's ws→TCP proxy. */
  neonWsProxyPort: number;
}

let wsUsers = 0;
let wsRestore: (() => void) | undefined;

/** Points the global neonConfig at the harness's WebSocket proxy while a subject uses it (a Pool's sockets read the global config). */
function useHarnessProxy(port: number, webSocketConstructor: NeonConfig['webSocketConstructor'] | undefined): () => void {
  if (wsUsers++ === 0) {
    const saved = { ...neonConfig.opts };
    neonConfig.wsProxy = (host, targetPort) => `127.0.0.1:${port}/v1?address=${host}:${targetPort}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.forceDisablePgSSL = true;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
    if (webSocketConstructor) neonConfig.webSocketConstructor = webSocketConstructor;
    wsRestore = () => {
      for (const key of Object.keys(neonConfig.opts)) delete (neonConfig.opts as Record<string, unknown>)[key];
      Object.assign(neonConfig.opts, saved);
    };
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--wsUsers === 0) wsRestore?.();
  };
}

/**
 * Neon's WebSocket `Pool` through the harness's ws→TCP proxy, the driver unmodified: round trips
 * are the pool's `query` calls; rows are inspected over Neon HTTP. Runtimes with a global
 * `WebSocket` (workerd, Deno, browsers, Node 22+) need no `webSocketConstructor`; Node 20 passes `ws`.
 */
export function neonWebSocketTarget(addresses: NeonWebSocketAddresses, webSocketConstructor?: NeonConfig['webSocketConstructor']): ConformanceTarget {
  return {
    name: 'postgres (Neon WebSocket Pool)',
    tableNames: true,
    exclude: POSTGRES_EXCLUDES,
    async create({ id, tableName }) {
      const releaseProxy = useHarnessProxy(addresses.neonWsProxyPort, webSocketConstructor);
      const releaseEndpoint = useHarnessEndpoint(addresses.neonSqlEndpoint);
      const pool = new NeonPool({ connectionString: addresses.postgresUrl });
      const release = async () => {
        await pool.end();
        releaseProxy();
        releaseEndpoint();
      };
      const raw = neon(addresses.postgresUrl, { fullResults: true, disableWarningInBrowsers: true });
      const counted = countCalls(pool, ['query', 'connect']);
      const table = tableName ?? `t_${id}`;
      try {
        return {
          persister: new PostgreSQLPersister({ client: counted.client, tableName: table }),
          roundTrips: counted.calls,
          inspect: inspector({ query: (text, params) => raw.query(text, params) }, table),
          dispose: release,
        };
      } catch (error) {
        await release();
        throw error;
      }
    },
  };
}

/** The slice of PGlite the PGlite target uses (a type only: the runtime's test imports PGlite). */
export interface PGliteLike extends PgQueryable {
  close(): Promise<void>;
}

/**
 * PGlite in process. One database for every case (a cold start is ~3 s), a table per case;
 * round trips are `query` calls; rows are inspected with raw queries on the same database.
 * `open` makes the database once (e.g. `async () => new (await import('@electric-sql/pglite')).PGlite()`).
 */
export function pgliteTarget(open: () => Promise<PGliteLike>, name = 'postgres (PGlite)'): ConformanceTarget & { closeDatabase(): Promise<void> } {
  let db: Promise<PGliteLike> | undefined;
  return {
    name,
    tableNames: true,
    exclude: POSTGRES_EXCLUDES,
    async create({ id, tableName }) {
      const database = await (db ??= open());
      const counted = countCalls(database, ['query']);
      const table = tableName ?? `t_${id}`;
      return {
        persister: new PostgreSQLPersister({ client: counted.client, tableName: table }),
        roundTrips: counted.calls,
        inspect: inspector(database, table),
      };
    },
    async closeDatabase() {
      if (db) await (await db).close();
      db = undefined;
    },
  };
}

type SubjectRun = (subject: ConformanceSubject) => Promise<void>;

function withSubject(run: SubjectRun): ConformanceCase['run'] {
  return async (target) => {
    const subject = await target.create({ id: `pg${Date.now().toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}` });
    try {
      await subject.persister.initialize();
      await run(subject);
    } finally {
      await subject.persister.close().catch(() => undefined);
      await subject.dispose?.();
    }
  };
}

const BIG = 9007199254740993n;

/**
 * The excluded suite cases, with PostgreSQL's rules: everything else survives exactly, `-0` comes
 * back as `0`, and a lone surrogate or NUL is refused with SERIALIZATION before anything is sent.
 */
export const postgresCases: ConformanceCase[] = [
  {
    name: 'postgres: unicode, quotes and control characters survive; a lone surrogate or NUL is refused before sending',
    run: withSubject(async (subject) => {
      const { persister } = subject;
      const state = {
        text: 'naïve café — 日本語 — 🚀',
        quotes: `it's "quoted" \\ backslash\nnewline\ttab`,
        escapes: '\u0001\u001f\u2028\u2029',
        notEscapes: '\\u0000 and \\ud800 are only text here',
        'key with spaces and 🔑': true,
      };
      await persister.save({ partitionKey: 'πartition', appId: 'äpp/1:2%3', sequenceId: 0, position: 'schritt-ü', state, status: 'completed' });
      const loaded = await persister.load('πartition', 'äpp/1:2%3');
      ok(loaded, 'loaded');
      equal(loaded.position, 'schritt-ü', 'position');
      jsonEquals(loaded.state, state, 'unicode state');
      jsonEquals(await persister.listAppIds('πartition'), ['äpp/1:2%3'], 'unicode app id listed');
      const before = subject.roundTrips?.();
      for (const [label, bad] of [
        ['a lone high surrogate', { lone: '\ud800 half a pair' }],
        ['a lone low surrogate', { lone: 'x\udc00' }],
        ['a lone surrogate in a key', { ['k\ud800']: 1 }],
        ['NUL', { nul: 'a\u0000b' }],
        ['NUL in a nested key', { deep: [{ ['\u0000']: 1 }] }],
      ] as const) {
        await rejectsWith(() => persister.save({ partitionKey: 'p', appId: 'refused', sequenceId: 0, position: 'x', state: bad, status: 'completed' }), 'SERIALIZATION', label);
      }
      await rejectsWith(() => persister.save({ partitionKey: 'p\u0000', appId: 'refused', sequenceId: 0, position: 'x', state: {}, status: 'completed' }), 'INVALID_ARGUMENT', 'NUL in a partition key');
      if (before !== undefined) equal(subject.roundTrips!() - before, 0, 'round trips made by refused saves');
      equal(await persister.load('p', 'refused'), null, 'nothing was written');
    }),
  },
  {
    name: 'postgres: integers beyond 2^53 and floats are exact; -0 comes back as 0 (JSONB numeric)',
    run: withSubject(async (subject) => {
      const { persister } = subject;
      const state = { big: BIG, max64: 9223372036854775807n, negative: -BIG, nested: [{ id: 123456789012345678901234567890n }], floats: [1.5, -0, 1e-300, 3.141592653589793, 2.5e-7], small: 42 };
      await persister.save({ partitionKey: 'p', appId: 'numbers', sequenceId: 0, position: 'n', state, status: 'completed' });
      const loaded = await persister.load('p', 'numbers');
      ok(loaded, 'loaded');
      jsonEquals(loaded.state, { ...state, floats: [1.5, 0, 1e-300, 3.141592653589793, 2.5e-7] }, 'numbers');
      equal(loaded.state.big, BIG, 'bigint comes back as bigint');
      equal(typeof loaded.state.small, 'number', 'a small integer stays a number');
      if (subject.inspect) {
        const [stored] = await subject.inspect('p', 'numbers');
        ok(stored && stored.stateJson.includes('9007199254740993') && stored.stateJson.includes('9223372036854775807'), 'stored as plain JSON integers (side channel)');
      }
      // Saving the same state again is a retry, although JSONB stored -0 as 0.
      await persister.save({ partitionKey: 'p', appId: 'numbers', sequenceId: 0, position: 'n', state, status: 'completed' });
      // And a State with a BigInt field round-trips through serde.
      await persister.save({ partitionKey: 'p', appId: 'numbers', sequenceId: 1, position: 'n', state: new State({ tokens: BIG }), status: 'completed' });
      equal(State.deserialize((await persister.load('p', 'numbers'))!.state).get('tokens'), BIG, 'State bigint');
    }),
  },
];

/**
 * PostgreSQL conformance targets that need nothing but `fetch` (Neon's SQL-over-HTTP) or an
 * injected in-process database (PGlite), so every runtime project (node, edge, workerd, browser,
 * Deno) builds them the same way. No `node:` imports and no `pg` here.
 *
 * JSONB has no negative zero and cannot hold NUL or lone surrogates (as for Burr's Python
 * persister): the targets declare that, and the shared suite checks PostgreSQL's rules.
 */
import { Pool as NeonPool, neon, neonConfig, type NeonConfig } from '@neondatabase/serverless';
import { PostgreSQLPersister, type PgQueryable } from '../../src/persisters/postgres.js';
import { countCalls, instrumentFetch, type ConformanceSubject, type ConformanceTarget } from '../../src/testing/index.js';

export interface NeonHttpAddresses {
  /** Any valid connection string: the harness's front ignores it, Neon routes by it. */
  postgresUrl: string;
  /** The harness's SQL-over-HTTP endpoint (`…/sql`). */
  neonSqlEndpoint: string;
}

/** What JSONB cannot hold, as for Burr's Python persister: the suite checks these are refused or normalised. */
export const POSTGRES_CAPABILITIES = { negativeZero: false, nulAndLoneSurrogates: false, keyOrder: false } as const;

/** What every PostgreSQL target offers the suite, whatever the driver. */
export const POSTGRES_TRAITS = {
  tableNames: true,
  countsRoundTrips: true,
  initializeRoundTrips: 1, // one DO block
  capabilities: POSTGRES_CAPABILITIES,
} satisfies Partial<ConformanceTarget>;

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

const patches = new Map<string, { users: number; restore(): void }>();

/**
 * Sets global `neonConfig` options (the driver reads some only from there) while at least one
 * subject uses them, then puts back exactly those options, so two patches released in any order
 * never undo each other.
 */
function useNeonConfig(name: string, settings: Partial<NeonConfig>): () => void {
  let patch = patches.get(name);
  if (!patch) {
    const opts = neonConfig.opts as Record<string, unknown>;
    const saved = Object.keys(settings).map((key) => [key, key in opts, opts[key]] as const);
    Object.assign(neonConfig, settings);
    patch = {
      users: 0,
      restore() {
        for (const [key, present, value] of saved) {
          if (present) opts[key] = value;
          else delete opts[key];
        }
      },
    };
    patches.set(name, patch);
  }
  const active = patch;
  active.users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--active.users === 0) {
      active.restore();
      patches.delete(name);
    }
  };
}

/** Points Neon's HTTP driver at the harness's SQL-over-HTTP front. */
function useHarnessEndpoint(endpoint: string): () => void {
  return useNeonConfig('http', { fetchEndpoint: endpoint, fetchFunction: route });
}

/** A conditional save on a socket pool: `BEGIN; lock`, the insert, `COMMIT` on one checked-out connection. */
export const POOL_SESSION_ROUND_TRIPS = { conditionalSave: 3 } as const;

/**
 * Counts a pool's round trips: its `query` calls and those of the connections checked out of it
 * with `connect()` (checking out an idle connection is not a round trip).
 */
export function countPoolCalls<T extends PgQueryable & { connect(): Promise<PgQueryable> }>(pool: T): { client: T; calls(): number } {
  let count = 0;
  const counted = countCalls(pool, ['query']);
  const client = new Proxy(counted.client, {
    get(object, property, receiver) {
      if (property !== 'connect') return Reflect.get(object, property, receiver) as unknown;
      return async () => {
        const connection = await pool.connect();
        return new Proxy(connection, {
          get(target, name, inner) {
            const value = Reflect.get(target, name, inner) as unknown;
            if (name === 'query' && typeof value === 'function') return (...args: unknown[]) => (count++, (value as (...a: unknown[]) => unknown).apply(target, args));
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
      };
    },
  });
  return { client, calls: () => counted.calls() + count };
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
    ...POSTGRES_TRAITS,
    injectsFaults: true,
    reopens: true,
    async create({ id, tableName, storage }) {
      const release = useHarnessEndpoint(addresses.neonSqlEndpoint);
      const instrumented = instrumentFetch();
      const sql = neon(addresses.postgresUrl, { fetchOptions: { [TAP]: instrumented.fetch }, disableWarningInBrowsers: true });
      const raw = neon(addresses.postgresUrl, { fullResults: true, disableWarningInBrowsers: true });
      const table = tableName ?? `t_${id}`;
      try {
        return {
          persister: new PostgreSQLPersister({ ...storage, client: sql, tableName: table }),
          reopen: () => new PostgreSQLPersister({ ...storage, client: neon(addresses.postgresUrl, { disableWarningInBrowsers: true }), tableName: table }),
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

/** Points Neon's WebSocket driver at the harness's proxy (a Pool's sockets read the global config). */
function useHarnessProxy(port: number, webSocketConstructor: NeonConfig['webSocketConstructor'] | undefined): () => void {
  return useNeonConfig('websocket', {
    wsProxy: (host, targetPort) => `127.0.0.1:${port}/v1?address=${host}:${targetPort}`,
    useSecureWebSocket: false,
    forceDisablePgSSL: true,
    pipelineTLS: false,
    pipelineConnect: false,
    ...(webSocketConstructor ? { webSocketConstructor } : {}),
  });
}

/**
 * Neon's WebSocket `Pool` through the harness's ws→TCP proxy, the driver unmodified: round trips
 * are the pool's `query` calls; rows are inspected over Neon HTTP. Runtimes with a global
 * `WebSocket` (workerd, Deno, browsers, Node 22+) need no `webSocketConstructor`; Node 20 passes `ws`.
 */
export function neonWebSocketTarget(addresses: NeonWebSocketAddresses, webSocketConstructor?: NeonConfig['webSocketConstructor']): ConformanceTarget {
  return {
    name: 'postgres (Neon WebSocket Pool)',
    ...POSTGRES_TRAITS,
    sessionRoundTrips: POOL_SESSION_ROUND_TRIPS,
    async create({ id, tableName, storage }) {
      const releaseProxy = useHarnessProxy(addresses.neonWsProxyPort, webSocketConstructor);
      const releaseEndpoint = useHarnessEndpoint(addresses.neonSqlEndpoint);
      const pool = new NeonPool({ connectionString: addresses.postgresUrl });
      const release = async () => {
        await pool.end();
        releaseProxy();
        releaseEndpoint();
      };
      const raw = neon(addresses.postgresUrl, { fullResults: true, disableWarningInBrowsers: true });
      const counted = countPoolCalls(pool);
      const table = tableName ?? `t_${id}`;
      try {
        return {
          persister: new PostgreSQLPersister({ ...storage, client: counted.client, tableName: table }),
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
    ...POSTGRES_TRAITS,
    async create({ id, tableName, storage }) {
      const database = await (db ??= open());
      const counted = countCalls(database, ['query']);
      const table = tableName ?? `t_${id}`;
      return {
        persister: new PostgreSQLPersister({ ...storage, client: counted.client, tableName: table }),
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

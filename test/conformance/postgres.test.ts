/**
 * The conformance suite on all four PostgreSQL transports, against the harness's real server:
 * Neon HTTP (`neon()`, HTTP requests counted, faults injected), Neon WebSocket `Pool` (through the
 * harness's ws→TCP proxy), `pg` `Pool`, and PGlite in process (driver `query` calls counted).
 * Rows are inspected through a raw `pg` client (PGlite: raw queries on the same database).
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import ws from 'ws';
import { afterAll, describe, inject, it } from 'vitest';
import { PostgreSQLPersister, type PgQueryable } from '../../src/persisters/postgres.js';
import { countCalls, inDeltaMode, runConformanceSuite, type ConformanceCase, type ConformanceTarget } from '../../src/testing/index.js';
import { POOL_SESSION_ROUND_TRIPS, POSTGRES_TRAITS, countPoolCalls, neonHttpTarget, neonWebSocketTarget, pgliteTarget } from './postgres-targets.js';

const harness = inject('harness');
const raw = new pg.Pool({ connectionString: harness.postgresUrl, max: 2 });
const pglite = pgliteTarget(async () => new PGlite());

afterAll(async () => {
  await Promise.all([raw.end(), pglite.closeDatabase()]);
});

function inspect(table: string) {
  return async (partitionKey: string, appId: string) => {
    const { rows } = await raw.query<{ sequence_id: number; state: string }>(
      `SELECT sequence_id, state::text AS state FROM "${table}" WHERE partition_key = $1 AND app_id = $2 ORDER BY sequence_id`,
      [partitionKey, appId],
    );
    return rows.map((row) => ({ sequenceId: row.sequence_id, stateJson: row.state }));
  };
}

/** A server transport with a pool: round trips are the `query` calls of the pool and of the connections checked out of it. */
function poolTarget(name: string, makePool: () => PgQueryable & { end(): Promise<void>; connect(): Promise<PgQueryable> }): ConformanceTarget {
  return {
    name,
    ...POSTGRES_TRAITS,
    sessionRoundTrips: POOL_SESSION_ROUND_TRIPS,
    reopens: true,
    async create({ id, tableName, storage }) {
      const pool = makePool();
      const counted = countPoolCalls(pool);
      const table = tableName ?? `t_${id}`;
      let persister: PostgreSQLPersister;
      try {
        persister = new PostgreSQLPersister({ ...storage, client: counted.client, tableName: table });
      } catch (error) {
        await pool.end();
        throw error;
      }
      // A second instance on the same pool, as another process would build it.
      const reopen = () => new PostgreSQLPersister({ ...storage, client: pool, tableName: table });
      return { persister, reopen, roundTrips: counted.calls, inspect: inspect(table), dispose: () => pool.end() };
    },
  };
}

/** The runtime-neutral targets inspect over Neon HTTP; here the side channel is a raw `pg` client instead. */
function inspectedByPg(target: ConformanceTarget): ConformanceTarget {
  return {
    ...target,
    async create(options) {
      const subject = await target.create(options);
      return { ...subject, inspect: inspect((subject.persister as PostgreSQLPersister).tableName) };
    },
  };
}

const targets: ConformanceTarget[] = [
  inspectedByPg(neonHttpTarget(harness)),
  // Node 20 has no global WebSocket: hand Neon the `ws` package.
  inspectedByPg(neonWebSocketTarget(harness, ws)),
  poolTarget('postgres (pg Pool)', () => new pg.Pool({ connectionString: harness.postgresUrl })),
  pglite,
];

for (const target of targets) {
  runConformanceSuite(target, { describe, it });
  runConformanceSuite(inDeltaMode(target), { describe, it });
}

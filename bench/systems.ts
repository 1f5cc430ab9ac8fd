/**
 * Every system the bench measures in this (Node 20) process: burr-edge on each backend and
 * transport, and the LangGraph.js checkpointers, against the harness's servers (which run in
 * another process, so this process's CPU is the client's). Mastra (Node 22) and IndexedDB
 * (Chromium) have modules of their own.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { MemorySaver } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { MongoDBSaver } from '@langchain/langgraph-checkpoint-mongodb';
import { createClient } from '@libsql/client';
import { Redis as IORedis } from 'ioredis';
import { BSON, MongoClient, type CommandStartedEvent } from 'mongodb';
import type { SessionPersister } from '../src/core/types.js';
import pg from 'pg';
import ws from 'ws';
import { InMemoryPersister } from '../src/index.js';
import { SQLitePersister } from '../src/persisters/libsql.js';
import { PostgreSQLPersister } from '../src/persisters/postgres.js';
import { countCalls, type ConformanceSubject, type ConformanceTarget, type StorageMode } from '../src/testing/index.js';
import { libsqlRemoteTarget } from '../test/conformance/libsql-targets.js';
import { mongoDriverTarget } from '../test/conformance/mongodb-driver-targets.js';
import { mongoHttpTarget } from '../test/conformance/mongodb-targets.js';
import { neonHttpTarget, neonWebSocketTarget, pgliteTarget } from '../test/conformance/postgres-targets.js';
import { upstashTarget } from '../test/conformance/redis-targets.js';
import type { HarnessAddresses } from '../test/harness/addresses.js';
import { bytesSentTo, countedPool, portOf, processCpuMs } from './counters.js';
import { burrSession } from './burr-session.js';
import { langGraphSession, type SaverLike } from './langgraph.js';
import type { System } from './runner.js';
import { loadSqlitePeer } from './sqlite-peer.js';

/** A burr-edge System built from a conformance target (the same wiring the tests use). */
function fromTarget(
  info: Omit<System, 'open' | 'cpu'>,
  target: ConformanceTarget,
  options: { port?: number; stored?: (subject: ConformanceSubject, label: string) => Promise<number | undefined>; tableName?: boolean; storage?: StorageMode } = {},
): System {
  const sent = options.port === undefined ? undefined : bytesSentTo(options.port);
  return {
    ...info,
    cpu: processCpuMs,
    async open(label) {
      const id = `${label}_${Date.now().toString(36)}`;
      const subject = await target.create({ id, ...(options.tableName === false ? {} : { tableName: `burr_${id}` }), ...(options.storage ? { storage: options.storage } : {}) });
      await subject.persister.initialize();
      // Every burr-edge backend is a SessionPersister; the conformance subject's type only promises Burr's methods.
      return burrSession(subject.persister as typeof subject.persister & SessionPersister, {
        requests: subject.roundTrips,
        bytesSent: sent,
        storedBytes: options.stored ? () => options.stored!(subject, id) : undefined,
        dispose: subject.dispose ? async () => subject.dispose!() : undefined,
      });
    },
  };
}

/** `PRAGMA page_count × page_size`: SQLite's own size of a database file. */
async function sqliteFileBytes(execute: (sql: string) => Promise<Record<string, unknown>>): Promise<number> {
  const count = Number((await execute('PRAGMA page_count')).page_count);
  const size = Number((await execute('PRAGMA page_size')).page_size);
  return count * size;
}

export interface NodeSystemsContext {
  harness: HarnessAddresses;
  /** A scratch directory for database files. */
  dir: string;
  /** Shut-down work for the end of the bench. */
  cleanup: (() => Promise<void>)[];
}

/** Each SQLite file row's journal and sync settings, read back from the database after setup. */
async function sqliteSettings(execute: (sql: string) => Promise<Record<string, unknown>>): Promise<string> {
  const journal = String((await execute('PRAGMA journal_mode')).journal_mode);
  const sync = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][Number((await execute('PRAGMA synchronous')).synchronous)] ?? '?';
  return `journal_mode=${journal}, synchronous=${sync}`;
}

/** The name of a burr-edge row's delta-mode twin. */
export const deltaRowName = (name: string): string => `${name} · delta`;

/** The delta rows' settings: the defaults (a snapshot every 50 steps, deflate from 4 KB). */
export const DELTA_STORAGE: StorageMode = { storage: 'delta' };

/**
 * burr-edge on every backend and transport; with `storage`, the same rows writing delta rows
 * (named by {@link deltaRowName}, each pointing at its full-row twin).
 */
export function burrEdgeSystems(ctx: NodeSystemsContext, storage?: StorageMode, suffix = ''): System[] {
  const systems = burrEdgeRows(ctx, storage);
  if (!storage) return systems;
  return systems.map((system) => ({
    ...system,
    name: deltaRowName(system.name) + suffix,
    tags: [...system.tags, 'delta'],
    fullRow: system.name,
    notes: [`storage: 'delta' (docs/delta.md): a snapshot every 50 steps, deltas between`, ...system.notes],
  }));
}

function burrEdgeRows(ctx: NodeSystemsContext, storage: StorageMode | undefined): System[] {
  const { harness, dir } = ctx;
  const admin = new pg.Pool({ connectionString: harness.postgresUrl, max: 2 });
  admin.on('error', () => {});
  ctx.cleanup.push(() => admin.end());
  const pgTableBytes = async (subject: ConformanceSubject) => {
    const table = (subject.persister as PostgreSQLPersister).tableName;
    return Number((await admin.query('SELECT pg_total_relation_size(to_regclass($1)) AS v', [`"${table}"`])).rows[0]?.v);
  };
  const pgMeasure = 'pg_total_relation_size (table + indexes + TOAST)';
  const pgDurability = 'PostgreSQL 18, fsync=off, synchronous_commit=off, full_page_writes=off (the harness server, shared with LangGraph)';

  /** `wal`: the journal and sync mode both SQLite peers run with (they set WAL; NORMAL is better-sqlite3's and Mastra's); otherwise libsql's defaults. */
  const libsqlFile = (wal: boolean): System => ({
    name: wal ? 'burr-edge · libSQL file: (WAL, synchronous=NORMAL)' : 'burr-edge · libSQL file: (libsql defaults: journal_mode=delete, synchronous=FULL)',
    library: 'burr-edge',
    tags: ['libsql', 'sqlite', 'embedded', 'burr-edge'],
    durability: wal
      ? 'SQLite file on ext4, journal_mode=WAL, synchronous=NORMAL: what SqliteSaver (WAL; better-sqlite3 builds NORMAL as the WAL default) and LibSQLStore (sets both) run with'
      : 'SQLite file on ext4, @libsql/client defaults: journal_mode=delete, synchronous=FULL (an fsync per commit; stricter than either peer)',
    peers: wal ? ['LangGraph · SqliteSaver (better-sqlite3)', 'Mastra · LibSQLStore workflow snapshots'] : [],
    notes: wal ? [] : ['no peer runs with these settings: what burr-edge gives with no PRAGMA set'],
    storedMeasure: 'PRAGMA page_count × page_size (fresh file per run)',
    cpu: processCpuMs,
    async open(label) {
      const driver = createClient({ url: `file:${join(dir, `libsql-${wal ? 'wal' : 'default'}-${label}-${Date.now()}.db`)}` });
      if (wal) {
        await driver.execute('PRAGMA journal_mode=WAL');
        await driver.execute('PRAGMA synchronous=NORMAL');
      }
      const counted = countCalls(driver, ['execute', 'batch']);
      const persister = new SQLitePersister({ client: counted.client, ...storage });
      await persister.initialize();
      const one = async (sql: string) => (await driver.execute(sql)).rows[0] as unknown as Record<string, unknown>;
      return burrSession(persister, {
        requests: counted.calls,
        async storedBytes() {
          const settings = await sqliteSettings(one);
          const expected = wal ? 'journal_mode=wal, synchronous=NORMAL' : 'journal_mode=delete, synchronous=FULL';
          if (settings !== expected) throw new Error(`libSQL file row ended with ${settings}, not ${expected}`);
          return sqliteFileBytes(one);
        },
        dispose: async () => driver.close(),
      });
    },
  });

  const redisPort = portOf(harness.redisUrl);
  const redis = new IORedis(redisPort, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
  ctx.cleanup.push(async () => void redis.disconnect());
  const redisBytes = async (namespace: string) => {
    let cursor = '0';
    let total = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) total += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    } while (cursor !== '0');
    return total;
  };

  const mongo = harness.mongodb[0]!;
  const driverTarget = mongoDriverTarget(mongo.url, mongo.server, mongo.database);
  ctx.cleanup.push(() => driverTarget.close());
  const inspector = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 5000 });
  ctx.cleanup.push(() => inspector.close());
  const bsonBytes = async (db: string, collections: string[]) => {
    let total = 0;
    for (const c of collections) for await (const doc of inspector.db(db).collection(c).find()) total += BSON.calculateObjectSize(doc);
    return total;
  };
  const bsonMeasure = 'BSON size of the stored documents (the test server has no storage engine to ask)';
  const mongoDurability = 'MongoDB wire-protocol test server (in memory, no journal); default write concern';

  let pgliteDb: PGlite | undefined;
  const pgliteForBytes = pgliteTarget(async () => (pgliteDb = new PGlite()));
  ctx.cleanup.push(() => pgliteForBytes.closeDatabase());

  return [
    {
      name: 'burr-edge · in-memory',
      library: 'burr-edge',
      tags: ['memory', 'in-memory', 'burr-edge'],
      durability: 'none (process memory)',
      peers: ['LangGraph · MemorySaver'],
      notes: [],
      cpu: processCpuMs,
      async open() {
        const persister = new InMemoryPersister({ ...storage });
        await persister.initialize();
        return burrSession(persister, {});
      },
    },
    libsqlFile(true),
    libsqlFile(false),
    fromTarget(
      {
        name: 'burr-edge · libSQL over HTTP (@libsql/client/web → Hrana front)',
        library: 'burr-edge',
        tags: ['libsql', 'sqlite', 'http', 'hrana', 'burr-edge'],
        durability: "SQLite file behind the harness's Hrana front: journal_mode=delete, synchronous=FULL (libsql defaults)",
        peers: ['LangGraph · SqliteSaver (better-sqlite3)'],
        notes: ['peer is embedded (no network): the ratio compares an HTTP client with an in-process one'],
        storedMeasure: 'dbstat: pages of the table and its indexes',
      },
      libsqlRemoteTarget(harness),
      {
        storage,
        port: portOf(harness.hranaUrl),
        async stored(subject) {
          const table = (subject.persister as SQLitePersister).tableName;
          const raw = createClient({ url: harness.hranaUrl, authToken: harness.hranaToken });
          try {
            const result = await raw.execute({ sql: 'SELECT sum(pgsize) AS v FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = ?)', args: [table] });
            return Number(result.rows[0]?.v);
          } finally {
            raw.close();
          }
        },
      },
    ),
    fromTarget(
      { name: 'burr-edge · PostgreSQL (pg Pool, TCP)', library: 'burr-edge', tags: ['postgres', 'pg', 'burr-edge'], durability: pgDurability, peers: ['LangGraph · PostgresSaver (pg Pool)'], notes: [], storedMeasure: pgMeasure },
      {
        name: 'pg',
        async create({ tableName, storage: mode }) {
          const counted = countedPool(harness.postgresUrl);
          return { persister: new PostgreSQLPersister({ client: counted.pool, tableName, ...mode }), roundTrips: counted.queries, dispose: () => counted.end() };
        },
      },
      { storage, port: portOf(harness.postgresUrl), stored: pgTableBytes },
    ),
    fromTarget(
      { name: 'burr-edge · PostgreSQL (Neon HTTP, neon())', library: 'burr-edge', tags: ['postgres', 'neon', 'http', 'burr-edge'], durability: pgDurability, peers: ['LangGraph · PostgresSaver (pg Pool)'], notes: ["through the harness's SQL-over-HTTP front; peer speaks TCP"], storedMeasure: pgMeasure },
      neonHttpTarget(harness),
      { storage, port: portOf(harness.neonSqlEndpoint), stored: pgTableBytes },
    ),
    fromTarget(
      { name: 'burr-edge · PostgreSQL (Neon WebSocket Pool)', library: 'burr-edge', tags: ['postgres', 'neon', 'websocket', 'ws', 'burr-edge'], durability: pgDurability, peers: ['LangGraph · PostgresSaver (pg Pool)'], notes: ["through the harness's ws→TCP proxy; peer speaks TCP"], storedMeasure: pgMeasure },
      neonWebSocketTarget(harness, ws),
      { storage, port: harness.neonWsProxyPort, stored: pgTableBytes },
    ),
    fromTarget(
      {
        name: 'burr-edge · PGlite (PostgreSQL in WASM, in process)',
        library: 'burr-edge',
        tags: ['postgres', 'pglite', 'embedded', 'burr-edge'],
        durability: 'PGlite in memory (no data directory)',
        peers: ['LangGraph · PostgresSaver (pg Pool)'],
        notes: ['peer runs on the PostgreSQL server, not PGlite (PostgresSaver takes a pg Pool)'],
        storedMeasure: pgMeasure,
      },
      pgliteForBytes,
      {
        storage,
        async stored(subject) {
          const table = (subject.persister as PostgreSQLPersister).tableName;
          const result = await pgliteDb!.query<{ v: number }>('SELECT pg_total_relation_size(to_regclass($1))::int8 AS v', [`"${table}"`]);
          return Number(result.rows[0]?.v);
        },
      },
    ),
    fromTarget(
      {
        name: 'burr-edge · Redis (Upstash REST, @upstash/redis)',
        library: 'burr-edge',
        tags: ['redis', 'upstash', 'burr-edge'],
        durability: "redis-server, no RDB, no AOF (--save '' --appendonly no), behind the harness's Upstash REST front",
        peers: ['LangGraph · RedisSaver'],
        notes: [],
        storedMeasure: 'sum of MEMORY USAGE over the namespace’s keys',
      },
      upstashTarget(harness),
      { storage, port: portOf(harness.upstashUrl), tableName: false, stored: (_s, id) => redisBytes(`conf-${id}`) },
    ),
    fromTarget(
      { name: `burr-edge · MongoDB (official driver; ${mongo.server})`, library: 'burr-edge', tags: ['mongodb', 'driver', 'burr-edge'], durability: mongoDurability, peers: [`LangGraph · MongoDBSaver (${mongo.server})`], notes: ['not MongoDB: the harness’s wire-protocol test server'], storedMeasure: bsonMeasure },
      driverTarget,
      { storage, port: portOf(mongo.url), tableName: false, stored: (_s, id) => bsonBytes(mongo.database, [`conf_driver_${id}`]) },
    ),
    fromTarget(
      {
        name: `burr-edge · MongoDB (HTTP to the gateway; ${mongo.server})`,
        library: 'burr-edge',
        tags: ['mongodb', 'gateway', 'http', 'burr-edge'],
        durability: mongoDurability,
        peers: [`LangGraph · MongoDBSaver (${mongo.server})`],
        notes: ['not MongoDB: the harness’s wire-protocol test server, burr-edge’s gateway in front'],
        storedMeasure: bsonMeasure,
      },
      mongoHttpTarget({ url: mongo.gatewayUrl, apiKey: mongo.gatewayKey, database: mongo.database, server: mongo.server }),
      { storage, port: portOf(mongo.gatewayUrl), tableName: false, stored: (_s, id) => bsonBytes(mongo.database, [`conf_http_${id}`]) },
    ),
  ];
}

/** LangGraph.js's checkpointers on the same servers and engines. */
export async function langGraphSystems(ctx: NodeSystemsContext): Promise<System[]> {
  const { harness, dir } = ctx;
  const mongo = harness.mongodb[0]!;
  const admin = new pg.Pool({ connectionString: harness.postgresUrl, max: 2 });
  admin.on('error', () => {});
  ctx.cleanup.push(() => admin.end());

  // MongoDBSaver brings its own driver (mongodb 6): use that one, as an app installing it would.
  const requireFromSaver = createRequire(createRequire(import.meta.url).resolve('@langchain/langgraph-checkpoint-mongodb'));
  const { MongoClient: SaverMongoClient } = requireFromSaver('mongodb') as typeof import('mongodb');
  const saverDriverVersion = (requireFromSaver('mongodb/package.json') as { version: string }).version;
  const mongoClient = new SaverMongoClient(mongo.url, { monitorCommands: true, serverSelectionTimeoutMS: 5000 });
  const mongoCommands = new Map<string, number>();
  mongoClient.on('commandStarted', (event: CommandStartedEvent) => mongoCommands.set(event.databaseName, (mongoCommands.get(event.databaseName) ?? 0) + 1));
  ctx.cleanup.push(() => mongoClient.close());
  const inspector = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 5000 });
  ctx.cleanup.push(() => inspector.close());

  const systems: System[] = [
    {
      name: 'LangGraph · MemorySaver',
      library: 'LangGraph.js',
      tags: ['memory', 'in-memory', 'langgraph', 'peers', 'memorysaver'],
      durability: 'none (process memory)',
      notes: ['no API lists threads'],
      cpu: processCpuMs,
      async open(label) {
        return langGraphSession(new MemorySaver() as unknown as SaverLike, label, { close: async () => {} });
      },
    },
    {
      name: 'LangGraph · PostgresSaver (pg Pool)',
      library: 'LangGraph.js',
      tags: ['postgres', 'pg', 'langgraph', 'peers', 'postgressaver'],
      durability: 'PostgreSQL 18, fsync=off, synchronous_commit=off, full_page_writes=off (the harness server, shared with burr-edge)',
      notes: ['no API lists threads'],
      storedMeasure: 'pg_total_relation_size over its schema’s tables (+ indexes + TOAST)',
      cpu: processCpuMs,
      async open(label) {
        const schema = `lg_${label}_${Date.now().toString(36)}`;
        const counted = countedPool(harness.postgresUrl);
        const saver = new PostgresSaver(counted.pool, undefined, { schema });
        await saver.setup();
        const sent = bytesSentTo(portOf(harness.postgresUrl));
        return langGraphSession(saver as unknown as SaverLike, label, {
          requests: counted.queries,
          bytesSent: sent,
          async storedBytes() {
            const sql = `SELECT sum(pg_total_relation_size(c.oid))::int8 AS v FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`;
            return Number((await admin.query(sql, [schema])).rows[0]?.v);
          },
          close: () => counted.end(),
        });
      },
    },
    {
      name: `LangGraph · MongoDBSaver (${mongo.server})`,
      library: 'LangGraph.js',
      tags: ['mongodb', 'langgraph', 'peers', 'mongodbsaver'],
      durability: 'MongoDB wire-protocol test server (in memory, no journal); default write concern',
      notes: ['not MongoDB: the harness’s wire-protocol test server', `its own driver, mongodb ${saverDriverVersion}`, 'no API lists threads'],
      storedMeasure: 'BSON size of the stored documents (the test server has no storage engine to ask)',
      cpu: processCpuMs,
      async open(label) {
        const dbName = `lg_${label}_${Date.now().toString(36)}`;
        const saver = new MongoDBSaver({ client: mongoClient as never, dbName });
        const sent = bytesSentTo(portOf(mongo.url));
        return langGraphSession(saver as unknown as SaverLike, label, {
          requests: () => mongoCommands.get(dbName) ?? 0,
          bytesSent: sent,
          async storedBytes() {
            let total = 0;
            for (const c of ['checkpoints', 'checkpoint_writes']) for await (const doc of inspector.db(dbName).collection(c).find()) total += BSON.calculateObjectSize(doc);
            return total;
          },
          close: async () => {},
        });
      },
    },
  ];

  const sqlite = await loadSqlitePeer();
  if ('reason' in sqlite) {
    systems.push({ name: 'LangGraph · SqliteSaver (better-sqlite3)', library: 'LangGraph.js', tags: ['sqlite', 'libsql', 'langgraph', 'peers', 'sqlitesaver'], durability: '–', notes: [], skipped: sqlite.reason, open: () => Promise.reject(new Error(sqlite.reason)) });
  } else {
    systems.push({
      name: 'LangGraph · SqliteSaver (better-sqlite3)',
      library: 'LangGraph.js',
      tags: ['sqlite', 'libsql', 'langgraph', 'peers', 'sqlitesaver'],
      durability: 'SQLite file on ext4, journal_mode=WAL (SqliteSaver sets it), synchronous=NORMAL (better-sqlite3 builds SQLite with NORMAL as the WAL default)',
      notes: ['no API lists threads', `better-sqlite3 ${sqlite.betterSqliteVersion}`, 'requests = SQL statements run (in process)'],
      storedMeasure: 'PRAGMA page_count × page_size (fresh file per run)',
      cpu: processCpuMs,
      async open(label) {
        const db = new sqlite.Database(join(dir, `lg-sqlite-${label}-${Date.now()}.db`));
        let statements = 0;
        const prepare = db.prepare.bind(db);
        db.prepare = (source: string) => {
          const statement = prepare(source);
          return new Proxy(statement, {
            get(target, property) {
              const value = Reflect.get(target, property, target) as unknown;
              if (typeof value !== 'function') return value;
              if (property === 'run' || property === 'get' || property === 'all' || property === 'iterate') {
                return (...args: unknown[]) => {
                  statements++;
                  return (value as (...a: unknown[]) => unknown).apply(target, args);
                };
              }
              return (value as (...a: unknown[]) => unknown).bind(target);
            },
          });
        };
        const saver = new sqlite.SqliteSaver(db);
        const one = async (sql: string) => db.prepare(sql).get() as Record<string, unknown>;
        return langGraphSession(saver as unknown as SaverLike, label, {
          requests: () => statements,
          async storedBytes() {
            const before = statements;
            const settings = await sqliteSettings(one);
            const size = await sqliteFileBytes(one);
            statements = before;
            if (settings !== 'journal_mode=wal, synchronous=NORMAL') throw new Error(`SqliteSaver row ended with ${settings}`);
            return size;
          },
          close: async () => void db.close(),
        });
      },
    });
  }

  systems.push({
    name: 'LangGraph · RedisSaver',
    library: 'LangGraph.js',
    tags: ['redis', 'langgraph', 'peers', 'redissaver'],
    durability: '–',
    notes: [],
    skipped: await redisSaverReason(harness),
    open: () => Promise.reject(new Error('RedisSaver cannot run here')),
  });
  return systems;
}

/** Why @langchain/langgraph-checkpoint-redis cannot run on this machine's redis-server. */
async function redisSaverReason(harness: HarnessAddresses): Promise<string> {
  const client = new IORedis(portOf(harness.redisUrl), '127.0.0.1', { maxRetriesPerRequest: 1 });
  try {
    const version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? '?';
    const missing: string[] = [];
    for (const [name, command] of [['RedisJSON', ['JSON.GET', 'burr-edge-bench-probe']], ['RediSearch', ['FT._LIST']]] as const) {
      try {
        await client.call(command[0], ...command.slice(1));
      } catch (error) {
        if (/unknown command/i.test(String(error))) missing.push(`${name} (${command[0]}: unknown command)`);
      }
    }
    if (missing.length === 0) return 'RedisJSON and RediSearch answer here, but the saver is not wired into the bench yet';
    return `@langchain/langgraph-checkpoint-redis needs RedisJSON and RediSearch; this redis-server ${version} lacks ${missing.join(' and ')}, and no Redis Stack can be installed here`;
  } finally {
    client.disconnect();
  }
}

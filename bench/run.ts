/**
 * `npm run bench`: latency and throughput of save / load / listAppIds on every backend this
 * machine can run, against the same real servers and protocol fronts the tests use, with the
 * round trips each operation took (counted, not estimated). Prints a markdown table.
 *
 *   npm run bench                 all backends, 200 operations each
 *   npm run bench -- --ops 1000   more operations
 *   npm run bench -- --only libsql
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '@libsql/client';
import { InMemoryPersister } from '../src/index.js';
import { SQLitePersister } from '../src/persisters/libsql.js';
import { countCalls, type ConformanceTarget } from '../src/testing/index.js';
import { fetchTargets } from '../test/conformance/fetch-targets.js';
import { startHarness } from '../test/harness/start.js';
import { time } from './timing.js';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '200' }, only: { type: 'string' } } });
const OPS = Number(values.ops);

interface Row {
  backend: string;
  operation: string;
  opsPerSecond: number;
  p50: number;
  p95: number;
  roundTrips: number | undefined;
}

/** A state of about 2 KB, the size of a short agent conversation. */
function agentState(step: number): Record<string, unknown> {
  return {
    step,
    messages: Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i} of step ${step}: ${'lorem ipsum '.repeat(10)}` })),
    tokens: 9007199254740993n + BigInt(step),
  };
}

async function measure(name: string, operation: string, count: number, roundTrips: (() => number) | undefined, run: (i: number) => Promise<unknown>): Promise<Row> {
  const tripsBefore = roundTrips?.();
  const timing = await time(count, run);
  return {
    backend: name,
    operation,
    ...timing,
    roundTrips: tripsBefore === undefined ? undefined : (roundTrips!() - tripsBefore) / count,
  };
}

async function benchTarget(target: ConformanceTarget): Promise<Row[]> {
  const subject = await target.create({ id: `bench_${Date.now().toString(36)}` });
  const { persister } = subject;
  const rows: Row[] = [];
  try {
    await persister.initialize();
    const trips = subject.roundTrips;
    rows.push(await measure(target.name, 'save (2 KB state)', OPS, trips, (i) => persister.save({ partitionKey: 'bench', appId: `app-${i % 10}`, sequenceId: Math.floor(i / 10), position: 'step', state: agentState(i), status: 'completed' })));
    rows.push(await measure(target.name, 'load latest', OPS, trips, (i) => persister.load('bench', `app-${i % 10}`)));
    rows.push(await measure(target.name, 'load by sequence id', OPS, trips, (i) => persister.load('bench', `app-${i % 10}`, Math.floor(i / 10) % Math.max(1, Math.floor(OPS / 10)))));
    rows.push(await measure(target.name, 'listAppIds (10 apps)', Math.ceil(OPS / 2), trips, () => persister.listAppIds('bench')));
  } finally {
    await persister.close();
    await subject.dispose?.();
  }
  return rows;
}

async function main(): Promise<void> {
  const { addresses: harness, dir, stop } = await startHarness();
  const localFile: ConformanceTarget = {
    name: 'libsql (file:, embedded)',
    async create() {
      const driver = createClient({ url: `file:${join(dir, 'local.db')}` });
      const counted = countCalls(driver, ['execute', 'batch']);
      return { persister: new SQLitePersister({ client: counted.client }), roundTrips: counted.calls, dispose: async () => driver.close() };
    },
  };
  const memory: ConformanceTarget = { name: 'in-memory', create: async () => ({ persister: new InMemoryPersister() }) };
  const targets = [memory, localFile, ...fetchTargets(harness)].filter((t) => !values.only || t.name.includes(values.only));
  const rows: Row[] = [];
  try {
    for (const target of targets) {
      process.stderr.write(`benchmarking ${target.name}…\n`);
      rows.push(...(await benchTarget(target)));
    }
  } finally {
    await stop();
  }
  console.log(`\nburr-edge benchmark · ${OPS} operations per row · Node ${process.version} · servers on loopback (HTTP fronts are the test harness's)\n`);
  console.log('| backend | operation | ops/s | p50 ms | p95 ms | round trips / op |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.backend} | ${r.operation} | ${r.opsPerSecond.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.roundTrips === undefined ? '–' : r.roundTrips.toFixed(2)} |`);
  }
}

await main();

/**
 * The burr-edge bin, run as a user runs it: a child process (`tsx src/cli/index.ts`), once
 * through a pseudo-terminal (util-linux `script`) for the progress bar and otherwise with pipes
 * (plain lines). Against the harness's real servers: libSQL file and libSQL over HTTP (Hrana),
 * PostgreSQL through `pg` and through Neon's HTTP driver, Upstash REST over redis-server, MongoDB
 * over the driver and through the gateway (both on the harness's wire-protocol test server), plus
 * Burr's tracking directory and a copy of Burr's own SQLite file as sources.
 *
 * What each copy wrote is checked around the bin, in-process, by reading both stores step by step.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createClient } from '@libsql/client';
import type { JsonValue } from '../../src/core/json.js';
import type { PersistedStateData } from '../../src/core/types.js';
import { openStore, type Store, type StoreOptions } from '../../src/cli/stores.js';
import { upstashCommand } from '../conformance/redis-targets.js';
import { FIXTURES_DIR, expectSameAsBurr, expectedFor } from '../interop/fixtures.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(repo, 'node_modules/.bin/tsx');
const entry = join(repo, 'src/cli/index.ts');
const harness = inject('harness');
const tmp = mkdtempSync(join(tmpdir(), 'burr-edge-cli-'));
const burrDb = join(tmp, 'burr_state.db');
const trackingArg = `burr-tracking:${join(FIXTURES_DIR, 'tracking')}#chatbot`;
const runId = Date.now().toString(36);

/** The environment every run gets: the secrets travel here (and in some flags), never in output. */
const mongo = harness.mongodb[0]!;
const env: Record<string, string> = {
  LIBSQL_AUTH_TOKEN: harness.hranaToken,
  UPSTASH_REDIS_REST_TOKEN: harness.upstashToken,
  NEON_FETCH_ENDPOINT: harness.neonSqlEndpoint,
  MONGODB_GATEWAY_API_KEY: mongo.gatewayKey,
};
const SECRETS = [harness.hranaToken, harness.upstashToken, mongo.gatewayKey, 'pw-never-shown-1234', 'tok-never-shown-5678'];
const outputs: string[] = [];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], extraEnv: Record<string, string> = {}): Run {
  const result = spawnSync(tsx, [entry, ...args], { cwd: tmp, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env, ...extraEnv, NO_COLOR: '1' } });
  if (result.error) throw result.error;
  outputs.push(result.stdout, result.stderr);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same, on a pseudo-terminal: `script` gives the child a TTY and copies what it draws. */
function cliOnTty(args: string[]): Run {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [tsx, entry, ...args].map(quote).join(' ');
  const result = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: tmp, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env, COLUMNS: '140' } });
  if (result.error) throw result.error;
  outputs.push(result.stdout, result.stderr);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectOk(run: Run): Run {
  expect(run.status, `exit status; stderr:\n${run.stderr}\nstdout:\n${run.stdout}`).toBe(0);
  return run;
}

// ───────────── the stores: one fresh table / namespace per use ─────────────

type Kind = 'file' | 'libsql-http' | 'postgres' | 'upstash' | 'mongodb' | 'mongodb-gateway';
const KINDS: Kind[] = ['file', 'libsql-http', 'postgres', 'upstash', 'mongodb', 'mongodb-gateway'];
let counter = 0;

/** A fresh store of a kind, as a `<store>` argument (plus the flags it needs). */
function fresh(kind: Kind | 'neon'): { arg: string; flags: string[] } {
  const tag = `${runId}_${++counter}`;
  switch (kind) {
    case 'file':
      return { arg: `file:${join(tmp, `s${tag}.db`)}`, flags: [] };
    case 'libsql-http':
      return { arg: `${harness.hranaUrl}#cli_${tag}`, flags: [] };
    case 'postgres':
      return { arg: `${harness.postgresUrl}#cli_${tag}`, flags: [] };
    case 'neon':
      return { arg: `${harness.postgresUrl}#cli_neon_${tag}`, flags: ['--postgres-driver', 'neon'] };
    case 'upstash':
      return { arg: `upstash:${harness.upstashUrl}#cli-${tag}`, flags: [] };
    case 'mongodb':
      return { arg: `${mongo.url}#${mongo.database}.cli_${tag}`, flags: [] };
    case 'mongodb-gateway':
      return { arg: `mongodb-gateway:${mongo.gatewayUrl}#${mongo.database}.cli_gw_${tag}`, flags: [] };
  }
}

const storeOptions = (flags: string[]): StoreOptions => ({ env, postgresDriver: flags.includes('neon') ? 'neon' : 'auto' });

/** Every step of every app, read through the library (createdAt aside: each store has its own clock). */
async function snapshot(arg: string, flags: string[] = []): Promise<Map<string, Omit<PersistedStateData, 'createdAt'>[]>> {
  const store: Store = await openStore(arg, storeOptions(flags), 'source');
  try {
    const out = new Map<string, Omit<PersistedStateData, 'createdAt'>[]>();
    for (const partitionKey of await store.partitions()) {
      for (const appId of await store.loader.listAppIds(partitionKey)) {
        const steps: Omit<PersistedStateData, 'createdAt'>[] = [];
        for await (const { createdAt: _, ...step } of store.steps(partitionKey, appId)) steps.push(step);
        out.set(JSON.stringify([partitionKey, appId]), steps);
      }
    }
    return out;
  } finally {
    await store.close();
  }
}

/** `-0` as `0`: PostgreSQL's JSONB has no negative zero (as Burr Python reads it back). */
function normalize(value: unknown): unknown {
  if (typeof value === 'number') return value === 0 ? 0 : value;
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

async function expectSameContent(from: { arg: string; flags?: string[] }, to: { arg: string; flags?: string[] }): Promise<number> {
  const [a, b] = await Promise.all([snapshot(from.arg, from.flags), snapshot(to.arg, to.flags)]);
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  let steps = 0;
  for (const [key, sourceSteps] of a) {
    expect(normalize(b.get(key)), key).toStrictEqual(normalize(sourceSteps));
    steps += sourceSteps.length;
  }
  expect(steps).toBeGreaterThan(0);
  return steps;
}

/** The last "copied … steps" line: written and already-there counts, and the rate. */
function copiedLine(run: Run): { apps: number; steps: number; written: number; already: number; rate: number } {
  const match = /(?:copied|would copy) (\d+) apps, (\d+) steps: (\d+) (?:written|to write), (\d+) already there \([\d.]+ s, (\d+) steps\/s\)/.exec(run.stdout);
  expect(match, run.stdout + run.stderr).not.toBeNull();
  const [, apps, steps, written, already, rate] = match!.map(Number);
  return { apps: apps!, steps: steps!, written: written!, already: already!, rate: rate! };
}

const seeds = new Map<Kind, { arg: string; flags: string[] }>();
const rates: string[] = [];

beforeAll(async () => {
  copyFileSync(join(FIXTURES_DIR, 'sqlite/burr_state.db'), burrDb); // never write into the fixtures
}, 60_000);

afterAll(() => {
  if (rates.length) console.log(`copy rates (steps/s, including start-up of each store):\n  ${rates.join('\n  ')}`);
  rmSync(tmp, { recursive: true, force: true });
});

describe('burr-edge --help', () => {
  it('the program and every command explain themselves, with examples', () => {
    const top = expectOk(cli(['--help']));
    for (const command of ['list', 'history', 'show', 'copy', 'materialize']) expect(top.stdout).toMatch(new RegExp(`^\\s+${command} \\[options\\]`, 'm'));
    for (const command of ['list', 'history', 'show', 'copy', 'materialize']) {
      const help = expectOk(cli([command, '--help']));
      expect(help.stdout).toContain(`Usage: burr-edge ${command}`);
      expect(help.stdout).toContain('Examples:');
      expect(help.stdout).toContain(`$ burr-edge ${command} `);
      expect(help.stdout).toContain('burr-tracking:');
    }
  });

  it('a usage mistake exits non-zero and says what to add', () => {
    const run = cli(['show', 'file:x.db']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/missing required argument 'app'/);
    expect(run.stderr).toContain('--help');
  });
});

describe('list, history, show on a copy of Burr Python’s SQLite file', () => {
  const sqlite = expectedFor('sqlite');

  it('list: every partition, most recently saved first, paged', () => {
    const run = expectOk(cli(['list', `file:${burrDb}`]));
    const rows = run.stdout.trim().split('\n').map((line) => line.split(/\s+/).slice(0, 2));
    const expectedApps = Object.entries(sqlite.list_app_ids).flatMap(([pk, apps]) => apps.map((app) => [JSON.stringify(pk === 'None' ? '' : pk), app]));
    expect(rows.map((r) => r.join(' ')).sort()).toEqual(expectedApps.map((r) => r.join(' ')).sort());
    const page = expectOk(cli(['list', `file:${burrDb}`, '--limit', '2', '--offset', '1']));
    expect(page.stdout.trim().split('\n')).toEqual(run.stdout.trim().split('\n').slice(1, 3));
    expect(page.stderr).toContain('more: --offset 3');
    const one = expectOk(cli(['list', `file:${burrDb}`, '--partition', 'user-b', '--json']));
    expect(one.stdout.trim().split('\n').map((line) => JSON.parse(line).appId)).toEqual(sqlite.list_app_ids['user-b']);
  });

  it('history: every step in sequence order; --json holds the states', async () => {
    const run = expectOk(cli(['history', `file:${burrDb}`, 'app-1', '--partition', 'user-a']));
    const seqs = run.stdout.trim().split('\n').map((line) => Number(line.trim().split(/\s+/)[0]));
    expect(seqs).toEqual(await sequenceIdsOf(burrDb, 'user-a', 'app-1'));
    expect(seqs.length).toBeGreaterThan(3);
    expect(run.stdout).toMatch(/\bfailed\b.*boom/);
    const json = expectOk(cli(['history', `file:${burrDb}`, 'app-1', '--json']));
    const steps = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { sequenceId: number; state: object });
    expect(steps.map((s) => s.sequenceId)).toEqual(seqs);
    for (const { query, result } of sqlite.loads) {
      if (query.app_id !== 'app-1' || query.partition_key !== 'user-a' || query.sequence_id === null || !result) continue;
      expect(JSON.stringify(steps.find((s) => s.sequenceId === query.sequence_id)!.state)).toBe(JSON.stringify(result.state));
    }
  });

  it('show: the latest or a given step, pretty-printed or as exact JSON', () => {
    const withBig = sqlite.loads.find((l) => l.result && JSON.stringify(l.result.state, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)).includes('9007199254740993n'))!;
    const { partition_key, app_id, sequence_id } = withBig.query;
    const args = ['show', `file:${burrDb}`, app_id, '--partition', partition_key ?? '', ...(sequence_id === null ? [] : ['--seq', String(sequence_id)])];
    const text = expectOk(cli(args));
    expect(text.stdout).toMatch(new RegExp(`^app +${app_id}$`, 'm'));
    expect(text.stdout).toMatch(/^state\n\{\n {2}"/m);
    const json = expectOk(cli([...args, '--json']));
    expect(json.stdout).toContain('9007199254740993');
    // The partition is found when only one holds the app.
    expectOk(cli(['show', `file:${burrDb}`, 'app-3']));
    const missing = cli(['show', `file:${burrDb}`, 'app-1', '--partition', 'user-a', '--seq', '77']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no step 77 of app "app-1"');
  });

  it('opens a table Burr created without initialize (read-only use): nothing is added to the file', async () => {
    const before = await tablesOf(burrDb);
    expectOk(cli(['list', `file:${burrDb}`]));
    expect(await tablesOf(burrDb)).toEqual(before);
  });

  it('a store that was never initialized: the error says to initialize, exit 1', async () => {
    const empty = fresh('file');
    expectOk(cli(['copy', trackingArg, empty.arg, '--dry-run'])); // creates the file, not the table
    const run = cli(['list', `${empty.arg.split('#')[0]}#never_made`]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/table never_made does not exist yet: call `await persister.initialize\(\)`/);
  });

  it('an unreachable MongoDB is an error without its password; a gateway store without a key says which to set; an unknown argument lists the store forms', () => {
    const unreachable = cli(['list', 'mongodb://me:pw-never-shown-1234@127.0.0.1:1/?serverSelectionTimeoutMS=300#burr.steps']);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toMatch(/^burr-edge: .*mongodb/m);
    expect(unreachable.stderr + unreachable.stdout).not.toContain('pw-never-shown-1234');
    const keyless = cli(['list', `mongodb-gateway:${mongo.gatewayUrl}#burr.steps`], { MONGODB_GATEWAY_API_KEY: '' });
    expect(keyless.status).toBe(2);
    expect(keyless.stderr).toContain('--mongodb-api-key or MONGODB_GATEWAY_API_KEY');
    const unknown = cli(['list', 'ftp://nowhere']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/not a store: .*file:<path\.db>/);
  });
});

/** The sequence ids of an app, read with plain SQL around the bin. */
async function sequenceIdsOf(file: string, partitionKey: string, appId: string): Promise<number[]> {
  const { createClient } = await import('@libsql/client');
  const client = createClient({ url: `file:${file}` });
  try {
    const result = await client.execute({ sql: 'SELECT DISTINCT sequence_id FROM burr_state WHERE partition_key = ? AND app_id = ? ORDER BY sequence_id', args: [partitionKey, appId] });
    return result.rows.map((r) => Number(r.sequence_id));
  } finally {
    client.close();
  }
}

async function tablesOf(file: string): Promise<string[]> {
  const { createClient } = await import('@libsql/client');
  const client = createClient({ url: `file:${file}` });
  try {
    const result = await client.execute("SELECT name FROM sqlite_master ORDER BY name");
    return result.rows.map((r) => String(r.name));
  } finally {
    client.close();
  }
}

describe('copy: Burr’s SQLite file and Burr’s tracking directory into every store', () => {
  for (const kind of KINDS) {
    it(`Burr's SQLite file → ${kind}, then Burr's own loads answer the same from it`, async () => {
      const target = fresh(kind);
      const run = expectOk(cli(['copy', `file:${burrDb}`, target.arg, ...target.flags]));
      const line = copiedLine(run);
      rates.push(`sqlite file → ${kind}: ${line.steps} steps, ${line.rate} steps/s`);
      expect(line.written).toBe(line.steps);
      expect(run.stdout).toContain('verified:');
      await expectSameContent({ arg: `file:${burrDb}` }, target);
      seeds.set(kind, target);
      if (kind === 'file') {
        // What Burr's load returned from its own file, the copy returns too.
        const store = await openStore(target.arg, storeOptions([]), 'source');
        try {
          for (const { query, result } of expectedFor('sqlite').loads) expectSameAsBurr(await store.loader.load(query.partition_key, query.app_id, query.sequence_id), result);
        } finally {
          await store.close();
        }
      }
    });
  }

  for (const kind of [...KINDS, 'neon'] as const) {
    it(`Burr's tracking directory → ${kind}`, async () => {
      const target = fresh(kind);
      const run = expectOk(cli(['copy', trackingArg, target.arg, ...target.flags]));
      expect(copiedLine(run)).toMatchObject({ apps: 4, steps: 13, written: 13, already: 0 });
      await expectSameContent({ arg: trackingArg }, target);
    });
  }
});

/**
 * Node 20 copies between every pair of store kinds. The re-runs under Node 22, Node 24 and Bun
 * (BURR_EXPECT_RUNTIME) copy around a ring instead — each kind read once and written once — since
 * which pair is copied does not depend on the runtime, and 30 processes per runtime would double
 * the suite's time.
 */
const otherRuntime = process.env.BURR_EXPECT_RUNTIME !== undefined;
const copied = (from: Kind, to: Kind) => (otherRuntime ? KINDS[(KINDS.indexOf(from) + 1) % KINDS.length] === to : from !== to);

describe(otherRuntime ? 'copy around a ring of every store kind' : 'copy between every pair of stores', () => {
  for (const from of KINDS) {
    for (const to of KINDS) {
      if (!copied(from, to)) continue;
      it(`${from} → ${to}`, async () => {
        const source = seeds.get(from);
        expect(source, `the ${from} seed (copied from Burr's SQLite file above)`).toBeDefined();
        const target = fresh(to);
        const run = expectOk(cli(['copy', source!.arg, target.arg]));
        const line = copiedLine(run);
        rates.push(`${from} → ${to}: ${line.steps} steps, ${line.rate} steps/s`);
        expect(line.written).toBe(line.steps);
        await expectSameContent(source!, target);
      });
    }
  }
});

/** Rows of a SQLite file whose state is a delta row (storage: 'delta'). */
async function deltaRowsOf(file: string): Promise<number> {
  const client = createClient({ url: `file:${file}` });
  try {
    return Number((await client.execute(`SELECT count(*) AS n FROM burr_state WHERE state LIKE '%"__burr_edge_delta__"%'`)).rows[0]!.n);
  } finally {
    client.close();
  }
}

describe("copy --storage delta, and materialize: delta rows back to Burr rows", () => {
  // Every kind on Node 20; on the re-run runtimes one SQL store and one key-value store (the delta code is the core's, the same for all).
  for (const kind of otherRuntime ? (['file', 'upstash'] as const) : KINDS) {
    it(`a Burr file → ${kind} as delta rows, then back out as Burr rows: the same steps`, async () => {
      const target = fresh(kind);
      const run = expectOk(cli(['copy', `file:${burrDb}`, target.arg, ...target.flags, '--storage', 'delta']));
      expect(copiedLine(run).written).toBe(copiedLine(run).steps);
      await expectSameContent({ arg: `file:${burrDb}` }, target);
      const back = fresh('file');
      expectOk(cli(['copy', target.arg, back.arg, ...target.flags]));
      await expectSameContent({ arg: `file:${burrDb}` }, back);
      expect(await deltaRowsOf(back.arg.slice('file:'.length))).toBe(0);
    });
  }

  it('materialize rewrites a delta file in place: no delta row is left, every step loads the same, and a second run rewrites nothing', async () => {
    const target = fresh('file');
    expectOk(cli(['copy', `file:${burrDb}`, target.arg, '--storage', 'delta']));
    const file = target.arg.slice('file:'.length);
    expect(await deltaRowsOf(file)).toBeGreaterThan(0);
    const run = expectOk(cli(['materialize', target.arg]));
    expect(run.stdout).toMatch(/^materialized \d+ apps, \d+ steps: [1-9]\d* rewritten as Burr rows/m);
    expect(await deltaRowsOf(file)).toBe(0);
    await expectSameContent({ arg: `file:${burrDb}` }, target);
    expect(expectOk(cli(['materialize', target.arg])).stdout).toMatch(/: 0 rewritten as Burr rows/);
  });

  it('materialize of a store that cannot rewrite in place says to copy, exit 1', () => {
    const target = fresh('upstash');
    expectOk(cli(['copy', trackingArg, target.arg, '--storage', 'delta']));
    const run = cli(['materialize', target.arg]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/cannot rewrite steps in place; copy/);
  });
});

describe('copy: running again, conflicts, differences, dry runs', () => {
  it('a second run skips every identical step and changes nothing', async () => {
    const target = fresh('upstash');
    expectOk(cli(['copy', trackingArg, target.arg]));
    const again = expectOk(cli(['copy', trackingArg, target.arg]));
    expect(copiedLine(again)).toMatchObject({ steps: 13, written: 0, already: 13 });
    expect(again.stdout).toContain('verified: 4 apps');
    await expectSameContent({ arg: trackingArg }, target);
  });

  it('a conflicting step stops the copy, naming the app and the sequence id; nothing is overwritten', async () => {
    const target = fresh('file');
    const store = await openStore(target.arg, storeOptions([]), 'target');
    await store.writer!.initialize();
    await store.writer!.save({ partitionKey: 'user-a', appId: 'app-1', sequenceId: 2, position: 'counter', state: { mine: true }, status: 'completed' });
    await store.close();
    const run = cli(['copy', trackingArg, target.arg, '--app', 'app-1']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/conflict: partition "user-a", app "app-1", sequence id 2 is already in the target with a different state/);
    const after = await snapshot(target.arg);
    const steps = after.get(JSON.stringify(['user-a', 'app-1']))!;
    expect(steps.map((s) => s.sequenceId)).toEqual([0, 1, 2]); // stopped at 2: 3 and 4 not written
    expect(steps[2]!.state).toEqual({ mine: true });
  });

  it('a difference found by the verification exits 1 and says what differs', async () => {
    const target = fresh('postgres');
    const store = await openStore(target.arg, storeOptions([]), 'target');
    await store.writer!.initialize();
    await store.writer!.save({ partitionKey: 'user-a', appId: 'app-2', sequenceId: 9, position: 'later', state: { extra: 1 }, status: 'completed' });
    await store.close();
    const run = cli(['copy', trackingArg, target.arg]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('difference: partition "user-a" app "app-2": 3 steps in the source, 4 in the target');
    expect(run.stderr).toContain('latest sequence id 2 in the source, 9 in the target');
    expect(run.stderr).toContain('verification failed: 1 of 4 apps differ');
  });

  it('--dry-run reports what would be written and writes nothing', async () => {
    const target = fresh('libsql-http');
    const dry = expectOk(cli(['copy', trackingArg, target.arg, '--dry-run', '--partition', 'user-a']));
    expect(copiedLine(dry)).toMatchObject({ apps: 4, steps: 13, written: 13, already: 0 });
    expect(dry.stderr).toContain('dry run:');
    const store = await openStore(target.arg, storeOptions([]), 'source');
    expect(await store.loader.isInitialized()).toBe(false);
    await store.close();
    // After a real copy of one app, a dry run sees that app's steps as already there.
    expectOk(cli(['copy', trackingArg, target.arg, '--app', 'app-2']));
    expect(copiedLine(expectOk(cli(['copy', trackingArg, target.arg, '--dry-run'])))).toMatchObject({ written: 10, already: 3 });
  });

  it('nothing to copy is an error, not a silent success', () => {
    const run = cli(['copy', trackingArg, fresh('file').arg, '--partition', 'nobody']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('nothing to copy');
  });

  it('burr-tracking: is read-only as a target', () => {
    const run = cli(['copy', `file:${burrDb}`, trackingArg]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('read-only');
  });
});

describe("copy: ids with ':' or '%' at Burr Python's unescaped Redis keys", () => {
  /** A step as Burr's RedisBasePersister writes it: the hash at its unescaped key, the score in the partition's sorted set. */
  async function burrSave(namespace: string, partitionKey: string, appId: string, sequenceId: number, state: object): Promise<void> {
    await upstashCommand(harness, ['HSET', `${namespace}:${partitionKey}:${appId}:${sequenceId}`, 'partition_key', partitionKey, 'app_id', appId, 'sequence_id', String(sequenceId), 'position', 'step', 'state', JSON.stringify(state), 'status', 'completed', 'created_at', '2026-12-03T09:00:00.000000+00:00']);
    await upstashCommand(harness, ['ZADD', `${namespace}:${partitionKey}`, sequenceId, appId]);
  }
  const escapedLoad = (namespace: string, partitionKey: string, appId: string, sequenceId?: number) =>
    // Opened as a copy target opens it: burr-edge's escaped keys only.
    openStore(`upstash:${harness.upstashUrl}#${namespace}`, storeOptions([]), 'target').then(async (store) => {
      try {
        return await store.loader.load(partitionKey, appId, sequenceId);
      } finally {
        await store.close();
      }
    });

  it('copying a namespace onto itself moves them into escaped keys, verified', async () => {
    const namespace = `cli-burrkeys-${runId}`;
    await burrSave(namespace, 'user:1', 'chat', 0, { n: 0 });
    await burrSave(namespace, 'user:1', 'chat', 1, { n: 1 });
    await burrSave(namespace, 'plain', 'a:b', 0, { app: 'a:b' });
    await burrSave(namespace, 'p%x', 'q%y', 0, { percent: true });
    // Before: burr-edge's keys hold none of them.
    expect(await escapedLoad(namespace, 'user:1', 'chat')).toBeNull();
    const arg = `upstash:${harness.upstashUrl}#${namespace}`;
    const run = expectOk(cli(['copy', arg, arg]));
    expect(copiedLine(run)).toMatchObject({ apps: 3, steps: 4, written: 4, already: 0 });
    expect(run.stdout).toContain('verified: 3 apps');
    expect(await upstashCommand(harness, ['EXISTS', `${namespace}:user%3A1:chat:1`, `${namespace}:plain:a%3Ab:0`, `${namespace}:p%25x:q%25y:0`])).toBe(3);
    expect(await escapedLoad(namespace, 'user:1', 'chat')).toMatchObject({ sequenceId: 1, state: { n: 1 } });
    expect(await escapedLoad(namespace, 'p%x', 'q%y')).toMatchObject({ state: { percent: true } });
    expect(copiedLine(expectOk(cli(['copy', arg, arg])))).toMatchObject({ written: 0, already: 4 });
  });

  it('where Burr let two apps share a key, the copy stops naming both', async () => {
    const namespace = `cli-burrkeys-collide-${runId}`;
    await burrSave(namespace, 'a:b', 'c', 0, { owner: 'a:b / c' });
    await burrSave(namespace, 'a', 'b:c', 0, { owner: 'a / b:c' }); // overwrote the first at <ns>:a:b:c:0
    const target = fresh('file');
    const run = cli(['copy', `upstash:${harness.upstashUrl}#${namespace}`, target.arg]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('partition "a:b", app "c"');
    expect(run.stderr).toContain('partition "a", app "b:c"');
    // The app whose step is at the key copies fine on its own.
    expectOk(cli(['copy', `upstash:${harness.upstashUrl}#${namespace}`, target.arg, '--partition', 'a']));
  });
});

describe('progress: a bar on a terminal, plain lines otherwise', () => {
  it('on a pseudo-terminal: a bar with steps/s and ETA', () => {
    const target = fresh('file');
    const run = cliOnTty(['copy', `file:${burrDb}`, target.arg]);
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/copy \[[█░]+\] \d+% \| \d+\/16 steps \| \d+ steps\/s \| ETA \S+/);
    expect(run.stdout).toContain('\u001b['); // it draws: cursor control, not lines
    expect(run.stdout).toContain('verified:');
  });

  it('without a terminal: one plain line per app, no escape codes', () => {
    const target = fresh('file');
    const run = expectOk(cli(['copy', trackingArg, target.arg]));
    expect(run.stderr).not.toContain('\u001b[');
    expect(run.stderr).toContain('copying 13 steps of 4 apps');
    expect(run.stderr.match(/^\[\d+\/13\] partition "user-a" app "[^"]+": \d+ written, \d+ already there$/gm)).toHaveLength(4);
  });
});

describe('mongodb-gateway: the gateway as a user starts it', () => {
  const KEY = 'cli-gateway-key-0123456789abcdef';

  it('prints its URL when ready, serves the Data API shapes with the key, logs without secrets, stops on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(tsx, [entry, 'mongodb-gateway', '--port', '0', '--database', mongo.database, '--collection', `cli_gateway_${runId}`], {
      cwd: tmp,
      env: { ...process.env, MONGODB_URL: mongo.url, BURR_EDGE_GATEWAY_API_KEYS: `other-key-abcdefghijklmnop,${KEY}`, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL line; stderr: ${stderr}`)), 30_000);
        child.stdout.on('data', () => {
          const line = /^(http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
          if (line) {
            clearTimeout(timer);
            resolve(line[1]!);
          }
        });
      });
      expect(stdout).toBe(`${url}\n`); // exactly one line: the base URL
      const body = { dataSource: 'x', database: mongo.database, collection: `cli_gateway_${runId}` };
      const inserted = await fetch(`${url}/action/insertOne`, { method: 'POST', headers: { apiKey: KEY }, body: JSON.stringify({ ...body, document: { app_id: 'a', n: 1 } }) });
      expect(inserted.status).toBe(201);
      const found = await fetch(`${url}/action/findOne`, { method: 'POST', headers: { apiKey: KEY }, body: JSON.stringify({ ...body, filter: { app_id: 'a' }, projection: { _id: 0 } }) });
      expect(await found.json()).toEqual({ document: { app_id: 'a', n: 1 } });
      expect((await fetch(`${url}/action/findOne`, { method: 'POST', headers: { apiKey: 'wrong-wrong-wrong-wrong' }, body: JSON.stringify(body) })).status).toBe(401);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const log = stderr.trim().split('\n').map((line) => JSON.parse(line) as { action: string; status: number });
      expect(log.map((entry) => [entry.action, entry.status])).toEqual([['insertOne', 201], ['findOne', 200], ['findOne', 401]]);
      for (const secret of [KEY, 'other-key-abcdefghijklmnop', mongo.url]) expect(stdout + stderr).not.toContain(secret);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('without MONGODB_URL or keys, or with a short key, it says what to set and exits 2', () => {
    const noUrl = cli(['mongodb-gateway', '--database', 'burr', '--collection', 'c'], { MONGODB_URL: '', BURR_EDGE_GATEWAY_API_KEYS: 'a-key-that-is-long-enough' });
    expect([noUrl.status, noUrl.stderr]).toEqual([2, expect.stringContaining('set MONGODB_URL')]);
    const noKeys = cli(['mongodb-gateway', '--database', 'burr', '--collection', 'c'], { MONGODB_URL: mongo.url, BURR_EDGE_GATEWAY_API_KEYS: '' });
    expect([noKeys.status, noKeys.stderr]).toEqual([2, expect.stringContaining('set BURR_EDGE_GATEWAY_API_KEYS')]);
    const short = cli(['mongodb-gateway', '--database', 'burr', '--collection', 'c'], { MONGODB_URL: mongo.url, BURR_EDGE_GATEWAY_API_KEYS: 'short' });
    expect([short.status, short.stderr]).toEqual([2, expect.stringContaining('at least 16 characters')]);
    const help = cli(['mongodb-gateway', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('BURR_EDGE_GATEWAY_API_KEYS');
    expect(help.stdout).toContain('Examples:');
  });
});

describe('secrets', () => {
  it('a password in a URL and tokens in flags are not printed, even in errors', () => {
    const pg = cli(['list', 'postgres://me:pw-never-shown-1234@127.0.0.1:1/db']);
    expect(pg.status).toBe(1);
    expect(pg.stderr).toMatch(/burr-edge: .+/);
    const libsql = cli(['list', 'http://127.0.0.1:1#t', '--auth-token', 'tok-never-shown-5678']);
    expect(libsql.status).toBe(1);
    const upstash = cli(['list', `upstash:http://127.0.0.1:1#ns`, '--redis-token', 'tok-never-shown-5678']);
    expect(upstash.status).toBe(1);
    // commander echoes an unknown option, value and all: a misspelled secret flag is scrubbed too.
    const typo = cli(['list', '--auth-tokn=tok-never-shown-5678', 'file:x.db']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("unknown option '--auth-tokn=***'");
  });

  it('no run printed a secret', () => {
    expect(outputs.length).toBeGreaterThan(40);
    const leaks = SECRETS.flatMap((secret) => outputs.filter((text) => text.includes(secret)).map((text) => `${secret}: ${text.slice(0, 200)}`));
    expect(leaks).toEqual([]);
  });
});

export type { JsonValue };

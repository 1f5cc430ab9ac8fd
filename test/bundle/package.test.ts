/**
 * The published package, as a user installs it: `npm run build`, `npm pack`, the tarball
 * extracted into a consumer project's node_modules/, and then, outside this repo,
 *
 * - the tarball holds every file the exports map points at (JS and .d.ts) and the README, and
 *   nothing of src/, test/, playground/, bench/, scripts/ or any database file;
 * - every packed module imports only packed files, the core's dependencies (`lossless-json`, `fflate`) and its own declared peer
 *   driver (no `node:` builtin, no `.ts` path), and its source map carries its source — except
 *   the Node-only ones: the bin (`dist/cli/`, which alone imports commander and cli-progress) and
 *   the tracking loader, which may import `node:` builtins;
 * - the packed bin runs as npm links it (`node_modules/.bin/burr-edge`, through its shebang):
 *   `--help`, and `list` / `show` on a file database;
 * - plain `node` (no tsx, no vitest) imports every subpath by its public name and uses it: the
 *   libSQL persister on a file database with a bigint state, the in-memory persister through
 *   `burr-edge/testing`'s conformance suite, IndexedDB over fake-indexeddb, the Postgres and Redis
 *   drivers loaded, and `isPersisterError` recognising errors across modules and package copies;
 * - a consumer's TypeScript resolves types and values from every subpath under `node16` and
 *   `bundler` resolution, `strict` and `skipLibCheck: false`, with the target's default lib
 *   and no `@types` (a Worker's or a browser app's setup) — and, for a Node app (lib ES2022 and
 *   @types/node, no DOM), every subpath but `burr-edge/indexeddb`, whose API is IndexedDB's types.
 *
 * The consumer gets the peer drivers as symlinks to this repo's node_modules/<driver>: Node and
 * tsc resolve a symlink to its real path, so each driver finds its own dependencies (`libsql`,
 * `@libsql/*`, …) in this repo's node_modules/ without those being linked one by one.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, cpSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(repo, 'node_modules/typescript/bin/tsc');
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  name: string;
  main: string;
  types: string;
  exports: Record<string, string | Record<string, string>>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  bin: Record<string, string>;
};

/** Packed modules that run only where Node's builtins exist: the bin and the tracking loader. */
const nodeOnly = (file: string) => file.startsWith('dist/cli/') || file.startsWith('dist/gateway/') || /^dist\/persisters\/tracking\.(js|d\.ts)$/.test(file);

/** The subpaths a consumer imports, by their public names. */
const subpaths = Object.keys(manifest.exports)
  .filter((key) => key !== './package.json')
  .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`));

/** Drivers the consumer installs (symlinked from this repo), and the package's own dependency. */
const linked = ['lossless-json', 'fflate', 'commander', 'cli-progress', '@libsql/client', '@neondatabase/serverless', '@upstash/redis', 'idb', 'mongodb', 'fake-indexeddb', '@types/node'];

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

let tmp: string;
let consumer: string;
let installed: string;
let pack: PackResult;
let packedFiles: string[];
const timings: Record<string, number> = {};

function timed<T>(label: string, run: () => T): T {
  const start = performance.now();
  try {
    return run();
  } finally {
    timings[label] = Math.round(performance.now() - start);
  }
}

function run(command: string, args: string[], cwd: string, timeout = 60_000): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, NODE_OPTIONS: '', npm_config_update_notifier: 'false' } });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Every string an exports map (or a condition object in it) points at. */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((file) => statSync(join(dir, file)).isFile())
    .map((file) => file.split('\\').join('/'));
}

/** Module specifiers of an ES module or declaration file: static, re-export, side-effect and `import()`. */
function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = new Set<string>();
  // Statements start a line (esbuild's and tsc's output); `import("…")` may be anywhere, in a type too.
  for (const pattern of [/^\s*(?:import|export)\s[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/gm, /^\s*import\s*(['"])([^'"]+)\1/gm, /\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g]) {
    for (const match of code.matchAll(pattern)) found.add(match[2]!);
  }
  return [...found];
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

beforeAll(() => {
  timed('build', () => execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repo, stdio: 'pipe' }));
  tmp = mkdtempSync(join(tmpdir(), 'burr-edge-package-'));
  const packed = timed('npm pack', () => run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp, '--json'], repo));
  expect(packed.status, packed.output).toBe(0);
  pack = (JSON.parse(packed.output.slice(packed.output.indexOf('['))) as PackResult[])[0]!;
  packedFiles = pack.files.map((f) => f.path).sort();

  consumer = join(tmp, 'consumer');
  installed = join(consumer, 'node_modules', manifest.name);
  mkdirSync(installed, { recursive: true });
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  timed('extract', () => execFileSync('tar', ['-xzf', join(tmp, pack.filename), '-C', installed, '--strip-components=1']));
  for (const name of linked) {
    mkdirSync(dirname(join(consumer, 'node_modules', name)), { recursive: true });
    symlinkSync(join(repo, 'node_modules', name), join(consumer, 'node_modules', name), 'dir');
  }
  // A second copy of the package (another dependency's), for the brand across copies.
  cpSync(installed, join(consumer, 'vendor', 'node_modules', manifest.name), { recursive: true });
}, 120_000);

afterAll(() => {
  console.log(
    `burr-edge tarball: ${pack?.filename}, ${pack?.entryCount} files, ${pack?.size} B packed, ${pack?.unpackedSize} B unpacked; ` +
      `timings (ms): ${Object.entries(timings)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
  );
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack: the tarball', () => {
  it('holds every file the exports map, main and types point at, the README and package.json', () => {
    const targets = [...exportTargets(manifest.exports), manifest.main, manifest.types].map((t) => posix.normalize(t));
    expect(targets.filter((t) => t.endsWith('.d.ts')).length).toBeGreaterThanOrEqual(subpaths.length);
    expect(targets.filter((t) => t.endsWith('.js')).length).toBeGreaterThanOrEqual(subpaths.length);
    expect(targets.filter((t) => !packedFiles.includes(t))).toEqual([]);
    expect(packedFiles).toContain('README.md');
    expect(packedFiles).toContain('package.json');
  });

  it('holds nothing but dist/, the README, the license and package.json', () => {
    const forbidden = packedFiles.filter((f) => /^(src|test|playground|bench|scripts|docs|node_modules|coverage|\.[^/]+)\//.test(f) || /\.(db|db-shm|db-wal|tgz|ts\.map)$|(^|\/)\.env/.test(f));
    expect(forbidden).toEqual([]);
    expect(packedFiles.filter((f) => !f.startsWith('dist/') && !/^(README\.md|package\.json|LICEN[CS]E(\.\w+)?)$/i.test(f))).toEqual([]);
    // Only .js, .js.map and .d.ts in dist/, and a .d.ts for every .js.
    expect(packedFiles.filter((f) => f.startsWith('dist/') && !/\.(js|js\.map|d\.ts)$/.test(f))).toEqual([]);
    const js = packedFiles.filter((f) => f.endsWith('.js'));
    expect(js.filter((f) => !packedFiles.includes(f.replace(/\.js$/, '.d.ts')))).toEqual([]);
    expect(statSync(join(tmp, pack.filename)).size).toBe(pack.size);
  });

  it('lists `types` first in every condition object, each pointing at the .d.ts next to its .js', () => {
    for (const [key, value] of Object.entries(manifest.exports)) {
      if (typeof value === 'string') {
        expect(key).toBe('./package.json');
        continue;
      }
      expect(Object.keys(value)[0], key).toBe('types');
      expect(value.types, key).toBe(value.default!.replace(/\.js$/, '.d.ts'));
    }
    expect(manifest.types).toBe(manifest.main.replace(/\.js$/, '.d.ts'));
  });

  it('has no install scripts for the consumer to run', () => {
    const packedManifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    expect(Object.keys(packedManifest.scripts ?? {}).filter((s) => /^(pre|post)?install$/.test(s))).toEqual([]);
  });
});

describe('the installed modules', () => {
  const declared = () => new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);

  it('import only packed files, the core\'s dependencies and declared peers: no node: builtins, no .ts paths', () => {
    const files = filesUnder(installed).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
    expect(files.length).toBeGreaterThan(0);
    const problems: string[] = [];
    const bare = new Map<string, Set<string>>();
    for (const file of files) {
      for (const spec of specifiers(readFileSync(join(installed, file), 'utf8'))) {
        if (/\.(c|m)?tsx?$/.test(spec) && !spec.endsWith('.d.ts')) problems.push(`${file}: imports a TypeScript path ${spec}`);
        if (spec.startsWith('.')) {
          const target = posix.join(posix.dirname(file), spec);
          const resolved = file.endsWith('.d.ts') ? target.replace(/\.js$/, '.d.ts') : target;
          if (!existsSync(join(installed, resolved))) problems.push(`${file}: ${spec} is not in the package`);
        } else if (spec.startsWith('node:') || isBuiltin(spec)) {
          if (!nodeOnly(file)) problems.push(`${file}: imports the Node builtin ${spec}`);
        } else if (!declared().has(packageName(spec))) {
          problems.push(`${file}: imports ${spec}, neither a dependency nor a peer`);
        } else {
          const users = bare.get(packageName(spec)) ?? new Set();
          bare.set(packageName(spec), users.add(file));
        }
      }
    }
    expect(problems).toEqual([]);
    // Each driver is imported by its own backend only; the core needs lossless-json and fflate's inflate alone.
    expect(Object.fromEntries([...bare].map(([name, users]) => [name, [...users].sort()]))).toEqual({
      'lossless-json': ['dist/core/json.js'],
      fflate: ['dist/core/delta.js'],
      // The bin's dependencies: imported by the bin alone, never by a library module.
      commander: ['dist/cli/gateway.d.ts', 'dist/cli/main.js'],
      'cli-progress': ['dist/cli/main.js'],
      // The bin opens every kind of store (each driver is imported when a store of its kind is named).
      '@libsql/client': ['dist/cli/stores.js', 'dist/persisters/libsql.js'],
      '@neondatabase/serverless': ['dist/cli/stores.js', 'dist/persisters/postgres.js'],
      '@upstash/redis': ['dist/cli/stores.js', 'dist/persisters/redis/persister.js'],
      pg: ['dist/cli/stores.js'],
      idb: ['dist/persisters/indexeddb/schema.js'],
      // The gateway, the bin's MongoDB stores and its gateway command, and Node's build of burr-edge/mongodb; never the edge build (index.js).
      mongodb: ['dist/cli/gateway.js', 'dist/cli/stores.js', 'dist/gateway/mongodb.js', 'dist/persisters/mongodb/node.js'],
    });
  });

  it('carry their sources in their source maps (src/ is not shipped)', () => {
    const maps = filesUnder(installed).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBe(filesUnder(installed).filter((f) => f.endsWith('.js')).length);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(installed, file), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(map.sourcesContent?.length, file).toBe(map.sources.length);
      expect(map.sourcesContent!.every((s) => typeof s === 'string' && s.length > 0), file).toBe(true);
    }
  });
});

/** Runs in the consumer with plain `node`. Prints one JSON line: what it saw. */
const SMOKE = String.raw`
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import 'fake-indexeddb/auto'; // the IDB* classes idb needs, as globals
import { IDBFactory } from 'fake-indexeddb';
import { neonConfig } from '@neondatabase/serverless';
import { createServer } from 'node:net';
import * as root from 'burr-edge';
import * as libsql from 'burr-edge/libsql';
import * as postgres from 'burr-edge/postgres';
import * as redis from 'burr-edge/redis';
import * as indexeddb from 'burr-edge/indexeddb';
import * as testing from 'burr-edge/testing';

const [dbFile, subpathList] = process.argv.slice(2);
const { State, InMemoryPersister, isPersisterError, PersisterError, StateAlreadyExistsError, NotInitializedError } = root;
const report = { resolved: {}, exports: {} };

for (const subpath of JSON.parse(subpathList)) report.resolved[subpath] = import.meta.resolve(subpath);
for (const [name, mod] of Object.entries({ root, libsql, postgres, redis, indexeddb, testing })) report.exports[name] = Object.keys(mod).length;

// --- libSQL on a file database: initialize, save (State with a bigint), load, listAppIds.
const big = 2n ** 64n + 1n;
const sqlite = libsql.SQLitePersister.fromValues({ url: 'file:' + dbFile });
await sqlite.initialize();
assert.equal(await sqlite.isInitialized(), true);
const first = new State({ counter: 1, big, chat: ['hi'] });
await sqlite.save({ partitionKey: 'user-1', appId: 'app-1', sequenceId: 0, position: 'start', state: first, status: 'completed' });
await sqlite.save({ partitionKey: 'user-1', appId: 'app-1', sequenceId: 1, position: 'count', state: first.update({ counter: 2 }), status: 'completed' });
await sqlite.save({ partitionKey: 'user-1', appId: 'app-2', sequenceId: 0, position: 'start', state: { counter: 10 }, status: 'failed' });
const loaded = await sqlite.load('user-1', 'app-1');
assert.equal(loaded.sequenceId, 1);
assert.equal(loaded.position, 'count');
assert.equal(typeof loaded.state.big, 'bigint');
assert.equal(loaded.state.big, big);
const revived = State.deserialize(loaded.state);
assert.ok(revived instanceof State);
assert.equal(revived.get('big'), big);
assert.equal(revived.get('counter'), 2);
assert.deepEqual(revived.get('chat'), ['hi']);
assert.equal((await sqlite.load('user-1', 'app-1', 0)).state.counter, 1);
assert.equal(await sqlite.load('user-1', 'nobody'), null);
report.listAppIds = await sqlite.listAppIds('user-1');
assert.deepEqual(report.listAppIds, ['app-2', 'app-1']);

// --- The error brand across modules: errors thrown inside burr-edge/libsql, checked with the root's helpers.
const duplicate = await sqlite.save({ partitionKey: 'user-1', appId: 'app-1', sequenceId: 0, position: 'other', state: { counter: 99 }, status: 'completed' }).then(() => null, (e) => e);
assert.ok(isPersisterError(duplicate), String(duplicate));
assert.ok(duplicate instanceof StateAlreadyExistsError && duplicate instanceof PersisterError);
assert.equal(duplicate.code, 'ALREADY_EXISTS');
// assumeInitialized: the query runs, SQLite answers 'no such table', libsql's classifier maps it.
const fresh = libsql.SQLitePersister.fromValues({ url: 'file:' + dbFile, tableName: 'never_created', assumeInitialized: true });
const uninitialized = await fresh.load('user-1', 'app-1').then(() => null, (e) => e);
assert.ok(isPersisterError(uninitialized) && uninitialized instanceof NotInitializedError, String(uninitialized));
assert.equal(uninitialized.code, 'NOT_INITIALIZED');
let invalid = null;
try { libsql.SQLitePersister.fromValues({ url: '' }); } catch (e) { invalid = e; }
assert.ok(isPersisterError(invalid) && invalid.code === 'INVALID_ARGUMENT', String(invalid));
// ... and across two copies of the package, where instanceof cannot work.
const copy = await import(pathToFileURL(join(process.cwd(), 'vendor/node_modules/burr-edge/dist/index.js')).href);
assert.notEqual(copy.PersisterError, PersisterError);
assert.equal(duplicate instanceof copy.PersisterError, false);
assert.ok(copy.isPersisterError(duplicate) && copy.isPersisterError(uninitialized) && copy.isPersisterError(invalid));
assert.equal(copy.isPersisterError(new Error('plain')), false);
await sqlite.close();
await fresh.close();
report.errors = [duplicate.code, uninitialized.code, invalid.code];

// --- The in-memory persister through burr-edge/testing, with a minimal sequential {describe, it}.
const cases = [];
const names = [];
const framework = {
  describe(name, body) { names.push(name); body(); names.pop(); },
  it(name, body, timeout) { cases.push({ name: [...names, name].join(' > '), body, timeout }); },
};
const packedTarget = { name: 'in-memory (packed)', create: async () => ({ persister: new InMemoryPersister() }) };
testing.runConformanceSuite(packedTarget, framework);
const failures = [];
for (const c of cases) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out after ' + c.timeout + ' ms')), c.timeout ?? 30000); });
  try { await Promise.race([c.body(), timeout]); } catch (e) { failures.push(c.name + ': ' + (e?.stack ?? e)); } finally { clearTimeout(timer); }
}
report.conformance = { cases: cases.length, expected: testing.conformanceCases(packedTarget).length, failures };

// --- IndexedDB over fake-indexeddb (the idb driver, imported by burr-edge/indexeddb).
const idb = indexeddb.IndexedDBPersister.fromValues({ indexedDB: new IDBFactory(), dbName: 'consumer' });
await idb.initialize();
await idb.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'start', state: new State({ big }), status: 'completed' });
assert.equal((await idb.load('p', 'a')).state.big, big);
assert.deepEqual(await idb.listAppIds('p'), ['a']);
await idb.close();

// --- Postgres (Neon over HTTP) and Redis (Upstash REST) against a closed local port: the driver
// loads, its request is refused, and the failure is a burr-edge BackendError (not a missing module).
// Neon's endpoint is set on the consumer's own import of the driver: burr-edge's import is the same instance.
const closedPort = await new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
neonConfig.fetchEndpoint = () => 'http://127.0.0.1:' + closedPort + '/sql';
function chain(error) {
  const out = [];
  // Neon keeps the fetch error as sourceError; everything else as cause.
  for (let e = error, depth = 0; e && depth < 10; e = e.cause ?? e.sourceError, depth++) out.push((e.code ?? '') + ' ' + (e.message ?? e));
  return out.join(' <- ');
}
report.unreachable = {};
for (const [name, persister] of [
  ['postgres', postgres.PostgreSQLPersister.fromValues({ connectionString: 'postgresql://user:secret@ep-smoke.example.neon.tech/db' })],
  ['redis', redis.RedisPersister.fromValues({ url: 'http://127.0.0.1:' + closedPort, token: 'secret', retry: false })],
]) {
  const error = await persister.initialize().then(() => null, (e) => e);
  assert.ok(isPersisterError(error), name + ': ' + chain(error));
  assert.equal(error.code, 'BACKEND', name + ': ' + chain(error));
  assert.doesNotMatch(chain(error), /ERR_MODULE_NOT_FOUND|Cannot find (package|module)/, name);
  assert.match(chain(error), /ECONNREFUSED/, name);
  assert.equal(error.retryable, true, name);
  assert.doesNotMatch(error.message, /secret/, name);
  report.unreachable[name] = chain(error);
  await persister.close();
}

console.log(JSON.stringify(report, (_, v) => (typeof v === 'bigint' ? v.toString() + 'n' : v)));
`;

describe('a consumer project, with plain node', () => {
  it('imports every subpath by its public name and runs each backend it can reach', () => {
    writeFileSync(join(consumer, 'smoke.mjs'), SMOKE);
    const result = timed('node smoke.mjs', () => run(process.execPath, ['smoke.mjs', join(tmp, 'x.db'), JSON.stringify(subpaths)], consumer));
    expect(result.status, result.output).toBe(0);
    const report = JSON.parse(result.output.trim().split('\n').at(-1)!) as {
      resolved: Record<string, string>;
      exports: Record<string, number>;
      listAppIds: string[];
      errors: string[];
      conformance: { cases: number; expected: number; failures: string[] };
      unreachable: Record<string, string>;
    };
    console.log(`consumer smoke: ${report.conformance.cases} conformance cases, errors ${report.errors.join(', ')}; unreachable drivers:\n${Object.entries(report.unreachable).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);

    // Every public name resolved to the installed copy's dist/, not to this repo.
    expect(Object.keys(report.resolved).sort()).toEqual([...subpaths].sort());
    for (const [subpath, url] of Object.entries(report.resolved)) {
      const path = relative(installed, fileURLToPath(url)).split('\\').join('/');
      const key = subpath === manifest.name ? '.' : `./${subpath.slice(manifest.name.length + 1)}`;
      expect(path, subpath).toBe(posix.normalize((manifest.exports[key] as Record<string, string>).default!));
    }
    expect(Object.values(report.exports).every((n) => n > 0)).toBe(true);
    expect(report.listAppIds).toEqual(['app-2', 'app-1']);
    expect(report.errors).toEqual(['ALREADY_EXISTS', 'NOT_INITIALIZED', 'INVALID_ARGUMENT']);
    expect(report.conformance.cases).toBeGreaterThan(0);
    expect(report.conformance.cases).toBe(report.conformance.expected);
    expect(report.conformance.failures).toEqual([]);
    expect(existsSync(join(tmp, 'x.db'))).toBe(true);
  });
});

/** Uses a type and a value from every subpath; compiled, never run. */
const CONSUMER_TS = `
import { State, InMemoryPersister, isPersisterError, initializeFrom, StepSaver, type PersistedStateData, type StatePersister, type SessionPersister, type AppsPage, type JsonObject } from 'burr-edge';
import { SQLitePersister, type SQLitePersisterOptions, type SQLiteFromValues } from 'burr-edge/libsql';
import { PostgreSQLPersister, type PostgreSQLFromValues } from 'burr-edge/postgres';
import { RedisPersister, type RedisFromValues } from 'burr-edge/redis';
import { IndexedDBPersister, type IndexedDBFromValues } from 'burr-edge/indexeddb';
import { runConformanceSuite, conformanceCases, type ConformanceTarget, type TestFramework } from 'burr-edge/testing';
import { BurrTrackingLoader, type BurrTrackingLoaderOptions } from 'burr-edge/tracking';
import { MongoDBPersister, type MongoDBFromValues, type MongoDBFromHttp } from 'burr-edge/mongodb';
import { createMongoDBGatewayHandler, type MongoDBGatewayOptions } from 'burr-edge/mongodb-gateway';

const state: State<{ count: number; big: bigint }> = new State({ count: 1, big: 2n ** 64n });
const next: number = state.update({ count: 2 }).get('count');
const libsqlValues: SQLiteFromValues = { url: 'file:x.db', tableName: 'burr_state' };
const options: SQLitePersisterOptions = { client: async () => ({ execute: async () => ({ rows: [], rowsAffected: 0 }), batch: async () => [], close() {} }) };
const persisters: StatePersister[] = [
  new InMemoryPersister(),
  SQLitePersister.fromValues(libsqlValues),
  new SQLitePersister(options),
  PostgreSQLPersister.fromValues({ connectionString: 'postgres://u:p@host/db' } satisfies PostgreSQLFromValues),
  RedisPersister.fromValues({ url: 'https://example.upstash.io', token: 't', retry: false } satisfies RedisFromValues),
  IndexedDBPersister.fromValues({ dbName: 'app' } satisfies IndexedDBFromValues),
  MongoDBPersister.fromValues({ uri: 'mongodb://127.0.0.1', dbName: 'burr', collectionName: 'burr_state' } satisfies MongoDBFromValues),
  MongoDBPersister.fromHttp({ url: 'https://gateway.example', apiKey: 'k', database: 'burr', collection: 'burr_state' } satisfies MongoDBFromHttp),
];
const gatewayOptions: MongoDBGatewayOptions = { uri: 'mongodb://127.0.0.1', database: 'burr', collection: 'burr_state', apiKeys: ['0123456789abcdef'] };
const gateway: (request: Request) => Promise<Response> = createMongoDBGatewayHandler(gatewayOptions).handle;
const trackingOptions: BurrTrackingLoaderOptions = { storageDir: '~/.burr', project: 'chatbot' };
const tracking: Pick<StatePersister, 'load' | 'listAppIds'> = new BurrTrackingLoader(trackingOptions);
const target: ConformanceTarget = { name: 'in-memory', create: async () => ({ persister: new InMemoryPersister() }) };
const framework: TestFramework = { describe: (_name, body) => body(), it: () => {} };
runConformanceSuite(target, framework);
const caseCount: number = conformanceCases().length;

export async function latest(persister: StatePersister): Promise<JsonObject | undefined> {
  try {
    const data: PersistedStateData | null = await persister.load('p', 'a');
    return data?.state;
  } catch (error) {
    if (isPersisterError(error)) {
      const code:
        | 'ALREADY_EXISTS'
        | 'NOT_INITIALIZED'
        | 'INVALID_ARGUMENT'
        | 'SERIALIZATION'
        | 'STATE_TOO_LARGE'
        | 'BACKEND'
        | 'CLOSED'
        | 'CONCURRENT_UPDATE'
        | 'NOT_FOUND'
        | 'NOT_SUPPORTED' = error.code;
      return { code };
    }
    throw error;
  }
}
// Every backend is a SessionPersister.
const sessionPersisters: SessionPersister[] = [
  new InMemoryPersister(),
  SQLitePersister.fromValues(libsqlValues),
  PostgreSQLPersister.fromValues({ connectionString: 'postgres://u:p@host/db' }),
  RedisPersister.fromValues({ url: 'https://example.upstash.io', token: 't' }),
  IndexedDBPersister.fromValues({ dbName: 'app' }),
  MongoDBPersister.fromHttp({ url: 'https://gateway.example', apiKey: 'k', database: 'burr', collection: 'burr_state' }),
];
export async function firstPage(persister: SessionPersister): Promise<AppsPage> {
  const start = await initializeFrom(persister, { partitionKey: 'p', appId: 'a', defaultState: {}, defaultEntrypoint: 'start' });
  await new StepSaver(persister, { partitionKey: 'p', appId: 'a', nextSequenceId: start.nextSequenceId }).afterStep('start', {});
  return persister.listApps('p', { limit: 10 });
}
export { next, persisters, caseCount, tracking, sessionPersisters };
`;

/** A Node app's setup: no DOM lib, Node's types. Everything but burr-edge/indexeddb. */
const CONSUMER_NODE_TS = CONSUMER_TS.replace(/^import .*'burr-edge\/indexeddb';\n/m, '')
  .replace(/^\s*IndexedDBPersister\.fromValues.*\n/gm, '')
  .replace('const state', "import { readFileSync } from 'node:fs';\nreadFileSync;\nconst state");

const configs: { name: string; file: string; compilerOptions: Record<string, unknown> }[] = [
  { name: 'node16 / node16', file: 'index.ts', compilerOptions: { module: 'node16', moduleResolution: 'node16', types: [] } },
  { name: 'esnext / bundler', file: 'index.ts', compilerOptions: { module: 'esnext', moduleResolution: 'bundler', types: [] } },
  { name: 'node16, lib ES2022 + @types/node (no DOM), without indexeddb', file: 'node.ts', compilerOptions: { module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: ['node'] } },
];

describe("a consumer's TypeScript (strict, skipLibCheck: false)", () => {
  for (const config of configs) {
    it(`resolves every subpath's types and values under ${config.name}`, () => {
      writeFileSync(join(consumer, 'index.ts'), CONSUMER_TS);
      writeFileSync(join(consumer, 'node.ts'), CONSUMER_NODE_TS);
      const tsconfig = `tsconfig.${config.name.replace(/\W+/g, '-')}.json`;
      const compilerOptions = { target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true, noUnusedLocals: false, ...config.compilerOptions };
      writeFileSync(join(consumer, tsconfig), JSON.stringify({ compilerOptions, files: [config.file] }, null, 2));
      const result = timed(`tsc ${config.name}`, () => run(process.execPath, [tsc, '--noEmit', '-p', tsconfig, '--listFiles'], consumer));
      const errors = result.output.split('\n').filter((line) => !line.startsWith('/')).join('\n');
      expect(result.status, errors || result.output).toBe(0);
      // The program read the installed .d.ts files, not this repo's sources.
      const listed = result.output.split('\n').filter((line) => line.startsWith('/'));
      expect(listed).toContain(join(installed, 'dist/index.d.ts'));
      expect(listed.filter((line) => line.startsWith(join(repo, 'src')) || line.startsWith(join(repo, 'dist')))).toEqual([]);
    });
  }
});

describe('the packed bin, as npm links it', () => {
  function linkBin(): string {
    const packedManifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    expect(packedManifest.bin).toEqual(manifest.bin);
    const target = join(installed, packedManifest.bin!['burr-edge']!);
    expect(readFileSync(target, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(target).mode & 0o111).not.toBe(0);
    const link = join(consumer, 'node_modules', '.bin', 'burr-edge');
    if (!existsSync(link)) {
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(relative(dirname(link), target), link);
    }
    return link;
  }

  function runBin(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(linkBin(), args, {
      cwd: consumer,
      encoding: 'utf8',
      timeout: 60_000,
      // `#!/usr/bin/env node` finds this node first on the PATH.
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NODE_OPTIONS: '' },
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('burr-edge --help lists the commands and the store forms', () => {
    const help = runBin(['--help']);
    expect(help.status, help.stderr).toBe(0);
    for (const command of ['list', 'history', 'show', 'copy', 'mongodb-gateway']) expect(help.stdout).toMatch(new RegExp(`^\\s+${command} `, 'm'));
    expect(help.stdout).toContain('burr-tracking:');
  });

  it('burr-edge list and show read a file: database written through the packed library', () => {
    // The smoke run above wrote x.db (app-1 and app-2 of user-1) with the packed SQLitePersister.
    const db = join(tmp, 'bin.db');
    cpSync(join(tmp, 'x.db'), db);
    const list = runBin(['list', `file:${db}`]);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout.trim().split('\n').map((line) => line.split(/\s+/).slice(0, 2))).toEqual([
      ['"user-1"', 'app-2'],
      ['"user-1"', 'app-1'],
    ]);
    const show = runBin(['show', `file:${db}`, 'app-1', '--json']);
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toContain('"big":18446744073709551617');
  });

  it('node_modules/.bin/burr-edge mongodb-gateway serves the harness MongoDB (test server): the URL on one line, then the Data API shapes', async () => {
    const mongo = inject('harness').mongodb[0]!;
    const key = 'packed-gateway-key-0123456789';
    const child = spawn(linkBin(), ['mongodb-gateway', '--port', '0', '--database', mongo.database, '--collection', 'packed_bin'], {
      cwd: consumer,
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NODE_OPTIONS: '', MONGODB_URL: mongo.url, BURR_EDGE_GATEWAY_API_KEYS: key },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL line; stderr: ${stderr}`)), 30_000);
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const line = /^(http:\/\/127\.0\.0\.1:\d+)\n$/.exec(stdout);
          if (line) {
            clearTimeout(timer);
            resolve(line[1]!);
          }
        });
      });
      const response = await fetch(`${url}/action/findOne`, { method: 'POST', headers: { apiKey: key }, body: JSON.stringify({ dataSource: 'x', database: mongo.database, collection: 'packed_bin', filter: {} }) });
      expect([response.status, await response.json()]).toEqual([200, { document: null }]);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

#!/usr/bin/env node
/**
 * `npm run size`: what each subpath export of burr-edge adds to an app's bundle, minified and
 * gzipped, with the database drivers left out (the app pays for its driver anyway).
 *
 * The subpaths come from package.json `exports` (`./dist/x.js` is built from `src/x.ts`), so a
 * new backend needs no edit here; one whose source does not exist yet is reported and skipped.
 *
 * Columns:
 * - `alone`: the subpath bundled by itself (its share of the core, lossless-json, its own code).
 * - `adds`: what it adds to a bundle that already holds the shared core (the root entry) — the
 *   backend's own code. The budget applies to this: ≤ 8 KB min+gzip per backend.
 *
 * `node scripts/size.mjs --json` prints the same figures as JSON; test/bundle/size.test.ts
 * imports this module and asserts the budget and bundle isolation.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Budget for what one backend adds on top of the shared core and its driver, min+gzip bytes.
 * 4 KB held Burr's save/load/list; the session API (conditional saves, history, snapshot
 * listings, retention — Redis's Lua scripts are most of its share) takes a backend to 5–7 KB.
 */
export const BACKEND_BUDGET_BYTES = 8192;

/**
 * The drivers each backend subpath may import (lazily or not). Every other driver — any peer
 * dependency in package.json — must stay out of that subpath's bundle. A subpath missing here
 * may import no driver at all.
 */
export const DRIVERS_BY_SUBPATH = {
  './libsql': ['@libsql/client'],
  './postgres': ['@neondatabase/serverless', 'pg', '@electric-sql/pglite'],
  './redis': ['@upstash/redis'],
  './indexeddb': ['idb'],
  './mongodb': ['mongodb'],
  './mongodb-gateway': ['mongodb'],
};

/**
 * Backends that load their driver by a name bundlers do not follow (so their bundles show no
 * import of it): MongoDB's TCP driver must never enter an edge or browser bundle.
 */
export const RUNTIME_LOADED_DRIVERS = {
  './mongodb': 'fromValues imports `mongodb` at run time; edge bundles use fromHttp',
};

/**
 * Subpaths that run only where files do (Node, Deno, Bun) and so may import Node builtins
 * (`node:*`): they are measured with those left external, and the strict-edge check skips them.
 */
export const NODE_ONLY_SUBPATHS = {
  './mongodb-gateway': 'the MongoDB gateway is a Node HTTP server (node:http, node:crypto)',
  './tracking': "Burr's tracking logs are files on disk",
};

/**
 * The burr-edge bin's own dependencies: no subpath bundle may contain or import them (the
 * library never pays for the command line).
 */
export const BIN_ONLY_PACKAGES = ['commander', 'cli-progress'];

/** Conditions a bundler uses for the browser, Vercel Edge and Workers (wrangler adds `workerd`). */
export const EDGE_CONDITIONS = ['edge-light', 'workerd', 'worker', 'browser'];

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Every driver package: the peer dependencies. */
export const ALL_DRIVERS = Object.keys(pkg.peerDependencies ?? {});

/**
 * The subpath exports and the source each is built from.
 * @returns {{ subpath: string, source: string, exists: boolean, drivers: string[], backend: boolean }[]}
 */
export function subpathEntries() {
  const entries = [];
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    // The build an edge or browser bundler picks (a subpath may have one without its Node-only parts).
    const file = typeof target === 'string' ? target : (target['edge-light'] ?? target.import ?? target.default);
    if (typeof file !== 'string' || !file.startsWith('./dist/') || !file.endsWith('.js')) continue; // ./package.json
    const source = `src/${file.slice('./dist/'.length, -'.js'.length)}.ts`;
    const drivers = DRIVERS_BY_SUBPATH[subpath] ?? [];
    const nodeOnly = subpath in NODE_ONLY_SUBPATHS;
    // A backend is a persister subpath with a driver; a Node-only server (the gateway) is not one.
    entries.push({ subpath, source, exists: existsSync(join(root, source)), drivers, backend: drivers.length > 0 && !nodeOnly, nodeOnly });
  }
  return entries;
}

/** Whether an import path names one of `drivers` (the package or a subpath of it). */
export function isDriverImport(path, drivers = ALL_DRIVERS) {
  return drivers.some((driver) => path === driver || path.startsWith(`${driver}/`));
}

/**
 * Bundles `contents` (an ES module importing from src/) for the edge, minified, drivers external
 * (and Node builtins, for a Node-only subpath).
 */
export async function bundle(contents, { nodeBuiltins = false } = {}) {
  const result = await esbuild.build({
    stdin: { contents, resolveDir: root, sourcefile: 'entry.ts', loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    // A Node-only subpath is bundled for Node: its builtins stay imports, whatever their spelling.
    platform: nodeBuiltins ? 'node' : 'browser',
    conditions: EDGE_CONDITIONS,
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    // Drivers are the app's own dependency; only their import statements stay in the bundle.
    external: [...ALL_DRIVERS.flatMap((driver) => [driver, `${driver}/*`]), ...(nodeBuiltins ? ['node:*'] : [])],
  });
  const code = result.outputFiles[0].contents;
  const output = Object.values(result.metafile.outputs)[0];
  return {
    minBytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    inputs: Object.keys(result.metafile.inputs).map((input) => relative(root, join(root, input))),
    externalImports: [...new Set(output.imports.filter((i) => i.external).map((i) => i.path))].sort(),
  };
}

const reexport = (source) => `export * from ${JSON.stringify(`./${source}`)};\n`;

/**
 * Measures every subpath export.
 * @returns {Promise<{ core: { minBytes: number, gzipBytes: number }, rows: object[], skipped: object[] }>}
 */
export async function measure() {
  const entries = subpathEntries();
  const core = entries.find((e) => e.subpath === '.');
  if (!core?.exists) throw new Error('package.json exports "." must point at an existing src/index.ts');
  const coreBundle = await bundle(reexport(core.source));
  const rows = [];
  const skipped = [];
  for (const entry of entries) {
    if (!entry.exists) {
      skipped.push({ subpath: entry.subpath, source: entry.source, reason: `${entry.source} does not exist yet` });
      continue;
    }
    const options = { nodeBuiltins: entry.nodeOnly };
    const alone = entry === core ? coreBundle : await bundle(reexport(entry.source), options);
    const withCore = entry === core ? coreBundle : await bundle(reexport(core.source) + reexport(entry.source), options);
    rows.push({
      subpath: entry.subpath,
      source: entry.source,
      backend: entry.backend,
      nodeOnly: entry.nodeOnly,
      drivers: entry.drivers,
      minBytes: alone.minBytes,
      gzipBytes: alone.gzipBytes,
      addsMinBytes: entry === core ? alone.minBytes : withCore.minBytes - coreBundle.minBytes,
      addsGzipBytes: entry === core ? alone.gzipBytes : withCore.gzipBytes - coreBundle.gzipBytes,
      budgetBytes: entry.backend ? BACKEND_BUDGET_BYTES : null,
      inputs: alone.inputs,
      externalImports: alone.externalImports,
    });
  }
  return { core: { minBytes: coreBundle.minBytes, gzipBytes: coreBundle.gzipBytes }, rows, skipped };
}

function kb(bytes) {
  return `${(bytes / 1024).toFixed(2)} KB`;
}

async function main() {
  const report = await measure();
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const header = ['subpath', 'alone min', 'alone min+gz', 'adds min', 'adds min+gz', 'budget', 'driver imports (excluded)'];
  const lines = report.rows.map((r) => [
    r.subpath,
    kb(r.minBytes),
    kb(r.gzipBytes),
    r.subpath === '.' ? '(the core)' : kb(r.addsMinBytes),
    r.subpath === '.' ? '(the core)' : kb(r.addsGzipBytes),
    r.budgetBytes === null ? '-' : `${r.addsGzipBytes <= r.budgetBytes ? 'ok' : 'OVER'} ≤ ${kb(r.budgetBytes)}`,
    r.externalImports.join(', ') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const print = (cells) => console.log(cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  print(header);
  print(widths.map((w) => '-'.repeat(w)));
  lines.forEach(print);
  console.log(`\nesbuild ${esbuild.version}, minified ESM for ${EDGE_CONDITIONS.join('/')}, gzip -9; drivers (${ALL_DRIVERS.join(', ')}) left out.`);
  console.log("'adds' = bytes over a bundle that already holds the shared core (the root export). Budget: a backend adds ≤ 8 KB min+gzip.");
  for (const s of report.skipped) console.log(`note: ${s.subpath} skipped — ${s.reason}`);
  const over = report.rows.filter((r) => r.budgetBytes !== null && r.addsGzipBytes > r.budgetBytes);
  if (over.length > 0) {
    console.error(`over budget: ${over.map((r) => `${r.subpath} adds ${r.addsGzipBytes} B`).join(', ')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}

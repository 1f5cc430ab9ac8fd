/**
 * Runs the suite in the runtimes that `vitest run` does not host itself:
 *
 * - `deno`    `deno test` (npm `deno`, offline) on test/runtimes/deno/: the conformance suite for
 *             every fetch-transport backend and libSQL's `file:` path, against a harness started here.
 * - `node22`, `node24`, `bun`  the Node-side suite (`vitest run --project node`) under Node 22,
 *             Node 24 and Bun, binaries from the npm registry in .runtimes/ (scripts/install-runtimes.sh).
 *             Each run's globalSetup starts its own harness.
 *
 * Usage: `tsx scripts/test-runtimes.ts [deno] [node22] [node24] [bun]` (no argument: all). Other
 * binaries can be given with BURR_NODE22, BURR_NODE24, BURR_BUN (paths). Prints each part's wall
 * time and exits non-zero when any part failed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHarness } from '../test/harness/start.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const runtimesDir = join(root, '.runtimes/node_modules');

interface Part {
  name: string;
  run(): Promise<number>;
}

/** Runs a command with inherited output; resolves to its exit code (a signal counts as failure). */
function exec(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the Deno run talks to a harness living in this very process.
    const child = spawn(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** The extra runtimes' binaries, from .runtimes/ (installed there on first use) or the BURR_* variables. */
let installing: Promise<void> | undefined;
function runtimeBinary(variable: string, relative: string): () => Promise<string> {
  return async () => {
    const given = process.env[variable];
    if (given) return given;
    const path = join(runtimesDir, relative);
    // Idempotent and quick when the pinned versions are there; installs or upgrades them otherwise.
    installing ??= exec('bash', [join(root, 'scripts/install-runtimes.sh')]).then((code) => {
      if (code !== 0) throw new Error('scripts/install-runtimes.sh failed (it needs the npm registry)');
    });
    await installing;
    if (!existsSync(path)) throw new Error(`${path} is missing after scripts/install-runtimes.sh; set ${variable} to a binary instead`);
    return path;
  };
}

/** `vitest run --project node` under another runtime; the child's PATH starts with that runtime's bin/. */
function nodeSuite(name: string, binary: () => Promise<string>, runtimeArgs: string[] = []): Part {
  return {
    name,
    async run() {
      const bin = await binary();
      const env = { PATH: `${dirname(bin)}${delimiter}${process.env.PATH ?? ''}`, BURR_EXPECT_RUNTIME: name };
      // The verdict comes from vitest's JSON report, not only the exit code: under `bun --bun`
      // a failed run has been seen to exit 0.
      const report = join(mkdtempSync(join(tmpdir(), `burr-${name}-`)), 'report.json');
      const code = await exec(bin, [...runtimeArgs, vitest, 'run', '--project', 'node', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], env);
      if (!existsSync(report)) throw new Error(`vitest wrote no report under ${name} (exit code ${code})`);
      const { success, numFailedTests, numTotalTests } = JSON.parse(readFileSync(report, 'utf8')) as { success: boolean; numFailedTests: number; numTotalTests: number };
      if (!success || numFailedTests > 0 || numTotalTests === 0) {
        console.error(`${name}: ${numFailedTests} of ${numTotalTests} tests failed${code === 0 ? ' (although the process exited 0)' : ''}`);
        return code === 0 ? 1 : code;
      }
      return code;
    },
  };
}

const parts: Part[] = [
  {
    name: 'deno',
    async run() {
      const { addresses: harness, stop } = await startHarness();
      try {
        const deno = join(root, 'node_modules/.bin/deno');
        if (!existsSync(deno)) throw new Error('node_modules/.bin/deno is missing: run `npm ci` (the `deno` devDependency ships the binary)');
        // --sloppy-imports: the sources import `./x.js` for `./x.ts`, as TypeScript's Bundler resolution does.
        return await exec(deno, ['test', '-A', '--sloppy-imports', 'test/runtimes/deno/'], {
          BURR_HARNESS: JSON.stringify(harness),
          DENO_NO_UPDATE_CHECK: '1',
          DENO_NO_PROMPT: '1',
        });
      } finally {
        await stop();
      }
    },
  },
  nodeSuite('node22', runtimeBinary('BURR_NODE22', 'node22/bin/node')),
  nodeSuite('node24', runtimeBinary('BURR_NODE24', 'node24/bin/node')),
  // `--bun`: child processes (vitest's forks) run in Bun too, not in a `node` found on PATH.
  nodeSuite('bun', runtimeBinary('BURR_BUN', 'bun/bin/bun'), ['--bun']),
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !parts.some((p) => p.name === name));
  if (unknown.length > 0) throw new Error(`unknown runtime ${unknown.join(', ')}; choose from ${parts.map((p) => p.name).join(', ')}`);
  const selected = wanted.length === 0 ? parts : parts.filter((p) => wanted.includes(p.name));
  const results: { name: string; ok: boolean; seconds: number; detail: string }[] = [];
  for (const part of selected) {
    console.log(`\n=== runtime: ${part.name} ===`);
    const started = performance.now();
    let code: number;
    let detail = '';
    try {
      code = await part.run();
    } catch (error) {
      code = 1;
      detail = error instanceof Error ? error.message : String(error);
      console.error(`runtime ${part.name}: ${detail}`);
    }
    results.push({ name: part.name, ok: code === 0, seconds: (performance.now() - started) / 1000, detail: detail || (code === 0 ? '' : `exit code ${code}`) });
  }
  console.log('\nruntime   result  wall time');
  for (const r of results) console.log(`${r.name.padEnd(9)} ${(r.ok ? 'ok' : 'FAILED').padEnd(7)} ${r.seconds.toFixed(1).padStart(6)} s${r.detail ? `  (${r.detail})` : ''}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`runtimes: ${results.length - failed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}

await main();

/**
 * `npm test`: every test runner of the suite, each judged by its exit code AND its
 * machine-readable report, with one closing line that totals the tests over all runners.
 *
 * Parts, in order:
 * - `typecheck` `tsc --noEmit` over src, test, playground, bench and scripts.
 * - `vitest`    `vitest run` under this Node (20): the node, bundle, edge, workerd and browser
 *               projects (vitest.config.ts), reported by test/harness/verdict-reporter.ts.
 * - `deno`      `deno test` (npm `deno`, offline) on test/runtimes/deno/, against a harness started
 *               here, reported as JUnit XML.
 * - `node22`, `node24`, `bun`  `vitest run --project node` under Node 22, Node 24 and Bun
 *               (binaries from the npm registry in .runtimes/, scripts/install-runtimes.sh).
 *
 * A part passes only when its process exited 0, its report exists, and the report counts at
 * least one passed test and no failed test, failed file or unhandled error. A report that says
 * "failed" while the process exited 0 is called out: that is a runner whose exit status lies.
 *
 * Usage: `tsx scripts/test.ts [part ...] [--probe=fail|pass] [--summary=<file>]`
 * - no part: all of them. Other binaries: BURR_NODE22, BURR_NODE24, BURR_BUN (paths).
 * - `--probe=fail|pass`: each runner runs only the exit-status probe (test/probe/), which fails
 *   or passes on purpose; scripts/check-exit-status.ts uses it to prove the verdicts can be trusted.
 * - `--summary=<file>`: also write the per-part results as JSON.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Verdict } from '../test/harness/verdict-reporter.js';
import { judge, junitCounts, type Outcome, type PartResult } from './verdict.js';
import { startHarness } from '../test/harness/start.js';

export type { PartResult };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const runtimesDir = join(root, '.runtimes/node_modules');

type Probe = 'fail' | 'pass';

interface Part {
  name: string;
  /** Not a test runner (no probe to run): left out of probe runs. */
  checkOnly?: boolean;
  run(probe: Probe | undefined): Promise<Outcome>;
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

function reportPath(name: string, file: string): string {
  return join(mkdtempSync(join(tmpdir(), `burr-test-${name}-`)), file);
}

/** The outcome of a vitest run: its exit code and what test/harness/verdict-reporter.ts wrote. */
async function vitestRun(bin: string, runtimeArgs: string[], vitestArgs: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  const file = reportPath('vitest', 'verdict.json');
  const exitCode = await exec(bin, [...runtimeArgs, vitest, 'run', ...vitestArgs, '--reporter=default', '--reporter=./test/harness/verdict-reporter.ts'], {
    ...env,
    BURR_VERDICT_FILE: file,
  });
  if (!existsSync(file)) return { exitCode, passed: 0, failed: 0, skipped: 0, problems: ['vitest wrote no report (did the global setup fail?)'] };
  const verdict = JSON.parse(readFileSync(file, 'utf8')) as Verdict;
  const problems = [
    ...verdict.failedFiles.map((f) => `failed file ${f.startsWith(root) ? f.slice(root.length + 1) : f}`),
    ...verdict.unhandledErrors.map((message) => `unhandled error: ${message}`),
  ];
  return { exitCode, passed: verdict.passed, failed: verdict.failed, skipped: verdict.skipped, problems };
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
    async run(probe) {
      const bin = await binary();
      const env = { PATH: `${dirname(bin)}${delimiter}${process.env.PATH ?? ''}`, BURR_EXPECT_RUNTIME: name, ...probeEnv(probe) };
      return vitestRun(bin, runtimeArgs, ['--project', 'node'], env);
    },
  };
}

function probeEnv(probe: Probe | undefined): NodeJS.ProcessEnv {
  return probe ? { BURR_TEST_PROBE: probe } : {};
}

const parts: Part[] = [
  {
    name: 'typecheck',
    checkOnly: true,
    async run() {
      const exitCode = await exec(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json']);
      return { exitCode, passed: 0, failed: 0, skipped: 0, problems: exitCode === 0 ? [] : ['tsc found type errors'] };
    },
  },
  {
    name: 'vitest',
    run: (probe) => vitestRun(process.execPath, [], probe ? ['--project', 'node'] : [], probeEnv(probe)),
  },
  {
    name: 'deno',
    async run(probe) {
      const deno = join(root, 'node_modules/.bin/deno');
      if (!existsSync(deno)) throw new Error('node_modules/.bin/deno is missing: run `npm ci` (the `deno` devDependency ships the binary)');
      const { addresses: harness, stop } = await startHarness();
      try {
        const file = reportPath('deno', 'junit.xml');
        // --sloppy-imports: the sources import `./x.js` for `./x.ts`, as TypeScript's Bundler resolution does.
        const exitCode = await exec(deno, ['test', '-A', '--sloppy-imports', `--junit-path=${file}`, probe ? 'test/probe/exit-status.deno.ts' : 'test/runtimes/deno/'], {
          BURR_HARNESS: JSON.stringify(harness),
          DENO_NO_UPDATE_CHECK: '1',
          DENO_NO_PROMPT: '1',
          ...probeEnv(probe),
        });
        const counts = existsSync(file) ? junitCounts(readFileSync(file, 'utf8')) : undefined;
        if (!counts) return { exitCode, passed: 0, failed: 0, skipped: 0, problems: ['deno wrote no JUnit report'] };
        const failed = counts.failures + counts.errors;
        return { exitCode, passed: counts.tests - failed - counts.ignored, failed, skipped: counts.ignored, problems: [] };
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

function parseArgs(argv: string[]): { wanted: string[]; probe: Probe | undefined; summary: string | undefined } {
  let probe: Probe | undefined;
  let summary: string | undefined;
  const wanted: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('--probe=')) {
      const value = arg.slice('--probe='.length);
      if (value !== 'fail' && value !== 'pass') throw new Error(`--probe takes fail or pass, not ${value}`);
      probe = value;
    } else if (arg.startsWith('--summary=')) summary = arg.slice('--summary='.length);
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else wanted.push(arg);
  }
  const unknown = wanted.filter((name) => !parts.some((p) => p.name === name));
  if (unknown.length > 0) throw new Error(`unknown part ${unknown.join(', ')}; choose from ${parts.map((p) => p.name).join(', ')}`);
  return { wanted, probe, summary };
}

async function main(): Promise<void> {
  const { wanted, probe, summary } = parseArgs(process.argv.slice(2));
  const selected = parts.filter((p) => (wanted.length === 0 ? !(probe && p.checkOnly) : wanted.includes(p.name)));
  const results: PartResult[] = [];
  for (const part of selected) {
    console.log(`\n=== ${part.name}${probe ? ` (exit-status probe: ${probe})` : ''} ===`);
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = await part.run(probe);
    } catch (error) {
      outcome = { exitCode: 1, passed: 0, failed: 0, skipped: 0, problems: [error instanceof Error ? error.message : String(error)] };
    }
    results.push(judge(part.name, outcome, (performance.now() - started) / 1000));
  }

  console.log('\npart       result  passed  failed  errors  skipped  wall time');
  for (const r of results) {
    const counts = r.name === 'typecheck'
      ? `     -       -  ${String(r.errors).padStart(6)}        -`
      : `${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.errors).padStart(6)}  ${String(r.skipped).padStart(7)}`;
    console.log(`${r.name.padEnd(10)} ${(r.ok ? 'ok' : 'FAILED').padEnd(7)} ${counts}  ${r.seconds.toFixed(1).padStart(7)} s`);
    for (const problem of r.problems) console.log(`           - ${problem}`);
  }
  if (summary) writeFileSync(summary, JSON.stringify(results, null, 2));
  const passed = results.reduce((sum, r) => sum + r.passed, 0);
  const failed = results.reduce((sum, r) => sum + r.failed + r.errors, 0);
  const skipped = results.reduce((sum, r) => sum + r.skipped, 0);
  console.log(`\ntotal: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 2;
}

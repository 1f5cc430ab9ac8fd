/**
 * The guard CI runs before the suite: proves that `npm test`'s exit status can be trusted.
 *
 * It runs `npm test -- --probe=fail` (every runner runs one test that fails on purpose, through
 * the repo's own vitest config, globalSetup and runner script) and requires a non-zero exit, a
 * non-zero exit code from every runner on its own, and a closing line that counts the failures;
 * then `npm test -- --probe=pass` and requires exit 0 with every runner passing its one test.
 * Any other outcome fails CI with a message saying the exit status cannot be trusted.
 *
 * Usage: `npm run test:guard` (`tsx scripts/check-exit-status.ts`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PartResult } from './test.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Every test runner `npm test` starts; each must take part in the probe. */
const RUNNERS = ['vitest', 'deno', 'node22', 'node24', 'bun'];

function npmTest(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['test', '--', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

async function probe(kind: 'fail' | 'pass'): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), `burr-probe-${kind}-`));
  const summaryFile = join(dir, 'summary.json');
  const { code, output } = await npmTest([`--probe=${kind}`, `--summary=${summaryFile}`]);
  writeFileSync(join(dir, 'output.log'), output);
  const wrong: string[] = [];
  let results: PartResult[] = [];
  try {
    results = JSON.parse(readFileSync(summaryFile, 'utf8')) as PartResult[];
  } catch {
    wrong.push('the runner wrote no summary');
  }
  const lastLine = output.trimEnd().split('\n').at(-1) ?? '';
  const expectedLine = kind === 'fail' ? `total: 0 passed, ${RUNNERS.length} failed` : `total: ${RUNNERS.length} passed, 0 failed`;
  if (kind === 'fail' && code === 0) wrong.push('`npm test` exited 0 with a failing test');
  if (kind === 'pass' && code !== 0) wrong.push(`\`npm test\` exited ${code} with every test passing`);
  if (lastLine !== expectedLine) wrong.push(`the closing line is "${lastLine}", not "${expectedLine}"`);
  for (const runner of RUNNERS) {
    const result = results.find((r) => r.name === runner);
    if (!result) {
      wrong.push(`${runner} did not run`);
      continue;
    }
    if (kind === 'fail' && (result.exitCode === 0 || result.failed !== 1)) {
      wrong.push(`${runner}: exit code ${result.exitCode} and ${result.failed} failed test(s) for one failing test`);
    }
    if (kind === 'pass' && (result.exitCode !== 0 || result.passed !== 1 || result.failed !== 0)) {
      wrong.push(`${runner}: exit code ${result.exitCode}, ${result.passed} passed and ${result.failed} failed for one passing test`);
    }
  }
  if (wrong.length > 0) {
    console.error(output);
    console.error(`(output kept in ${join(dir, 'output.log')})`);
  }
  return wrong.map((w) => `probe=${kind}: ${w}`);
}

const started = performance.now();
const wrong = [...(await probe('fail')), ...(await probe('pass'))];
if (wrong.length > 0) {
  console.error("\nThe test runner's exit status cannot be trusted:");
  for (const w of wrong) console.error(`  - ${w}`);
  process.exitCode = 1;
} else {
  console.log(
    `exit-status guard: a failing probe made ${RUNNERS.join(', ')} and \`npm test\` exit non-zero; ` +
      `a passing probe made them exit 0 (${((performance.now() - started) / 1000).toFixed(0)} s)`,
  );
}

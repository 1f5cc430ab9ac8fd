/**
 * Writers in separate processes racing on one session with `expectedSequenceId`, and the
 * checks of the outcome: exactly one winner per step, every step extends the one before, no
 * step lost or duplicated. Each backend's tests call {@link raceProcesses} with its store.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { StatePersister } from '../../src/core/types.js';

const writerScript = fileURLToPath(new URL('./race-writer.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

export interface RaceResult {
  writer: number;
  won: number[];
  lost: number;
}

/**
 * Saves step 0 of `appId` through `persister`, starts `writers` processes on `store` (a CLI
 * store argument), releases them together, and checks the session afterwards through
 * `persister`. Returns what each process reported.
 */
export async function raceProcesses(options: {
  persister: StatePersister;
  store: string;
  partitionKey: string;
  appId: string;
  writers?: number;
  rounds?: number;
  env?: Record<string, string>;
}): Promise<RaceResult[]> {
  const { persister, store, partitionKey, appId, writers = 3, rounds = 8 } = options;
  await persister.save({ partitionKey, appId, sequenceId: 0, position: 'start', state: { log: [] }, status: 'completed', expectedSequenceId: null });
  const children = Array.from({ length: writers }, (_, writer) => {
    const child = spawn(process.execPath, [tsx, writerScript, store, partitionKey, appId, String(writer), String(rounds)], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout });
    const ready = new Promise<void>((resolve) => lines.once('line', () => resolve()));
    const result = new Promise<RaceResult>((resolve, reject) => {
      let last = '';
      lines.on('line', (line) => (last = line));
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`race writer ${writer} exited ${code}: ${stderr.slice(-2000)}`));
        else resolve(JSON.parse(last) as RaceResult);
      });
    });
    return { child, ready, result };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const { child } of children) child.stdin.end('go\n');
  const results = await Promise.all(children.map((c) => c.result));

  const total = writers * rounds;
  const winners = new Map<number, number[]>();
  for (const r of results) for (const step of r.won) winners.set(step, [...(winners.get(step) ?? []), r.writer]);
  expect([...winners.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  for (const [step, who] of winners) expect(who, `winners of step ${step}`).toHaveLength(1);
  const latest = await persister.load(partitionKey, appId);
  expect(latest?.sequenceId).toBe(total);
  const log = latest!.state.log as number[];
  expect(log).toHaveLength(total);
  // Step i's log is step i-1's log plus the winner of step i: nothing lost, nothing duplicated.
  for (let i = 1; i <= total; i++) expect(log[i - 1]).toBe(winners.get(i)![0]);
  for (const r of results) expect(log.filter((w) => w === r.writer)).toHaveLength(rounds);
  return results;
}

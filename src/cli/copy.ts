/**
 * `burr-edge copy`: every step of every matching app from one store into another, in sequence
 * order, safe to run again, ending with a verification of both sides.
 */
import { jsonEqual } from '../core/compare.js';
import { isPersisterError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { PersistedStateData } from '../core/types.js';
import { CliError, type Store } from './stores.js';

export interface CopyOptions {
  partition?: string;
  app?: string;
  dryRun: boolean;
}

/** What the copy reports as it goes (the progress bar or plain lines). */
export interface CopyProgress {
  start(totalSteps: number, apps: number): void;
  step(label: { partitionKey: string; appId: string; sequenceId: number }): void;
  appDone(summary: AppSummary): void;
  stop(): void;
}

export interface AppSummary {
  partitionKey: string;
  appId: string;
  written: number;
  alreadyThere: number;
}

export interface Difference {
  partitionKey: string;
  appId: string;
  what: string;
}

export interface CopyResult {
  apps: AppSummary[];
  steps: number;
  written: number;
  alreadyThere: number;
  seconds: number;
  differences: Difference[];
}

/** A step at the target that differs from the source's: the copy stops here. */
export class CopyConflictError extends CliError {
  constructor(readonly step: PersistedStateData, detail: string) {
    super(
      `conflict: partition ${JSON.stringify(step.partitionKey)}, app ${JSON.stringify(step.appId)}, sequence id ${step.sequenceId} ` +
        `is already in the target with a different ${detail}; nothing of it was overwritten and the copy stopped here`,
      1,
    );
  }
}

/** JSON equality where `-0` equals `0`: PostgreSQL's JSONB keeps no negative zero (docs/decisions.md). */
function sameJson(a: JsonValue, b: JsonValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return jsonEqual(a, b);
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]!));
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson(a[k]!, b[k]!));
}

/** `null` when two steps hold the same record, else what differs. */
function sameStep(a: PersistedStateData, b: PersistedStateData): string | null {
  if (a.position !== b.position) return `position (${JSON.stringify(b.position)}, copying ${JSON.stringify(a.position)})`;
  if (a.status !== b.status) return `status (${b.status}, copying ${a.status})`;
  if (!sameJson(a.state, b.state)) return 'state';
  return null;
}

/** The apps to copy, oldest first, so the target lists them in the source's recency order. */
async function plan(from: Store, options: CopyOptions): Promise<{ partitionKey: string; appId: string }[]> {
  const partitions = options.partition !== undefined ? [options.partition] : await from.partitions();
  const apps: { partitionKey: string; appId: string }[] = [];
  for (const partitionKey of partitions) {
    const ids = await from.loader.listAppIds(partitionKey);
    for (const appId of [...ids].reverse()) if (options.app === undefined || appId === options.app) apps.push({ partitionKey, appId });
  }
  return apps;
}

/**
 * Copies. Per step: a step beyond the target's latest is saved (one round trip); one at or below
 * it is read first and skipped when identical, saved when missing, and stops the copy when it
 * differs (unless the target's own comparison — PostgreSQL's JSONB equality — finds it identical).
 */
export async function copyStores(from: Store, to: Store, options: CopyOptions, progress: CopyProgress): Promise<CopyResult> {
  const writer = to.writer;
  if (!writer) throw new CliError(`${to.label} cannot be written`);
  if (!options.dryRun && !(await to.loader.isInitialized())) await writer.initialize();
  const targetReady = options.dryRun ? await to.loader.isInitialized() : true;
  const apps = await plan(from, options);
  if (apps.length === 0) throw new CliError(`nothing to copy: no app${options.app ? ` ${JSON.stringify(options.app)}` : ''}${options.partition !== undefined ? ` in partition ${JSON.stringify(options.partition)}` : ''} in ${from.label}`);
  let total = 0;
  for (const app of apps) total += await from.count(app.partitionKey, app.appId);
  const started = performance.now();
  const summaries: AppSummary[] = [];
  progress.start(total, apps.length);
  try {
    for (const { partitionKey, appId } of apps) {
      const summary: AppSummary = { partitionKey, appId, written: 0, alreadyThere: 0 };
      const targetLatest = targetReady ? await to.loader.load(partitionKey, appId) : null;
      for await (const step of from.steps(partitionKey, appId)) {
        const existing = targetLatest && step.sequenceId <= targetLatest.sequenceId ? await to.loader.load(partitionKey, appId, step.sequenceId) : null;
        if (existing) {
          const differs = sameStep(step, existing);
          if (differs === null) summary.alreadyThere++;
          else if (options.dryRun) throw new CopyConflictError(step, differs);
          else {
            await save(writer, step, differs); // the target may still judge it identical (JSONB -0, key order)
            summary.alreadyThere++;
          }
        } else {
          if (!options.dryRun) await save(writer, step, 'record');
          summary.written++;
        }
        progress.step(step);
      }
      summaries.push(summary);
      progress.appDone(summary);
    }
  } finally {
    progress.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const differences = options.dryRun ? [] : await verify(from, to, apps);
  return {
    apps: summaries,
    steps: summaries.reduce((n, s) => n + s.written + s.alreadyThere, 0),
    written: summaries.reduce((n, s) => n + s.written, 0),
    alreadyThere: summaries.reduce((n, s) => n + s.alreadyThere, 0),
    seconds,
    differences,
  };
}

async function save(writer: NonNullable<Store['writer']>, step: PersistedStateData, detail: string): Promise<void> {
  try {
    await writer.save({ partitionKey: step.partitionKey, appId: step.appId, sequenceId: step.sequenceId, position: step.position, state: step.state, status: step.status });
  } catch (error) {
    if (isPersisterError(error) && error.code === 'ALREADY_EXISTS') throw new CopyConflictError(step, detail);
    throw error;
  }
}

/** Counts and latest step of each app, compared on both sides. */
export async function verify(from: Store, to: Store, apps: { partitionKey: string; appId: string }[]): Promise<Difference[]> {
  const differences: Difference[] = [];
  for (const { partitionKey, appId } of apps) {
    const [sourceCount, targetCount, sourceLatest, targetLatest] = await Promise.all([
      from.count(partitionKey, appId),
      to.count(partitionKey, appId),
      from.loader.load(partitionKey, appId),
      to.loader.load(partitionKey, appId),
    ]);
    if (sourceCount !== targetCount) differences.push({ partitionKey, appId, what: `${sourceCount} steps in the source, ${targetCount} in the target` });
    if (!sourceLatest || !targetLatest) {
      if (sourceLatest !== targetLatest) differences.push({ partitionKey, appId, what: `latest step: ${sourceLatest ? 'missing in the target' : 'missing in the source'}` });
      continue;
    }
    if (sourceLatest.sequenceId !== targetLatest.sequenceId) {
      differences.push({ partitionKey, appId, what: `latest sequence id ${sourceLatest.sequenceId} in the source, ${targetLatest.sequenceId} in the target` });
      continue;
    }
    const differs = sameStep(sourceLatest, targetLatest);
    if (differs) differences.push({ partitionKey, appId, what: `latest step (sequence id ${sourceLatest.sequenceId}) differs in ${differs}` });
  }
  return differences;
}

/** Helpers the conformance cases share. */
import type { JsonObject } from '../core/json.js';
import type { State } from '../core/state.js';
import type { SaveParams } from '../core/types.js';
import type { ConformanceSubject, ConformanceTarget } from './conformance.js';

export type SubjectFn = (subject: ConformanceSubject, id: string, target: ConformanceTarget) => Promise<void>;
let counter = 0;

export function uniqueId(): string {
  counter++;
  return `c${Date.now().toString(36)}${counter.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export function withSubject(run: SubjectFn, options: { initialize?: boolean } = {}): (target: ConformanceTarget) => Promise<void> {
  return async (target) => {
    const id = uniqueId();
    const subject = await target.create({ id });
    try {
      if (options.initialize !== false) await subject.persister.initialize();
      await run(subject, id, target);
    } finally {
      await subject.persister.close().catch(() => undefined);
      await subject.dispose?.();
    }
  };
}

export function step(partitionKey: string | null | undefined, appId: string, sequenceId: number, state: JsonObject | State = { n: sequenceId }, extra: Partial<SaveParams> = {}): SaveParams {
  return { partitionKey, appId, sequenceId, position: `step-${sequenceId}`, state, status: 'completed', ...extra };
}

export async function roundTripsOf(subject: ConformanceSubject, run: () => Promise<unknown>): Promise<number> {
  const before = subject.roundTrips!();
  await run();
  return subject.roundTrips!() - before;
}


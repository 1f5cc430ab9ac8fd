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


/** A small deterministic PRNG (mulberry32), so a failing property case replays from its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What every runtime project adds to the fetch-transport list, and how exclusions are shown. */
import { InMemoryPersister } from '../../src/index.js';
import { runConformanceSuite, type ConformanceTarget, type TestFramework } from '../../src/testing/index.js';

/** The in-memory persister: proves the core (serde, lossless JSON, errors) runs in the runtime, with no I/O. */
export function inMemoryTarget(): ConformanceTarget {
  return { name: 'in-memory', create: async () => ({ persister: new InMemoryPersister() }) };
}

/** The cases a target leaves out, each with its reason, as lines to print. */
export function exclusionNotes(runtime: string, target: ConformanceTarget): string[] {
  return Object.entries(target.exclude ?? {}).map(([name, reason]) => `[${runtime}] ${target.name}: case "${name}" excluded — ${reason}`);
}

/**
 * Registers the conformance suite of each target. Cases a target excludes are printed with their
 * reason when the file is collected: never dropped silently.
 */
export function runSuites(runtime: string, targets: ConformanceTarget[], framework: TestFramework): void {
  for (const target of targets) {
    for (const note of exclusionNotes(runtime, target)) console.info(note);
    runConformanceSuite(target, framework);
  }
}

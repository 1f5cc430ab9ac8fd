/** What every runtime project adds to the fetch-transport list. */
import { InMemoryPersister } from '../../src/index.js';
import { inDeltaMode, runConformanceSuite, type ConformanceTarget, type TestFramework } from '../../src/testing/index.js';

/** The in-memory persister: proves the core (serde, lossless JSON, errors) runs in the runtime, with no I/O. */
export function inMemoryTarget(): ConformanceTarget {
  return { name: 'in-memory', create: async ({ storage }) => ({ persister: new InMemoryPersister({ ...storage }) }) };
}

/** Registers the whole conformance suite of each target (every case runs in every runtime), in full and in delta mode. */
export function runSuites(_runtime: string, targets: ConformanceTarget[], framework: TestFramework): void {
  for (const target of targets) {
    runConformanceSuite(target, framework);
    runConformanceSuite(inDeltaMode(target), framework);
  }
}

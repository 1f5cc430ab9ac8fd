import { describe, it } from 'vitest';
import { InMemoryPersister } from '../../src/index.js';
import { inDeltaMode, runConformanceSuite, type ConformanceTarget } from '../../src/testing/index.js';

const target: ConformanceTarget = { name: 'in-memory', create: async ({ storage }) => ({ persister: new InMemoryPersister({ ...storage }) }) };
runConformanceSuite(target, { describe, it });
runConformanceSuite(inDeltaMode(target), { describe, it });

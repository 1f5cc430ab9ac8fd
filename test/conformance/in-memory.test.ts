import { describe, it } from 'vitest';
import { InMemoryPersister } from '../../src/index.js';
import { runConformanceSuite } from '../../src/testing/index.js';

runConformanceSuite({ name: 'in-memory', create: async () => ({ persister: new InMemoryPersister() }) }, { describe, it });

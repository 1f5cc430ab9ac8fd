import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { describe, inject, it } from 'vitest';
import { runConformanceSuite } from '../../src/testing/index.js';
import { libsqlLocalTarget, libsqlRemoteTarget } from './libsql-targets.js';

const dir = mkdtempSync(join(tmpdir(), 'burr-edge-libsql-'));

runConformanceSuite(libsqlLocalTarget('libsql (file:)', (id) => `file:${join(dir, `${id}.db`)}`, createClient), { describe, it });
runConformanceSuite(libsqlLocalTarget('libsql (:memory:)', () => ':memory:', createClient), { describe, it });
runConformanceSuite(libsqlRemoteTarget(inject('harness')), { describe, it });

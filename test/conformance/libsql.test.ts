import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { describe, inject, it } from 'vitest';
import { inDeltaMode, runConformanceSuite } from '../../src/testing/index.js';
import { libsqlLocalTarget, libsqlRemoteTarget } from './libsql-targets.js';

const dir = mkdtempSync(join(tmpdir(), 'burr-edge-libsql-'));

const fileTarget = libsqlLocalTarget('libsql (file:)', (id) => `file:${join(dir, `${id}.db`)}`, createClient);
const remoteTarget = libsqlRemoteTarget(inject('harness'));
runConformanceSuite(fileTarget, { describe, it });
runConformanceSuite(inDeltaMode(fileTarget), { describe, it });
runConformanceSuite(libsqlLocalTarget('libsql (:memory:)', () => ':memory:', createClient), { describe, it });
runConformanceSuite(remoteTarget, { describe, it });
runConformanceSuite(inDeltaMode(remoteTarget), { describe, it });

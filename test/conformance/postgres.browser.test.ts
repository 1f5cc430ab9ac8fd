/**
 * PostgreSQL in real Chromium (the browser project): PGlite in the page (WASM, no server), and
 * Neon's WebSocket `Pool` through the harness's proxy with the browser's own WebSocket, each with
 * the PostgreSQL cases. (Neon HTTP runs here through fetch-targets.ts with every fetch backend.)
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, inject, it } from 'vitest';
import { runConformanceSuite, type ConformanceTarget } from '../../src/testing/index.js';
import { neonHttpTarget, neonWebSocketTarget, pgliteTarget, postgresCases } from './postgres-targets.js';

const harness = inject('harness');
const pglite = pgliteTarget(async () => new PGlite(), 'postgres (PGlite in Chromium)');
afterAll(() => pglite.closeDatabase());

const targets: ConformanceTarget[] = [pglite, neonWebSocketTarget(harness)];
for (const target of targets) runConformanceSuite(target, { describe, it });
for (const target of [...targets, neonHttpTarget(harness)]) {
  describe(`postgres cases: ${target.name}`, () => {
    for (const c of postgresCases) it(c.name, () => c.run(target), 30_000);
  });
}

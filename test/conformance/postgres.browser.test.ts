/**
 * PostgreSQL in real Chromium (the browser project): PGlite in the page (WASM, no server), and
 * Neon's WebSocket `Pool` through the harness's proxy with the browser's own WebSocket. (Neon HTTP runs
 * here through fetch-targets.ts with every fetch backend.)
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, inject, it } from 'vitest';
import { runConformanceSuite, type ConformanceTarget } from '../../src/testing/index.js';
import { neonWebSocketTarget, pgliteTarget } from './postgres-targets.js';

const harness = inject('harness');
const pglite = pgliteTarget(async () => new PGlite(), 'postgres (PGlite in Chromium)');
afterAll(() => pglite.closeDatabase());

const targets: ConformanceTarget[] = [pglite, neonWebSocketTarget(harness)];
for (const target of targets) runConformanceSuite(target, { describe, it });

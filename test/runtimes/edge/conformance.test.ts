/**
 * The conformance suite for every fetch-transport backend and Neon's WebSocket Pool, inside Vercel's edge-runtime
 * (`@edge-runtime/vm`), against the harness started by the root globalSetup.
 */
import { describe, expect, inject, it } from 'vitest';
import { fetchTargets, webSocketTargets } from '../../conformance/fetch-targets.js';
import { inMemoryTarget, runSuites } from '../shared.js';

describe('runtime', () => {
  it('is the edge runtime', () => {
    // edge-runtime defines this global; Node does not.
    expect((globalThis as { EdgeRuntime?: unknown }).EdgeRuntime).toBe('edge-runtime');
  });
});

runSuites('edge', [inMemoryTarget(), ...fetchTargets(inject('harness')), ...webSocketTargets(inject('harness'))], { describe, it });

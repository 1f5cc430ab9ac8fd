/**
 * The conformance suite for every fetch-transport backend and Neon's WebSocket Pool inside workerd (Cloudflare's runtime,
 * through @cloudflare/vitest-pool-workers), against the harness started by the root globalSetup.
 */
import { describe, expect, inject, it } from 'vitest';
import { fetchTargets, webSocketTargets } from '../../conformance/fetch-targets.js';
import { inMemoryTarget, runSuites } from '../shared.js';

describe('runtime', () => {
  it('is workerd', () => {
    expect(navigator.userAgent).toBe('Cloudflare-Workers');
  });
});

runSuites('workerd', [inMemoryTarget(), ...fetchTargets(inject('harness')), ...webSocketTargets(inject('harness'))], { describe, it });

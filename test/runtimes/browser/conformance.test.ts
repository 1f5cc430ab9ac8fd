/**
 * The conformance suite for every fetch-transport backend inside real Chromium (vitest browser
 * mode, Debian's `chromium`), against the harness started by the root globalSetup. The page is
 * served by vitest on another origin than the harness's fronts, so this also proves their CORS.
 */
import { describe, expect, inject, it } from 'vitest';
import { fetchTargets } from '../../conformance/fetch-targets.js';
import { inMemoryTarget, runSuites } from '../shared.js';

describe('runtime', () => {
  it('is Chromium', () => {
    expect(navigator.userAgent).toMatch(/Chrome\/\d+/);
    expect(typeof (globalThis as { process?: unknown }).process).toBe('undefined');
  });
});

runSuites('browser', [inMemoryTarget(), ...fetchTargets(inject('harness'))], { describe, it });

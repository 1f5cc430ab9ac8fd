/**
 * The exit-status probe: passes or fails on purpose, as BURR_TEST_PROBE says. vitest.config.ts
 * runs it (and only it) when BURR_TEST_PROBE is set; scripts/check-exit-status.ts runs it through
 * `npm test -- --probe=…` to prove that a failed test turns every runner's exit status non-zero.
 */
import { expect, test } from 'vitest';

test('the exit-status probe has the outcome it was asked for', () => {
  expect(process.env.BURR_TEST_PROBE, 'a deliberate failure: this run must exit non-zero').toBe('pass');
});

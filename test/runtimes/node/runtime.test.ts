/**
 * Which runtime runs the `node` project. scripts/test.ts runs this project under Node 22,
 * Node 24 and Bun and says which in BURR_EXPECT_RUNTIME; this proves the run really happened
 * there (a PATH mix-up would otherwise run the system Node and pass unnoticed).
 */
import { describe, expect, it } from 'vitest';

const expected = process.env.BURR_EXPECT_RUNTIME;
const bun = (process.versions as { bun?: string }).bun;

describe('runtime', () => {
  it(`is ${expected ?? 'Node 20 or later (the main run)'}`, () => {
    const major = Number(process.versions.node.split('.')[0]);
    if (expected === 'bun') {
      expect(bun).toMatch(/^1\./);
    } else if (expected === 'node22' || expected === 'node24') {
      expect(bun).toBeUndefined();
      expect(major).toBe(Number(expected.slice('node'.length)));
    } else {
      expect(expected).toBeUndefined();
      expect(bun).toBeUndefined();
      expect(major).toBeGreaterThanOrEqual(20);
    }
  });
});

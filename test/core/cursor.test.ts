import { describe, expect, it } from 'vitest';
import { decodeAppsCursor, decodePartitionsCursor, encodeAppsCursor, encodePartitionsCursor } from '../../src/core/cursor.js';

const ctx = { operation: 'listApps' as const };

describe('page cursors', () => {
  it('round-trip the snapshot and the last app, for any partition and app id (unicode included)', () => {
    const cursor = { snapshot: ['2026-12-03 10:00:00.123', 42], after: { marker: ['2026-12-03 09:59:59.000', 7], appId: 'app é \u{1F600} "quoted"' } };
    const text = encodeAppsCursor('tenant:1/é', cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeAppsCursor('tenant:1/é', text, ctx)).toEqual(cursor);
    expect(decodePartitionsCursor(encodePartitionsCursor('z\u{1F600}'), ctx)).toBe('z\u{1F600}');
  });

  it("refuse another partition's or another listing's cursor, a damaged one and a made-up one, as INVALID_ARGUMENT", () => {
    const text = encodeAppsCursor('a', { snapshot: 5, after: { marker: 3, appId: 'x' } });
    for (const bad of [() => decodeAppsCursor('b', text, ctx), () => decodePartitionsCursor(text, ctx)]) {
      expect(bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/another listing/) }));
    }
    const damaged = [text.slice(0, -3), `${text}!`, '', 'e30', 'bm90IGpzb24', 'x'.repeat(5000), 42, null];
    for (const cursor of damaged) expect(() => decodeAppsCursor('a', cursor, ctx)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const wrongShape = encodeAppsCursor('a', { snapshot: { nested: true } as never, after: { marker: 3, appId: 'x' } });
    expect(() => decodeAppsCursor('a', wrongShape, ctx)).toThrow(/damaged/);
  });
});

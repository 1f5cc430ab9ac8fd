import { describe, expect, it } from 'vitest';
import { toIsoTimestamp, toSqlTimestamp } from '../../src/core/time.js';

describe('toIsoTimestamp gives ISO 8601 UTC with milliseconds for what each backend stores', () => {
  it.each([
    ['2026-11-27 08:15:03', '2026-11-27T08:15:03.000Z'], // Burr SQLite CURRENT_TIMESTAMP
    ['2026-11-27 08:15:03.626613', '2026-11-27T08:15:03.626Z'], // Burr PostgreSQL timestamp
    ['2026-11-27T08:15:03.850341+00:00', '2026-11-27T08:15:03.850Z'], // Burr Redis / MongoDB isoformat
    ['2026-11-27T10:15:03.5+02:00', '2026-11-27T08:15:03.500Z'],
    ['2026-11-27T03:15:03-0500', '2026-11-27T08:15:03.000Z'],
    ['2026-11-27 08:15:03.123', '2026-11-27T08:15:03.123Z'], // the kit's SQL format
    ['2026-11-27T08:15:03.123Z', '2026-11-27T08:15:03.123Z'],
  ])('%s → %s', (stored, iso) => {
    expect(toIsoTimestamp(stored)).toBe(iso);
  });

  it('accepts Date and epoch milliseconds', () => {
    expect(toIsoTimestamp(new Date(Date.UTC(2026, 0, 2)))).toBe('2026-01-02T00:00:00.000Z');
    expect(toIsoTimestamp(0)).toBe('1970-01-01T00:00:00.000Z');
  });

  it("writes Burr's SQL column format with milliseconds", () => {
    expect(toSqlTimestamp(new Date('2026-11-27T08:15:03.123Z'))).toBe('2026-11-27 08:15:03.123');
  });
});

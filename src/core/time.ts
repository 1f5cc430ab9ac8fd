/** Timestamps: every backend's `created_at` comes back as ISO 8601 UTC with milliseconds. */

// `2026-11-27 08:15:03`, `2026-11-27T08:15:03.850341+00:00`, `…Z`, with or without fraction/offset.
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Normalizes a stored timestamp to `YYYY-MM-DDTHH:MM:SS.sssZ`. A timestamp without an offset is
 * UTC (Burr's SQL persisters write `CURRENT_TIMESTAMP`, which SQLite gives in UTC). Fractions
 * beyond milliseconds are truncated.
 */
export function toIsoTimestamp(value: string | number | Date): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number') return new Date(value).toISOString();
  const match = TIMESTAMP.exec(value.trim());
  if (!match) {
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? value : parsed.toISOString();
  }
  const [, date, time, fraction = '', offset = 'Z'] = match;
  const millis = (fraction + '000').slice(0, 3);
  let normalizedOffset = offset.toUpperCase();
  if (normalizedOffset !== 'Z') {
    const digits = normalizedOffset.replace(':', '');
    normalizedOffset = `${digits.slice(0, 3)}:${digits.slice(3, 5) || '00'}`;
  }
  return new Date(`${date}T${time}.${millis}${normalizedOffset}`).toISOString();
}

/** `YYYY-MM-DD HH:MM:SS.sss` in UTC: Burr's SQL column format, with milliseconds. */
export function toSqlTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** Equality of stored JSON, used to tell an idempotent retry from a conflicting save. */
import { parseJson, type JsonValue } from './json.js';

/** Deep equality of JSON values; object key order does not matter (PostgreSQL's JSONB reorders keys). */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return typeof a !== 'number' || !Object.is(a, -0) === !Object.is(b, -0);
  if (typeof a === 'bigint' || typeof b === 'bigint') return typeof a === typeof b && a === b;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]!));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && jsonEqual(a[key]!, b[key]!));
}

/** Whether two JSON texts hold the same value (whitespace and key order aside). */
export function sameJsonText(a: string, b: string): boolean {
  return a === b || jsonEqual(parseJson(a), parseJson(b));
}

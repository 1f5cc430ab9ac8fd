/**
 * Lossless JSON for stored state.
 *
 * Burr (Python) writes integers of any size. `JSON.parse` would round 9007199254740993 to
 * 9007199254740992, so text holding a long run of digits takes the lossless-json path, where
 * an integer that does not fit a double becomes a BigInt. Everything else uses the native
 * parser, which is several times faster.
 */
import { LosslessNumber, isSafeNumber, parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { SerializationError, type ErrorContext } from './errors.js';

/** A JSON value as the kit reads and writes it: integers beyond 2^53 are `bigint`. */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// 2^53 has 16 digits, so a shorter run of digits can never be an unsafe integer.
const LONG_DIGIT_RUN = /\d{16}/;

function parseNumber(text: string): number | bigint {
  if (isSafeNumber(text)) return Number(text);
  // Only integers are kept exact; a long decimal fraction is a float in every language.
  return /^-?\d+$/.test(text) ? BigInt(text) : Number(text);
}

/** Parses JSON text, keeping integers beyond 2^53 exact as `bigint`. */
export function parseJson(text: string, context: ErrorContext = {}): JsonValue {
  try {
    if (!LONG_DIGIT_RUN.test(text)) return JSON.parse(text) as JsonValue;
    return parseLossless(text, null, parseNumber) as JsonValue;
  } catch (error) {
    throw new SerializationError(`stored state is not valid JSON (${(error as Error).message})`, { ...context, cause: error });
  }
}

interface WalkResult {
  /** The tree holds a bigint or a negative zero, which the native stringifier cannot write. */
  needsLossless: boolean;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'undefined';
  const name = (value as object).constructor?.name;
  return name ? `a ${name}` : 'an object without a prototype';
}

/** An object literal or `Object.create(null)`: what JSON objects are made of. */
export function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that `value` is JSON-safe, so that nothing is silently dropped by `JSON.stringify`
 * (functions, symbols) and no cycle or non-finite number reaches the database.
 */
function walk(value: unknown, path: string, seen: Set<object>, result: WalkResult, context: ErrorContext): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new SerializationError(`${value} cannot be stored as JSON; wrap the state in State, which tags it`, { ...context, path });
      }
      if (Object.is(value, -0)) result.needsLossless = true;
      return;
    case 'bigint':
      result.needsLossless = true;
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) throw new SerializationError('the state contains a cycle', { ...context, path });
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, index) => walk(item, `${path}[${index}]`, seen, result, context));
      } else if (value instanceof LosslessNumber) {
        result.needsLossless = true;
      } else if (isPlainObject(value)) {
        for (const [key, item] of Object.entries(value)) {
          // Like JSON, an undefined property is an absent property.
          if (item !== undefined) walk(item, `${path}.${key}`, seen, result, context);
        }
      } else {
        throw new SerializationError(
          `${describe(value)} is not JSON; pass a State (which serializes Date, Map, Set, …) or convert it first`,
          { ...context, path },
        );
      }
      seen.delete(value);
      return;
    }
    default:
      throw new SerializationError(`${describe(value)} cannot be serialized`, { ...context, path });
  }
}

function losslessReplacer(_key: string, value: unknown): unknown {
  // lossless-json writes a LosslessNumber verbatim; "-0.0" is how Python writes a negative zero.
  if (typeof value === 'number' && Object.is(value, -0)) return new LosslessNumber('-0.0');
  return value;
}

/**
 * Serializes a JSON-safe object to text, exactly: a bigint is written as a plain JSON integer
 * and -0 as `-0.0`. Throws {@link SerializationError} for anything JSON cannot hold, before
 * any I/O can happen.
 */
export function stringifyJson(value: unknown, context: ErrorContext = {}, path = 'state'): string {
  const result: WalkResult = { needsLossless: false };
  walk(value, path, new Set(), result, context);
  if (!result.needsLossless) return JSON.stringify(value);
  const text = stringifyLossless(value, losslessReplacer);
  if (text === undefined) throw new SerializationError('value cannot be serialized', { ...context, path });
  return text;
}

const encoder = new TextEncoder();

/** UTF-8 size of `text`, without encoding it when it is obviously small. */
export function utf8Length(text: string): number {
  // ASCII-only strings (the common case for JSON state) are one byte per code unit.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).length;
}

/**
 * Tiny assertions for the conformance suite, so it runs under any test framework and in any
 * runtime (workerd, Deno, the browser) without `node:assert`.
 */
import { jsonEqual } from '../core/compare.js';
import type { JsonValue } from '../core/json.js';
import { isPersisterError, type PersisterErrorCode } from '../core/errors.js';

export class ConformanceFailure extends Error {
  override name = 'ConformanceFailure';
}

function show(value: unknown): string {
  try {
    const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    return text === undefined ? String(value) : text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return String(value);
  }
}

export function ok(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

export function equal<T>(actual: T, expected: T, message: string): void {
  if (!Object.is(actual, expected)) throw new ConformanceFailure(`${message}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Deep equality of JSON values (bigint exact, -0 distinct from 0, key order ignored). */
export function jsonEquals(actual: unknown, expected: unknown, message: string): void {
  if (!jsonEqual(actual as JsonValue, expected as JsonValue)) {
    throw new ConformanceFailure(`${message}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** Awaits `run` and checks it fails with a burr-edge error of `code`. Returns the error. */
export async function rejectsWith(run: () => Promise<unknown>, code: PersisterErrorCode, message: string): Promise<Error & { code: string; retryable?: boolean }> {
  let result: unknown;
  try {
    result = await run();
  } catch (error) {
    if (!isPersisterError(error)) throw new ConformanceFailure(`${message}: expected a PersisterError ${code}, got ${String(error)}`);
    if (error.code !== code) throw new ConformanceFailure(`${message}: expected code ${code}, got ${error.code} (${error.message})`);
    return error;
  }
  throw new ConformanceFailure(`${message}: expected a ${code} error, but it resolved with ${show(result)}`);
}

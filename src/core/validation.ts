/** Argument checks shared by every persister. They run before any I/O. */
import { InvalidArgumentError, type ErrorContext } from './errors.js';
import type { PersistedStatus } from './types.js';

/** Identifiers spliced into SQL (table names): a letter or `_`, then letters, digits, `_`; 63 at most. */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function validateIdentifier(argument: string, value: unknown, context: ErrorContext = {}): string {
  if (typeof value !== 'string' || !IDENTIFIER_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      argument,
      `${JSON.stringify(value)} is not a valid identifier (letters, digits and _, starting with a letter or _, at most 63 characters)`,
      context,
    );
  }
  return value;
}

/** Half of a UTF-16 surrogate pair without its other half. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Ids are stored as UTF-8 by every backend, which turns a lone surrogate into U+FFFD: two
 * different ids would then address the same records. Refused for every operation.
 */
function checkWellFormed(argument: string, value: string, context: ErrorContext): string {
  if (LONE_SURROGATE.test(value)) throw new InvalidArgumentError(argument, 'contains a lone UTF-16 surrogate, which UTF-8 storage cannot hold', context);
  return value;
}

export function normalizePartitionKey(value: unknown, context: ErrorContext = {}): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new InvalidArgumentError('partitionKey', `must be a string, null or undefined, got ${typeof value}`, context);
  return checkWellFormed('partitionKey', value, context);
}

export function validateAppId(value: unknown, context: ErrorContext = {}): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError('appId', `must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}`, context);
  }
  return checkWellFormed('appId', value, context);
}

export function validateSequenceId(value: unknown, context: ErrorContext = {}): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || Object.is(value, -0)) {
    throw new InvalidArgumentError('sequenceId', `must be a non-negative integer, got ${typeof value === 'number' ? value : typeof value}`, context);
  }
  // Burr's SQL column is a 32-bit INTEGER in PostgreSQL; refuse what some backend would truncate.
  if (value > 2147483647) throw new InvalidArgumentError('sequenceId', `must be at most 2147483647, got ${value}`, context);
  return value;
}

export function validatePosition(value: unknown, context: ErrorContext = {}): string {
  if (typeof value !== 'string') throw new InvalidArgumentError('position', `must be a string, got ${typeof value}`, context);
  return checkWellFormed('position', value, context);
}

export function validateStatus(value: unknown, context: ErrorContext = {}): PersistedStatus {
  if (value !== 'completed' && value !== 'failed') {
    throw new InvalidArgumentError('status', `must be 'completed' or 'failed', got ${JSON.stringify(value)}`, context);
  }
  return value;
}

export function validateLimit(value: unknown, context: ErrorContext = {}): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError('limit', `must be a positive integer, got ${String(value)}`, context);
  }
  return value;
}

/**
 * Whether JSON text encodes a NUL character (`\u0000` not itself escaped), which PostgreSQL's
 * JSONB cannot store.
 */
export function jsonTextHasNul(jsonText: string): boolean {
  return jsonText.includes('\\u0000') && /(?:^|[^\\])(?:\\\\)*\\u0000/.test(jsonText);
}

/**
 * Page cursors: opaque to callers, versioned, and checked on the way back in, so a cursor from
 * another partition, another listing or a hand edit is an `InvalidArgumentError`, never a
 * silently wrong page. The payload is JSON in base64url (no `node:` Buffer: runs everywhere).
 */
import { InvalidArgumentError, type ErrorContext } from './errors.js';

/** A backend's position in its ordering: a number, a text, or a tuple of them. */
export type PageMarker = string | number | (string | number)[];

const VERSION = 1;

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

function isMarker(value: unknown): value is PageMarker {
  const scalar = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
  return scalar(value) || (Array.isArray(value) && value.length > 0 && value.length <= 4 && value.every(scalar));
}

/** `kind` names the listing (and its scope) the cursor belongs to, e.g. `apps:<partition>`. */
export function encodeCursor(kind: string, payload: Record<string, unknown>): string {
  return toBase64Url(JSON.stringify({ v: VERSION, k: kind, ...payload }));
}

/** Decodes a cursor made by {@link encodeCursor} for the same `kind`, or throws `InvalidArgumentError`. */
export function decodeCursor(kind: string, cursor: unknown, context: ErrorContext): Record<string, unknown> {
  const refuse = (why: string): never => {
    throw new InvalidArgumentError('cursor', `${why}; pass the nextCursor of the previous page of the same listing, or omit it for the first page`, context);
  };
  if (typeof cursor !== 'string' || cursor === '' || cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return refuse('not a cursor this kit made');
  let payload: unknown;
  try {
    payload = JSON.parse(fromBase64Url(cursor));
  } catch {
    return refuse('not a cursor this kit made');
  }
  if (typeof payload !== 'object' || payload === null || (payload as { v?: unknown }).v !== VERSION) return refuse('not a cursor this kit made');
  if ((payload as { k?: unknown }).k !== kind) return refuse('made by another listing (another partition or method)');
  return payload as Record<string, unknown>;
}

/** The apps-listing cursor: the snapshot the listing started from and the last app shown. */
export interface AppsCursor {
  snapshot: PageMarker;
  after: { marker: PageMarker; appId: string };
}

export function encodeAppsCursor(partitionKey: string, cursor: AppsCursor): string {
  return encodeCursor(`apps:${partitionKey}`, { s: cursor.snapshot, m: cursor.after.marker, a: cursor.after.appId });
}

export function decodeAppsCursor(partitionKey: string, cursor: unknown, context: ErrorContext): AppsCursor {
  const payload = decodeCursor(`apps:${partitionKey}`, cursor, context);
  const { s, m, a } = payload;
  if (!isMarker(s) || !isMarker(m) || typeof a !== 'string') {
    throw new InvalidArgumentError('cursor', 'is damaged; pass the nextCursor of the previous page unchanged', context);
  }
  return { snapshot: s, after: { marker: m, appId: a } };
}

export function encodePartitionsCursor(after: string): string {
  return encodeCursor('partitions', { a: after });
}

export function decodePartitionsCursor(cursor: unknown, context: ErrorContext): string {
  const { a } = decodeCursor('partitions', cursor, context);
  if (typeof a !== 'string') throw new InvalidArgumentError('cursor', 'is damaged; pass the nextCursor of the previous page unchanged', context);
  return a;
}

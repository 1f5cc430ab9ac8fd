/**
 * Incremental storage (`storage: 'delta'`): a step stores only what changed since the previous
 * step its persister saved of the same app; every `snapshotEvery` steps, and whenever a delta
 * would not be smaller, the whole state. Format version 1 (docs/delta.md):
 *
 * - A **snapshot** is a Burr row: the state's JSON, unchanged, so Burr's Python reads it. When it
 *   is large and compression pays, it is `{"__burr_edge_delta__": {"v": 1, "z": "deflate", "data": "<base64>"}}`.
 * - A **delta** is `{"__burr_edge_delta__": {"v": 1, "prev": 14, "set": {…}, "append": {…}, "unset": […], "keys": […]}}`:
 *   `set` holds top-level fields whose value changed, `append` the new tail of list fields that
 *   only grew, `unset` the fields removed, `keys` the field order when it is not the natural one.
 *   A large delta body is compressed the same way (`z`/`data` in place of those fields).
 *
 * Chains are bounded by blocks: the steps `b·K … b·K + K - 1` (K = `snapshotEvery`) form a block,
 * a delta's `prev` is always in its own block, and so the step at `b·K` — or the first step a
 * persister saved there — is a snapshot. Any step rebuilds from the rows of its block at or below
 * it, which one range read fetches.
 */
import { unzlibSync } from 'fflate/browser';
import { BackendError, NotSupportedError, type ErrorContext } from './errors.js';
import { parseJson, stringifyJson, utf8Length, type JsonObject, type JsonValue } from './json.js';
import { FORK_KEY } from './lineage.js';

/** The reserved top-level field that marks a row written in delta mode. */
export const DELTA_KEY = '__burr_edge_delta__';
export const DELTA_FORMAT_VERSION = 1;

/** How a persister in `storage: 'delta'` mode writes. */
export interface DeltaOptions {
  /** A full snapshot at least every this many sequence ids (the block size). @default 50 */
  snapshotEvery?: number;
  /**
   * Compress a row's body with the platform's `CompressionStream` (deflate) when its JSON is at
   * least this many bytes and compression saves a quarter of it; `false`: never.
   * Runtimes without `CompressionStream` write uncompressed. @default 4096
   */
  compressAbove?: number | false;
  /** Apps whose last saved state the persister remembers (least recently saved forgotten first). @default 1000 */
  rememberApps?: number;
  /** Size of the remembered states (their JSON, in UTF-16 code units) at most, over every app. @default 64 Mi (2^26) */
  rememberBytes?: number;
}

export interface ResolvedDeltaOptions {
  snapshotEvery: number;
  compressAbove: number | false;
  rememberApps: number;
  rememberBytes: number;
}

export function resolveDeltaOptions(options: DeltaOptions | undefined, invalid: (field: string, message: string) => Error): ResolvedDeltaOptions {
  const snapshotEvery = options?.snapshotEvery ?? 50;
  if (!Number.isSafeInteger(snapshotEvery) || snapshotEvery < 1 || snapshotEvery > 10_000) {
    throw invalid('delta.snapshotEvery', `must be an integer from 1 to 10000, got ${String(snapshotEvery)}`);
  }
  const compressAbove = options?.compressAbove ?? 4096;
  if (compressAbove !== false && (typeof compressAbove !== 'number' || !Number.isSafeInteger(compressAbove) || compressAbove < 0)) {
    throw invalid('delta.compressAbove', `must be a non-negative integer or false, got ${String(compressAbove)}`);
  }
  const rememberApps = options?.rememberApps ?? 1000;
  if (!Number.isSafeInteger(rememberApps) || rememberApps < 0) throw invalid('delta.rememberApps', `must be a non-negative integer, got ${String(rememberApps)}`);
  const rememberBytes = options?.rememberBytes ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(rememberBytes) || rememberBytes < 0) throw invalid('delta.rememberBytes', `must be a non-negative integer, got ${String(rememberBytes)}`);
  return { snapshotEvery, compressAbove, rememberApps, rememberBytes };
}

/** A state split into its top-level fields, each serialized once. */
export interface FieldTexts {
  keys: string[];
  /** Field name → its value's JSON text. */
  texts: Map<string, string>;
  /**
   * Length of the whole state's JSON in UTF-16 code units: what the memory bound and the
   * "is a delta smaller" test compare (measuring UTF-8 would encode every text once more; the
   * size limits, where a backend has one, measure UTF-8 exactly).
   */
  bytes: number;
}

/** Serializes a state field by field (same text as serializing it whole, in pieces a delta can reuse). */
export function serializeFields(state: JsonObject, context: ErrorContext): FieldTexts {
  const keys: string[] = [];
  const texts = new Map<string, string>();
  let bytes = 2;
  for (const key of Object.keys(state)) {
    const value = state[key];
    if (value === undefined) continue; // as JSON.stringify: an undefined property is absent
    const text = stringifyJson(value, context, `state.${key}`);
    keys.push(key);
    texts.set(key, text);
    bytes += key.length + 3 + text.length + (keys.length > 1 ? 1 : 0);
  }
  return { keys, texts, bytes };
}

/** The whole state's JSON text, from its fields' texts: what `stringifyJson(state)` gives. */
export function joinFields(fields: FieldTexts): string {
  let text = '{';
  fields.keys.forEach((key, index) => {
    text += `${index ? ',' : ''}${JSON.stringify(key)}:${fields.texts.get(key)!}`;
  });
  return `${text}}`;
}

/** What a persister remembers of the last step it saved of an app. */
export interface RememberedStep {
  sequenceId: number;
  fields: FieldTexts;
}

/** Bounded memory of each app's last saved step: least recently saved forgotten first. */
export class StepMemory {
  readonly #steps = new Map<string, RememberedStep>();
  #bytes = 0;

  constructor(
    private readonly maxApps: number,
    private readonly maxBytes: number,
  ) {}

  static key(partitionKey: string, appId: string): string {
    return JSON.stringify([partitionKey, appId]);
  }

  get(key: string): RememberedStep | undefined {
    return this.#steps.get(key);
  }

  remember(key: string, step: RememberedStep): void {
    this.forget(key);
    if (this.maxApps === 0 || step.fields.bytes > this.maxBytes) return;
    this.#steps.set(key, step);
    this.#bytes += step.fields.bytes;
    for (const [oldest, old] of this.#steps) {
      if (this.#steps.size <= this.maxApps && this.#bytes <= this.maxBytes) break;
      this.#steps.delete(oldest);
      this.#bytes -= old.fields.bytes;
    }
  }

  forget(key: string): void {
    const old = this.#steps.get(key);
    if (!old) return;
    this.#steps.delete(key);
    this.#bytes -= old.fields.bytes;
  }

  /** Forgets every app matching `predicate` (after a prune or delete). */
  forgetWhere(predicate: (partitionKey: string, appId: string) => boolean): void {
    for (const key of [...this.#steps.keys()]) {
      const [partitionKey, appId] = JSON.parse(key) as [string, string];
      if (predicate(partitionKey, appId)) this.forget(key);
    }
  }

  get size(): number {
    return this.#steps.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

export const blockOf = (sequenceId: number, snapshotEvery: number): number => Math.floor(sequenceId / snapshotEvery);

/** A delta's body as JSON text, or `undefined` when nothing would make it smaller than `limit` bytes. */
export function diffFields(previous: FieldTexts, next: FieldTexts): string {
  const parts: string[] = [];
  const set: string[] = [];
  const append: string[] = [];
  for (const key of next.keys) {
    const text = next.texts.get(key)!;
    const old = previous.texts.get(key);
    if (old === text) continue;
    const name = JSON.stringify(key);
    const tail = old === undefined ? undefined : appendedTail(old, text);
    if (tail !== undefined) append.push(`${name}:[${tail}]`);
    else set.push(`${name}:${text}`);
  }
  const unset = previous.keys.filter((key) => !next.texts.has(key));
  if (set.length) parts.push(`"set":{${set.join(',')}}`);
  if (append.length) parts.push(`"append":{${append.join(',')}}`);
  if (unset.length) parts.push(`"unset":${JSON.stringify(unset)}`);
  if (!sameOrder(naturalOrder(previous.keys, next, unset), next.keys)) parts.push(`"keys":${JSON.stringify(next.keys)}`);
  return parts.join(',');
}

/**
 * When `next` is `previous` with elements added at the end, the added elements' JSON (without
 * brackets). Sound on compact JSON: `[a,b` followed by `,` can only begin an array whose first
 * elements are `a` and `b`, since each element's text is a complete JSON value.
 */
function appendedTail(previous: string, next: string): string | undefined {
  if (previous.charCodeAt(0) !== 91 || next.charCodeAt(0) !== 91 || next.length <= previous.length) return undefined;
  if (previous === '[]') return next.length > 2 ? next.slice(1, -1) : undefined;
  const head = previous.length - 1;
  if (next.charCodeAt(head) !== 44 || !next.startsWith(previous.slice(0, head))) return undefined;
  return next.slice(head + 1, -1);
}

/** The field order applying set/append/unset to `previous` gives: kept fields in place, new ones last. */
function naturalOrder(previousKeys: string[], next: FieldTexts, unset: string[]): string[] {
  const removed = new Set(unset);
  const order = previousKeys.filter((key) => !removed.has(key));
  const known = new Set(previousKeys);
  for (const key of next.keys) if (!known.has(key)) order.push(key);
  return order;
}

function sameOrder(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((key, index) => key === b[index]);
}

const COMPRESSION = 'deflate';

/** Whether this runtime can compress rows (the WHATWG Compression Streams API). */
export function canCompress(): boolean {
  return typeof CompressionStream === 'function' && typeof DecompressionStream === 'function';
}

async function pipeBytes(bytes: Uint8Array<ArrayBuffer>, stream: CompressionStream | DecompressionStream): Promise<Uint8Array<ArrayBuffer>> {
  const writer = stream.writable.getWriter();
  void writer.write(bytes).catch(() => undefined);
  void writer.close().catch(() => undefined);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value as Uint8Array);
    size += (value as Uint8Array).length;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The body compressed and base64-encoded, or `undefined` when that does not save a quarter of it. */
export async function compressText(text: string): Promise<string | undefined> {
  const raw = encoder.encode(text);
  const packed = toBase64(await pipeBytes(raw, new CompressionStream(COMPRESSION)));
  return packed.length <= raw.length * 0.75 ? packed : undefined;
}

/**
 * Inflates with fflate's `unzlibSync` (zlib format, what `CompressionStream('deflate')` writes),
 * on every runtime: synchronous, about four times faster than a `DecompressionStream` for a
 * 100 KB state in Node (whose stream machinery costs ~1 ms a call, more than parsing the state),
 * and present where Compression Streams are not (Vercel's Edge Runtime).
 */
function decompressText(data: string, context: ErrorContext): string {
  try {
    return decoder.decode(unzlibSync(fromBase64(data)));
  } catch (error) {
    throw new BackendError(`a compressed step could not be decompressed (${(error as Error).message})`, { ...context, cause: error, retryable: false });
  }
}

/** What the writer decided for one save. */
export interface EncodedStep {
  /** The row's state column. */
  stateJson: string;
  kind: 'snapshot' | 'delta';
}

/** Wraps a body as a stored row: plain, or compressed when large and worth it. Keeps fork lineage readable beside a compressed body. */
export async function encodeRow(
  body: { kind: 'snapshot'; text: string } | { kind: 'delta'; prev: number; text: string },
  compressAbove: number | false,
  forkJson: string | undefined,
): Promise<string> {
  const plain = body.kind === 'snapshot' ? body.text : `{"${DELTA_KEY}":{"v":${DELTA_FORMAT_VERSION},"prev":${body.prev}${body.text ? `,${body.text}` : ''}}}`;
  if (compressAbove === false || !canCompress() || utf8Length(plain) < compressAbove) return plain;
  const inner = body.kind === 'snapshot' ? body.text : `{${body.text}}`;
  const data = await compressText(inner);
  if (data === undefined) return plain;
  const prev = body.kind === 'delta' ? `"prev":${body.prev},` : '';
  const fork = forkJson === undefined ? '' : `,"${FORK_KEY}":${forkJson}`;
  return `{"${DELTA_KEY}":{"v":${DELTA_FORMAT_VERSION},${prev}"z":"${COMPRESSION}","data":"${data}"}${fork}}`;
}

/** A stored row's state column, decoded: a full state, or a delta against `prev`. */
export type DecodedRow =
  | { kind: 'snapshot'; state: JsonObject }
  | { kind: 'delta'; prev: number; set: JsonObject | undefined; append: JsonObject | undefined; unset: string[] | undefined; keys: string[] | undefined };

/** Whether parsed state JSON is a delta-mode row (as opposed to a Burr row, which is a plain state). */
export function isDeltaRow(state: JsonObject): boolean {
  return Object.prototype.hasOwnProperty.call(state, DELTA_KEY);
}

function corrupt(message: string, context: ErrorContext): BackendError {
  return new BackendError(`stored step is not a readable delta row: ${message}`, { ...context, retryable: false });
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The step a stored row is a delta against, or `undefined` for a snapshot (or a Burr row). Reads only the header. */
export function deltaPrev(stateJson: string, context: ErrorContext): number | undefined {
  if (!stateJson.includes(DELTA_KEY)) return undefined;
  const parsed = parseJson(stateJson, context);
  if (!isObject(parsed) || !isDeltaRow(parsed)) return undefined;
  const header = parsed[DELTA_KEY];
  return isObject(header) && typeof header.prev === 'number' ? header.prev : undefined;
}

/** Decodes a row's parsed state column. */
export function decodeRow(state: JsonObject, context: ErrorContext): DecodedRow {
  if (!isDeltaRow(state)) return { kind: 'snapshot', state };
  const header = state[DELTA_KEY];
  if (!isObject(header)) throw corrupt(`${DELTA_KEY} is not an object`, context);
  if (header.v !== DELTA_FORMAT_VERSION) {
    throw new NotSupportedError(`this step was written in delta format v${String(header.v)}; this burr-edge reads v${DELTA_FORMAT_VERSION}: upgrade burr-edge`, context);
  }
  let body: JsonObject = header;
  if (header.z !== undefined) {
    if (header.z !== COMPRESSION || typeof header.data !== 'string') throw corrupt(`unknown compression ${JSON.stringify(String(header.z))}`, context);
    const inner = parseJson(decompressText(header.data, context), context);
    if (!isObject(inner)) throw corrupt('the compressed body is not an object', context);
    if (header.prev === undefined) return { kind: 'snapshot', state: inner };
    body = inner;
  }
  const prev = header.prev;
  if (typeof prev !== 'number' || !Number.isSafeInteger(prev) || prev < 0) throw corrupt('prev is not a sequence id', context);
  const { set, append, unset, keys } = body;
  if (set !== undefined && !isObject(set)) throw corrupt('set is not an object', context);
  if (append !== undefined && !isObject(append)) throw corrupt('append is not an object', context);
  if (unset !== undefined && !(Array.isArray(unset) && unset.every((key) => typeof key === 'string'))) throw corrupt('unset is not a list of names', context);
  if (keys !== undefined && !(Array.isArray(keys) && keys.every((key) => typeof key === 'string'))) throw corrupt('keys is not a list of names', context);
  return { kind: 'delta', prev, set, append, unset: unset as string[] | undefined, keys: keys as string[] | undefined };
}

function setField(target: JsonObject, key: string, value: JsonValue): void {
  // A field literally named __proto__ must stay a field, not become the prototype.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Applies a delta to the state of its `prev` step (not modified): the state it was saved as. */
export function applyDelta(base: JsonObject, delta: Extract<DecodedRow, { kind: 'delta' }>, context: ErrorContext): JsonObject {
  const state: JsonObject = {};
  for (const key of Object.keys(base)) setField(state, key, base[key]!);
  // The lists that grow are copied, so that `base` stays as it was.
  if (delta.append) for (const key of Object.keys(delta.append)) if (Array.isArray(state[key])) setField(state, key, [...(state[key] as JsonValue[])]);
  return applyDeltaInPlace(state, delta, context);
}

/**
 * Rebuilds the state of step `target` from its app's rows (state column text by sequence id; any
 * extra rows are ignored, and only the chain's rows are parsed). Returns `{ missing }` when a
 * row the chain needs is not among them, so the caller can fetch the rows below and try again.
 */
export function rebuild(target: number, rows: ReadonlyMap<number, string>, context: ErrorContext): { state: JsonObject } | { missing: number } {
  const deltas: Extract<DecodedRow, { kind: 'delta' }>[] = [];
  let seq = target;
  for (;;) {
    const text = rows.get(seq);
    if (text === undefined) return { missing: seq };
    const parsed = parseJson(text, context);
    if (!isObject(parsed)) throw new BackendError('stored state is not a JSON object', { ...context, retryable: false });
    const decoded = decodeRow(parsed, context);
    if (decoded.kind === 'snapshot') {
      // The snapshot was parsed for this rebuild alone: the deltas may change it in place.
      let state = decoded.state;
      for (let i = deltas.length - 1; i >= 0; i--) state = applyDeltaInPlace(state, deltas[i]!, context);
      return { state };
    }
    if (decoded.prev >= seq) throw corrupt(`step ${seq} names a later step (${decoded.prev}) as its previous`, context);
    deltas.push(decoded);
    seq = decoded.prev;
  }
}

/** {@link applyDelta} on a state nobody else holds: lists grow in place instead of being copied at every step of a chain. */
function applyDeltaInPlace(state: JsonObject, delta: Extract<DecodedRow, { kind: 'delta' }>, context: ErrorContext): JsonObject {
  if (delta.unset) for (const key of delta.unset) delete state[key];
  if (delta.set) for (const key of Object.keys(delta.set)) setField(state, key, delta.set[key]!);
  if (delta.append) {
    for (const key of Object.keys(delta.append)) {
      const current = Object.prototype.hasOwnProperty.call(state, key) ? state[key] : undefined;
      const tail = delta.append[key];
      if (!Array.isArray(current) || !Array.isArray(tail)) throw corrupt(`append to ${JSON.stringify(key)}, which is not a list`, context);
      for (const item of tail) current.push(item);
    }
  }
  return delta.keys ? reorder(state, delta.keys, context) : state;
}

function reorder(state: JsonObject, keys: string[], context: ErrorContext): JsonObject {
  const ordered: JsonObject = {};
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(state, key)) throw corrupt(`keys names ${JSON.stringify(key)}, which the step does not have`, context);
    setField(ordered, key, state[key]!);
  }
  if (Object.keys(state).length !== keys.length) throw corrupt('keys does not name every field of the step', context);
  return ordered;
}

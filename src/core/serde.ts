/**
 * State serde, following Burr's convention (`burr/core/serde.py`): a value JSON cannot hold is
 * written as an object `{"__burr_serde__": "<key>", ...}` and dispatched on that key when
 * read back. Values written by Burr's TypeScript port (`{"__serde_type": "Date", "value": …}`)
 * are read too. An object whose key nobody registered is kept exactly as stored, so a load
 * followed by a save loses nothing.
 */
import { SerializationError } from './errors.js';
import { isPlainObject, type JsonObject, type JsonValue } from './json.js';

/** The tag Burr (Python) puts on serialized non-JSON values. */
export const SERDE_KEY = '__burr_serde__';
/** The tag Burr's TypeScript port uses. Read, never written. */
export const TS_SERDE_KEY = '__serde_type';

/** How one kind of value is written and read back. */
export interface SerdeHandler<T = unknown> {
  /** The value of `__burr_serde__` this handler writes and reads. */
  key: string;
  /** Whether this handler writes `value`. */
  test(value: unknown): value is T;
  /** The fields written next to `__burr_serde__` (nested values are serialized for you). */
  serialize(value: T, serializeNested: (value: unknown) => JsonValue): JsonObject;
  /** Rebuilds the value from what `serialize` wrote (nested values already deserialized). */
  deserialize(data: JsonObject): T;
}

/** Per-field serde, as Burr's `register_field_serde`: the whole field goes through these. */
export interface FieldSerde<T = unknown> {
  serialize(value: T): JsonValue;
  deserialize(data: JsonValue): T;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const builtinHandlers: SerdeHandler<never>[] = [
  {
    key: 'Date',
    test: (v): v is never => v instanceof Date,
    serialize: (v: Date) => ({ value: Number.isNaN(v.getTime()) ? null : v.toISOString() }),
    deserialize: (d) => new Date(typeof d.value === 'string' ? d.value : Number.NaN) as never,
  },
  {
    key: 'Map',
    test: (v): v is never => v instanceof Map,
    serialize: (v: Map<unknown, unknown>, nested) => ({ value: [...v].map(([k, x]) => [nested(k), nested(x)]) }),
    deserialize: (d) => new Map(d.value as [unknown, unknown][]) as never,
  },
  {
    key: 'Set',
    test: (v): v is never => v instanceof Set,
    serialize: (v: Set<unknown>, nested) => ({ value: [...v].map(nested) }),
    deserialize: (d) => new Set(d.value as unknown[]) as never,
  },
  {
    key: 'RegExp',
    test: (v): v is never => v instanceof RegExp,
    serialize: (v: RegExp) => ({ value: { source: v.source, flags: v.flags } }),
    deserialize: (d) => {
      const { source, flags } = d.value as { source: string; flags: string };
      return new RegExp(source, flags) as never;
    },
  },
  {
    key: 'bytes',
    test: (v): v is never => v instanceof Uint8Array,
    serialize: (v: Uint8Array) => ({ base64: toBase64(v) }),
    deserialize: (d) => fromBase64(String(d.base64)) as never,
  },
  {
    // NaN and ±Infinity have no JSON spelling; PostgreSQL's JSONB refuses Python's `NaN`.
    key: 'number',
    test: (v): v is never => typeof v === 'number' && !Number.isFinite(v),
    serialize: (v: number) => ({ value: String(v) }),
    deserialize: (d) => Number(d.value) as never,
  },
  {
    key: 'undefined',
    test: (v): v is never => v === undefined,
    serialize: () => ({}),
    deserialize: () => undefined as never,
  },
];

const handlers = new Map<string, SerdeHandler<never>>(builtinHandlers.map((h) => [h.key, h]));
/** The handlers newest first, so a registration overrides a builtin; rebuilt on registration. */
let lookupOrder = [...handlers.values()].reverse();
const fieldSerdes = new Map<string, FieldSerde<never>>();

/** Registers how values of one kind are written and read (Burr's `serde.serialize.register`). Later registrations win. */
export function registerSerde<T>(handler: SerdeHandler<T>): void {
  handlers.delete(handler.key);
  handlers.set(handler.key, handler as unknown as SerdeHandler<never>);
  lookupOrder = [...handlers.values()].reverse();
}

/** Registers a serializer for one state field, as Burr's `register_field_serde`. */
export function registerFieldSerde<T>(field: string, serializer: FieldSerde<T>['serialize'], deserializer: FieldSerde<T>['deserialize']): void {
  fieldSerdes.set(field, { serialize: serializer, deserialize: deserializer } as FieldSerde<never>);
}

function findHandler(value: unknown): SerdeHandler<never> | undefined {
  return lookupOrder.find((handler) => handler.test(value));
}


/** Serializes one value to its JSON-safe form. */
export function serializeValue(value: unknown, path = 'value', seen = new Set<object>()): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'bigint':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      break;
    case 'function':
    case 'symbol':
      throw new SerializationError(`a ${typeof value} cannot be serialized`, { path });
  }
  if (value === null) return null;
  if (typeof value === 'object') {
    if (seen.has(value)) throw new SerializationError('the state contains a cycle', { path });
  }
  const handler = findHandler(value);
  if (handler) {
    if (typeof value === 'object' && value !== null) seen.add(value);
    const fields = handler.serialize(value as never, (nested) => serializeValue(nested, `${path}.<${handler.key}>`, seen));
    if (typeof value === 'object' && value !== null) seen.delete(value);
    return { [SERDE_KEY]: handler.key, ...fields };
  }
  if (typeof value === 'object' && value !== null) {
    seen.add(value);
    let out: JsonValue;
    if (Array.isArray(value)) {
      out = value.map((item, i) => serializeValue(item, `${path}[${i}]`, seen));
    } else if (isPlainObject(value)) {
      const obj: JsonObject = {};
      for (const [key, item] of Object.entries(value)) {
        if (item !== undefined) obj[key] = serializeValue(item, `${path}.${key}`, seen);
      }
      out = obj;
    } else {
      const name = (value as object).constructor?.name ?? 'object';
      throw new SerializationError(`no serde is registered for ${name}; use registerSerde({ key, test, serialize, deserialize })`, { path });
    }
    seen.delete(value);
    return out;
  }
  throw new SerializationError(`${String(value)} cannot be serialized`, { path });
}

/** Reads one value back, reviving tagged objects whose key is registered. */
export function deserializeValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(deserializeValue);
  const obj = value as JsonObject;
  const burrKey = obj[SERDE_KEY];
  if (typeof burrKey === 'string') {
    const handler = handlers.get(burrKey);
    if (!handler) return obj; // unknown: keep verbatim so a re-save writes the same bytes
    const fields: JsonObject = {};
    for (const [key, item] of Object.entries(obj)) if (key !== SERDE_KEY) fields[key] = deserializeValue(item) as JsonValue;
    return handler.deserialize(fields);
  }
  const tsKey = obj[TS_SERDE_KEY];
  if (typeof tsKey === 'string') {
    const inner = deserializeValue(obj.value);
    switch (tsKey) {
      case 'BigInt':
        return BigInt(inner as string);
      case 'Date':
      case 'Map':
      case 'Set':
      case 'RegExp':
        return handlers.get(tsKey)!.deserialize({ value: inner as JsonValue });
      default:
        return obj;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(obj)) out[key] = deserializeValue(item);
  return out;
}

/** Serializes a whole state record field by field, applying per-field serde first. */
export function serializeFields(fields: Readonly<Record<string, unknown>>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) {
    const fieldSerde = fieldSerdes.get(key);
    out[key] = fieldSerde ? fieldSerde.serialize(value as never) : serializeValue(value, `state.${key}`);
  }
  return out;
}

/** Reads a whole serialized state record back, applying per-field serde first. */
export function deserializeFields(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    const fieldSerde = fieldSerdes.get(key);
    out[key] = fieldSerde ? fieldSerde.deserialize(value as JsonValue) : deserializeValue(value);
  }
  return out;
}

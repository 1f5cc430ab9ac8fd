/**
 * BSON values as the test server holds them (deserialized with `promoteValues: false`, so Int32,
 * Double, Long and Decimal128 keep their types), compared in MongoDB's BSON type order, and the
 * command error type every module throws.
 */
import { Decimal128, Double, Int32, Long } from 'bson';

/** A document as stored: field order kept, values exactly as the client sent them. */
export type Doc = { [field: string]: unknown };

/** An error the server answers as `{ok: 0, errmsg, code, codeName, ...extra}`. */
export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    readonly extra: Doc = {},
  ) {
    super(message);
  }
}

export const badValue = (msg: string): CommandError => new CommandError(2, 'BadValue', msg);
export const failedToParse = (msg: string): CommandError => new CommandError(9, 'FailedToParse', msg);
export const typeMismatch = (msg: string): CommandError => new CommandError(14, 'TypeMismatch', msg);

/** Missing fields are `undefined` here; in comparisons they behave like null, as in MongoDB. */
export function bsonType(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? 'int' : 'double';
  if (typeof v === 'bigint') return 'long';
  if (v instanceof Date) return 'date';
  if (v instanceof RegExp) return 'regex';
  if (Array.isArray(v)) return 'array';
  const t = (v as { _bsontype?: string })._bsontype;
  switch (t) {
    case 'Int32': return 'int';
    case 'Double': return 'double';
    case 'Long': return 'long';
    case 'Decimal128': return 'decimal';
    case 'ObjectId': return 'objectId';
    case 'Binary': return 'binData';
    case 'Timestamp': return 'timestamp';
    case 'MinKey': return 'minKey';
    case 'MaxKey': return 'maxKey';
    case 'BSONRegExp': return 'regex';
    case 'BSONSymbol': return 'symbol';
    case 'Code': return 'javascript';
    case 'DBRef': return 'object';
    case undefined: return 'object';
    default: return 'object';
  }
}

/** Canonical type classes in BSON comparison order (numbers share one class, so do string/symbol). */
const RANK: Record<string, number> = {
  minKey: 0, null: 1, int: 2, long: 2, double: 2, decimal: 2, string: 3, symbol: 3, object: 4,
  array: 5, binData: 6, objectId: 7, bool: 8, date: 9, timestamp: 10, regex: 11, javascript: 12, maxKey: 13,
};
export const typeRank = (v: unknown): number => RANK[bsonType(v)] ?? 4;

export const isNumber = (v: unknown): boolean => typeRank(v) === 2;
export const isPlainObject = (v: unknown): v is Doc => bsonType(v) === 'object' && !(v instanceof Date);

/** A number as an exact integer (bigint) when it is integral, else a double; NaN kept as NaN. */
export type Num = { int: bigint } | { float: number };
export function toNum(v: unknown): Num {
  const t = bsonType(v);
  if (t === 'long') return { int: typeof v === 'bigint' ? v : (v as Long).toBigInt() };
  let f: number;
  if (t === 'decimal') {
    const s = (v as Decimal128).toString();
    if (/^-?\d+$/.test(s)) return { int: BigInt(s) };
    f = Number(s.replace(/^(-?)Infinity$/, '$1Infinity'));
  } else {
    f = typeof v === 'number' ? v : Number((v as Int32 | Double).valueOf());
  }
  return Number.isInteger(f) ? { int: BigInt(f) } : { float: f };
}
export function numToDouble(n: Num): number {
  return 'int' in n ? Number(n.int) : n.float;
}

function cmpNum(a: Num, b: Num): number {
  if ('int' in a && 'int' in b) return a.int < b.int ? -1 : a.int > b.int ? 1 : 0;
  const x = numToDouble(a);
  const y = numToDouble(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : -1) : 1;
  if (x !== y) return x < y ? -1 : 1;
  // Equal as doubles: an integer beyond 2^53 may still differ from a non-integral double; rare.
  return 0;
}

/** Compares by code point (the order of UTF-8 bytes, which is MongoDB's without a collation). */
function cmpString(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

/** MongoDB's total order over BSON values (no collation). */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0: case 1: case 13: return 0;
    case 2: return cmpNum(toNum(a), toNum(b));
    case 3: return cmpString(String(a), String(b));
    case 4: return compareDocs(a as Doc, b as Doc);
    case 5: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i], y[i]);
        if (c) return c;
      }
      return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
    }
    case 6: {
      const x = a as { sub_type: number; buffer: Uint8Array };
      const y = b as { sub_type: number; buffer: Uint8Array };
      if (x.buffer.length !== y.buffer.length) return x.buffer.length < y.buffer.length ? -1 : 1;
      if (x.sub_type !== y.sub_type) return x.sub_type < y.sub_type ? -1 : 1;
      return Buffer.compare(Buffer.from(x.buffer), Buffer.from(y.buffer));
    }
    case 7: return cmpString((a as { toHexString(): string }).toHexString(), (b as { toHexString(): string }).toHexString());
    case 8: return a === b ? 0 : a ? 1 : -1;
    case 9: return Math.sign((a as Date).getTime() - (b as Date).getTime());
    case 10: {
      const x = a as { t: number; i: number };
      const y = b as { t: number; i: number };
      return Math.sign(x.t - y.t || x.i - y.i);
    }
    default: return cmpString(String(a), String(b));
  }
}

/** Embedded documents compare field by field, in order: value type, then name, then value. */
function compareDocs(a: Doc, b: Doc): number {
  const x = Object.keys(a);
  const y = Object.keys(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const ka = x[i]!;
    const kb = y[i]!;
    const tr = typeRank(a[ka]) - typeRank(b[kb]);
    if (tr) return Math.sign(tr);
    const kc = cmpString(ka, kb);
    if (kc) return kc;
    const vc = compareValues(a[ka], b[kb]);
    if (vc) return vc;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

export const valuesEqual = (a: unknown, b: unknown): boolean => compareValues(a, b) === 0;

/** Equality that also tells types apart (Int32(1) ≠ Double(1)): "did this update change anything". */
export function identical(a: unknown, b: unknown): boolean {
  return keyString(a, true) === keyString(b, true);
}

/**
 * A string equal for values MongoDB treats as equal keys (1, 1.0, Long(1) alike; null ≡ missing),
 * used for unique indexes, `_id` lookups, $group keys and distinct. `strictTypes` keeps numeric types apart.
 */
export function keyString(v: unknown, strictTypes = false): string {
  const t = bsonType(v);
  switch (t) {
    case 'null': return strictTypes && v === undefined ? 'u' : 'z';
    case 'int': case 'long': case 'double': case 'decimal': {
      const n = toNum(v);
      const s = 'int' in n ? `${n.int}` : `${n.float}`;
      return strictTypes ? `${t}:${s}` : `n:${s}`;
    }
    case 'string': case 'symbol': return `s${JSON.stringify(String(v))}`;
    case 'array': return `[${(v as unknown[]).map((e) => keyString(e, strictTypes)).join(',')}]`;
    case 'object': return `{${Object.entries(v as Doc).map(([k, e]) => `${JSON.stringify(k)}:${keyString(e, strictTypes)}`).join(',')}}`;
    case 'objectId': return `i${(v as { toHexString(): string }).toHexString()}`;
    case 'date': return `d${(v as Date).getTime()}`;
    case 'bool': return v ? 'T' : 'F';
    case 'binData': {
      const x = v as { sub_type: number; buffer: Uint8Array };
      return `x${x.sub_type}:${Buffer.from(x.buffer).toString('base64')}`;
    }
    default: return `${t}:${String(v)}`;
  }
}

/** Int32 when it fits, else Long: how mongod types counts and sums of integers. */
export function intValue(n: number | bigint): Int32 | Long {
  const b = BigInt(n);
  return b >= -(2n ** 31n) && b < 2n ** 31n ? new Int32(Number(b)) : Long.fromBigInt(b);
}

/**
 * Query filters and sort with MongoDB's semantics (no collation, no indexes used):
 * implicit equality incl. dotted paths and array elements, $eq $ne $gt $gte $lt $lte $in $nin
 * $exists $type $regex/$options $size $all $elemMatch $not, top-level $and $or $nor, $comment.
 * Comparison operators bracket by type (`{a: {$gt: 5}}` never matches a string) as mongod does.
 * `$where`, `$expr`, `$function`, `$text`, geo and other operators are refused with
 * `unknown operator: $x` (code 2, BadValue); real mongod supports several of them.
 */
import { badValue, bsonType, CommandError, compareValues, isPlainObject, typeRank, valuesEqual, type Doc } from './values.js';

export type Predicate = (doc: Doc) => boolean;

/** Values at a dotted path, descending into array elements (and numeric indexes); `undefined` = missing. */
export function pathValues(value: unknown, parts: string[], i = 0, out: unknown[] = []): unknown[] {
  if (i === parts.length) {
    out.push(value);
  } else if (Array.isArray(value)) {
    const part = parts[i]!;
    const before = out.length;
    if (/^\d+$/.test(part) && Number(part) < value.length) pathValues(value[Number(part)], parts, i + 1, out);
    for (const el of value) if (isPlainObject(el)) pathValues(el, parts, i, out);
    if (out.length === before) out.push(undefined);
  } else if (isPlainObject(value)) {
    pathValues(value[parts[i]!], parts, i + 1, out);
  } else {
    out.push(undefined);
  }
  return out;
}

/** True when `test` holds for a value at the path, or for an element of an array there. */
function anyValue(doc: Doc, parts: string[], test: (v: unknown) => boolean): boolean {
  for (const v of pathValues(doc, parts)) {
    if (test(v)) return true;
    if (Array.isArray(v) && v.some(test)) return true;
  }
  return false;
}

/** Top-level operators real MongoDB knows but this server does not evaluate. */
const REFUSED = new Set(['$where', '$expr', '$function', '$text', '$jsonSchema', '$accumulator', '$sampleRate',
  '$near', '$nearSphere', '$geoWithin', '$geoIntersects', '$within', '$bitsAllSet', '$bitsAnySet',
  '$bitsAllClear', '$bitsAnyClear', '$mod', '$where']);

export function isOperatorDoc(v: unknown): v is Doc {
  if (!isPlainObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys[0]!.startsWith('$');
}

export function compileFilter(filter: unknown): Predicate {
  if (filter === undefined || filter === null) return () => true;
  if (!isPlainObject(filter)) throw badValue('filter must be an object');
  const preds: Predicate[] = [];
  for (const [key, arg] of Object.entries(filter)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(arg) || arg.length === 0) throw badValue(`${key} must be a nonempty array`);
      const subs = arg.map((f) => compileFilter(f));
      if (key === '$and') preds.push((d) => subs.every((p) => p(d)));
      else if (key === '$or') preds.push((d) => subs.some((p) => p(d)));
      else preds.push((d) => !subs.some((p) => p(d)));
    } else if (key === '$comment') {
      // ignored, as mongod does for matching
    } else if (key.startsWith('$')) {
      throw REFUSED.has(key) ? badValue(`unknown operator: ${key}`) : badValue(`unknown top level operator: ${key}`);
    } else {
      preds.push(compileField(key.split('.'), arg));
    }
  }
  return (d) => preds.every((p) => p(d));
}

function compileField(parts: string[], arg: unknown): Predicate {
  if (arg instanceof RegExp) return (d) => anyValue(d, parts, (v) => regexMatch(arg, v));
  if (!isOperatorDoc(arg)) return (d) => anyValue(d, parts, (v) => valuesEqual(v, arg));
  const preds: Predicate[] = [];
  const ops = arg;
  for (const [op, operand] of Object.entries(ops)) {
    if (op === '$options') {
      if (!('$regex' in ops)) throw badValue('$options needs a $regex');
      continue;
    }
    preds.push(compileOperator(parts, op, operand, ops));
  }
  return (d) => preds.every((p) => p(d));
}

function regexMatch(re: RegExp, v: unknown): boolean {
  if (typeof v === 'string') return new RegExp(re.source, re.flags.replace('g', '')).test(v);
  return v instanceof RegExp && v.source === re.source && v.flags === re.flags;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'double', 2: 'string', 3: 'object', 4: 'array', 5: 'binData', 6: 'undefined', 7: 'objectId', 8: 'bool',
  9: 'date', 10: 'null', 11: 'regex', 13: 'javascript', 14: 'symbol', 16: 'int', 17: 'timestamp', 18: 'long',
  19: 'decimal', [-1]: 'minKey', 127: 'maxKey',
};

function compileOperator(parts: string[], op: string, operand: unknown, ops: Doc): Predicate {
  const compare = (ok: (c: number) => boolean): Predicate => {
    if (operand instanceof RegExp && op !== '$eq') throw badValue(`Can't have RegEx as arg to predicate over field '${parts.join('.')}'.`);
    // Type bracketing: only values of the operand's canonical type compare; MinKey/MaxKey bound everything.
    const rank = typeRank(operand);
    return (d) => anyValue(d, parts, (v) => (rank === 0 || rank === 13 || typeRank(v) === rank) && ok(compareValues(v, operand)));
  };
  switch (op) {
    case '$eq': return (d) => anyValue(d, parts, (v) => valuesEqual(v, operand));
    case '$ne': return (d) => !anyValue(d, parts, (v) => valuesEqual(v, operand));
    case '$gt': return compare((c) => c > 0);
    case '$gte': return compare((c) => c >= 0);
    case '$lt': return compare((c) => c < 0);
    case '$lte': return compare((c) => c <= 0);
    case '$in': case '$nin': {
      if (!Array.isArray(operand)) throw badValue(`${op} needs an array`);
      const hit = (v: unknown): boolean => operand.some((o) => (o instanceof RegExp ? regexMatch(o, v) : valuesEqual(v, o)));
      return op === '$in' ? (d) => anyValue(d, parts, hit) : (d) => !anyValue(d, parts, hit);
    }
    case '$exists': {
      const want = !(operand === false || operand === null || (typeRank(operand) === 2 && compareValues(operand, 0) === 0));
      return (d) => pathValues(d, parts).some((v) => v !== undefined) === want;
    }
    case '$type': {
      const wanted = (Array.isArray(operand) ? operand : [operand]).map((t) => {
        const name = typeof t === 'string' ? t : TYPE_NAMES[Number(t)];
        if (!name || (typeof t === 'string' && !Object.values(TYPE_NAMES).includes(t) && t !== 'number')) throw badValue(`Unknown type name alias: ${String(t)}`);
        return name;
      });
      const has = (v: unknown): boolean => v !== undefined && wanted.some((w) => (w === 'number' ? typeRank(v) === 2 : bsonType(v) === w));
      return (d) => anyValue(d, parts, has);
    }
    case '$regex': {
      const re = operand instanceof RegExp ? operand : new RegExp(String(operand), String(ops.$options ?? '').replace(/[^imsu]/g, ''));
      return (d) => anyValue(d, parts, (v) => regexMatch(re, v));
    }
    case '$size': {
      const n = Number(operand);
      return (d) => pathValues(d, parts).some((v) => Array.isArray(v) && v.length === n);
    }
    case '$all': {
      if (!Array.isArray(operand)) throw badValue('$all needs an array');
      const subs = operand.map((o) => (isOperatorDoc(o) && '$elemMatch' in o ? compileField(parts, o) : compileField(parts, { $eq: o })));
      return (d) => operand.length > 0 && subs.every((p) => p(d));
    }
    case '$elemMatch': {
      if (!isPlainObject(operand)) throw badValue('$elemMatch needs an Object');
      const asDoc = !isOperatorDoc(operand) || ['$and', '$or', '$nor'].includes(Object.keys(operand)[0]!);
      const sub = asDoc ? compileFilter(operand) : compileField(['v'], operand);
      const test = (el: unknown): boolean => (asDoc ? isPlainObject(el) && sub(el) : sub({ v: el }));
      return (d) => pathValues(d, parts).some((v) => Array.isArray(v) && v.some(test));
    }
    case '$not': {
      if (!(operand instanceof RegExp) && !isOperatorDoc(operand)) throw badValue('$not needs a regex or a document');
      const sub = compileField(parts, operand);
      return (d) => !sub(d);
    }
    default:
      throw badValue(`unknown operator: ${op}`);
  }
}

// ───────────────────────────── sort ─────────────────────────────

/** A comparator for a sort spec: arrays sort by their smallest element ascending, largest descending. */
export function compileSort(spec: unknown): ((a: Doc, b: Doc) => number) | undefined {
  if (spec === undefined || spec === null) return undefined;
  if (!isPlainObject(spec)) throw badValue('sort must be an object');
  const keys: [string[], number][] = [];
  for (const [k, dir] of Object.entries(spec)) {
    if (k === '$natural') continue;
    if (isPlainObject(dir)) throw badValue(`$meta sort is not supported by the burr-edge test server (field ${k})`);
    const n = typeRank(dir) === 2 ? compareValues(dir, 0) : 0;
    if (n === 0) throw new CommandError(15975, 'Location15975', '$sort key ordering must be 1 (for ascending) or -1 (for descending)');
    keys.push([k.split('.'), n]);
  }
  if (keys.length === 0) return undefined;
  const sortKey = (d: Doc, parts: string[], dir: number): unknown => {
    let best: unknown;
    let first = true;
    for (const v of pathValues(d, parts)) {
      for (const e of Array.isArray(v) ? (v.length ? v : [undefined]) : [v]) {
        if (first || compareValues(e, best) * dir < 0) best = e;
        first = false;
      }
    }
    return best;
  };
  return (a, b) => {
    for (const [parts, dir] of keys) {
      const c = compareValues(sortKey(a, parts, dir), sortKey(b, parts, dir));
      if (c) return c * dir;
    }
    return 0;
  };
}

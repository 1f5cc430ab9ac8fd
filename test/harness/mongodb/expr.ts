/**
 * Aggregation expressions: `"$field.path"` references, `$$ROOT`/`$$CURRENT`/`$$REMOVE`/`$$NOW`,
 * literals, embedded expression documents, and a small set of operators ($literal, $ifNull, $cond,
 * $concat, $add, $subtract, $multiply, $eq/$ne/$gt/$gte/$lt/$lte, $size, $arrayElemAt, $toString).
 * Anything else is refused as mongod refuses an unknown one (code 168, InvalidPipelineOperator).
 */
import { Decimal128, Double, Int32, Long } from 'bson';
import { bsonType, CommandError, compareValues, isPlainObject, numToDouble, toNum, typeMismatch, type Doc } from './values.js';

/** Field lookup with aggregation semantics: through an array, "a.b" yields the array of each element's b. */
export function getField(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const part of path.split('.')) {
    if (Array.isArray(cur)) {
      cur = cur.filter(isPlainObject).map((e) => getField(e, part)).filter((e) => e !== undefined);
    } else if (isPlainObject(cur)) {
      cur = cur[part];
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Adds two BSON numbers with mongod's type promotion: int+int stays int (→ long on overflow), any double → double. */
export function addNumbers(a: unknown, b: unknown): unknown {
  return arith(a, b, (x, y) => x + y, (x, y) => x + y);
}

export function multiplyNumbers(a: unknown, b: unknown): unknown {
  return arith(a, b, (x, y) => x * y, (x, y) => x * y);
}

function arith(a: unknown, b: unknown, big: (x: bigint, y: bigint) => bigint, dbl: (x: number, y: number) => number): unknown {
  const ta = bsonType(a);
  const tb = bsonType(b);
  if (ta === 'decimal' || tb === 'decimal') {
    return Decimal128.fromString(String(dbl(numToDouble(toNum(a)), numToDouble(toNum(b)))));
  }
  if (ta === 'double' || tb === 'double') return new Double(dbl(numToDouble(toNum(a)), numToDouble(toNum(b))));
  const x = toNum(a);
  const y = toNum(b);
  if (!('int' in x) || !('int' in y)) return new Double(dbl(numToDouble(x), numToDouble(y)));
  const r = big(x.int, y.int);
  if (ta === 'int' && tb === 'int' && r >= -(2n ** 31n) && r < 2n ** 31n) return new Int32(Number(r));
  if (r >= -(2n ** 63n) && r < 2n ** 63n) return Long.fromBigInt(r);
  return new Double(Number(r));
}

const COMPARE: Record<string, (c: number) => boolean> = {
  $eq: (c) => c === 0, $ne: (c) => c !== 0, $gt: (c) => c > 0, $gte: (c) => c >= 0, $lt: (c) => c < 0, $lte: (c) => c <= 0,
};

/** Evaluates an aggregation expression against a document; `undefined` means "missing". */
export function evalExpr(expr: unknown, root: Doc): unknown {
  if (typeof expr === 'string' && expr.startsWith('$')) {
    if (expr.startsWith('$$')) {
      const [name, ...rest] = expr.slice(2).split('.');
      let base: unknown;
      if (name === 'ROOT' || name === 'CURRENT') base = root;
      else if (name === 'REMOVE') return undefined;
      else if (name === 'NOW') return new Date();
      else throw new CommandError(17276, 'Location17276', `Use of undefined variable: ${name}`);
      return rest.length ? getField(base, rest.join('.')) : base;
    }
    if (expr.length === 1) throw new CommandError(16872, 'Location16872', "'$' by itself is not a valid FieldPath");
    return getField(root, expr.slice(1));
  }
  if (Array.isArray(expr)) return expr.map((e) => evalExpr(e, root) ?? null);
  if (!isPlainObject(expr)) return expr;
  const keys = Object.keys(expr);
  if (keys.length === 1 && keys[0]!.startsWith('$')) return evalOperator(keys[0]!, expr[keys[0]!], root);
  const out: Doc = {};
  for (const k of keys) {
    if (k.startsWith('$')) throw new CommandError(16410, 'Location16410', `FieldPath field names may not start with '$'. Consider using $getField or $setField.`);
    const v = evalExpr(expr[k], root);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function args(arg: unknown, root: Doc): unknown[] {
  return (Array.isArray(arg) ? arg : [arg]).map((a) => evalExpr(a, root));
}

function evalOperator(op: string, arg: unknown, root: Doc): unknown {
  if (op === '$literal') return arg;
  const cmp = COMPARE[op];
  if (cmp) {
    const [a, b] = args(arg, root);
    return cmp(compareValues(a, b));
  }
  switch (op) {
    case '$ifNull': {
      const vals = args(arg, root);
      for (const v of vals.slice(0, -1)) if (v !== undefined && v !== null) return v;
      return vals[vals.length - 1];
    }
    case '$cond': {
      const [c, t, f] = Array.isArray(arg) ? arg : [(arg as Doc).if, (arg as Doc).then, (arg as Doc).else];
      const v = evalExpr(c, root);
      const truthy = v !== undefined && v !== null && v !== false && !(bsonType(v).match(/int|long|double|decimal/) && numToDouble(toNum(v)) === 0);
      return evalExpr(truthy ? t : f, root);
    }
    case '$concat': {
      const vals = args(arg, root);
      if (vals.some((v) => v === undefined || v === null)) return null;
      if (vals.some((v) => typeof v !== 'string')) throw typeMismatch('$concat only supports strings');
      return vals.join('');
    }
    case '$add': case '$multiply': {
      const vals = args(arg, root);
      if (vals.some((v) => v === undefined || v === null)) return null;
      let acc: unknown = new Int32(op === '$add' ? 0 : 1);
      for (const v of vals) {
        if (v instanceof Date && op === '$add') acc = new Date(v.getTime() + numToDouble(toNum(acc)));
        else if (acc instanceof Date) acc = new Date(acc.getTime() + numToDouble(toNum(v)));
        else acc = op === '$add' ? addNumbers(acc, v) : multiplyNumbers(acc, v);
      }
      return acc;
    }
    case '$subtract': {
      const [a, b] = args(arg, root);
      if (a === undefined || a === null || b === undefined || b === null) return null;
      if (a instanceof Date && b instanceof Date) return Long.fromNumber(a.getTime() - b.getTime());
      if (a instanceof Date) return new Date(a.getTime() - numToDouble(toNum(b)));
      return addNumbers(a, multiplyNumbers(b, new Int32(-1)));
    }
    case '$size': {
      const [a] = args(arg, root);
      if (!Array.isArray(a)) throw new CommandError(17124, 'Location17124', `The argument to $size must be an array. Type of the argument was: ${bsonType(a)}`);
      return new Int32(a.length);
    }
    case '$arrayElemAt': {
      const [a, i] = args(arg, root);
      if (!Array.isArray(a)) return null;
      const n = Number(numToDouble(toNum(i)));
      return a[n < 0 ? a.length + n : n];
    }
    case '$toString': {
      const [a] = args(arg, root);
      if (a === undefined || a === null) return null;
      if (a instanceof Date) return a.toISOString();
      const t = bsonType(a);
      if (t === 'objectId') return (a as { toHexString(): string }).toHexString();
      return t.match(/int|long|double|decimal/) ? String(numToDouble(toNum(a))) : String(a);
    }
    default:
      throw new CommandError(168, 'InvalidPipelineOperator', `Unrecognized expression '${op}'`);
  }
}

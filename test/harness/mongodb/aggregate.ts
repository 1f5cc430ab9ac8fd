/**
 * Aggregation pipelines over an in-memory array of documents. Stages: $match $sort $limit $skip
 * $project $addFields/$set $unset $group $count $unwind $replaceRoot/$replaceWith. Group
 * accumulators: $sum $avg $min $max $first $last $push $addToSet $count. Any other stage
 * ($lookup, $facet, $out, $merge, ...) is refused with mongod's "Unrecognized pipeline stage name"
 * error (code 40324) — real MongoDB has them.
 */
import { Double, Int32 } from 'bson';
import { addNumbers, evalExpr, getField } from './expr.js';
import { compileProjection } from './projection.js';
import { compileFilter, compileSort } from './query.js';
import { badValue, CommandError, compareValues, isPlainObject, keyString, numToDouble, toNum, typeRank, type Doc } from './values.js';

type Stage = (docs: Doc[]) => Doc[];

const stageError = (name: string): CommandError =>
  new CommandError(40324, 'Location40324', `Unrecognized pipeline stage name: '${name}'`);

function count(arg: unknown, stage: string): number {
  if (typeRank(arg) !== 2) throw new CommandError(15957, 'Location15957', `the ${stage} must be specified as a number`);
  const n = numToDouble(toNum(arg));
  if (n < 0 || !Number.isInteger(n)) throw new CommandError(15958, 'Location15958', `the ${stage} must be a non-negative integer`);
  return n;
}

/** Sets computed fields (dotted paths create nested documents), as $addFields does. */
function addFields(doc: Doc, spec: Doc, root: Doc): Doc {
  const out: Doc = { ...doc };
  for (const [path, expr] of Object.entries(spec)) {
    const parts = path.split('.');
    const value = isPlainObject(expr) && !Object.keys(expr)[0]?.startsWith('$')
      ? addFields(isPlainObject(out[parts[0]!]) ? (out[parts[0]!] as Doc) : {}, expr, root)
      : evalExpr(expr, root);
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] = isPlainObject(node[p]) ? { ...(node[p] as Doc) } : {}) as Doc;
    const last = parts[parts.length - 1]!;
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
  return out;
}

interface Acc { add(v: unknown): void; result(): unknown }

function accumulator(op: string, arg: unknown): () => Acc {
  switch (op) {
    case '$sum': return () => {
      let total: unknown = new Int32(0);
      return { add: (v) => { if (typeRank(v) === 2) total = addNumbers(total, v); }, result: () => total };
    };
    case '$count': return () => {
      let n: unknown = new Int32(0);
      return { add: () => { n = addNumbers(n, new Int32(1)); }, result: () => n };
    };
    case '$avg': return () => {
      let total = 0;
      let n = 0;
      return { add: (v) => { if (typeRank(v) === 2) { total += numToDouble(toNum(v)); n++; } }, result: () => (n ? new Double(total / n) : null) };
    };
    case '$min': case '$max': return () => {
      let best: unknown;
      const sign = op === '$min' ? -1 : 1;
      return {
        add: (v) => { if (v !== undefined && v !== null && (best === undefined || compareValues(v, best) * sign > 0)) best = v; },
        result: () => best ?? null,
      };
    };
    case '$first': case '$last': return () => {
      let value: unknown;
      let seen = false;
      return { add: (v) => { if (op === '$last' || !seen) value = v; seen = true; }, result: () => value ?? null };
    };
    case '$push': case '$addToSet': return () => {
      const items: unknown[] = [];
      const keys = new Set<string>();
      return {
        add: (v) => {
          if (v === undefined) return;
          if (op === '$addToSet') {
            const k = keyString(v);
            if (keys.has(k)) return;
            keys.add(k);
          }
          items.push(v);
        },
        result: () => items,
      };
    };
    default:
      throw new CommandError(15952, 'Location15952', `unknown group operator '${op}'`);
  }
  void arg;
}

function group(spec: Doc): Stage {
  if (!('_id' in spec)) throw new CommandError(15955, 'Location15955', 'a group specification must include an _id');
  const fields = Object.entries(spec).filter(([k]) => k !== '_id').map(([name, accSpec]) => {
    if (!isPlainObject(accSpec) || Object.keys(accSpec).length !== 1) {
      throw new CommandError(40234, 'Location40234', `The field '${name}' must be an accumulator object`);
    }
    const [op, arg] = Object.entries(accSpec)[0]!;
    return { name, arg, make: accumulator(op, arg), isCount: op === '$count' };
  });
  return (docs) => {
    const groups = new Map<string, { id: unknown; accs: Acc[] }>();
    for (const doc of docs) {
      const id = evalExpr(spec._id, doc) ?? null;
      const k = keyString(id);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { id, accs: fields.map((f) => f.make()) }));
      fields.forEach((f, i) => g!.accs[i]!.add(f.isCount ? null : evalExpr(f.arg, doc)));
    }
    return [...groups.values()].map((g) => {
      const out: Doc = { _id: g.id };
      fields.forEach((f, i) => (out[f.name] = g.accs[i]!.result()));
      return out;
    });
  };
}

function compileStage(stage: unknown): Stage {
  if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
    throw new CommandError(40323, 'Location40323', 'A pipeline stage specification object must contain exactly one field.');
  }
  const [name, arg] = Object.entries(stage)[0]!;
  switch (name) {
    case '$match': {
      const p = compileFilter(arg);
      return (docs) => docs.filter(p);
    }
    case '$sort': {
      const cmp = compileSort(arg);
      if (!cmp) throw new CommandError(15976, 'Location15976', '$sort stage must have at least one sort key');
      return (docs) => [...docs].sort(cmp);
    }
    case '$limit': {
      const n = count(arg, 'limit');
      if (n === 0) throw new CommandError(15958, 'Location15958', 'the limit must be positive');
      return (docs) => docs.slice(0, n);
    }
    case '$skip': {
      const n = count(arg, 'skip');
      return (docs) => docs.slice(n);
    }
    case '$project': {
      if (!isPlainObject(arg) || Object.keys(arg).length === 0) throw new CommandError(51272, 'Location51272', '$project specification must have at least one field');
      const proj = compileProjection(arg)!;
      return (docs) => docs.map(proj);
    }
    case '$addFields': case '$set': {
      if (!isPlainObject(arg)) throw badValue(`${name} specification stage must be an object`);
      return (docs) => docs.map((d) => addFields(d, arg, d));
    }
    case '$unset': {
      const fields = Array.isArray(arg) ? arg : [arg];
      const proj = compileProjection(Object.fromEntries(fields.map((f) => [String(f), 0])))!;
      return (docs) => docs.map(proj);
    }
    case '$group': {
      if (!isPlainObject(arg)) throw new CommandError(15947, 'Location15947', 'a group\'s fields must be specified in an object');
      return group(arg);
    }
    case '$count': {
      if (typeof arg !== 'string' || !arg || arg.startsWith('$') || arg.includes('.')) {
        throw new CommandError(40156, 'Location40156', 'the count field must be a non-empty string');
      }
      return (docs) => (docs.length ? [{ [arg]: new Int32(docs.length) }] : []);
    }
    case '$unwind': {
      const opts = isPlainObject(arg) ? arg : { path: arg };
      const path = String(opts.path ?? '');
      if (!path.startsWith('$')) throw new CommandError(28818, 'Location28818', 'path option to $unwind stage should be prefixed with a \'$\'');
      const keep = opts.preserveNullAndEmptyArrays === true;
      const field = path.slice(1);
      return (docs) => docs.flatMap((d) => {
        const v = getField(d, field);
        if (Array.isArray(v) && v.length) return v.map((e) => addFields(d, { [field]: { $literal: e } }, d));
        if (Array.isArray(v) || v === undefined || v === null) return keep ? [Array.isArray(v) ? addFields(d, { [field]: '$$REMOVE' }, d) : d] : [];
        return [d];
      });
    }
    case '$replaceRoot': case '$replaceWith': {
      const expr = name === '$replaceRoot' ? (arg as Doc).newRoot : arg;
      return (docs) => docs.map((d) => {
        const v = evalExpr(expr, d);
        if (!isPlainObject(v)) throw new CommandError(40228, 'Location40228', `'newRoot' expression must evaluate to an object`);
        return v;
      });
    }
    default:
      throw stageError(name);
  }
}

/** Compiles the whole pipeline first (so a bad stage fails even on an empty collection), then runs it. */
export function runPipeline(pipeline: unknown, docs: Doc[]): Doc[] {
  if (!Array.isArray(pipeline)) throw new CommandError(14, 'TypeMismatch', "'pipeline' option must be specified as an array");
  const stages = pipeline.map(compileStage);
  return stages.reduce((acc, s) => s(acc), docs);
}

/**
 * Update documents: replacement documents (keep `_id`), and the operators $set $unset $inc $mul
 * $min $max $rename $setOnInsert $currentDate $push $addToSet ($each) $pull, on dotted paths.
 * Pipeline-style updates (an array) and positional paths (`a.$`, `a.$[]`) are refused.
 */
import { Int32 } from 'bson';
import { addNumbers, multiplyNumbers } from './expr.js';
import { compileFilter } from './query.js';
import { badValue, CommandError, compareValues, failedToParse, identical, isPlainObject, typeRank, valuesEqual, type Doc } from './values.js';

/** Deep copy of the containers (documents, arrays); BSON leaf values are shared (never mutated). */
export function clone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(clone) as T;
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, clone(e)])) as T;
  return v;
}

export const isOperatorUpdate = (u: Doc): boolean => Object.keys(u).some((k) => k.startsWith('$'));

const OPERATORS = new Set(['$set', '$unset', '$inc', '$mul', '$min', '$max', '$rename', '$setOnInsert', '$currentDate', '$push', '$addToSet', '$pull']);

/** Checks an update document before any write: pipelines, unknown modifiers, conflicting paths. */
export function validateUpdate(u: unknown): Doc {
  if (Array.isArray(u)) throw badValue('pipeline-style updates are not supported by the burr-edge test server');
  if (!isPlainObject(u)) throw failedToParse('update must be an object');
  if (!isOperatorUpdate(u)) {
    for (const k of Object.keys(u)) if (k.startsWith('$')) throw badValue(`The dollar ($) prefixed field '${k}' in '${k}' is not allowed`);
    return u;
  }
  const seen: string[] = [];
  for (const [op, fields] of Object.entries(u)) {
    if (!OPERATORS.has(op)) {
      throw failedToParse(`Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (!isPlainObject(fields)) throw failedToParse(`Modifiers operate on fields but we found type ${typeof fields} instead.`);
    const paths = Object.keys(fields).concat(op === '$rename' ? Object.values(fields).map(String) : []);
    for (const path of paths) {
      if (path.split('.').some((p) => p.startsWith('$'))) throw badValue(`positional update path '${path}' is not supported by the burr-edge test server`);
      const clash = seen.find((s) => s === path || s.startsWith(`${path}.`) || path.startsWith(`${s}.`));
      if (clash !== undefined) throw new CommandError(40, 'ConflictingUpdateOperators', `Updating the path '${path}' would create a conflict at '${clash}'`);
      seen.push(path);
    }
  }
  return u;
}

function getParent(doc: Doc, parts: string[], create: boolean): { parent: Doc | unknown[]; last: string } | undefined {
  let cur: unknown = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    let next: unknown;
    if (Array.isArray(cur) && /^\d+$/.test(p)) next = cur[Number(p)];
    else if (isPlainObject(cur)) next = cur[p];
    else return undefined;
    if (next === undefined || next === null) {
      if (!create) return undefined;
      if (next === null) throw new CommandError(28, 'PathNotViable', `Cannot create field '${parts[i + 1]}' in element {${p}: null}`);
      next = {};
      if (Array.isArray(cur)) cur[Number(p)] = next;
      else (cur as Doc)[p] = next;
    } else if (!isPlainObject(next) && !Array.isArray(next)) {
      if (!create) return undefined;
      throw new CommandError(28, 'PathNotViable', `Cannot create field '${parts[i + 1]}' in element {${p}: ${String(next)}}`);
    }
    cur = next;
  }
  return { parent: cur as Doc | unknown[], last: parts[parts.length - 1]! };
}

function read(doc: Doc, path: string): unknown {
  const at = getParent(doc, path.split('.'), false);
  if (!at) return undefined;
  return Array.isArray(at.parent) ? at.parent[Number(at.last)] : at.parent[at.last];
}

function write(doc: Doc, path: string, value: unknown): void {
  const at = getParent(doc, path.split('.'), true)!;
  if (Array.isArray(at.parent)) {
    if (!/^\d+$/.test(at.last)) throw new CommandError(28, 'PathNotViable', `Cannot create field '${at.last}' in an array`);
    const i = Number(at.last);
    while (at.parent.length < i) at.parent.push(null);
    at.parent[i] = value;
  } else {
    at.parent[at.last] = value;
  }
}

function unset(doc: Doc, path: string): void {
  const at = getParent(doc, path.split('.'), false);
  if (!at) return;
  if (Array.isArray(at.parent)) {
    if (/^\d+$/.test(at.last) && Number(at.last) < at.parent.length) at.parent[Number(at.last)] = null;
  } else {
    delete at.parent[at.last];
  }
}

/**
 * Applies a validated update to a copy of `doc` and returns it; `inserting` enables $setOnInsert.
 * Throws ImmutableField (66) when `_id` would change.
 */
export function applyUpdate(doc: Doc, u: Doc, inserting: boolean): Doc {
  if (!isOperatorUpdate(u)) {
    if ('_id' in u && !identical(u._id, doc._id) && doc._id !== undefined) {
      throw new CommandError(66, 'ImmutableField', "After applying the update, the (immutable) field '_id' was found to have been altered");
    }
    const out: Doc = doc._id === undefined ? {} : { _id: doc._id };
    for (const [k, v] of Object.entries(clone(u))) out[k] = v;
    return out;
  }
  const out = clone(doc);
  const now = new Date();
  for (const [op, fields] of Object.entries(u)) {
    for (const [path, arg] of Object.entries(fields as Doc)) {
      const cur = read(out, path);
      switch (op) {
        case '$setOnInsert': if (!inserting) break; // falls through to $set when inserting
        // eslint-disable-next-line no-fallthrough
        case '$set': write(out, path, clone(arg)); break;
        case '$unset': unset(out, path); break;
        case '$inc': case '$mul': {
          if (typeRank(arg) !== 2) throw typeMismatch(`Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${String(arg)}}`);
          if (cur !== undefined && typeRank(cur) !== 2) {
            throw typeMismatch(`Cannot apply ${op} to a value of non-numeric type. {_id: ${String(out._id)}} has the field '${path}' of non-numeric type ${typeof cur}`);
          }
          const base = cur === undefined ? (op === '$inc' ? new Int32(0) : multiplyNumbers(arg, new Int32(0))) : cur;
          write(out, path, op === '$inc' ? addNumbers(base, arg) : multiplyNumbers(base, arg));
          break;
        }
        case '$min': case '$max': {
          const c = compareValues(arg, cur);
          if (cur === undefined || (op === '$min' ? c < 0 : c > 0)) write(out, path, clone(arg));
          break;
        }
        case '$rename': {
          if (cur !== undefined) {
            unset(out, path);
            write(out, String(arg), cur);
          }
          break;
        }
        case '$currentDate': write(out, path, now); break;
        case '$push': case '$addToSet': {
          if (cur !== undefined && !Array.isArray(cur)) {
            throw new CommandError(2, 'BadValue', `The field '${path}' must be an array but is of type ${typeof cur} in document {_id: ${String(out._id)}}`);
          }
          const arr = (cur as unknown[] | undefined) ?? [];
          const items = isPlainObject(arg) && '$each' in arg ? (arg.$each as unknown[]) : [arg];
          for (const item of items) if (op === '$push' || !arr.some((e) => valuesEqual(e, item))) arr.push(clone(item));
          write(out, path, arr);
          break;
        }
        case '$pull': {
          if (!Array.isArray(cur)) break;
          const cond = isPlainObject(arg) && Object.keys(arg)[0]?.startsWith('$') ? compileFilter({ v: arg }) : undefined;
          const objCond = isPlainObject(arg) && !cond ? compileFilter(arg) : undefined;
          write(out, path, cur.filter((e) => !(cond ? cond({ v: e }) : objCond ? isPlainObject(e) && objCond(e) : valuesEqual(e, arg))));
          break;
        }
      }
    }
  }
  if (doc._id !== undefined && !identical(out._id, doc._id)) {
    throw new CommandError(66, 'ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  return out;
}

function typeMismatch(msg: string): CommandError {
  return new CommandError(14, 'TypeMismatch', msg);
}

/** The document an upsert starts from: the filter's equality conditions (`{a: 1}`, `{a: {$eq: 1}}`, inside $and). */
export function upsertSeed(filter: Doc | undefined): Doc {
  const seed: Doc = {};
  const visit = (f: Doc): void => {
    for (const [k, v] of Object.entries(f)) {
      if (k === '$and' && Array.isArray(v)) v.filter(isPlainObject).forEach(visit);
      else if (k.startsWith('$')) continue;
      else if (isPlainObject(v) && Object.keys(v)[0]?.startsWith('$')) {
        if ('$eq' in v) write(seed, k, clone(v.$eq));
      } else if (!(v instanceof RegExp)) write(seed, k, clone(v));
    }
  };
  if (filter) visit(filter);
  return seed;
}

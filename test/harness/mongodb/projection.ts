/**
 * Projections for find and $project: inclusion (`{a: 1, "b.c": 1, d: "$x"}`) or exclusion
 * (`{a: 0}`), `_id` kept unless `_id: 0`, nested paths through arrays of documents. Included fields
 * keep the document's order and computed fields follow in the spec's order (mongod's order may differ).
 * The find-only operators $slice, $elemMatch, $meta and positional `a.$` are refused.
 */
import { evalExpr } from './expr.js';
import { isOperatorDoc } from './query.js';
import { badValue, CommandError, compareValues, isPlainObject, typeRank, type Doc } from './values.js';

type ProjTree = { [field: string]: true | false | { expr: unknown } | ProjTree };

/**
 * Inclusion (`{a: 1, "b.c": 1, d: "$x"}`) or exclusion (`{a: 0}`) projection; `_id` is kept unless
 * `_id: 0`. Mixing inclusion and exclusion (other than `_id`) is refused like mongod (code 31254/31253).
 */
export function compileProjection(spec: unknown): ((doc: Doc) => Doc) | undefined {
  if (spec === undefined || spec === null || (isPlainObject(spec) && Object.keys(spec).length === 0)) return undefined;
  if (!isPlainObject(spec)) throw badValue('projection must be an object');
  const tree: ProjTree = {};
  let mode: 'include' | 'exclude' | undefined;
  let idRule: boolean | undefined;
  const add = (path: string[], leaf: ProjTree[string]): void => {
    let node = tree;
    for (const p of path.slice(0, -1)) {
      const next = node[p];
      node = (node[p] = typeof next === 'object' && !('expr' in next) ? next : {}) as ProjTree;
    }
    node[path[path.length - 1]!] = leaf;
  };
  const walk = (obj: Doc, prefix: string[]): void => {
    for (const [k, v] of Object.entries(obj)) {
      const path = [...prefix, ...k.split('.')];
      if (k.startsWith('$')) throw badValue(`projection operator ${k} is not supported by the burr-edge test server`);
      let leaf: ProjTree[string];
      if (isPlainObject(v) && !isOperatorDoc(v)) {
        walk(v, path);
        continue;
      } else if (isOperatorDoc(v) && ['$slice', '$elemMatch', '$meta'].includes(Object.keys(v)[0]!)) {
        throw badValue(`projection operator ${Object.keys(v)[0]} is not supported by the burr-edge test server`);
      } else if (typeof v === 'boolean' || typeRank(v) === 2) {
        leaf = typeof v === 'boolean' ? v : compareValues(v, 0) !== 0;
      } else {
        leaf = { expr: v };
      }
      if (path.length === 1 && path[0] === '_id' && typeof leaf === 'boolean') {
        idRule = leaf;
        continue;
      }
      const m = leaf === false ? 'exclude' : 'include';
      if (mode && mode !== m) {
        throw m === 'exclude'
          ? new CommandError(31254, 'Location31254', `Cannot do exclusion on field ${path.join('.')} in inclusion projection`)
          : new CommandError(31253, 'Location31253', `Cannot do inclusion on field ${path.join('.')} in exclusion projection`);
      }
      mode = m;
      add(path, leaf);
    }
  };
  walk(spec, []);
  if (idRule === false || mode === 'exclude') {
    if (idRule === false) tree._id = false;
    mode ??= 'exclude';
  } else {
    tree._id = true;
  }
  if (mode === 'exclude') return (doc) => exclude(doc, tree);
  return (doc) => include(doc, tree, doc);
}

function include(doc: Doc, tree: ProjTree, root: Doc): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(doc)) {
    const rule = tree[k];
    if (rule === undefined || rule === false || (typeof rule === 'object' && 'expr' in rule)) continue;
    if (rule === true) out[k] = v;
    else if (Array.isArray(v)) out[k] = v.filter(isPlainObject).map((e) => include(e, rule as ProjTree, root));
    else if (isPlainObject(v)) out[k] = include(v, rule as ProjTree, root);
  }
  for (const [k, rule] of Object.entries(tree)) {
    if (typeof rule === 'object' && 'expr' in rule) {
      const v = evalExpr(rule.expr, root);
      if (v !== undefined) out[k] = v;
    }
  }
  return out;
}

function exclude(doc: Doc, tree: ProjTree): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(doc)) {
    const rule = tree[k];
    if (rule === false) continue;
    if (rule === undefined || rule === true) out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map((e) => (isPlainObject(e) ? exclude(e, rule as ProjTree) : e));
    else if (isPlainObject(v)) out[k] = exclude(v, rule as ProjTree);
    else out[k] = v;
  }
  return out;
}

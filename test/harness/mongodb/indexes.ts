/**
 * createIndexes / listIndexes / dropIndexes with mongod's rules: the default name is
 * `field_1_other_-1`; the same name with the same spec is a no-op; the same name with another key
 * is IndexKeySpecsConflict (86); the same key under another name, or the same name with other
 * options, is IndexOptionsConflict (85); a unique index over duplicate data fails with 11000.
 */
import { Int32 } from 'bson';
import type { Cursors } from './cursors.js';
import type { IndexSpec, Store } from './store.js';
import { badValue, CommandError, failedToParse, identical, isPlainObject, keyString, typeRank, numToDouble, toNum, type Doc } from './values.js';

const sameKey = (a: unknown, b: unknown): boolean => keyString(a) === keyString(b);

const SUPPORTED_OPTIONS = new Set(['key', 'name', 'unique', 'sparse', 'expireAfterSeconds', 'partialFilterExpression', 'v', 'background']);

export function defaultIndexName(key: Doc): string {
  return Object.entries(key).map(([k, v]) => `${k}_${typeRank(v) === 2 ? numToDouble(toNum(v)) : String(v)}`).join('_');
}

function parseSpec(raw: unknown): IndexSpec {
  if (!isPlainObject(raw) || !isPlainObject(raw.key) || Object.keys(raw.key).length === 0) {
    throw failedToParse('The \'key\' field is a required property of an index specification');
  }
  for (const opt of Object.keys(raw)) {
    if (!SUPPORTED_OPTIONS.has(opt)) throw badValue(`index option '${opt}' is not supported by the burr-edge test server`);
  }
  for (const [k, v] of Object.entries(raw.key)) {
    if (typeRank(v) !== 2 || numToDouble(toNum(v)) === 0) {
      throw new CommandError(67, 'CannotCreateIndex', `Values in the index key pattern can only be numbers (special index types such as '${String(v)}' are not supported by the burr-edge test server): ${k}`);
    }
  }
  const name = raw.name === undefined ? defaultIndexName(raw.key) : String(raw.name);
  const spec: IndexSpec = { name, key: raw.key, unique: raw.unique === true, sparse: raw.sparse === true };
  if (raw.expireAfterSeconds !== undefined) {
    if (Object.keys(raw.key).length !== 1) throw new CommandError(67, 'CannotCreateIndex', 'TTL indexes are single-field indexes, compound indexes do not support TTL');
    spec.expireAfterSeconds = numToDouble(toNum(raw.expireAfterSeconds));
  }
  if (raw.partialFilterExpression !== undefined) spec.partialFilterExpression = raw.partialFilterExpression as Doc;
  return spec;
}

/** The spec as listIndexes shows it: `{v: 2, key, name, unique?, sparse?, expireAfterSeconds?, partialFilterExpression?}`. */
export function describe(spec: IndexSpec): Doc {
  const out: Doc = { v: new Int32(2), key: spec.key, name: spec.name };
  if (spec.unique && spec.name !== '_id_') out.unique = true;
  if (spec.sparse) out.sparse = true;
  if (spec.expireAfterSeconds !== undefined) out.expireAfterSeconds = new Int32(spec.expireAfterSeconds);
  if (spec.partialFilterExpression) out.partialFilterExpression = spec.partialFilterExpression;
  return out;
}

const sameOptions = (a: IndexSpec, b: IndexSpec): boolean =>
  a.unique === b.unique && a.sparse === b.sparse && a.expireAfterSeconds === b.expireAfterSeconds &&
  identical(a.partialFilterExpression ?? null, b.partialFilterExpression ?? null);

export function createIndexesCmd(store: Store, db: string, cmd: Doc): Doc {
  if (!Array.isArray(cmd.indexes) || cmd.indexes.length === 0) throw badValue('Must specify at least one index to create');
  const specs = cmd.indexes.map(parseSpec);
  const { coll, created } = store.ensure(db, String(cmd.createIndexes));
  const before = coll.indexes.length;
  const toBuild: IndexSpec[] = [];
  for (const spec of specs) {
    const sameName = coll.indexes.find((i) => i.spec.name === spec.name)?.spec;
    const keyTwin = coll.indexes.find((i) => sameKey(i.spec.key, spec.key))?.spec;
    if (sameName && !sameKey(sameName.key, spec.key)) {
      throw new CommandError(86, 'IndexKeySpecsConflict',
        `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(describe(spec))}, existing index: ${JSON.stringify(describe(sameName))}`);
    }
    if (sameName) {
      if (!sameOptions(sameName, spec)) throw new CommandError(85, 'IndexOptionsConflict', `An existing index has the same name as the requested index but different options: ${spec.name}`);
      continue; // identical index: a no-op, as on mongod
    }
    if (keyTwin && sameOptions(keyTwin, spec) && !spec.partialFilterExpression) {
      throw new CommandError(85, 'IndexOptionsConflict', `Index already exists with a different name: ${keyTwin.name}`);
    }
    if (keyTwin && !spec.partialFilterExpression && !keyTwin.partialFilterExpression) {
      throw new CommandError(85, 'IndexOptionsConflict', `An equivalent index already exists with a different name and options. Requested index: ${JSON.stringify(describe(spec))}, existing index: ${JSON.stringify(describe(keyTwin))}`);
    }
    toBuild.push(spec);
  }
  // Build all or none: a failed unique build leaves the indexes built by this command removed.
  const built: string[] = [];
  try {
    for (const spec of toBuild) {
      coll.addIndex(spec);
      built.push(spec.name);
    }
  } catch (e) {
    built.forEach((n) => coll.dropIndex(n));
    if (created) store.drop(db, coll.name);
    throw e;
  }
  const reply: Doc = {
    numIndexesBefore: new Int32(before),
    numIndexesAfter: new Int32(coll.indexes.length),
    createdCollectionAutomatically: created,
  };
  if (toBuild.length === 0) reply.note = 'all indexes already exist';
  return reply;
}

export function listIndexesCmd(store: Store, db: string, cmd: Doc, cursors: Cursors, sizeOf: (d: Doc) => number): Doc {
  const name = String(cmd.listIndexes);
  const coll = store.get(db, name);
  if (!coll) throw new CommandError(26, 'NamespaceNotFound', `ns does not exist: ${db}.${name}`);
  const batchSize = isPlainObject(cmd.cursor) && cmd.cursor.batchSize !== undefined ? numToDouble(toNum(cmd.cursor.batchSize)) : undefined;
  const docs = coll.indexes.map((i) => describe(i.spec));
  return { cursor: cursors.first(`${db}.$cmd.listIndexes.${name}`, docs, batchSize, false, sizeOf) };
}

export function dropIndexesCmd(store: Store, db: string, cmd: Doc): Doc {
  const name = String(cmd.dropIndexes ?? cmd.deleteIndexes);
  const coll = store.get(db, name);
  if (!coll) throw new CommandError(26, 'NamespaceNotFound', `ns not found ${db}.${name}`);
  const was = coll.indexes.length;
  const arg = cmd.index;
  let names: string[];
  if (arg === '*') names = coll.indexes.slice(1).map((i) => i.spec.name);
  else if (typeof arg === 'string') names = [arg];
  else if (Array.isArray(arg)) names = arg.map(String);
  else if (isPlainObject(arg)) {
    const found = coll.indexes.find((i) => sameKey(i.spec.key, arg));
    if (!found) throw new CommandError(27, 'IndexNotFound', `can't find index with key: ${JSON.stringify(arg)}`);
    names = [found.spec.name];
  } else throw badValue('dropIndexes needs an index name, key pattern, list of names or "*"');
  for (const n of names) {
    if (n === '_id_') throw new CommandError(72, 'InvalidOptions', 'cannot drop _id index');
    if (!coll.indexes.some((i) => i.spec.name === n)) throw new CommandError(27, 'IndexNotFound', `index not found with name [${n}]`);
  }
  names.forEach((n) => coll.dropIndex(n));
  return { nIndexesWas: new Int32(was) };
}

/**
 * Write commands: insert, update, delete, findAndModify, with mongod's reply shapes
 * (`{n, nModified, upserted, writeErrors: [{index, code, errmsg, keyPattern, keyValue}]}`).
 * Every document write checks all unique indexes before it changes anything; a multi-update that
 * fails midway keeps what it changed before (as on mongod). `ordered` (default true) stops at the
 * first failing statement, unordered runs them all.
 */
import { Int32, Long } from 'bson';
import { compileProjection } from './projection.js';
import { compileFilter, compileSort } from './query.js';
import { checkId, newId, type Collection, type Store } from './store.js';
import { applyUpdate, clone, isOperatorUpdate, upsertSeed, validateUpdate } from './update.js';
import { badValue, CommandError, failedToParse, identical, intValue, isPlainObject, type Doc } from './values.js';

/** A write error entry as mongod reports it inside `writeErrors`. */
function writeError(index: number, e: unknown): Doc {
  if (!(e instanceof CommandError)) throw e;
  return { index: new Int32(index), code: new Int32(e.code), ...e.extra, errmsg: e.message };
}

function statements(cmd: Doc, field: string): Doc[] {
  const list = cmd[field];
  if (!Array.isArray(list)) throw failedToParse(`BSON field '${field}' is missing but a required field`);
  if (list.length === 0) throw new CommandError(16, 'InvalidLength', 'Write batch sizes must be between 1 and 100000. Got 0 operations.');
  if (list.length > 100_000) throw new CommandError(16, 'InvalidLength', `Write batch sizes must be between 1 and 100000. Got ${list.length} operations.`);
  return list.map((d) => {
    if (!isPlainObject(d)) throw failedToParse(`${field} entries must be documents`);
    return d;
  });
}

/** The `_id` first, as mongod stores it (an ObjectId is generated when missing). */
function withId(doc: Doc): Doc {
  if ('_id' in doc && Object.keys(doc)[0] === '_id') return doc;
  const { _id, ...rest } = doc;
  return { _id: _id === undefined ? newId() : _id, ...rest };
}

export function insertCmd(store: Store, db: string, cmd: Doc): Doc {
  const docs = statements(cmd, 'documents');
  const ordered = cmd.ordered !== false;
  const { coll } = store.ensure(db, String(cmd.insert));
  let n = 0;
  const errors: Doc[] = [];
  for (const [i, raw] of docs.entries()) {
    try {
      for (const k of Object.keys(raw)) if (k.startsWith('$')) throw badValue(`Document can't have $ prefixed field names: ${k}`);
      const doc = withId(raw);
      checkId(doc);
      coll.checkUnique(doc);
      coll.put(doc);
      n++;
    } catch (e) {
      errors.push(writeError(i, e));
      if (ordered) break;
    }
  }
  return { n: new Int32(n), ...(errors.length ? { writeErrors: errors } : {}) };
}

function matching(coll: Collection | undefined, filter: unknown, sort?: unknown): Doc[] {
  const p = compileFilter(filter);
  const cmp = compileSort(sort);
  const docs = coll ? [...coll.docs.values()].filter(p) : [];
  return cmp ? docs.sort(cmp) : docs;
}

export function deleteCmd(store: Store, db: string, cmd: Doc): Doc {
  const stmts = statements(cmd, 'deletes');
  const ordered = cmd.ordered !== false;
  const coll = store.get(db, String(cmd.delete));
  let n = 0;
  const errors: Doc[] = [];
  for (const [i, s] of stmts.entries()) {
    try {
      const limit = Number(s.limit?.valueOf() ?? 0);
      if (limit !== 0 && limit !== 1) throw failedToParse('The limit field in delete objects must be 0 or 1. Got ' + limit);
      const docs = matching(coll, s.q);
      for (const d of limit === 1 ? docs.slice(0, 1) : docs) {
        coll!.remove(d);
        n++;
      }
    } catch (e) {
      errors.push(writeError(i, e));
      if (ordered) break;
    }
  }
  return { n: new Int32(n), ...(errors.length ? { writeErrors: errors } : {}) };
}

interface UpdateOne { matched: number; modified: number; upsertedId?: unknown; before?: Doc; after?: Doc; error?: unknown }

/** One update statement: all documents' new versions are checked against unique indexes, then written. */
function updateOne(store: Store, db: string, name: string, q: unknown, u: unknown, upsert: boolean, multi: boolean, sort?: unknown): UpdateOne {
  const update = validateUpdate(u);
  if (multi && !isOperatorUpdate(update)) throw failedToParse('multi update is not supported for replacement-style update');
  const coll = store.get(db, name);
  const docs = matching(coll, q, sort);
  const targets = multi ? docs : docs.slice(0, 1);
  if (targets.length === 0) {
    if (!upsert) return { matched: 0, modified: 0 };
    const filter = isPlainObject(q) ? q : undefined;
    const seed = upsertSeed(filter);
    const doc = withId(applyUpdate(seed, update, true));
    if (!isOperatorUpdate(update) && seed._id !== undefined && doc._id === undefined) doc._id = seed._id;
    checkId(doc);
    const { coll: target } = store.ensure(db, name);
    target.checkUnique(doc);
    target.put(doc);
    return { matched: 0, modified: 0, upsertedId: doc._id, after: doc };
  }
  // Document by document, as mongod: each write checks every unique index before it changes
  // anything; a multi-update that fails midway keeps the documents it already changed.
  const result: UpdateOne = { matched: 0, modified: 0 };
  for (const before of targets) {
    try {
      const after = applyUpdate(before, update, false);
      if (!identical(before, after)) {
        coll!.checkUnique(after, before);
        coll!.put(after, before);
        result.modified++;
      }
      result.matched++;
      result.before ??= before;
      result.after ??= after;
    } catch (e) {
      result.error = e;
      break;
    }
  }
  return result;
}

export function updateCmd(store: Store, db: string, cmd: Doc): Doc {
  const stmts = statements(cmd, 'updates');
  const ordered = cmd.ordered !== false;
  const name = String(cmd.update);
  let n = 0;
  let nModified = 0;
  const upserted: Doc[] = [];
  const errors: Doc[] = [];
  for (const [i, s] of stmts.entries()) {
    try {
      if (s.arrayFilters !== undefined) throw badValue('arrayFilters are not supported by the burr-edge test server');
      if (s.collation !== undefined) throw badValue('collation is not supported by the burr-edge test server');
      const r = updateOne(store, db, name, s.q, s.u, s.upsert === true, s.multi === true, s.sort);
      if (r.upsertedId !== undefined) {
        n++;
        upserted.push({ index: new Int32(i), _id: r.upsertedId });
      } else {
        n += r.matched;
        nModified += r.modified;
        if (r.error !== undefined) throw r.error;
      }
    } catch (e) {
      errors.push(writeError(i, e));
      if (ordered) break;
    }
  }
  return {
    n: new Int32(n),
    nModified: new Int32(nModified),
    ...(upserted.length ? { upserted } : {}),
    ...(errors.length ? { writeErrors: errors } : {}),
  };
}

/** findAndModify: one document, `remove` or `update`, returning it before (default) or after (`new`). */
export function findAndModifyCmd(store: Store, db: string, cmd: Doc): Doc {
  const name = String(cmd.findAndModify ?? cmd.findandmodify);
  const project = compileProjection(cmd.fields);
  const shape = (d: Doc | undefined): Doc | null => (d ? (project ? project(d) : d) : null);
  if (cmd.remove === true) {
    if (cmd.update !== undefined) throw failedToParse('Cannot specify both an update and remove=true');
    const coll = store.get(db, name);
    const [doc] = matching(coll, cmd.query, cmd.sort);
    if (doc) coll!.remove(doc);
    return { lastErrorObject: { n: new Int32(doc ? 1 : 0) }, value: shape(doc) };
  }
  if (cmd.update === undefined) throw failedToParse('Either an update or remove=true must be specified');
  const r = updateOne(store, db, name, cmd.query, cmd.update, cmd.upsert === true, false, cmd.sort);
  if (r.error !== undefined) throw r.error;
  const lastErrorObject: Doc = { n: intValue(r.upsertedId !== undefined ? 1 : r.matched), updatedExisting: r.matched > 0 };
  if (r.upsertedId !== undefined) lastErrorObject.upserted = r.upsertedId;
  const value = cmd.new === true ? r.after : r.upsertedId !== undefined ? undefined : r.before;
  return { lastErrorObject, value: shape(value ? clone(value) : undefined) };
}

/**
 * MongoDB 8.0's client-level `bulkWrite` (admin; `ops` and `nsInfo` usually as kind-1 sequences),
 * which the Node driver's `MongoClient.bulkWrite()` sends to servers of wire version 25. Each op
 * runs through the same code as insert/update/delete; the reply is mongod's cursor of per-op results.
 */
export function bulkWriteCmd(store: Store, db: string, cmd: Doc): Doc {
  if (db !== 'admin') throw new CommandError(13, 'Unauthorized', 'bulkWrite may only be run against the admin database.');
  const ops = statements(cmd, 'ops');
  const nsInfo = Array.isArray(cmd.nsInfo) ? (cmd.nsInfo as Doc[]) : [];
  const ordered = cmd.ordered !== false;
  const errorsOnly = cmd.errorsOnly === true;
  const totals = { nErrors: 0, nInserted: 0, nMatched: 0, nModified: 0, nUpserted: 0, nDeleted: 0 };
  const results: Doc[] = [];
  for (const [idx, op] of ops.entries()) {
    const kind = ['insert', 'update', 'delete'].find((k) => k in op);
    const ns = kind === undefined ? undefined : nsInfo[Number((op[kind] as { valueOf(): unknown }).valueOf())]?.ns;
    let r: Doc;
    if (kind === undefined || typeof ns !== 'string' || !ns.includes('.')) {
      r = writeError(0, failedToParse(`Unrecognized bulkWrite operation or namespace index at ops[${idx}]`));
    } else {
      const target = ns.slice(0, ns.indexOf('.'));
      const coll = ns.slice(ns.indexOf('.') + 1);
      if (kind === 'insert') {
        r = insertCmd(store, target, { insert: coll, documents: [op.document] });
        totals.nInserted += Number(r.n);
      } else if (kind === 'update') {
        const stmt: Doc = { q: op.filter, u: op.updateMods, upsert: op.upsert === true, multi: op.multi === true };
        for (const k of ['sort', 'arrayFilters', 'collation']) if (op[k] !== undefined) stmt[k] = op[k];
        r = updateCmd(store, target, { update: coll, updates: [stmt] });
        if (r.upserted) {
          totals.nUpserted++;
          r = { ...r, upserted: { _id: (r.upserted as Doc[])[0]!._id } };
        } else {
          totals.nMatched += Number(r.n);
          totals.nModified += Number(r.nModified);
        }
      } else {
        r = deleteCmd(store, target, { delete: coll, deletes: [{ q: op.filter, limit: new Int32(op.multi === true ? 0 : 1) }] });
        totals.nDeleted += Number(r.n);
      }
    }
    const err = Array.isArray(r.writeErrors) ? (r.writeErrors[0] as Doc) : r.code !== undefined ? r : undefined;
    if (err) {
      const { index: _index, ...rest } = err;
      totals.nErrors++;
      results.push({ ok: new Int32(0), idx: new Int32(idx), ...rest, n: new Int32(0) });
      if (ordered) break;
    } else if (!errorsOnly) {
      const { writeErrors: _w, ...counts } = r;
      results.push({ ok: new Int32(1), idx: new Int32(idx), ...counts });
    }
  }
  return {
    cursor: { id: Long.fromNumber(0), firstBatch: results, ns: 'admin.$cmd.bulkWrite' },
    ...Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, new Int32(v)])),
  };
}

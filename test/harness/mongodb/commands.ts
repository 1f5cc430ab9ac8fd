/**
 * Command dispatch: the first key of the body names the command (as on mongod); `$db` names the
 * database. Generic fields drivers send (lsid, $clusterTime, readConcern, writeConcern,
 * $readPreference, apiVersion, comment, maxTimeMS, ...) are accepted and ignored. Replies carry
 * `ok: 1`; a thrown CommandError becomes `{ok: 0, errmsg, code, codeName}`.
 */
import { BSON, Double, Int32, Long } from 'bson';
import { runPipeline } from './aggregate.js';
import { Cursors, optNumber } from './cursors.js';
import { createIndexesCmd, dropIndexesCmd, listIndexesCmd } from './indexes.js';
import { compileProjection } from './projection.js';
import { compileFilter, compileSort } from './query.js';
import type { Store } from './store.js';
import { bulkWriteCmd, deleteCmd, findAndModifyCmd, insertCmd, updateCmd } from './writes.js';
import { badValue, CommandError, failedToParse, isPlainObject, keyString, compareValues, type Doc } from './values.js';
import { getField } from './expr.js';

export const SERVER_VERSION = '8.0.0-burr-edge-test-server';
export const MAX_WIRE_VERSION = 25;

export interface Session {
  connectionId: number;
  remote: string;
}

export interface Context {
  store: Store;
  cursors: Cursors;
  startedAt: number;
  connections(): number;
}

const sizeOf = (d: Doc): number => BSON.calculateObjectSize(d);

/** The hello / isMaster answer; `legacy` (isMaster, ismaster) says `ismaster` instead of `isWritablePrimary`. */
export function helloReply(cmd: Doc, session: Session, legacy: boolean): Doc {
  return {
    ...(cmd.helloOk === true ? { helloOk: true } : {}),
    ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
    maxBsonObjectSize: new Int32(16 * 1024 * 1024),
    maxMessageSizeBytes: new Int32(48_000_000),
    maxWriteBatchSize: new Int32(100_000),
    localTime: new Date(),
    logicalSessionTimeoutMinutes: new Int32(30),
    connectionId: new Int32(session.connectionId),
    minWireVersion: new Int32(0),
    maxWireVersion: new Int32(MAX_WIRE_VERSION),
    readOnly: false,
  };
}

function collName(cmd: Doc, field: string): string {
  const v = cmd[field];
  if (typeof v !== 'string' || !v) throw new CommandError(73, 'InvalidNamespace', `collection name has invalid type ${typeof v}`);
  return v;
}

function cursorBatch(cmd: Doc): number | undefined {
  const c = cmd.cursor;
  return isPlainObject(c) ? optNumber(c.batchSize) : undefined;
}

function refuseUnsupported(cmd: Doc): void {
  if (cmd.collation !== undefined) throw badValue('collation is not supported by the burr-edge test server');
  if (cmd.txnNumber !== undefined || cmd.startTransaction !== undefined || cmd.autocommit !== undefined) {
    throw new CommandError(20, 'IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos');
  }
}

function find(ctx: Context, db: string, cmd: Doc): Doc {
  const name = collName(cmd, 'find');
  const filter = compileFilter(cmd.filter);
  const cmp = compileSort(cmd.sort);
  const project = compileProjection(cmd.projection);
  const skip = optNumber(cmd.skip) ?? 0;
  let limit = optNumber(cmd.limit) ?? 0;
  let batchSize = optNumber(cmd.batchSize);
  let single = cmd.singleBatch === true;
  if (skip < 0) throw badValue('skip value must be non-negative');
  if (limit < 0) {
    // Legacy negative limit: one batch of |limit| documents, then the cursor is closed.
    limit = -limit;
    single = true;
    batchSize = limit;
  }
  if (batchSize !== undefined && batchSize < 0) throw badValue('batchSize value must be non-negative');
  const coll = ctx.store.get(db, name);
  let docs = coll ? [...coll.docs.values()].filter(filter) : [];
  if (cmp) docs.sort(cmp);
  docs = docs.slice(skip, limit ? skip + limit : undefined);
  if (project) docs = docs.map(project);
  return { cursor: ctx.cursors.first(`${db}.${name}`, docs, batchSize, single, sizeOf) };
}

function aggregate(ctx: Context, db: string, cmd: Doc): Doc {
  if (cmd.aggregate === 1 || typeof cmd.aggregate !== 'string') {
    throw badValue('database-level aggregation (aggregate: 1) is not supported by the burr-edge test server');
  }
  if (!isPlainObject(cmd.cursor) && cmd.explain !== true) {
    throw new CommandError(9, 'FailedToParse', "The 'cursor' option is required, except for aggregate with the explain argument");
  }
  if (cmd.explain === true) throw badValue('explain is not supported by the burr-edge test server');
  const name = cmd.aggregate;
  const coll = ctx.store.get(db, name);
  const docs = runPipeline(cmd.pipeline, coll ? [...coll.docs.values()] : []);
  return { cursor: ctx.cursors.first(`${db}.${name}`, docs, cursorBatch(cmd), false, sizeOf) };
}

function distinct(ctx: Context, db: string, cmd: Doc): Doc {
  const name = collName(cmd, 'distinct');
  if (typeof cmd.key !== 'string') throw failedToParse("BSON field 'distinct.key' is missing but a required field");
  const filter = compileFilter(cmd.query);
  const coll = ctx.store.get(db, name);
  const seen = new Map<string, unknown>();
  for (const d of coll ? coll.docs.values() : []) {
    if (!filter(d)) continue;
    const v = getField(d, cmd.key);
    for (const e of Array.isArray(v) ? v : [v]) if (e !== undefined && !seen.has(keyString(e))) seen.set(keyString(e), e);
  }
  // mongod's order is whatever its plan yields; sorted in BSON order here.
  return { values: [...seen.values()].sort(compareValues) };
}

function count(ctx: Context, db: string, cmd: Doc): Doc {
  const name = collName(cmd, 'count');
  const filter = compileFilter(cmd.query);
  const coll = ctx.store.get(db, name);
  let n = coll ? [...coll.docs.values()].filter(filter).length : 0;
  n = Math.max(0, n - (optNumber(cmd.skip) ?? 0));
  const limit = Math.abs(optNumber(cmd.limit) ?? 0);
  if (limit) n = Math.min(n, limit);
  return { n: new Int32(n) };
}

function listCollections(ctx: Context, db: string, cmd: Doc): Doc {
  const filter = compileFilter(cmd.filter);
  const docs: Doc[] = [];
  for (const coll of ctx.store.dbs.get(db)?.values() ?? []) {
    const full: Doc = {
      name: coll.name, type: 'collection', options: {}, info: { readOnly: false, uuid: coll.uuid },
      idIndex: { v: new Int32(2), key: { _id: new Int32(1) }, name: '_id_' },
    };
    if (!filter(full)) continue;
    docs.push(cmd.nameOnly === true ? { name: coll.name, type: 'collection' } : full);
  }
  return { cursor: ctx.cursors.first(`${db}.$cmd.listCollections`, docs, cursorBatch(cmd), false, sizeOf) };
}

function listDatabases(ctx: Context, db: string, cmd: Doc): Doc {
  if (db !== 'admin') throw new CommandError(13, 'Unauthorized', 'listDatabases may only be run against the admin database.');
  const filter = compileFilter(cmd.filter);
  const databases: Doc[] = [];
  let total = 0;
  for (const [name, colls] of ctx.store.dbs) {
    let size = 0;
    for (const c of colls.values()) for (const d of c.docs.values()) size += sizeOf(d);
    total += size;
    const entry: Doc = { name, sizeOnDisk: Long.fromNumber(size), empty: size === 0 };
    if (filter(entry)) databases.push(cmd.nameOnly === true ? { name } : entry);
  }
  if (cmd.nameOnly === true) return { databases };
  return { databases, totalSize: Long.fromNumber(total), totalSizeMb: Long.fromNumber(Math.floor(total / 1048576)) };
}

function create(ctx: Context, db: string, cmd: Doc): Doc {
  const name = collName(cmd, 'create');
  const options = Object.keys(cmd).filter((k) => !['create', '$db', 'lsid', '$clusterTime', 'writeConcern', '$readPreference', 'apiVersion', 'apiStrict', 'apiDeprecationErrors', 'comment', 'maxTimeMS'].includes(k));
  if (options.length) throw badValue(`collection options (${options.join(', ')}) are not supported by the burr-edge test server`);
  // Since MongoDB 7.0, create of an existing collection with the same options succeeds; with
  // other options it is NamespaceExists (48). No options are accepted here, so it always succeeds.
  ctx.store.ensure(db, name);
  return {};
}

type Handler = (ctx: Context, db: string, cmd: Doc, session: Session) => Doc;

const HANDLERS: Record<string, Handler> = {
  hello: (_c, _d, cmd, s) => helloReply(cmd, s, false),
  isMaster: (_c, _d, cmd, s) => helloReply(cmd, s, true),
  ismaster: (_c, _d, cmd, s) => helloReply(cmd, s, true),
  ping: () => ({}),
  buildInfo: () => ({
    version: SERVER_VERSION, gitVersion: 'burr-edge', versionArray: [8, 0, 0, 0].map((n) => new Int32(n)),
    bits: new Int32(64), debug: false, maxBsonObjectSize: new Int32(16 * 1024 * 1024), storageEngines: ['burr-edge-memory'],
    javascriptEngine: 'none', modules: [], openssl: { running: 'disabled' },
  }),
  getParameter: (_c, _d, cmd) => {
    const out: Doc = {};
    if (cmd.featureCompatibilityVersion !== undefined || cmd.getParameter === '*') out.featureCompatibilityVersion = { version: '8.0' };
    if (Object.keys(out).length === 0) throw new CommandError(72, 'InvalidOptions', 'no option found to get');
    return out;
  },
  getLog: (_c, _d, cmd) => (cmd.getLog === '*' ? { names: ['global', 'startupWarnings'] } : { totalLinesWritten: new Int32(0), log: [] }),
  whatsmyuri: (_c, _d, _cmd, s) => ({ you: s.remote }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } }),
  serverStatus: (ctx) => ({
    host: '127.0.0.1', version: SERVER_VERSION, process: 'mongod', pid: Long.fromNumber(process.pid),
    uptime: new Double((Date.now() - ctx.startedAt) / 1000), localTime: new Date(), connections: { current: new Int32(ctx.connections()) },
  }),
  endSessions: () => ({}),
  refreshSessions: () => ({}),
  killAllSessions: () => ({}),
  saslStart: () => { throw new CommandError(18, 'AuthenticationFailed', 'Authentication failed (the burr-edge test server has no users).'); },
  listDatabases: listDatabases,
  listCollections: listCollections,
  create: create,
  // Since MongoDB 7.0 (SERVER-43894), dropping a missing collection succeeds.
  drop: (ctx, db, cmd) => {
    const name = collName(cmd, 'drop');
    ctx.store.drop(db, name);
    return { ns: `${db}.${name}` };
  },
  dropDatabase: (ctx, db) => {
    ctx.store.dbs.delete(db);
    return { dropped: db };
  },
  insert: (ctx, db, cmd) => insertCmd(ctx.store, db, cmd),
  update: (ctx, db, cmd) => updateCmd(ctx.store, db, cmd),
  delete: (ctx, db, cmd) => deleteCmd(ctx.store, db, cmd),
  bulkWrite: (ctx, db, cmd) => bulkWriteCmd(ctx.store, db, cmd),
  findAndModify: (ctx, db, cmd) => findAndModifyCmd(ctx.store, db, cmd),
  findandmodify: (ctx, db, cmd) => findAndModifyCmd(ctx.store, db, cmd),
  find: find,
  getMore: (ctx, _db, cmd) => ({ cursor: ctx.cursors.more(cmd.getMore, String(cmd.collection), optNumber(cmd.batchSize), sizeOf) }),
  killCursors: (ctx, _db, cmd) => ctx.cursors.kill(Array.isArray(cmd.cursors) ? cmd.cursors : []),
  aggregate: aggregate,
  distinct: distinct,
  count: count,
  createIndexes: (ctx, db, cmd) => createIndexesCmd(ctx.store, db, cmd),
  listIndexes: (ctx, db, cmd) => listIndexesCmd(ctx.store, db, cmd, ctx.cursors, sizeOf),
  dropIndexes: (ctx, db, cmd) => dropIndexesCmd(ctx.store, db, cmd),
  deleteIndexes: (ctx, db, cmd) => dropIndexesCmd(ctx.store, db, cmd),
};
HANDLERS.buildinfo = HANDLERS.buildInfo!;

/** Commands that answer a driver's monitoring, not its work (left out of commandCount()). */
export const MONITORING = new Set(['hello', 'isMaster', 'ismaster']);

/** Runs one command; never throws — errors become `{ok: 0, ...}` replies. */
export function runCommand(ctx: Context, db: string, cmd: Doc, session: Session): Doc {
  const name = Object.keys(cmd)[0];
  try {
    const handler = name === undefined ? undefined : HANDLERS[name];
    if (!handler) throw new CommandError(59, 'CommandNotFound', `no such command: '${name ?? ''}'`);
    if (!MONITORING.has(name!)) refuseUnsupported(cmd);
    return { ...handler(ctx, db, cmd, session), ok: new Double(1) };
  } catch (e) {
    if (e instanceof CommandError) return { ok: new Double(0), errmsg: e.message, code: new Int32(e.code), codeName: e.codeName, ...e.extra };
    return { ok: new Double(0), errmsg: `internal error in the burr-edge test server: ${(e as Error).message}`, code: new Int32(1), codeName: 'InternalError' };
  }
}

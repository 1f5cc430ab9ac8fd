/**
 * Proves the MongoDB wire-protocol test server (test/harness/mongodb/) with two independent,
 * unmodified clients: the official Node driver (`mongodb` 7.9) and Debian's pymongo 3.11
 * (test/harness/mongodb_pymongo_check.py). Every result here is the test server's, not MongoDB's.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { BSON, Double, Int32, Long, MongoBulkWriteError, MongoClientBulkWriteError, MongoClient, MongoServerError, ObjectId, type Collection, type Db, type Document } from 'mongodb';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { freePort } from './net.js';
import { startMongoTestServer, type MongoTestServer } from './mongodb/server.js';
import { crc32c } from './mongodb/wire.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

let server: MongoTestServer;
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  server = await startMongoTestServer({ ttlSweepMs: 100 });
  client = new MongoClient(server.url, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  db = client.db('harness');
});

afterAll(async () => {
  await client?.close();
  await server?.close();
});

/** Rejection of a promise as a value (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => { throw new Error('expected a rejection'); },
    (e: unknown) => e,
  );
}

async function fresh(name: string): Promise<Collection<Document>> {
  await db.collection(name).drop();
  return db.collection(name);
}

describe('MongoDB test server, unmodified Node driver', () => {
  it('handshakes as a standalone 8.0-era server and answers admin commands', async () => {
    const hello = await db.admin().command({ hello: 1 });
    expect(hello).toMatchObject({
      isWritablePrimary: true, maxWireVersion: 25, minWireVersion: 0, maxBsonObjectSize: 16777216,
      maxMessageSizeBytes: 48000000, maxWriteBatchSize: 100000, logicalSessionTimeoutMinutes: 30, ok: 1,
    });
    expect(hello.localTime).toBeInstanceOf(Date);
    expect(hello.setName).toBeUndefined();
    const info = await db.admin().buildInfo();
    expect(info.version).toBe('8.0.0-burr-edge-test-server');
    expect(info.versionArray).toEqual([8, 0, 0, 0]);
    expect(await db.admin().ping()).toEqual({ ok: 1 });
    const err = await rejection(db.command({ frobnicate: 1 }));
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err).toMatchObject({ code: 59, codeName: 'CommandNotFound' });
  });

  it('inserts, adds an ObjectId _id, and refuses a duplicate with code 11000, keyPattern and keyValue', async () => {
    const users = await fresh('users');
    expect(await users.createIndex({ email: 1 }, { unique: true })).toBe('email_1');
    const r = await users.insertOne({ email: 'ada@example.com', n: 1 });
    expect(r.insertedId).toBeInstanceOf(ObjectId);
    const dup = await rejection(users.insertOne({ email: 'ada@example.com', n: 2 }));
    expect(dup).toBeInstanceOf(MongoServerError);
    expect(dup).toMatchObject({
      code: 11000,
      keyPattern: { email: 1 },
      keyValue: { email: 'ada@example.com' },
      message: 'E11000 duplicate key error collection: harness.users index: email_1 dup key: { email: "ada@example.com" }',
    });
    // a duplicate _id names the _id_ index
    const idDup = await rejection(users.insertOne({ _id: r.insertedId, email: 'other@example.com' }));
    expect(idDup).toMatchObject({ code: 11000, keyPattern: { _id: 1 }, keyValue: { _id: r.insertedId } });
    expect(await users.countDocuments()).toBe(1);
  });

  it('reports write errors of insertMany by index, ordered (stops) and unordered (continues)', async () => {
    const c = await fresh('bulk');
    await c.createIndex({ team: 1, k: 1 }, { unique: true });
    const ordered = await rejection(c.insertMany([{ team: 'a', k: 1 }, { team: 'a', k: 1 }, { team: 'a', k: 2 }]));
    expect(ordered).toBeInstanceOf(MongoBulkWriteError);
    const e = ordered as MongoBulkWriteError;
    expect(e.code).toBe(11000);
    expect(e.insertedCount).toBe(1);
    expect(e.writeErrors).toHaveLength(1);
    const we = Array.isArray(e.writeErrors) ? e.writeErrors[0]! : e.writeErrors;
    expect(we.index).toBe(1);
    expect(we.errmsg).toBe('E11000 duplicate key error collection: harness.bulk index: team_1_k_1 dup key: { team: "a", k: 1 }');
    // The driver's WriteError keeps only index/code/errmsg/errInfo/op: keyPattern and keyValue of a
    // bulk write reach the caller through errmsg alone. On the wire they are there:
    expect(we.err).not.toHaveProperty('keyPattern');
    const wire = await db.command({ insert: 'bulk', documents: [{ team: 'a', k: 1 }] });
    expect(wire.writeErrors).toEqual([{
      index: 0, code: 11000, keyPattern: { team: 1, k: 1 }, keyValue: { team: 'a', k: 1 },
      errmsg: 'E11000 duplicate key error collection: harness.bulk index: team_1_k_1 dup key: { team: "a", k: 1 }',
    }]);
    expect(wire.n).toBe(0);
    const unordered = (await rejection(c.insertMany([{ team: 'b', k: 1 }, { team: 'a', k: 1 }, { team: 'b', k: 2 }], { ordered: false }))) as MongoBulkWriteError;
    expect(unordered.insertedCount).toBe(2);
    expect(await c.countDocuments()).toBe(3);
  });

  it('finds with filters, sort, projection, skip and limit', async () => {
    const c = await fresh('people');
    await c.insertMany([
      { name: 'Ada', age: 36, tags: ['math', 'code'], addr: { city: 'London' } },
      { name: 'Grace', age: new Long(45), tags: ['navy'], addr: { city: 'New York' } },
      { name: 'Linus', age: new Double(28), tags: [], addr: { city: 'Helsinki' } },
      { name: 'Zoë 🌍', age: 'unknown' },
    ]);
    const oldest = await c.findOne({ age: { $type: 'number' } }, { sort: { age: -1 }, projection: { _id: 0, name: 1, 'addr.city': 1 } });
    expect(oldest).toEqual({ name: 'Grace', addr: { city: 'New York' } });
    const excl = await c.findOne({ name: 'Ada' }, { projection: { tags: 0, addr: 0 } });
    expect(Object.keys(excl!)).toEqual(['_id', 'name', 'age']);
    const names = async (filter: Document): Promise<string[]> => (await c.find(filter).sort({ name: 1 }).toArray()).map((d) => d.name as string);
    expect(await names({ age: { $gt: 30 } })).toEqual(['Ada', 'Grace']); // type bracketing: the string age never compares
    expect(await names({ age: 45 })).toEqual(['Grace']); // Int32 45 equals Long 45
    expect(await names({ age: 28 })).toEqual(['Linus']); // and Double 28.0
    expect(await names({ tags: 'code' })).toEqual(['Ada']); // array element
    expect(await names({ 'addr.city': { $in: ['London', 'Helsinki'] } })).toEqual(['Ada', 'Linus']);
    expect(await names({ addr: { $exists: false } })).toEqual(['Zoë 🌍']);
    expect(await names({ $or: [{ tags: { $size: 0 } }, { name: /^Z/ }] })).toEqual(['Linus', 'Zoë 🌍']);
    expect(await names({ tags: { $ne: 'navy' }, age: { $not: { $lt: 30 } } })).toEqual(['Ada', 'Zoë 🌍']);
    const page = await c.find({}, { sort: { name: -1 }, skip: 1, limit: 2, projection: { name: 1, _id: 0 } }).toArray();
    expect(page).toEqual([{ name: 'Linus' }, { name: 'Grace' }]);
  });

  it('hands out a long result over several getMore batches, with Long cursor ids', async () => {
    const c = await fresh('many');
    await c.insertMany(Array.from({ length: 35 }, (_, i) => ({ i })));
    server.resetCount();
    const all = await c.find({}, { batchSize: 10, sort: { i: 1 } }).toArray();
    expect(all.map((d) => d.i)).toEqual(Array.from({ length: 35 }, (_, i) => i));
    expect(server.commandCount()).toBe(4); // find + 3 getMore
    const raw = await db.command({ find: 'many', batchSize: 5 });
    expect(raw.cursor.firstBatch).toHaveLength(5);
    expect(raw.cursor.id).toBeInstanceOf(Long);
    expect(raw.cursor.ns).toBe('harness.many');
    const next = await db.command({ getMore: raw.cursor.id, collection: 'many', batchSize: 100 });
    expect(next.cursor.nextBatch).toHaveLength(30);
    expect(Number(next.cursor.id)).toBe(0);
    const limited = await c.find({}).limit(-3).toArray();
    expect(limited).toHaveLength(3);
    const gone = await rejection(db.command({ getMore: raw.cursor.id, collection: 'many' }));
    expect(gone).toMatchObject({ code: 43 });
  });

  it('aggregates with $match, $group, $sort, $limit, $project and $count', async () => {
    const c = await fresh('steps');
    await c.insertMany([
      { app: 'a', seq: 1, at: new Date(1000) }, { app: 'a', seq: 2, at: new Date(2000) },
      { app: 'b', seq: 5, at: new Date(3000) }, { app: 'c', seq: 1, at: new Date(500) }, { app: 'a', seq: 3, at: new Date(2500) },
    ]);
    const out = await c.aggregate([
      { $match: { app: { $ne: 'c' } } },
      { $sort: { seq: 1 } },
      { $group: { _id: '$app', last: { $max: '$seq' }, first: { $first: '$seq' }, n: { $sum: 1 }, seqs: { $push: '$seq' }, latest: { $max: '$at' } } },
      { $sort: { last: -1 } },
      { $limit: 1 },
    ]).toArray();
    expect(out).toEqual([{ _id: 'b', last: 5, first: 5, n: 1, seqs: [5], latest: new Date(3000) }]);
    const byApp = await c.aggregate([{ $group: { _id: { app: '$app' }, total: { $sum: '$seq' }, c: { $count: {} } } }, { $sort: { '_id.app': 1 } }, { $project: { _id: 0, app: '$_id.app', total: 1, c: 1 } }]).toArray();
    expect(byApp).toEqual([{ total: 6, c: 3, app: 'a' }, { total: 5, c: 1, app: 'b' }, { total: 1, c: 1, app: 'c' }]);
    expect(await c.aggregate([{ $match: { app: 'a' } }, { $count: 'n' }]).toArray()).toEqual([{ n: 3 }]);
    const overall = await c.aggregate([{ $group: { _id: null, max: { $max: '$seq' }, min: { $min: '$at' } } }]).toArray();
    expect(overall).toEqual([{ _id: null, max: 5, min: new Date(500) }]);
    const bad = await rejection(c.aggregate([{ $lookup: { from: 'x', as: 'y' } }]).toArray());
    expect(bad).toMatchObject({ code: 40324 });
  });

  it("runs the MongoDB persister's session pipelines: $cond/$lte/$literal in $max, compound _id, $arrayElemAt, $push of $$ROOT, UTF-8 string order", async () => {
    const c = await fresh('sessions');
    await c.insertMany([
      { pk: 'p', app: 'x', seq: 0, at: 't1' }, { pk: 'p', app: 'x', seq: 1, at: 't3' }, { pk: 'p', app: 'y', seq: 0, at: 't2' },
      { pk: null, app: 'z', seq: 0, at: 't0' }, { pk: '\uFF01', app: 'w', seq: 0, at: 't5' }, { pk: '\u{1F600}', app: 'v', seq: 0, at: 't6' },
    ]);
    const markers = (snapshot: unknown) => c.aggregate([
      { $match: { pk: 'p' } },
      { $sort: { app: -1, seq: -1 } },
      { $group: { _id: '$app', top: { $first: '$seq' }, marker: { $max: { $cond: [{ $lte: ['$at', snapshot] }, '$at', null] } } } },
      { $sort: { _id: 1 } },
    ]).toArray();
    expect(await markers({ $literal: 't2' })).toEqual([{ _id: 'x', top: 1, marker: 't1' }, { _id: 'y', top: 0, marker: 't2' }]);
    // $literal keeps a text that looks like a field path a text: '$at' < 't…', so no step is at or before it.
    expect(await markers({ $literal: '$at' })).toEqual([{ _id: 'x', top: 1, marker: null }, { _id: 'y', top: 0, marker: null }]);
    const bounds = await c.aggregate([
      { $sort: { pk: -1, app: -1, seq: -1 } },
      { $group: { _id: { p: '$pk', a: '$app' }, ids: { $push: '$seq' } } },
      { $project: { second: { $arrayElemAt: ['$ids', 1] } } },
      { $match: { second: { $exists: true } } },
      { $group: { _id: null, apps: { $push: '$$ROOT' } } },
    ]).toArray();
    expect(bounds).toEqual([{ _id: null, apps: [{ _id: { p: 'p', a: 'x' }, second: 0 }] }]);
    expect(await c.aggregate([{ $match: { app: 'z' } }, { $group: { _id: { p: '$pk', a: '$app' } } }]).toArray()).toEqual([{ _id: { p: null, a: 'z' } }]);
    // Strings compare by UTF-8 bytes: U+FF01 before U+1F600 (JavaScript's UTF-16 order has them the other way round).
    const keys = async (match: Document) => (await c.aggregate([{ $match: match }, { $group: { _id: '$pk' } }, { $sort: { _id: 1 } }]).toArray()).map((d) => d._id);
    expect(await keys({})).toEqual([null, 'p', '\uFF01', '\u{1F600}']);
    expect(await keys({ pk: { $gte: '' } })).toEqual(['p', '\uFF01', '\u{1F600}']);
    expect(await keys({ pk: { $gt: 'p' } })).toEqual(['\uFF01', '\u{1F600}']);
  });

  it('answers distinct, countDocuments and estimatedDocumentCount; deleteMany/deleteOne count', async () => {
    const c = await fresh('del');
    await c.insertMany([{ k: 'x', t: [1, 2] }, { k: 'y', t: [2, 3] }, { k: 'x' }, { k: 'z' }]);
    expect(await c.distinct('k')).toEqual(['x', 'y', 'z']);
    expect(await c.distinct('t')).toEqual([1, 2, 3]);
    expect(await c.distinct('k', { t: 2 })).toEqual(['x', 'y']);
    expect(await c.countDocuments({ k: 'x' })).toBe(2);
    expect(await c.estimatedDocumentCount()).toBe(4);
    expect((await c.deleteOne({ k: 'x' })).deletedCount).toBe(1);
    expect((await c.deleteMany({ k: { $in: ['x', 'y'] } })).deletedCount).toBe(2);
    expect((await c.deleteMany({ k: 'nothing' })).deletedCount).toBe(0);
    expect(await c.find({}, { projection: { _id: 0 } }).toArray()).toEqual([{ k: 'z' }]);
  });

  it('updates with $set/$inc/$unset, replacement, upsert; counts matched and modified; keeps unique indexes', async () => {
    const c = await fresh('upd');
    await c.createIndex({ key: 1 }, { unique: true });
    await c.insertMany([{ key: 'a', v: 1, gone: true }, { key: 'b', v: 2 }]);
    const r = await c.updateOne({ key: 'a' }, { $set: { 'meta.by': 'test' }, $inc: { v: 10 }, $unset: { gone: '' } });
    expect([r.matchedCount, r.modifiedCount]).toEqual([1, 1]);
    expect(await c.findOne({ key: 'a' }, { projection: { _id: 0 } })).toEqual({ key: 'a', v: 11, meta: { by: 'test' } });
    const same = await c.updateOne({ key: 'a' }, { $set: { v: 11 } });
    expect([same.matchedCount, same.modifiedCount]).toEqual([1, 0]);
    const up = await c.updateOne({ key: 'c' }, { $set: { v: 3 } }, { upsert: true });
    expect(up.upsertedCount).toBe(1);
    expect(up.upsertedId).toBeInstanceOf(ObjectId);
    expect(await c.findOne({ key: 'c' }, { projection: { _id: 0 } })).toEqual({ key: 'c', v: 3 });
    const many = await c.updateMany({}, { $inc: { v: 1 } });
    expect([many.matchedCount, many.modifiedCount]).toEqual([3, 3]);
    const rep = await c.replaceOne({ key: 'b' }, { key: 'b', replaced: true });
    expect(rep.modifiedCount).toBe(1);
    expect(await c.findOne({ key: 'b' }, { projection: { _id: 0 } })).toEqual({ key: 'b', replaced: true });
    const clash = await rejection(c.updateOne({ key: 'b' }, { $set: { key: 'a' } }));
    expect(clash).toMatchObject({ code: 11000, keyPattern: { key: 1 }, keyValue: { key: 'a' } });
    expect(await c.countDocuments({ key: 'b' })).toBe(1); // unchanged
    const imm = await rejection(c.updateOne({ key: 'b' }, { $set: { _id: 5 } }));
    expect(imm).toMatchObject({ code: 66 });
    const fam = await c.findOneAndUpdate({ key: 'c' }, { $inc: { v: 1 } }, { returnDocument: 'after', projection: { _id: 0 } });
    expect(fam).toEqual({ key: 'c', v: 5 });
    const unknown = await rejection(c.updateOne({ key: 'a' }, { $frob: { v: 1 } } as Document));
    expect(unknown).toMatchObject({ code: 9 });
  });

  it('creates, lists and drops indexes with mongod rules: no-op repeats, conflicts 85/86, unique over duplicates fails', async () => {
    const c = await fresh('idx');
    await c.insertMany([{ a: 1, b: 1 }, { a: 1, b: 2 }]);
    expect(await c.createIndex({ a: 1, b: -1 })).toBe('a_1_b_-1');
    expect(await c.createIndex({ a: 1, b: -1 })).toBe('a_1_b_-1'); // same spec: no-op
    expect(await rejection(c.createIndex({ b: 1 }, { name: 'a_1_b_-1' }))).toMatchObject({ code: 86 });
    expect(await rejection(c.createIndex({ a: 1, b: -1 }, { name: 'other' }))).toMatchObject({ code: 85 });
    const dupBuild = await rejection(c.createIndex({ a: 1 }, { unique: true }));
    expect(dupBuild).toMatchObject({ code: 11000, keyPattern: { a: 1 }, keyValue: { a: 1 } });
    expect(await c.createIndex({ b: 1 }, { unique: true, name: 'b_unique' })).toBe('b_unique');
    const list = await c.listIndexes().toArray();
    expect(list).toEqual([
      { v: 2, key: { _id: 1 }, name: '_id_' },
      { v: 2, key: { a: 1, b: -1 }, name: 'a_1_b_-1' },
      { v: 2, key: { b: 1 }, name: 'b_unique', unique: true },
    ]);
    await c.dropIndex('a_1_b_-1');
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_', 'b_unique']);
    expect(await rejection(c.dropIndex('_id_'))).toMatchObject({ code: 72 });
    expect(await rejection(db.collection('nope').listIndexes().toArray())).toMatchObject({ code: 26 });
  });

  it('partial unique index on $exists: true: documents without the field are outside it (any number), null is inside (two conflict), as mongod', async () => {
    const c = await fresh('partial');
    const spec = { key: { g: 1, f: 1 }, name: 'g_1_f_1', unique: true, partialFilterExpression: { f: { $exists: true } } };
    expect(await c.createIndexes([spec])).toEqual(['g_1_f_1']);
    expect(await c.createIndexes([spec])).toEqual(['g_1_f_1']); // same spec: no-op
    expect((await c.listIndexes().toArray())[1]).toEqual({ v: 2, ...spec });
    await c.insertMany([{ g: 1 }, { g: 1 }, { g: 1, f: null }, { g: 1, f: 0 }, { g: 2, f: 0 }, { g: 1, f: 1 }]);
    expect(await rejection(c.insertOne({ g: 1, f: 0, other: true }))).toMatchObject({ code: 11000, keyPattern: { g: 1, f: 1 }, keyValue: { g: 1, f: 0 } });
    const nullDup = await rejection(c.insertOne({ g: 1, f: null }));
    expect(nullDup).toMatchObject({ code: 11000, keyPattern: { g: 1, f: 1 }, keyValue: { g: 1, f: null } });
    expect(String((nullDup as Error).message)).toBe(`E11000 duplicate key error collection: ${c.dbName}.${c.collectionName} index: g_1_f_1 dup key: { g: 1, f: null }`);
    await c.insertOne({ g: 1 }); // a third without f: not indexed
    expect(await c.countDocuments({ g: 1 })).toBe(6);
    // The same key with another partial filter under the same name: IndexOptionsConflict.
    expect(await rejection(c.createIndexes([{ ...spec, partialFilterExpression: { f: { $gt: 0 } } }]))).toMatchObject({ code: 85 });
    // Built over documents that repeat a value inside the filter: 11000, nothing built.
    const d = await fresh('partial_dup');
    await d.insertMany([{ g: 1, f: null }, { g: 1, f: null }, { g: 1 }]);
    expect(await rejection(d.createIndexes([spec]))).toMatchObject({ code: 11000 });
    expect((await d.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('sweeps TTL indexes: expired documents go, fresh ones and non-dates stay', async () => {
    const c = await fresh('ttl');
    await c.createIndex({ at: 1 }, { expireAfterSeconds: 1 });
    expect((await c.listIndexes().toArray())[1]).toEqual({ v: 2, key: { at: 1 }, name: 'at_1', expireAfterSeconds: 1 });
    await c.insertMany([{ k: 'old', at: new Date(Date.now() - 60_000) }, { k: 'new', at: new Date(Date.now() + 60_000) }, { k: 'text', at: 'not a date' }]);
    const deadline = Date.now() + 5000;
    while ((await c.countDocuments({ k: 'old' })) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await c.find({}, { sort: { k: 1 } }).toArray()).map((d) => d.k)).toEqual(['new', 'text']);
  });

  it('sweeps a TTL index with expireAfterSeconds 0: each document goes at its own date', async () => {
    const c = await fresh('ttl_at');
    await c.createIndex({ expire_at: 1 }, { expireAfterSeconds: 0, name: 'expire_at_1' });
    expect((await c.listIndexes().toArray())[1]).toEqual({ v: 2, key: { expire_at: 1 }, name: 'expire_at_1', expireAfterSeconds: 0 });
    await c.insertMany([{ k: 'due', expire_at: new Date(Date.now() - 1) }, { k: 'later', expire_at: new Date(Date.now() + 60_000) }, { k: 'never' }]);
    const deadline = Date.now() + 5000;
    while ((await c.countDocuments({ k: 'due' })) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await c.find({}, { sort: { k: 1 } }).toArray()).map((d) => d.k)).toEqual(['later', 'never']);
  });

  it('keeps BSON types: Long beyond 2^53, Int32 vs Double, Dates, nested unicode', async () => {
    const c = await fresh('types');
    const big = Long.fromString('9007199254740993');
    const at = new Date('2026-12-03T11:00:00.123Z');
    const text = 'héllo 🌍 中文 — "q" \\ \n\u2028 𝔘';
    await c.insertOne({ _id: 'x' as unknown as ObjectId, big, i: new Int32(7), d: new Double(7), at, nested: { text, list: [1, [2, { x: null }]] } });
    const got = await c.findOne({ _id: 'x' as unknown as ObjectId }, { promoteValues: false });
    expect(got!.big).toEqual(big);
    expect(got!.i).toBeInstanceOf(Int32);
    expect(got!.d).toBeInstanceOf(Double);
    const plain = await c.findOne({ big: Long.fromString('9007199254740993') }, { useBigInt64: true });
    expect(plain!.big).toBe(9007199254740993n);
    expect(plain!.at).toEqual(at);
    expect(plain!.nested).toEqual({ text, list: [1, [2, { x: null }]] });
    expect(await c.countDocuments({ big: Long.fromString('9007199254740992') })).toBe(0); // exact, not via doubles
    expect(await c.countDocuments({ at: { $gte: new Date('2026-12-03T00:00:00Z') } })).toBe(1);
  });

  it('refuses $where and other unsupported operators as BadValue (real mongod runs $where)', async () => {
    const c = await fresh('where');
    await c.insertOne({ a: 1 });
    const e = await rejection(c.find({ $where: 'this.a == 1' }).toArray());
    expect(e).toBeInstanceOf(MongoServerError);
    expect(e).toMatchObject({ code: 2, codeName: 'BadValue', message: 'unknown operator: $where' });
    expect(await rejection(c.find({ a: { $frob: 1 } }).toArray())).toMatchObject({ code: 2, message: 'unknown operator: $frob' });
  });

  it('lists, creates and drops collections and databases (create and drop idempotent, as since MongoDB 7.0)', async () => {
    const other = client.db('harness_other');
    await other.createCollection('made');
    await other.createCollection('made'); // same options again: ok since MongoDB 7.0
    expect(await rejection(other.createCollection('capped', { capped: true, size: 1024 }))).toMatchObject({ code: 2 }); // options refused here
    await other.collection('implicit').insertOne({ a: 1 });
    const names = (await other.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    expect(names).toEqual(['implicit', 'made']);
    const filtered = await other.listCollections({ name: 'made' }).toArray();
    expect(filtered).toHaveLength(1);
    expect(filtered[0]).toMatchObject({ name: 'made', type: 'collection', options: {}, idIndex: { key: { _id: 1 }, name: '_id_' } });
    const dbs = (await client.db().admin().listDatabases()).databases.map((d) => d.name);
    expect(dbs).toContain('harness_other');
    expect(await other.collection('made').drop()).toBe(true);
    expect(await other.collection('never-existed').drop()).toBe(true); // ok since MongoDB 7.0
    expect(await other.dropDatabase()).toBe(true);
    expect((await client.db().admin().listDatabases()).databases.map((d) => d.name)).not.toContain('harness_other');
    expect(await other.collection('implicit').countDocuments()).toBe(0);
  });

  it('acknowledges nothing for w:0 (moreToCome) yet applies the write', async () => {
    const c = await fresh('w0');
    await c.insertOne({ k: 1 }, { writeConcern: { w: 0 } });
    await c.insertMany([{ k: 2 }, { k: 3 }], { writeConcern: { w: 0 } });
    expect(await c.countDocuments()).toBe(3);
  });

  it('runs MongoClient.bulkWrite (the 8.0 bulkWrite command) across collections', async () => {
    const a = await fresh('bw_a');
    const b = await fresh('bw_b');
    await b.createIndex({ u: 1 }, { unique: true });
    await b.insertOne({ u: 1, v: 0 });
    const r = await client.bulkWrite([
      { namespace: 'harness.bw_a', name: 'insertOne', document: { _id: 'x' as unknown as ObjectId, v: 1 } },
      { namespace: 'harness.bw_b', name: 'updateOne', filter: { u: 1 }, update: { $inc: { v: 1 } } },
      { namespace: 'harness.bw_b', name: 'updateOne', filter: { u: 2 }, update: { $set: { v: 5 } }, upsert: true },
      { namespace: 'harness.bw_a', name: 'deleteMany', filter: { v: { $gt: 5 } } },
    ], { verboseResults: true });
    expect([r.insertedCount, r.matchedCount, r.modifiedCount, r.upsertedCount, r.deletedCount]).toEqual([1, 1, 1, 1, 0]);
    expect(r.updateResults?.get(2)?.didUpsert).toBe(true);
    expect(await a.countDocuments()).toBe(1);
    const err = await rejection(client.bulkWrite([
      { namespace: 'harness.bw_b', name: 'insertOne', document: { u: 1 } },
      { namespace: 'harness.bw_b', name: 'insertOne', document: { u: 3 } },
    ]));
    expect(err).toBeInstanceOf(MongoClientBulkWriteError);
    // The driver keeps only code and message of each write error (no keyPattern/keyValue).
    expect([...(err as MongoClientBulkWriteError).writeErrors]).toEqual([[0, {
      code: 11000, message: 'E11000 duplicate key error collection: harness.bw_b index: u_1 dup key: { u: 1 }',
    }]]);
    expect(await b.countDocuments({ u: 3 })).toBe(0); // ordered: stopped at the error
  });

  it('renders dup keys like mongod (doubles as 2.0, ObjectId(...)) and treats missing as null in unique indexes', async () => {
    const c = await fresh('render');
    await c.createIndex({ n: 1, o: 1 }, { unique: true });
    const id = new ObjectId('65f0a1b2c3d4e5f601234567');
    await c.insertOne({ n: 2, o: id });
    const e = await rejection(c.insertOne({ n: new Double(2), o: id })); // the new document's key is shown
    expect((e as MongoServerError).message).toBe("E11000 duplicate key error collection: harness.render index: n_1_o_1 dup key: { n: 2.0, o: ObjectId('65f0a1b2c3d4e5f601234567') }");
    const m = await fresh('missing');
    await m.createIndex({ email: 1 }, { unique: true });
    await m.insertOne({ name: 'no email' });
    const e2 = await rejection(m.insertOne({ name: 'also none' }));
    expect(e2).toMatchObject({ code: 11000, keyValue: { email: null } });
    await m.insertOne({ name: 'b', email: 'b' });
    // A multi-update is not atomic on mongod either: the first document changes, the second clashes.
    const multi = await rejection(m.updateMany({}, { $set: { email: 'a' } }));
    expect(multi).toMatchObject({ code: 11000, keyValue: { email: 'a' } });
    expect(await m.find({}, { projection: { _id: 0 }, sort: { name: 1 } }).toArray()).toEqual([{ name: 'b', email: 'b' }, { name: 'no email', email: 'a' }]);
    const raw = await db.command({ update: 'missing', updates: [{ q: {}, u: { $set: { email: 'c' } }, multi: true }] });
    expect([raw.n, raw.nModified, raw.writeErrors[0].index, raw.writeErrors[0].code]).toEqual([1, 1, 0, 11000]);
  });

  it('speaks the framing the drivers do not use: checksums, kind-1 sequences, moreToCome, $query-wrapped OP_QUERY', async () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283); // the CRC-32C check value
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect(server.port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        replies.push(pending.subarray(0, pending.readInt32LE(0)));
        pending = pending.subarray(pending.readInt32LE(0));
      }
    });
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    const header = (len: number, id: number, op: number): Buffer => {
      const h = Buffer.alloc(16);
      h.writeInt32LE(len, 0); h.writeInt32LE(id, 4); h.writeInt32LE(0, 8); h.writeInt32LE(op, 12);
      return h;
    };
    const opMsg = (id: number, flags: number, body: Document, seq?: [string, Document[]], badSum = false): Buffer => {
      const parts = [Buffer.from([0]), Buffer.from(BSON.serialize(body))];
      if (seq) {
        const docs = Buffer.concat(seq[1].map((d) => Buffer.from(BSON.serialize(d))));
        const name = Buffer.from(`${seq[0]}\0`);
        const size = Buffer.alloc(4);
        size.writeInt32LE(4 + name.length + docs.length);
        parts.push(Buffer.from([1]), size, name, docs);
      }
      const f = Buffer.alloc(4);
      f.writeUInt32LE(flags);
      const withChecksum = (flags & 1) !== 0;
      const bodyLen = 16 + 4 + parts.reduce((n, p) => n + p.length, 0);
      const msg = Buffer.concat([header(bodyLen + (withChecksum ? 4 : 0), id, 2013), f, ...parts]);
      if (!withChecksum) return msg;
      const sum = Buffer.alloc(4);
      sum.writeUInt32LE((crc32c(msg) ^ (badSum ? 1 : 0)) >>> 0);
      return Buffer.concat([msg, sum]);
    };
    const parseMsg = (m: Buffer): { responseTo: number; doc: Document } => ({ responseTo: m.readInt32LE(8), doc: BSON.deserialize(m.subarray(21)) });
    const waitFor = async (n: number): Promise<void> => {
      for (const deadline = Date.now() + 3000; replies.length < n && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    };

    // checksummed insert with its documents in a kind-1 sequence
    sock.write(opMsg(11, 1, { insert: 'raw', $db: 'harness' }, ['documents', [{ _id: 1 }, { _id: 2 }]]));
    await waitFor(1);
    expect(parseMsg(replies[0]!)).toEqual({ responseTo: 11, doc: { n: 2, ok: 1 } });
    // moreToCome: applied, never answered; the next reply answers the next request
    sock.write(opMsg(12, 2, { insert: 'raw', documents: [{ _id: 3 }], $db: 'harness' }));
    sock.write(opMsg(13, 0, { count: 'raw', $db: 'harness' }));
    await waitFor(2);
    expect(parseMsg(replies[1]!)).toEqual({ responseTo: 13, doc: { n: 3, ok: 1 } });
    // legacy OP_QUERY with the command wrapped in $query, answered by OP_REPLY
    const q = Buffer.concat([Buffer.alloc(4), Buffer.from('harness.$cmd\0'), Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), Buffer.from(BSON.serialize({ $query: { ping: 1 }, $readPreference: { mode: 'primary' } }))]);
    sock.write(Buffer.concat([header(16 + q.length, 14, 2004), q]));
    await waitFor(3);
    const rep = replies[2]!;
    expect([rep.readInt32LE(8), rep.readInt32LE(12), rep.readInt32LE(32)]).toEqual([14, 1, 1]);
    expect(BSON.deserialize(rep.subarray(36))).toEqual({ ok: 1 });
    // a wrong checksum drops the connection, as mongod does
    sock.write(opMsg(15, 1, { ping: 1, $db: 'admin' }, undefined, true));
    await closed;
    expect(replies).toHaveLength(3);
  });

  it('runs from the CLI entry: prints the URL line, serves, stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(here, 'mongodb', 'cli.ts'), '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout! });
        rl.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`cli exited early (${code})`)));
      });
      expect(line).toBe(`mongodb://127.0.0.1:${port}`);
      const c = new MongoClient(line, { serverSelectionTimeoutMS: 5000 });
      await c.db('cli').collection('x').insertOne({ ok: true });
      expect(await c.db('cli').collection('x').countDocuments()).toBe(1);
      await c.close();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});

/** The first interpreter that imports pymongo: BURR_PYTHON, Debian's /usr/bin/python3, then PATH's python3. */
function findPython(): string {
  const candidates = [process.env.BURR_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  for (const py of candidates) {
    if (spawnSync(py, ['-c', 'import pymongo'], { stdio: 'ignore' }).status === 0) return py;
  }
  throw new Error(
    `No python3 with pymongo found (tried ${candidates.join(', ')}). Run scripts/install-system-deps.sh ` +
      '(it installs Debian\'s python3-pymongo), or point BURR_PYTHON at a python3 that has pymongo.',
  );
}

describe('MongoDB test server, unmodified pymongo 3.11 (second, independent client)', () => {
  it('gives the expected results for the same operations', async () => {
    const py = findPython();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(py, [join(here, 'mongodb_pymongo_check.py'), server.url], { timeout: 30_000 }, (err, out, errOut) => {
        if (err) reject(new Error(`${err.message}\n${errOut}`));
        else resolve(out);
      });
    });
    expect(JSON.parse(stdout)).toEqual({
      pymongo: '3.11.0',
      ping: 1,
      maxWireVersion: 25,
      create_index: 'email_1',
      create_index_compound: 'team_1_age_-1',
      inserted_id_type: 'ObjectId',
      duplicate: {
        code: 11000,
        keyPattern: { email: 1 },
        keyValue: { email: 'ada@example.com' },
        errmsg: 'E11000 duplicate key error collection: pycheck.people index: email_1 dup key: { email: "ada@example.com" }',
      },
      insert_many: 4,
      bulk_duplicate: { nInserted: 2, errors: [[1, 11000, { email: 'grace@example.com' }]] },
      find_sorted: ['Barbara', 'Grace', 'Ada'],
      find_projection: { email: 'linus@example.com', team: 'a' },
      find_in: ['Ada', 'Linus', 'Zoë 🌍 中文'],
      big: ['Int64', String(2n ** 62n + 7n)],
      unicode: 'Zoë 🌍 中文',
      date: '2026-12-03T11:00:00.123000',
      find_batch_size_2: 7,
      aggregate: [
        { _id: 'a', oldest: 36, n: 2, names: ['Ada', 'Linus'] },
        { _id: 'b', oldest: 52, n: 2, names: ['Grace', 'Barbara'] },
      ],
      count_documents: 2,
      distinct: ['a', 'b', 'c'],
      update_one: [1, 1],
      upsert: [0, true],
      delete_many: 3,
      remaining: 5,
      indexes: [['_id_', false], ['email_1', true], ['team_1_age_-1', false]],
      where: [2, 'unknown operator: $where'],
      unknown_command: [59, 'CommandNotFound'],
      after_drop: false,
      session_markers: [{ _id: 'x', top: 1, marker: 't1' }, { _id: 'y', top: 0, marker: 't2' }],
      session_markers_literal: [{ _id: 'x', top: 1, marker: null }, { _id: 'y', top: 0, marker: null }],
      session_bounds: [{ _id: null, apps: [{ _id: { p: 'p', a: 'x' }, second: 0 }] }],
      session_null_id: [{ _id: { p: null, a: 'z' } }],
      session_keys: [null, 'p', '\uFF01', '\u{1F600}'],
      session_keys_after: ['\uFF01', '\u{1F600}'],
      ttl_index: { key: { expire_at: 1 }, expireAfterSeconds: 0 },
      partial_index: {
        name: 'pk_1_app_1_follows_1',
        listed: { key: { pk: 1, app: 1, follows: 1 }, unique: true, partialFilterExpression: { follows: { $exists: true } } },
        duplicates: [[11000, { pk: 'p', app: 'x', follows: null }], [11000, { pk: 'p', app: 'x', follows: 3 }]],
        count: 5,
      },
    });
  });
});

/**
 * In-memory databases, collections, documents and indexes. Documents live in a Map keyed by their
 * `_id` (insertion order = natural order). Unique indexes (and `_id_`) keep a key → `_id` map, so a
 * write checks every unique index before it changes anything; other indexes are only specs (queries
 * scan). TTL indexes are swept by `sweepTtl()`, which the server calls on a timer.
 */
import { randomUUID } from 'node:crypto';
import { ObjectId, UUID } from 'bson';
import { pathValues, compileFilter, type Predicate } from './query.js';
import { CommandError, isPlainObject, keyString, typeRank, type Doc } from './values.js';

export interface IndexSpec {
  name: string;
  key: Doc;
  unique: boolean;
  sparse: boolean;
  expireAfterSeconds?: number;
  partialFilterExpression?: Doc;
}

interface Index {
  spec: IndexSpec;
  fields: string[][];
  partial?: Predicate;
  /** key string → `_id` key string, unique indexes only */
  entries?: Map<string, string>;
}

/** Renders a key value the way mongod's duplicate-key message does: `{ email: "a@b.c", n: 1 }`. */
function render(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  const t = (v as { _bsontype?: string })._bsontype;
  if (t === 'ObjectId') return `ObjectId('${(v as ObjectId).toHexString()}')`;
  if (t === 'Double') {
    const n = Number((v as { valueOf(): number }).valueOf());
    return Number.isInteger(n) ? n.toFixed(1) : String(n);
  }
  if (Array.isArray(v)) return `[ ${v.map(render).join(', ')} ]`;
  if (isPlainObject(v)) return `{ ${Object.entries(v).map(([k, e]) => `${k}: ${render(e)}`).join(', ')} }`;
  return String(v);
}

export class Collection {
  readonly uuid = new UUID(randomUUID());
  readonly docs = new Map<string, Doc>();
  readonly indexes: Index[] = [];

  constructor(readonly db: string, readonly name: string) {
    this.addIndex({ name: '_id_', key: { _id: 1 }, unique: true, sparse: false });
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  /** Key strings this index holds for a document (several for a multikey index), none if not indexed. */
  private keysOf(index: Index, doc: Doc): { key: string; value: Doc }[] {
    if (index.partial && !index.partial(doc)) return [];
    const perField = index.fields.map((parts) => {
      const vals = pathValues(doc, parts).flatMap((v) => (Array.isArray(v) ? (v.length ? v : [undefined]) : [v]));
      return vals.length ? vals : [undefined];
    });
    if (index.spec.sparse && perField.every((vals) => vals.every((v) => v === undefined))) return [];
    let combos: unknown[][] = [[]];
    for (const vals of perField) combos = combos.flatMap((c) => vals.map((v) => [...c, v]));
    const seen = new Map<string, Doc>();
    for (const combo of combos) {
      const value: Doc = {};
      index.fields.forEach((parts, i) => (value[parts.join('.')] = combo[i] ?? null));
      seen.set(combo.map((v) => keyString(v)).join('|'), value);
    }
    return [...seen].map(([key, value]) => ({ key, value }));
  }

  private dupError(index: Index, value: Doc): CommandError {
    const msg = `E11000 duplicate key error collection: ${this.ns} index: ${index.spec.name} dup key: ${render(value)}`;
    return new CommandError(11000, 'DuplicateKey', msg, { keyPattern: index.spec.key, keyValue: value });
  }

  /** Throws the E11000 error a write of `next` (replacing `prev`, if any) would hit; changes nothing. */
  checkUnique(next: Doc, prev?: Doc): void {
    const selfId = prev ? keyString(prev._id) : undefined;
    for (const index of this.indexes) {
      if (!index.entries) continue;
      for (const { key, value } of this.keysOf(index, next)) {
        const owner = index.entries.get(key);
        if (owner !== undefined && owner !== selfId) throw this.dupError(index, value);
      }
    }
  }

  /** Stores a document (insert, or replace `prev`); the caller has run checkUnique. */
  put(next: Doc, prev?: Doc): void {
    if (prev) this.unindex(prev);
    const id = keyString(next._id);
    for (const index of this.indexes) {
      if (index.entries) for (const { key } of this.keysOf(index, next)) index.entries.set(key, id);
    }
    this.docs.set(id, next);
  }

  remove(doc: Doc): void {
    this.unindex(doc);
    this.docs.delete(keyString(doc._id));
  }

  private unindex(doc: Doc): void {
    for (const index of this.indexes) {
      if (index.entries) for (const { key } of this.keysOf(index, doc)) index.entries.delete(key);
    }
  }

  /** Builds an index over the existing documents; a unique index over duplicates fails with 11000. */
  addIndex(spec: IndexSpec): void {
    const index: Index = { spec, fields: Object.keys(spec.key).map((k) => k.split('.')) };
    if (spec.partialFilterExpression) index.partial = compileFilter(spec.partialFilterExpression);
    if (spec.unique) {
      const entries = new Map<string, string>();
      for (const [id, doc] of this.docs) {
        for (const { key, value } of this.keysOf(index, doc)) {
          const owner = entries.get(key);
          if (owner !== undefined && owner !== id) {
            const e = this.dupError(index, value);
            throw new CommandError(11000, 'DuplicateKey',
              `Index build failed: ${this.uuid.toHexString()}: Collection ${this.ns} ( ${this.uuid.toHexString()} ) :: caused by :: ${e.message}`, e.extra);
          }
          entries.set(key, id);
        }
      }
      index.entries = entries;
    }
    this.indexes.push(index);
  }

  dropIndex(name: string): void {
    const i = this.indexes.findIndex((x) => x.spec.name === name);
    if (i > 0) this.indexes.splice(i, 1);
  }

  /** Removes documents whose TTL-indexed date is older than now − expireAfterSeconds; returns how many. */
  sweepTtl(now: number): number {
    let removed = 0;
    for (const index of this.indexes) {
      const ttl = index.spec.expireAfterSeconds;
      if (ttl === undefined || index.fields.length !== 1) continue;
      for (const doc of [...this.docs.values()]) {
        if (index.partial && !index.partial(doc)) continue;
        const dates = pathValues(doc, index.fields[0]!)
          .flatMap((v) => (Array.isArray(v) ? v : [v]))
          .filter((v): v is Date => v instanceof Date);
        if (dates.length === 0) continue;
        const oldest = Math.min(...dates.map((d) => d.getTime()));
        if (oldest + ttl * 1000 < now) {
          this.remove(doc);
          removed++;
        }
      }
    }
    return removed;
  }
}

export class Store {
  readonly dbs = new Map<string, Map<string, Collection>>();

  get(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /** The collection, created (implicitly, as inserts and createIndexes do) when missing. */
  ensure(db: string, name: string): { coll: Collection; created: boolean } {
    validateName(db, name);
    let colls = this.dbs.get(db);
    if (!colls) this.dbs.set(db, (colls = new Map()));
    const existing = colls.get(name);
    if (existing) return { coll: existing, created: false };
    const coll = new Collection(db, name);
    colls.set(name, coll);
    return { coll, created: true };
  }

  drop(db: string, name: string): boolean {
    const colls = this.dbs.get(db);
    const had = colls?.delete(name) ?? false;
    if (colls && colls.size === 0) this.dbs.delete(db);
    return had;
  }

  sweepTtl(now = Date.now()): number {
    let n = 0;
    for (const colls of this.dbs.values()) for (const c of colls.values()) n += c.sweepTtl(now);
    return n;
  }
}

function validateName(db: string, name: string): void {
  if (!db || /[/\\. "$\0]/.test(db)) throw new CommandError(73, 'InvalidNamespace', `Invalid database name: '${db}'`);
  if (!name || name.includes('\0') || name.startsWith('$') || name.startsWith('.')) {
    throw new CommandError(73, 'InvalidNamespace', `Invalid collection name: ${name}`);
  }
}

/** A fresh ObjectId for documents inserted without `_id`. */
export const newId = (): ObjectId => new ObjectId();

/** The `_id` rules mongod applies on insert: no arrays, no regexes, no `$`-prefixed fields inside. */
export function checkId(doc: Doc): void {
  const id = doc._id;
  if (Array.isArray(id)) throw new CommandError(53, 'InvalidIdField', `The '_id' value cannot be of type array`);
  if (typeRank(id) === 11) throw new CommandError(53, 'InvalidIdField', `The '_id' value cannot be of type regex`);
  if (isPlainObject(id) && Object.keys(id).some((k) => k.startsWith('$'))) {
    throw new CommandError(53, 'InvalidIdField', `_id fields may not contain '$'-prefixed fields`);
  }
}

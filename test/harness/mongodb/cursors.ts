/**
 * Server-side cursors: a query's result is materialised when the command runs (a snapshot, which
 * real mongod does not promise) and handed out in batches by getMore. Ids are Int64 (Long), 0 = exhausted.
 */
import { randomBytes } from 'node:crypto';
import { Long } from 'bson';
import { CommandError, numToDouble, toNum, type Doc } from './values.js';

interface Open { ns: string; docs: Doc[]; pos: number }

/** mongod's default first batch for find and aggregate. */
export const DEFAULT_BATCH = 101;
/** A batch stops growing past this many bytes of documents (mongod: 16 MiB per reply). */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

export class Cursors {
  private readonly open = new Map<string, Open>();

  /** Returns the cursor reply `{id, ns, firstBatch}` and keeps the rest of `docs` open if any is left. */
  first(ns: string, docs: Doc[], batchSize: number | undefined, single: boolean, sizeOf: (d: Doc) => number): Doc {
    const batch = take(docs, 0, batchSize ?? DEFAULT_BATCH, sizeOf);
    let id = Long.fromNumber(0);
    if (!single && batch.length < docs.length) {
      // Random positive 63-bit ids like mongod's (bit 62 set: always beyond 2^53, never promoted to a JS number).
      const n = (randomBytes(8).readBigUInt64LE() & (2n ** 63n - 1n)) | (2n ** 62n);
      id = Long.fromBigInt(n);
      this.open.set(n.toString(), { ns, docs, pos: batch.length });
    }
    return { firstBatch: batch, id, ns };
  }

  /** getMore: the next batch; the cursor is closed (id 0) once exhausted. */
  more(id: unknown, collection: string, batchSize: number | undefined, sizeOf: (d: Doc) => number): Doc {
    const key = String((id as Long).toString?.() ?? id);
    const cur = this.open.get(key);
    if (!cur) throw new CommandError(43, 'CursorNotFound', `cursor id ${key} not found`);
    if (cur.ns.slice(cur.ns.indexOf('.') + 1) !== collection && !cur.ns.includes('.$cmd.')) {
      throw new CommandError(13, 'Unauthorized', `Requested getMore on namespace '${collection}', but cursor belongs to a different namespace ${cur.ns}`);
    }
    const batch = take(cur.docs, cur.pos, batchSize ?? Number.MAX_SAFE_INTEGER, sizeOf);
    cur.pos += batch.length;
    const done = cur.pos >= cur.docs.length;
    if (done) this.open.delete(key);
    return { nextBatch: batch, id: done ? Long.fromNumber(0) : Long.fromString(key), ns: cur.ns };
  }

  kill(ids: unknown[]): Doc {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) {
      const key = String((id as Long).toString?.() ?? id);
      (this.open.delete(key) ? killed : notFound).push(Long.fromString(key));
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [] };
  }

  clear(): void {
    this.open.clear();
  }
}

function take(docs: Doc[], from: number, size: number, sizeOf: (d: Doc) => number): Doc[] {
  const out: Doc[] = [];
  let bytes = 0;
  for (let i = from; i < docs.length && out.length < size; i++) {
    bytes += sizeOf(docs[i]!);
    if (out.length > 0 && bytes > MAX_BATCH_BYTES) break;
    out.push(docs[i]!);
  }
  return out;
}

/** A numeric command option (Int32, Long, Double alike) as a JS number, or undefined. */
export function optNumber(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  return numToDouble(toNum(v));
}

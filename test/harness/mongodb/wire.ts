/**
 * MongoDB wire protocol framing (written from the public OP_MSG / legacy opcode specification):
 *
 *   header    int32 messageLength, int32 requestID, int32 responseTo, int32 opCode (little-endian)
 *   OP_MSG    2013: uint32 flagBits, sections…, [uint32 CRC-32C when checksumPresent (bit 0)]
 *             section kind 0: one BSON document (the command body)
 *             section kind 1: int32 size, cstring identifier, BSON documents… (a document sequence)
 *             moreToCome (bit 1) on a request: the client expects no reply
 *   OP_QUERY  2004: int32 flags, cstring fullCollectionName, int32 skip, int32 numberToReturn, query doc
 *   OP_REPLY  1:    int32 responseFlags, int64 cursorID, int32 startingFrom, int32 numberReturned, docs
 *
 * Documents are deserialized with `promoteValues: false`, so Int32 / Double / Long / Decimal128 keep
 * their BSON types end to end.
 */
import { BSON } from 'bson';
import type { Doc } from './values.js';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;

export const MAX_MESSAGE_SIZE = 48_000_000;

export type Incoming =
  | { op: 'msg'; requestId: number; body: Doc; moreToCome: boolean }
  | { op: 'query'; requestId: number; collection: string; query: Doc }
  | { op: 'unsupported'; requestId: number; opCode: number };

const deserialize = (buf: Uint8Array): Doc => BSON.deserialize(buf, { promoteValues: false }) as Doc;

/** Splits a stream into messages: feed it chunks, it returns the complete messages so far. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readInt32LE(0);
      if (len < 16 || len > MAX_MESSAGE_SIZE) throw new Error(`invalid message length ${len}`);
      if (this.buf.length < len) break;
      out.push(this.buf.subarray(0, len));
      this.buf = this.buf.subarray(len);
    }
    return out;
  }
}

/** Parses one complete message. Kind-1 sequences become arrays on the body under their identifier. */
export function parseMessage(msg: Buffer): Incoming {
  const requestId = msg.readInt32LE(4);
  const opCode = msg.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = msg.readUInt32LE(16);
    let end = msg.length;
    if (flags & CHECKSUM_PRESENT) {
      end -= 4;
      const expected = msg.readUInt32LE(end);
      if (crc32c(msg.subarray(0, end)) !== expected) throw new Error('OP_MSG checksum mismatch');
    }
    let body: Doc | undefined;
    const sequences: [string, Doc[]][] = [];
    for (let at = 20; at < end; ) {
      const kind = msg[at++];
      const size = msg.readInt32LE(at);
      if (kind === 0) {
        body = deserialize(msg.subarray(at, at + size));
        at += size;
      } else if (kind === 1) {
        const stop = at + size;
        const nul = msg.indexOf(0, at + 4);
        const id = msg.toString('utf8', at + 4, nul);
        const docs: Doc[] = [];
        for (let p = nul + 1; p < stop; ) {
          const n = msg.readInt32LE(p);
          docs.push(deserialize(msg.subarray(p, p + n)));
          p += n;
        }
        sequences.push([id, docs]);
        at = stop;
      } else {
        throw new Error(`unknown OP_MSG section kind ${kind}`);
      }
    }
    if (!body) throw new Error('OP_MSG without a kind-0 body');
    for (const [id, docs] of sequences) body[id] = docs;
    return { op: 'msg', requestId, body, moreToCome: (flags & MORE_TO_COME) !== 0 };
  }
  if (opCode === OP_QUERY) {
    const nul = msg.indexOf(0, 20);
    const collection = msg.toString('utf8', 20, nul);
    const at = nul + 1 + 8; // skip numberToSkip, numberToReturn
    const size = msg.readInt32LE(at);
    return { op: 'query', requestId, collection, query: deserialize(msg.subarray(at, at + size)) };
  }
  return { op: 'unsupported', requestId, opCode };
}

let nextRequestId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(nextRequestId++ & 0x7fffffff, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** OP_MSG reply: flags 0, one kind-0 section, no checksum. */
export function encodeMsg(responseTo: number, doc: Doc): Buffer {
  const body = BSON.serialize(doc);
  const len = 16 + 4 + 1 + body.length;
  const flagsAndKind = Buffer.from([0, 0, 0, 0, 0]);
  return Buffer.concat([header(len, responseTo, OP_MSG), flagsAndKind, body]);
}

/** OP_REPLY carrying one document (the answer to a legacy OP_QUERY command). */
export function encodeReply(responseTo: number, doc: Doc): Buffer {
  const body = BSON.serialize(doc);
  const fixed = Buffer.alloc(20); // responseFlags 0, cursorID 0, startingFrom 0, numberReturned
  fixed.writeInt32LE(1, 16);
  return Buffer.concat([header(16 + 20 + body.length, responseTo, OP_REPLY), fixed, body]);
}

let crcTable: Uint32Array | undefined;

/** CRC-32C (Castagnoli), the checksum OP_MSG uses. */
export function crc32c(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

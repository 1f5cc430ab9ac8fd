/**
 * A MongoDB wire-protocol **test server** for the harness: in memory, loopback only, written on the
 * official `bson` package, so that unmodified MongoDB drivers (the Node driver `mongodb` 7.9,
 * Debian's pymongo 3.11) can be tested on a machine where no mongod can be installed.
 * Every result obtained on it is a test-server result, not MongoDB's.
 *
 * ## What it speaks
 * - Framing (wire.ts): OP_MSG (2013) with a kind-0 body and kind-1 document sequences, checksumPresent
 *   (CRC-32C verified), moreToCome (no reply sent); the legacy OP_QUERY (2004) handshake on
 *   `admin.$cmd`, answered with OP_REPLY (1). OP_COMPRESSED and other opcodes close the connection.
 * - Handshake: `hello` / `isMaster` / `ismaster` as a standalone writable primary, wire versions
 *   0–25, maxBsonObjectSize 16 MiB, maxMessageSizeBytes 48 000 000, maxWriteBatchSize 100 000,
 *   logicalSessionTimeoutMinutes 30; no compression, no SASL mechanisms, no topologyVersion (so
 *   drivers poll instead of streaming heartbeats).
 * - Commands (commands.ts, writes.ts, indexes.ts): hello, isMaster, ping, buildInfo
 *   (`8.0.0-burr-edge-test-server`), getParameter (featureCompatibilityVersion), getLog,
 *   whatsmyuri, connectionStatus, serverStatus (minimal), endSessions, listDatabases, create, drop,
 *   dropDatabase, listCollections, insert, update, delete, findAndModify, bulkWrite, find, getMore,
 *   killCursors, aggregate, distinct, count, createIndexes, listIndexes, dropIndexes.
 *   Unknown commands: code 59 CommandNotFound. `lsid`, `$clusterTime`, `$db`, `readConcern`,
 *   `writeConcern`, `$readPreference`, `apiVersion`, `comment`, `maxTimeMS`, `hint` are ignored.
 * - Queries (query.ts, projection.ts): implicit equality incl. dotted paths and array elements, $eq $ne $gt $gte
 *   $lt $lte $in $nin $exists $type $regex $size $all $elemMatch $not $and $or $nor; comparisons in
 *   BSON type order with type bracketing, numbers equal across Int32/Long/Double/Decimal128; sort
 *   (arrays by min/max element), inclusion/exclusion projection with `_id` rules and `"$field"`.
 *   `$where` is refused (`unknown operator: $where`, code 2 BadValue) although real mongod runs it;
 *   so are `$expr`, `$function`, `$text`, geo and bitwise operators, `$mod`; `collation` is refused.
 * - Aggregation (aggregate.ts, expr.ts): $match $sort $limit $skip $project $addFields/$set $unset
 *   $group ($sum $avg $min $max $first $last $push $addToSet $count) $count $unwind $replaceRoot.
 * - Writes: `_id` ObjectId added when missing; every document write checks all unique indexes
 *   (and `_id_`) before it changes anything (a multi-update failing midway keeps the documents it
 *   already changed, as on mongod); E11000 errors in mongod's text with keyPattern/keyValue;
 *   ordered/unordered batches; update operators $set $unset $inc $mul $min $max $rename
 *   $setOnInsert $currentDate $push $addToSet $pull, replacements, upserts; MongoDB 8.0's
 *   client-level `bulkWrite` command (MongoClient.bulkWrite) over the same code.
 * - Indexes: default names `a_1_b_-1`, unique, sparse, partialFilterExpression, TTL
 *   (expireAfterSeconds; swept every `ttlSweepMs`, default 60 000 like mongod's TTL monitor),
 *   conflicts 85/86, a unique build over duplicates fails with 11000. Indexes never speed up queries.
 * - BSON types are kept exactly as sent (deserialized with `promoteValues: false`).
 *
 * ## What it cannot tell you about real MongoDB
 * - Write concern, journaling, durability: everything is in memory and acknowledged at once.
 * - Replica sets, elections, failover, retryable writes, change streams, sharding, mongos.
 * - Sessions and transactions: `lsid` is ignored; `txnNumber`/`startTransaction` are refused
 *   as a standalone mongod refuses them (code 20).
 * - Authentication, authorization, TLS, compression.
 * - Concurrency between connections beyond one process's event loop: each command runs to
 *   completion before the next, so races a real server can have (e.g. two upserts inserting
 *   the same key) cannot happen here, and write conflicts / WriteConflict retries never occur.
 * - The query planner, index use, `hint`, explain, collation, text and geo search, the exact
 *   order of results without a sort, of `distinct` (sorted here) and of fields in projections.
 * - TTL timing (mongod's monitor runs every 60 s and may lag further), cursor timeouts, maxTimeMS.
 * - Size limits: documents over 16 MiB and messages over 48 MB are not refused the way mongod
 *   refuses them; batches are cut near 16 MiB only approximately.
 * - Cursors: results are a snapshot taken when find/aggregate runs (mongod gives no snapshot and
 *   may show concurrent writes); cursors never time out.
 * - Command validation: unknown command fields are ignored, where mongod's IDL refuses many
 *   (code 40415); `$regex` uses JavaScript regular expressions, not PCRE.
 * - listDatabases lists only databases that hold collections (no admin/config/local).
 * - Error texts and codes beyond the common ones above are approximations of mongod's.
 * - Decimal128 arithmetic is done in doubles.
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { MONITORING, runCommand, type Context, type Session } from './commands.js';
import { Cursors } from './cursors.js';
import { Store } from './store.js';
import { encodeMsg, encodeReply, FrameReader, parseMessage } from './wire.js';
import type { Doc } from './values.js';

export interface MongoTestServerOptions {
  /** Port on 127.0.0.1. @default 0 (any free port) */
  port?: number;
  /** How often TTL indexes are swept. @default 60000 (mongod's TTL monitor period) */
  ttlSweepMs?: number;
}

export interface MongoTestServer {
  /** `mongodb://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Commands received since start or resetCount(), driver monitoring (hello/isMaster) excluded. */
  commandCount(): number;
  resetCount(): void;
  /** Stops listening, closes every connection, stops the TTL sweep. */
  close(): Promise<void>;
}

export async function startMongoTestServer(options: MongoTestServerOptions = {}): Promise<MongoTestServer> {
  const store = new Store();
  const cursors = new Cursors();
  const sockets = new Set<Socket>();
  const ctx: Context = { store, cursors, startedAt: Date.now(), connections: () => sockets.size };
  let count = 0;
  let nextConnectionId = 1;

  const handle = (session: Session, db: string, cmd: Doc): Doc => {
    const name = Object.keys(cmd)[0] ?? '';
    if (!MONITORING.has(name)) count++;
    return runCommand(ctx, db, cmd, session);
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const session: Session = { connectionId: nextConnectionId++, remote: `${socket.remoteAddress}:${socket.remotePort}` };
    const reader = new FrameReader();
    socket.on('data', (chunk) => {
      try {
        for (const frame of reader.push(chunk)) {
          const msg = parseMessage(frame);
          if (msg.op === 'msg') {
            const db = typeof msg.body.$db === 'string' ? msg.body.$db : 'admin';
            const reply = handle(session, db, msg.body);
            if (!msg.moreToCome) socket.write(encodeMsg(msg.requestId, reply));
          } else if (msg.op === 'query') {
            // Legacy commands (the handshake): `<db>.$cmd`, the command possibly wrapped in $query.
            const db = msg.collection.slice(0, msg.collection.indexOf('.'));
            const cmd = (msg.query.$query as Doc | undefined) ?? msg.query;
            if (!msg.collection.endsWith('.$cmd')) {
              socket.write(encodeReply(msg.requestId, { $err: 'OP_QUERY is only supported for commands', code: 5739101, ok: 0 }));
            } else {
              socket.write(encodeReply(msg.requestId, handle(session, db, cmd)));
            }
          } else {
            socket.destroy();
            return;
          }
        }
      } catch {
        socket.destroy(); // malformed framing: drop the connection, as mongod does
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const sweep = setInterval(() => store.sweepTtl(), options.ttlSweepMs ?? 60_000);
  sweep.unref();

  let closed: Promise<void> | undefined;
  return {
    url: `mongodb://127.0.0.1:${port}`,
    port,
    commandCount: () => count,
    resetCount: () => {
      count = 0;
    },
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        clearInterval(sweep);
        cursors.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      })),
  };
}

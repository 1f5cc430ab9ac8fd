/**
 * `burr-edge/mongodb-gateway`: a small HTTP server, built on the official `mongodb` driver, that
 * serves the request shapes of MongoDB Atlas's retired Data API v1 for one database and its
 * configured collection(s): `POST <base>/action/<name>` with an `apiKey` header and a JSON
 * (relaxed EJSON) body. It gives fetch-only runtimes (Vercel Edge, browsers, Workers) a MongoDB
 * to talk to; `MongoDBPersister.fromHttp` is its client.
 *
 * Actions: the Data API's `findOne`, `find`, `insertOne`, `deleteMany`, `aggregate`, plus
 * `listIndexes` and `createIndexes` (which creates only the persister's own indexes, its TTL index included). API keys
 * are compared in constant time; request and result sizes are capped; filters and pipelines
 * come from an allow-list (see ./validate.ts); errors are JSON `{error, error_code}` and never
 * carry a key, a password or the connection string.
 *
 * @example
 * ```ts
 * import { startMongoDBGateway } from 'burr-edge/mongodb-gateway';
 * const gateway = await startMongoDBGateway({ uri: process.env.MONGODB_URL!, database: 'burr', collection: 'burr_state', apiKeys: [process.env.GATEWAY_KEY!], port: 8080 });
 * console.log(gateway.url);
 * ```
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { redactSecrets } from '../core/errors.js';
import { FOLLOWS_INDEX, indexesFor, type IndexSpec } from '../persisters/mongodb/collection.js';
import { GatewayRequestError, checkDocument, checkFilter, checkInteger, checkPipeline, checkProjection, checkSort } from './validate.js';

/** The slice of a driver `Collection` the gateway uses. */
interface GatewayCollection {
  findOne(filter: object, options: object): Promise<unknown>;
  find(filter: object, options: object): AsyncIterable<unknown>;
  insertOne(document: object): Promise<{ insertedId: unknown }>;
  deleteMany(filter: object): Promise<{ deletedCount: number }>;
  aggregate(pipeline: object[], options?: object): AsyncIterable<unknown>;
  createIndexes(indexes: object[]): Promise<unknown>;
  listIndexes(): { toArray(): Promise<unknown[]> };
}

/** The slice of a `MongoClient` the gateway uses. */
export interface GatewayClient {
  db(name: string): { collection(name: string): unknown };
  close(): Promise<void>;
}

/** One line per request for the operator's log: no body, no key, no connection string. */
export interface GatewayLogEntry {
  action: string;
  status: number;
  errorCode?: string;
  milliseconds: number;
}

export interface MongoDBGatewayOptions {
  /** The MongoDB connection string (`mongodb://…`); or pass `client`. Never logged or echoed. */
  uri?: string;
  /** A `MongoClient` you made; the gateway does not close it. */
  client?: GatewayClient;
  /** The one database the gateway serves; a request naming another is refused. */
  database: string;
  /** The collection(s) it serves: a name, a list, or a predicate. */
  collection: string | readonly string[] | ((name: string) => boolean);
  /** Accepted `apiKey` header values. At least one; each at least 16 characters. */
  apiKeys: readonly string[];
  /**
   * Largest request body in bytes. @default 34 MiB: a 16 MiB state is JSON text inside a JSON body,
   * where every `"` and `\\` of it is escaped again, so its body can be twice its size.
   */
  maxRequestBytes?: number;
  /** Largest response body in bytes. @default 32 MiB */
  maxResultBytes?: number;
  /** Most documents `find` and `aggregate` return. @default 1000 */
  maxResultDocuments?: number;
  /** Answer browsers' CORS preflights and allow this origin (`'*'` for any). @default no CORS */
  corsOrigin?: string;
  /** Called once per request. @default nothing is logged */
  log?: (entry: GatewayLogEntry) => void;
}

/** A gateway as a web-standard handler, for a Node server of your own or a serverless function. */
export interface MongoDBGatewayHandler {
  handle(request: Request): Promise<Response>;
  /** Closes the client if the gateway made it. */
  close(): Promise<void>;
}

/**
 * What `createIndexes` may create: the persister's lists (with and without the TTL index), and
 * the same without the follows index, as kits before it send them (a gateway updated first).
 */
const ALLOWED_INDEX_LISTS: readonly IndexSpec[][] = [false, true].flatMap((expires) => [indexesFor(expires), indexesFor(expires).filter((index) => index !== FOLLOWS_INDEX)]);

const ACTIONS = new Set(['findOne', 'find', 'insertOne', 'deleteMany', 'aggregate', 'listIndexes', 'createIndexes']);
const NAME = /^[A-Za-z0-9_.-]{1,120}$/;

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** Builds the gateway's request handler. The driver (`mongodb`, an optional peer) is imported on first use. */
export function createMongoDBGatewayHandler(options: MongoDBGatewayOptions): MongoDBGatewayHandler {
  const { database, apiKeys, corsOrigin, log } = options;
  const maxRequestBytes = options.maxRequestBytes ?? 34 * 1024 * 1024;
  const maxResultBytes = options.maxResultBytes ?? 32 * 1024 * 1024;
  const maxResultDocuments = options.maxResultDocuments ?? 1000;
  if (!options.uri && !options.client) throw new TypeError('createMongoDBGatewayHandler: uri or client is required');
  if (typeof database !== 'string' || !NAME.test(database)) throw new TypeError('createMongoDBGatewayHandler: database must be a MongoDB database name');
  if (!Array.isArray(apiKeys) || apiKeys.length === 0 || apiKeys.some((k) => typeof k !== 'string' || k.length < 16)) {
    throw new TypeError('createMongoDBGatewayHandler: apiKeys must hold at least one key of 16 or more characters');
  }
  const allowed = collectionPredicate(options.collection);
  const keyDigests = apiKeys.map(digest);

  let made: Promise<{ client: GatewayClient; ejson: Ejson; sizeOf: (document: unknown) => number }> | undefined;
  const driver = () =>
    (made ??= (async () => {
      const mongodb = await import('mongodb');
      const client = options.client ?? (new mongodb.MongoClient(options.uri!) as unknown as GatewayClient);
      return { client, ejson: mongodb.BSON.EJSON as Ejson, sizeOf: (document: unknown) => mongodb.BSON.calculateObjectSize(document as Record<string, unknown>) };
    })().catch((error: unknown) => {
      made = undefined;
      throw error;
    }));

  function authorized(request: Request): boolean {
    const given = request.headers.get('apikey');
    if (!given) return false;
    const candidate = digest(given);
    // Every key is compared, matched or not, so the time taken says nothing about which matched.
    let match = false;
    for (const key of keyDigests) match = timingSafeEqual(candidate, key) || match;
    return match;
  }

  async function run(action: string, body: Record<string, unknown>): Promise<Reply> {
    const { client } = await driver();
    if (body.dataSource !== undefined && typeof body.dataSource !== 'string') throw new GatewayRequestError('dataSource must be a string');
    if (body.database !== database) throw new GatewayRequestError('this gateway serves another database', 'NamespaceNotAllowed', 403);
    const name = body.collection;
    if (typeof name !== 'string' || !NAME.test(name) || name.startsWith('system.') || !allowed(name)) {
      throw new GatewayRequestError('this gateway does not serve that collection', 'NamespaceNotAllowed', 403);
    }
    const collection = client.db(database).collection(name) as GatewayCollection;
    switch (action) {
      case 'findOne': {
        const found = await collection.findOne(checkFilter(body.filter ?? {}), findOptions(body));
        return { status: 200, body: { document: found ?? null } };
      }
      case 'find': {
        // Without a limit, one more than allowed tells "too many" (refused, never cut) from "all of them".
        const limit = body.limit === undefined ? maxResultDocuments + 1 : checkInteger(body.limit, 'limit', 1, maxResultDocuments);
        const cursor = collection.find(checkFilter(body.filter ?? {}), { ...findOptions(body), limit, ...(body.skip === undefined ? {} : { skip: checkInteger(body.skip, 'skip', 0, Number.MAX_SAFE_INTEGER) }) });
        return { status: 200, body: { documents: await collect(cursor) } };
      }
      case 'insertOne': {
        const { insertedId } = await collection.insertOne(checkDocument(body.document));
        return { status: 201, body: { insertedId } };
      }
      case 'deleteMany': {
        const filter = checkFilter(body.filter);
        const { deletedCount } = await collection.deleteMany(filter);
        return { status: 200, body: { deletedCount } };
      }
      case 'aggregate': {
        const pipeline = checkPipeline(body.pipeline, maxResultDocuments);
        // One more than allowed tells "too many" from "exactly the limit".
        const documents = await collect(collection.aggregate([...pipeline, { $limit: maxResultDocuments + 1 }]));
        return { status: 200, body: { documents } };
      }
      case 'listIndexes': {
        const indexes = (await collection.listIndexes().toArray()).map((index) => {
          const { name: indexName, key, unique, expireAfterSeconds, partialFilterExpression } = index as { name: string; key: unknown; unique?: boolean; expireAfterSeconds?: unknown; partialFilterExpression?: unknown };
          return {
            name: indexName,
            key,
            ...(unique ? { unique: true } : {}),
            ...(expireAfterSeconds === undefined ? {} : { expireAfterSeconds }),
            ...(partialFilterExpression === undefined ? {} : { partialFilterExpression }),
          };
        });
        return { status: 200, body: { indexes } };
      }
      case 'createIndexes': {
        // Exactly the persister's list, with or without its TTL index (or an older kit's, without the follows index): nothing else can be indexed.
        const indexes = ALLOWED_INDEX_LISTS.find((allowed) => JSON.stringify(body.indexes) === JSON.stringify(allowed));
        if (!indexes) throw new GatewayRequestError("this gateway creates only burr-edge's own indexes", 'IndexNotAllowed');
        await collection.createIndexes(indexes);
        return { status: 200, body: { indexes: indexes.map((index) => index.name) } };
      }
    }
    throw new GatewayRequestError(`unknown action ${action}`, 'ActionNotFound', 404);
  }

  /** Reads a cursor, refusing as soon as the result passes the document count or (BSON) byte cap: memory stays bounded. */
  async function collect(cursor: AsyncIterable<unknown>): Promise<unknown[]> {
    const { sizeOf } = await driver();
    const documents: unknown[] = [];
    let bytes = 0;
    for await (const document of cursor) {
      documents.push(document);
      bytes += sizeOf(document);
      if (documents.length > maxResultDocuments) throw new GatewayRequestError(`the result has more than ${maxResultDocuments} documents`, 'ResultTooLarge');
      if (bytes > maxResultBytes) throw new GatewayRequestError(`the result is larger than ${maxResultBytes} bytes`, 'ResultTooLarge');
    }
    return documents;
  }

  function findOptions(body: Record<string, unknown>): object {
    return {
      ...(body.sort === undefined ? {} : { sort: checkSort(body.sort) }),
      ...(body.projection === undefined ? {} : { projection: checkProjection(body.projection) }),
    };
  }

  async function handle(request: Request): Promise<Response> {
    const started = performance.now();
    const action = /\/action\/([A-Za-z]+)\/?$/.exec(new URL(request.url).pathname)?.[1] ?? '';
    const cors: Record<string, string> = corsOrigin
      ? { 'access-control-allow-origin': corsOrigin, 'access-control-allow-headers': 'apiKey, content-type, accept', 'access-control-allow-methods': 'POST, OPTIONS', vary: 'origin' }
      : {};
    let reply: Reply;
    let canonical = false;
    let ejson: Ejson | undefined;
    if (request.method === 'OPTIONS' && corsOrigin) {
      return new Response(null, { status: 204, headers: { ...cors, 'access-control-max-age': '600' } });
    }
    try {
      // The key first: a caller without one learns nothing, not even which actions exist.
      if (!authorized(request)) throw new GatewayRequestError('a valid apiKey header is required', 'Unauthorized', 401);
      if (request.method !== 'POST') throw new GatewayRequestError('only POST is served', 'MethodNotAllowed', 405);
      if (!ACTIONS.has(action)) throw new GatewayRequestError(`unknown action ${JSON.stringify(action)}`, 'ActionNotFound', 404);
      const text = await readLimited(request, maxRequestBytes);
      ejson = (await driver()).ejson;
      canonical = /application\/ejson/.test(request.headers.get('accept') ?? '');
      let body: unknown;
      try {
        body = ejson.parse(text, { relaxed: true });
      } catch (error) {
        throw new GatewayRequestError(`the body is not valid JSON or EJSON: ${error instanceof Error ? error.message : String(error)}`, 'InvalidJSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayRequestError('the body must be a JSON object');
      reply = await run(action, body as Record<string, unknown>);
    } catch (error) {
      reply = errorReply(error);
    }
    let payload: string;
    try {
      payload = ejson ? ejson.stringify(reply.body, { relaxed: !canonical }) : JSON.stringify(reply.body);
    } catch {
      reply = { status: 500, body: { error: 'the result could not be serialized', error_code: 'InternalServerError' } };
      payload = JSON.stringify(reply.body);
    }
    if (Buffer.byteLength(payload) > maxResultBytes && reply.status < 400) {
      reply = { status: 400, body: { error: `the result is larger than ${maxResultBytes} bytes`, error_code: 'ResultTooLarge' } };
      payload = JSON.stringify(reply.body);
    }
    log?.({ action: action || '-', status: reply.status, ...(typeof reply.body.error_code === 'string' ? { errorCode: reply.body.error_code } : {}), milliseconds: Math.round(performance.now() - started) });
    return new Response(payload, { status: reply.status, headers: { 'content-type': canonical ? 'application/ejson' : 'application/json', ...cors } });
  }

  return {
    handle,
    async close() {
      if (made && !options.client) await (await made.catch(() => undefined))?.client.close();
    },
  };
}

/** The gateway on a Node HTTP server. `port: 0` (the default) picks a free port; `url` says which. */
export async function startMongoDBGateway(options: MongoDBGatewayOptions & { port?: number; host?: string }): Promise<{ url: string; close(): Promise<void> }> {
  const handler = createMongoDBGatewayHandler(options);
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => void serveNode(handler, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await handler.close();
    },
  };
}

/** Node's request → a web `Request` (its body streamed, so the size cap holds without buffering it all first). */
async function serveNode(handler: MongoDBGatewayHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    let consumed = !hasBody;
    const body = hasBody
      ? new ReadableStream<Uint8Array>({
          start(controller) {
            let done = false;
            req.on('data', (chunk: Buffer) => void (done || controller.enqueue(new Uint8Array(chunk))));
            req.on('end', () => {
              consumed = true;
              if (!done) controller.close();
              done = true;
            });
            req.on('error', (error) => {
              if (!done) controller.error(error);
              done = true;
            });
          },
          cancel() {
            // Refused (too large): stop reading; the socket is closed after the answer (below).
            req.pause();
          },
        })
      : null;
    // Only the path matters to the handler; a fixed origin also keeps IPv6 hosts out of the URL.
    const request = new Request(`http://localhost${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, body, ...(body ? { duplex: 'half' } : {}) } as RequestInit);
    const response = await handler.handle(request);
    // A body left unread (refused before or while it streamed in) is not worth reading: answer, then close.
    const unread = !consumed;
    res.writeHead(response.status, { ...Object.fromEntries(response.headers), ...(unread ? { connection: 'close' } : {}) });
    res.end(Buffer.from(await response.arrayBuffer()), () => {
      if (unread) req.socket.destroy();
    });
  } catch {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'internal error', error_code: 'InternalServerError' }));
  }
}

interface Ejson {
  parse(text: string, options: { relaxed: boolean }): unknown;
  stringify(value: unknown, options: { relaxed: boolean }): string;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function collectionPredicate(collection: MongoDBGatewayOptions['collection']): (name: string) => boolean {
  if (typeof collection === 'function') return collection;
  const names = new Set(typeof collection === 'string' ? [collection] : collection);
  if (names.size === 0) throw new TypeError('createMongoDBGatewayHandler: at least one collection is required');
  return (name) => names.has(name);
}

/** Reads a body, refusing it as soon as it passes `limit` bytes (Content-Length or not). */
async function readLimited(request: Request, limit: number): Promise<string> {
  const tooLarge = () => new GatewayRequestError(`the request body is larger than ${limit} bytes`, 'RequestTooLarge', 413);
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > limit) throw tooLarge();
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

/**
 * Server error codes that are not the request's fault: auth of the gateway's own user, shutdowns,
 * elections, network and time-outs. Answered 503 (retry), not 400.
 */
const SERVER_SIDE_CODES = new Set([6, 7, 13, 18, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/** A typed reply for every failure; driver messages are redacted and never carry the URI. */
function errorReply(error: unknown): Reply {
  if (error instanceof GatewayRequestError) return { status: error.status, body: { error: error.message, error_code: error.errorCode } };
  const e = error as { code?: unknown; name?: unknown; message?: unknown; keyPattern?: unknown; keyValue?: unknown };
  if (e?.code === 11000) {
    return { status: 409, body: { error: 'a document with that unique key already exists', error_code: 'DuplicateKey', code: 11000, keyPattern: e.keyPattern, keyValue: e.keyValue } };
  }
  if (e?.code === 26) return { status: 404, body: { error: 'the collection does not exist', error_code: 'NamespaceNotFound', code: 26 } };
  if (typeof e?.name === 'string' && /^Mongo(Network|NetworkTimeout|ServerSelection|ServerClosed|TopologyClosed|PoolCleared)Error$/.test(e.name)) {
    return { status: 503, body: { error: 'the database is unavailable; try again', error_code: 'ServiceUnavailable' } };
  }
  if (typeof e?.code === 'number' && SERVER_SIDE_CODES.has(e.code)) {
    return { status: 503, body: { error: 'the database cannot serve this now (shutting down, electing, or refusing the gateway); try again', error_code: 'ServiceUnavailable', code: e.code } };
  }
  const message = typeof e?.message === 'string' ? redactSecrets(e.message).replace(/mongodb(\+srv)?:\/\/\S+/g, 'mongodb://***') : 'internal error';
  return {
    status: typeof e?.code === 'number' ? 400 : 500,
    body: { error: message, error_code: typeof e?.code === 'number' ? 'MongoError' : 'InternalServerError', ...(typeof e?.code === 'number' ? { code: e.code } : {}) },
  };
}

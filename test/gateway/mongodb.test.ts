/**
 * The MongoDB gateway's own contract: what it refuses (a bad key, an oversize body, an unknown
 * action, malformed EJSON, `$where` and other operators, another database or collection), what
 * it answers (the Data API's shapes), and that no key or connection string leaks into a reply
 * or a log line. Run against the harness's MongoDB (the wire-protocol test server, or a real
 * MongoDB when MONGODB_URL is set).
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startMongoDBGateway, type GatewayLogEntry } from '../../src/gateway/mongodb.js';
import { BURR_INDEXES, EXPIRE_AT_INDEX, FOLLOWS_INDEX } from '../../src/persisters/mongodb/index.js';

const mongo = inject('harness').mongodb[0]!;
const KEY = 'gateway-test-key-0123456789';
const OTHER_KEY = 'second-gateway-key-abcdefghij';
const database = 'burr_gateway_test';
const logs: GatewayLogEntry[] = [];
let gateway: { url: string; close(): Promise<void> };
let client: MongoClient;

beforeAll(async () => {
  client = new MongoClient(mongo.url);
  gateway = await startMongoDBGateway({
    client,
    database,
    collection: ['steps', 'other'],
    apiKeys: [KEY, OTHER_KEY],
    maxRequestBytes: 64 * 1024,
    maxResultBytes: 256 * 1024,
    maxResultDocuments: 50,
    log: (entry) => logs.push(entry),
  });
  await client.db(database).collection('steps').deleteMany({});
});

afterAll(async () => {
  await gateway?.close();
  await client?.close();
});

async function call(action: string, body: unknown, options: { key?: string | null; raw?: string; accept?: string; method?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.key !== null) headers.apiKey = options.key ?? KEY;
  if (options.accept) headers.accept = options.accept;
  const response = await fetch(`${gateway.url}/app/data-abc/endpoint/data/v1/action/${action}`, {
    method: options.method ?? 'POST',
    headers,
    ...(options.method === 'GET' ? {} : { body: options.raw ?? JSON.stringify(body) }),
  });
  const text = await response.text();
  replies.push(text);
  return { status: response.status, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Every reply body, for the no-secrets check. */
const replies: string[] = [];

/** A raw HTTP/1.1 request over a socket (a chunked body sent all at once), answered with its status line and headers. */
async function rawRequest(url: string, head: string, body: string): Promise<{ statusLine: string; headers: string; closed: boolean }> {
  const { connect } = await import('node:net');
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(head + body));
    let data = '';
    socket.on('data', (chunk) => void (data += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [headers = ''] = data.split('\r\n\r\n');
      resolve({ statusLine: headers.split('\r\n')[0] ?? '', headers, closed: true });
    });
  });
}

const ns = { dataSource: 'Cluster0', database, collection: 'steps' };

describe('mongodb gateway: the Data API shapes', () => {
  it('insertOne, findOne with sort and projection, find, aggregate, deleteMany', async () => {
    for (const sequence_id of [0, 1, 2]) {
      const inserted = await call('insertOne', { ...ns, document: { partition_key: 'p', app_id: 'a', sequence_id, state: `{"n":${sequence_id}}` } });
      expect(inserted.status).toBe(201);
      expect(inserted.json.insertedId).toMatchObject({ $oid: expect.stringMatching(/^[0-9a-f]{24}$/) });
    }
    const latest = await call('findOne', { ...ns, filter: { partition_key: 'p', app_id: 'a' }, sort: { sequence_id: -1 }, projection: { _id: 0 } });
    expect(latest).toMatchObject({ status: 200, json: { document: { partition_key: 'p', app_id: 'a', sequence_id: 2, state: '{"n":2}' } } });
    expect(await call('findOne', { ...ns, filter: { app_id: 'none' } })).toMatchObject({ status: 200, json: { document: null } });
    const found = await call('find', { ...ns, filter: { app_id: 'a', sequence_id: { $gte: 1 } }, sort: { sequence_id: 1 }, projection: { _id: 0, sequence_id: 1 }, limit: 5 });
    expect(found.json).toEqual({ documents: [{ sequence_id: 1 }, { sequence_id: 2 }] });
    const grouped = await call('aggregate', { ...ns, pipeline: [{ $match: { partition_key: 'p' } }, { $group: { _id: '$app_id', n: { $sum: 1 }, top: { $max: '$sequence_id' } } }] });
    expect(grouped.json).toEqual({ documents: [{ _id: 'a', n: 3, top: 2 }] });
    expect((await call('deleteMany', { ...ns, filter: { app_id: 'a' } })).json).toEqual({ deletedCount: 3 });
  });

  it("aggregate takes the persister's session expressions: compound _id, $cond/$lte/$literal in $max, $arrayElemAt, $push of $$ROOT", async () => {
    const docs = [['p', 'x', 0, 't1'], ['p', 'x', 1, 't3'], ['p', 'y', 0, 't2'], ['q', 'x', 0, 't4']] as const;
    for (const [partition_key, app_id, sequence_id, created_at] of docs) await call('insertOne', { ...ns, document: { partition_key, app_id, sequence_id, created_at, kind: 'expr' } });
    const listed = await call('aggregate', {
      ...ns,
      pipeline: [
        { $match: { kind: 'expr', partition_key: 'p' } },
        { $group: { _id: '$app_id', marker: { $max: { $cond: [{ $lte: ['$created_at', { $literal: 't2' }] }, '$created_at', null] } } } },
        { $sort: { _id: 1 } },
      ],
    });
    expect(listed.json).toEqual({ documents: [{ _id: 'x', marker: 't1' }, { _id: 'y', marker: 't2' }] });
    const bounds = await call('aggregate', {
      ...ns,
      pipeline: [
        { $match: { kind: 'expr' } },
        { $sort: { partition_key: -1, app_id: -1, sequence_id: -1 } },
        { $group: { _id: { p: '$partition_key', a: '$app_id' }, ids: { $push: '$sequence_id' } } },
        { $project: { second: { $arrayElemAt: ['$ids', 1] } } },
        { $match: { second: { $exists: true } } },
        { $group: { _id: null, apps: { $push: '$$ROOT' } } },
      ],
    });
    expect(bounds.json).toEqual({ documents: [{ _id: null, apps: [{ _id: { p: 'p', a: 'x' }, second: 0 }] }] });
    await call('deleteMany', { ...ns, filter: { kind: 'expr' } });
  });

  it('answers canonical EJSON when asked (Accept: application/ejson), relaxed JSON otherwise', async () => {
    await call('insertOne', { ...ns, document: { app_id: 'ejson', sequence_id: 7 } });
    const canonical = await call('findOne', { ...ns, filter: { app_id: 'ejson' }, projection: { _id: 0 } }, { accept: 'application/ejson' });
    expect(canonical.json).toEqual({ document: { app_id: 'ejson', sequence_id: { $numberInt: '7' } } });
    // A request's relaxed EJSON: {"$numberInt": "7"} is the number 7.
    const relaxed = await call('findOne', { ...ns, filter: { sequence_id: { $numberInt: '7' } }, projection: { _id: 0 } });
    expect(relaxed.json).toEqual({ document: { app_id: 'ejson', sequence_id: 7 } });
  });

  it('a duplicate key is 409 DuplicateKey with MongoDB code, keyPattern and keyValue', async () => {
    await call('createIndexes', { ...ns, indexes: BURR_INDEXES });
    const doc = { partition_key: 'p', app_id: 'dup', sequence_id: 0, position: 'x', state: '{}', status: 'completed', created_at: 't' };
    expect((await call('insertOne', { ...ns, document: doc })).status).toBe(201);
    const again = await call('insertOne', { ...ns, document: doc });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ error_code: 'DuplicateKey', code: 11000, keyPattern: { partition_key: 1, app_id: 1, sequence_id: 1 }, keyValue: { partition_key: 'p', app_id: 'dup', sequence_id: 0 } });
  });

  it("listIndexes shows the persister's indexes; createIndexes creates only those", async () => {
    const listed = await call('listIndexes', ns);
    expect((listed.json.indexes as { name: string }[]).map((i) => i.name).sort()).toEqual(['_id_', ...BURR_INDEXES.map((i) => i.name)].sort());
    const other = await call('createIndexes', { ...ns, indexes: [{ key: { state: 1 }, name: 'state_1' }] });
    expect(other).toMatchObject({ status: 400, json: { error_code: 'IndexNotAllowed' } });
    // The TTL index alone, or with another delay, is not the persister's list: refused.
    for (const indexes of [[EXPIRE_AT_INDEX], [...BURR_INDEXES, { ...EXPIRE_AT_INDEX, expireAfterSeconds: 5 }]]) {
      expect(await call('createIndexes', { ...ns, indexes })).toMatchObject({ status: 400, json: { error_code: 'IndexNotAllowed' } });
    }
    expect(await call('createIndexes', { ...ns, indexes: [...BURR_INDEXES, EXPIRE_AT_INDEX] })).toMatchObject({ status: 200, json: { indexes: [...BURR_INDEXES, EXPIRE_AT_INDEX].map((i) => i.name) } });
    const withTtl = (await call('listIndexes', ns)).json.indexes as { name: string; expireAfterSeconds?: number }[];
    expect(withTtl.find((i) => i.name === EXPIRE_AT_INDEX.name)).toEqual({ name: 'expire_at_1', key: { expire_at: 1 }, expireAfterSeconds: 0 });
    expect(await call('listIndexes', { ...ns, collection: 'other' })).toMatchObject({ status: 404, json: { error_code: 'NamespaceNotFound', code: 26 } });
  });

  it("createIndexes takes the persister's list with the partial unique follows index, and listIndexes shows its filter; a changed filter is refused", async () => {
    const follows = { ...ns, collection: 'other' }; // (the listing above found it missing: this test makes it)
    for (const indexes of [
      [...BURR_INDEXES, { ...FOLLOWS_INDEX, partialFilterExpression: { follows: { $type: 'number' } } }],
      [...BURR_INDEXES, { ...FOLLOWS_INDEX, partialFilterExpression: undefined }],
      [...BURR_INDEXES, { ...FOLLOWS_INDEX, unique: false }],
      [FOLLOWS_INDEX],
    ]) {
      expect(await call('createIndexes', { ...follows, indexes })).toMatchObject({ status: 400, json: { error_code: 'IndexNotAllowed' } });
    }
    for (const indexes of [[...BURR_INDEXES, FOLLOWS_INDEX], [...BURR_INDEXES, FOLLOWS_INDEX, EXPIRE_AT_INDEX]]) {
      expect(await call('createIndexes', { ...follows, indexes })).toMatchObject({ status: 200, json: { indexes: indexes.map((i) => i.name) } });
    }
    const listed = (await call('listIndexes', follows)).json.indexes as { name: string }[];
    expect(listed.find((i) => i.name === FOLLOWS_INDEX.name)).toEqual({ name: FOLLOWS_INDEX.name, key: { partition_key: 1, app_id: 1, follows: 1 }, unique: true, partialFilterExpression: { follows: { $exists: true } } });
    // Two documents following one step of one app: the second is a 409 naming the follows index's fields.
    const doc = (sequenceId: number) => ({ partition_key: 'p', app_id: 'f', sequence_id: sequenceId, position: 'x', state: '{}', status: 'completed', created_at: 't', follows: 0 });
    expect((await call('insertOne', { ...follows, document: doc(1) })).status).toBe(201);
    expect(await call('insertOne', { ...follows, document: doc(5) })).toMatchObject({ status: 409, json: { code: 11000, keyPattern: { partition_key: 1, app_id: 1, follows: 1 }, keyValue: { partition_key: 'p', app_id: 'f', follows: 0 } } });
  });
});

describe('mongodb gateway: what it refuses', () => {
  it('a missing or wrong apiKey: 401, nothing done', async () => {
    expect(await call('findOne', ns, { key: null })).toMatchObject({ status: 401, json: { error_code: 'Unauthorized' } });
    expect(await call('insertOne', { ...ns, document: { app_id: 'intruder' } }, { key: 'wrong-key-wrong-key-wrong' })).toMatchObject({ status: 401 });
    expect(await client.db(database).collection('steps').countDocuments({ app_id: 'intruder' })).toBe(0);
    // Either configured key works.
    expect((await call('findOne', ns, { key: OTHER_KEY })).status).toBe(200);
  });

  it('an oversize body: 413 RequestTooLarge, nothing written', async () => {
    const big = await call('insertOne', { ...ns, document: { app_id: 'big', state: 'x'.repeat(70 * 1024) } });
    expect(big).toMatchObject({ status: 413, json: { error_code: 'RequestTooLarge' } });
    expect(await client.db(database).collection('steps').countDocuments({ app_id: 'big' })).toBe(0);
    // Streamed without a Content-Length: refused while it streams in, and the 413 still arrives.
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk); // 1 MiB in all, far over the 64 KiB cap
        else controller.close();
      },
    });
    const streamed = await fetch(`${gateway.url}/action/insertOne`, { method: 'POST', headers: { apiKey: KEY }, body, duplex: 'half' } as RequestInit);
    expect([streamed.status, ((await streamed.json()) as { error_code: string }).error_code]).toEqual([413, 'RequestTooLarge']);
    expect(await client.db(database).collection('steps').countDocuments({ app_id: { $exists: false } })).toBe(0);
  });

  it('a result over the size or document cap: 400 ResultTooLarge', async () => {
    const docs = Array.from({ length: 60 }, (_, i) => ({ app_id: 'many', sequence_id: i, state: 'y'.repeat(6000) }));
    await client.db(database).collection('steps').insertMany(docs);
    expect(await call('aggregate', { ...ns, pipeline: [{ $match: { app_id: 'many' } }] })).toMatchObject({ status: 400, json: { error_code: 'ResultTooLarge' } });
    expect(await call('find', { ...ns, filter: { app_id: 'many' }, limit: 51 })).toMatchObject({ status: 400, json: { error_code: 'InvalidParameter' } });
    expect((await call('find', { ...ns, filter: { app_id: 'many' }, limit: 50 })).status).toBe(400); // 50 × 6 KB > 256 KB
    expect((await call('find', { ...ns, filter: { app_id: 'many' }, limit: 10 })).status).toBe(200);
  });

  it('an oversize chunked body sent at once: 413, and the gateway goes on serving (no crash, nothing written)', async () => {
    const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
    const document = JSON.stringify({ ...ns, document: { app_id: 'chunked', state: 'z'.repeat(70 * 1024) } });
    const head = `POST /action/insertOne HTTP/1.1\r\nhost: x\r\napikey: ${KEY}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`;
    const body = chunk(document.slice(0, 40 * 1024)) + chunk(document.slice(40 * 1024)) + '0\r\n\r\n';
    const answer = await rawRequest(gateway.url, head, body);
    expect(answer.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
    expect(answer.headers.toLowerCase()).toContain('connection: close');
    expect((await call('findOne', { ...ns, filter: { app_id: 'chunked' } })).json).toEqual({ document: null });
  });

  it('a refused request whose body was never read closes its connection after the answer', async () => {
    const head = `POST /action/insertOne HTTP/1.1\r\nhost: x\r\napikey: wrong-wrong-wrong-wrong\r\ncontent-length: 20\r\n\r\n`;
    const answer = await rawRequest(gateway.url, head, '{"database": "nope"}');
    expect(answer.statusLine).toBe('HTTP/1.1 401 Unauthorized');
    expect(answer.headers.toLowerCase()).toContain('connection: close');
  });

  it('find without a limit over the document cap is refused, not cut; result bytes are counted as bytes', async () => {
    expect(await call('find', { ...ns, filter: { app_id: 'many' } })).toMatchObject({ status: 400, json: { error_code: 'ResultTooLarge' } });
    // 2,000 characters, 6,000 bytes each: 45 of them pass 256 KiB in bytes, not in characters.
    await client.db(database).collection('steps').insertMany(Array.from({ length: 45 }, (_, i) => ({ app_id: 'euro', sequence_id: i, state: '€'.repeat(2000) })));
    expect(await call('find', { ...ns, filter: { app_id: 'euro' }, limit: 45 })).toMatchObject({ status: 400, json: { error_code: 'ResultTooLarge' } });
    expect((await call('find', { ...ns, filter: { app_id: 'euro' }, limit: 20 })).status).toBe(200);
  });

  it('an unknown action: 404 ActionNotFound; a GET: 405', async () => {
    expect(await call('updateMany', { ...ns, filter: {}, update: { $set: { x: 1 } } })).toMatchObject({ status: 404, json: { error_code: 'ActionNotFound' } });
    expect(await call('dropCollection', ns)).toMatchObject({ status: 404 });
    expect(await call('findOne', undefined, { method: 'GET' })).toMatchObject({ status: 405, json: { error_code: 'MethodNotAllowed' } });
  });

  it('malformed JSON or EJSON: 400 InvalidJSON', async () => {
    expect(await call('findOne', undefined, { raw: '{"database": ' })).toMatchObject({ status: 400, json: { error_code: 'InvalidJSON' } });
    expect(await call('findOne', undefined, { raw: JSON.stringify({ ...ns, filter: { _id: { $oid: 'not-an-object-id' } } }) })).toMatchObject({ status: 400, json: { error_code: 'InvalidJSON' } });
    expect(await call('findOne', undefined, { raw: '[1, 2]' })).toMatchObject({ status: 400 });
  });

  it('$where, $function, $expr, regular expressions and unlisted stages: 400 OperatorNotAllowed', async () => {
    const refused = [
      call('findOne', { ...ns, filter: { $where: 'sleep(10000) || true' } }),
      call('find', { ...ns, filter: { app_id: { $where: 'true' } } }),
      call('find', { ...ns, filter: { $expr: { $function: { body: 'return true', args: [], lang: 'js' } } } }),
      call('findOne', { ...ns, filter: { app_id: { $regex: '^(a+)+$' } } }),
      call('findOne', { ...ns, filter: { app_id: { $regex: 'a', $options: '' } } }),
      call('deleteMany', { ...ns, filter: { $or: [{ app_id: { $where: '1' } }] } }),
      call('aggregate', { ...ns, pipeline: [{ $lookup: { from: 'other', localField: 'a', foreignField: 'b', as: 'c' } }] }),
      call('aggregate', { ...ns, pipeline: [{ $out: 'other' }] }),
      call('aggregate', { ...ns, pipeline: [{ $group: { _id: null, f: { $accumulator: {} } } }] }),
      // Expressions: only field paths, $$ROOT, scalars, objects of those and the listed pure operators.
      call('aggregate', { ...ns, pipeline: [{ $group: { _id: null, f: { $max: { $function: { body: 'return 1', args: [], lang: 'js' } } } } }] }),
      call('aggregate', { ...ns, pipeline: [{ $group: { _id: null, f: { $max: { $cond: [{ $where: '1' }, 1, 0] } } } }] }),
      call('aggregate', { ...ns, pipeline: [{ $group: { _id: { p: { $lookup: {} } } } }] }),
      call('aggregate', { ...ns, pipeline: [{ $group: { _id: { 'a.b': '$app_id' } } }] }),
      call('aggregate', { ...ns, pipeline: [{ $group: { _id: null, f: { $push: '$$NOW' } } }] }),
      call('aggregate', { ...ns, pipeline: [{ $group: { _id: null, f: { $push: '$$CURRENT.x' } } }] }),
      call('aggregate', { ...ns, pipeline: [{ $group: { _id: null, f: { $max: { $literal: { $where: '1' } } } } }] }),
      call('aggregate', { ...ns, pipeline: [{ $group: { _id: null, f: { $max: { $cond: [true, 1] } } } }] }),
      call('aggregate', { ...ns, pipeline: [{ $project: { f: { $arrayElemAt: ['$ids', '$n'] } } }] }),
      call('aggregate', { ...ns, pipeline: [{ $project: { f: { $concat: ['$a', '$b'] } } }] }),
      call('aggregate', { ...ns, pipeline: [{ $project: { f: { $lte: ['$a', { $toString: '$b' }] } } }] }),
      call('insertOne', { ...ns, document: { $set: { x: 1 } } }),
      call('insertOne', { ...ns, document: { nested: { $where: '1' } } }),
      call('insertOne', { ...ns, document: { app_id: 'n', a: [[{ $where: '1' }]] } }),
      call('insertOne', { ...ns, document: { app_id: 'n', a: [[{ 'x.y': 2 }]] } }),
    ];
    for (const result of await Promise.all(refused)) {
      expect(result.status).toBe(400);
      expect(['OperatorNotAllowed', 'InvalidParameter']).toContain(result.json.error_code);
    }
    expect(await client.db(database).collection('steps').countDocuments({ app_id: 'n' })).toBe(0);
  });

  it('operators inside an id are not executed: a filter value object with $ keys is refused, a string id is literal', async () => {
    expect(await call('deleteMany', { ...ns, filter: { app_id: { $ne: { $where: '1' } } } })).toMatchObject({ status: 400 });
    // The persister sends ids as strings: '{"$gt": ""}' as a string matches nothing.
    expect(await call('deleteMany', { ...ns, filter: { app_id: '{"$gt": ""}' } })).toMatchObject({ status: 200, json: { deletedCount: 0 } });
  });

  it('another database or collection, or a missing filter on deleteMany: refused', async () => {
    expect(await call('findOne', { ...ns, database: 'admin' })).toMatchObject({ status: 403, json: { error_code: 'NamespaceNotAllowed' } });
    expect(await call('findOne', { ...ns, collection: 'system.users' })).toMatchObject({ status: 403 });
    expect(await call('findOne', { ...ns, collection: 'elsewhere' })).toMatchObject({ status: 403 });
    expect(await call('deleteMany', ns)).toMatchObject({ status: 400 });
  });

  it('no key, password or connection string in any reply or log line', async () => {
    expect(replies.length).toBeGreaterThan(20);
    for (const reply of replies) for (const secret of [KEY, OTHER_KEY, mongo.url]) expect(reply).not.toContain(secret);
    const everything = JSON.stringify(logs);
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain(OTHER_KEY);
    expect(everything).not.toContain(mongo.url);
    expect(logs.length).toBeGreaterThan(20);
    expect(logs.every((entry) => Object.keys(entry).every((k) => ['action', 'status', 'errorCode', 'milliseconds'].includes(k)))).toBe(true);
    const unreachable = await startMongoDBGateway({ uri: 'mongodb://admin:s3cret-pass@127.0.0.1:1/?serverSelectionTimeoutMS=300', database, collection: 'steps', apiKeys: [KEY] });
    try {
      const response = await fetch(`${unreachable.url}/action/findOne`, { method: 'POST', headers: { apiKey: KEY }, body: JSON.stringify({ ...ns, filter: {} }) });
      const text = await response.text();
      expect(response.status).toBe(503);
      expect(text).not.toContain('s3cret-pass');
      expect(JSON.parse(text)).toMatchObject({ error_code: 'ServiceUnavailable' });
    } finally {
      await unreachable.close();
    }
  });
});

describe('mongodb gateway: listening on IPv6 loopback', () => {
  it('serves requests on [::1]', async () => {
    const v6 = await startMongoDBGateway({ client, database, collection: 'steps', apiKeys: [KEY], host: '::1' });
    try {
      expect(v6.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      const response = await fetch(`${v6.url}/action/findOne`, { method: 'POST', headers: { apiKey: KEY }, body: JSON.stringify({ ...ns, filter: { app_id: 'none' } }) });
      expect([response.status, await response.json()]).toEqual([200, { document: null }]);
    } finally {
      await v6.close();
    }
  });
});

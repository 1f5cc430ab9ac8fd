/**
 * A {@link MongoCollectionLike} over `fetch`, speaking the request shapes of MongoDB Atlas's
 * Data API v1: `POST <url>/action/<name>` with an `apiKey` header and a JSON (relaxed EJSON)
 * body `{dataSource, database, collection, ...}`. Atlas switched its Data API off on 2025-09-30;
 * burr-edge's gateway (`burr-edge/mongodb-gateway`) serves the same shapes in front of any
 * MongoDB, for runtimes that have `fetch` but no TCP (Vercel Edge, browsers, Workers).
 *
 * Besides the Data API's `insertOne`, `findOne`, `find`, `aggregate` and `deleteMany`, it calls two
 * actions the Data API never had, `listIndexes` and `createIndexes` (the gateway creates only the
 * persister's own indexes).
 */
import type { BurrDocument, BurrFilter, FindOptions, IndexSpec, MongoCollectionLike, PipelineStage } from './collection.js';

/** Options of {@link DataApiCollection}. */
export interface DataApiOptions {
  /** The gateway's base URL, e.g. `https://gateway.example.com` (actions are POSTed to `<url>/action/<name>`). */
  url: string;
  /** Sent as the `apiKey` header. */
  apiKey: string;
  database: string;
  collection: string;
  /** The Data API's `dataSource` (an Atlas cluster name). The gateway accepts any value. @default 'burr-edge' */
  dataSource?: string;
  /** A `fetch` to send requests with (an instrumented one, a Worker's service binding). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * An error answered by a Data API endpoint. `code` is MongoDB's numeric code when the gateway
 * reports one (11000 for a duplicate key, with `keyPattern` and `keyValue`), `status` the HTTP status.
 */
export class DataApiError extends Error {
  override name = 'DataApiError';
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly code: number | undefined;
  readonly keyPattern: Record<string, unknown> | undefined;
  readonly keyValue: Record<string, unknown> | undefined;

  constructor(action: string, status: number, body: Record<string, unknown> | undefined) {
    const text = typeof body?.error === 'string' ? body.error : `HTTP status ${status}`;
    super(`${action}: ${text}`);
    this.status = status;
    this.errorCode = typeof body?.error_code === 'string' ? body.error_code : undefined;
    this.code = typeof body?.code === 'number' ? body.code : undefined;
    this.keyPattern = isRecord(body?.keyPattern) ? body.keyPattern : undefined;
    this.keyValue = isRecord(body?.keyValue) ? body.keyValue : undefined;
  }
}

/** A Data API collection: the slice of a MongoDB `Collection` the persister needs, over HTTP. */
export class DataApiCollection implements MongoCollectionLike {
  readonly dbName: string;
  readonly collectionName: string;
  readonly #options: DataApiOptions;
  readonly #fetch: typeof fetch;

  constructor(options: DataApiOptions) {
    this.#options = options;
    this.dbName = options.database;
    this.collectionName = options.collection;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  async insertOne(document: BurrDocument): Promise<{ insertedId: unknown }> {
    return (await this.#call('insertOne', { document })) as { insertedId: unknown };
  }

  async findOne(filter: BurrFilter, options: { sort: Record<string, 1 | -1>; projection?: Record<string, 0 | 1> }): Promise<unknown> {
    const { document } = (await this.#call('findOne', { filter, sort: options.sort, ...(options.projection ? { projection: options.projection } : {}) })) as { document?: unknown };
    return document ?? null;
  }

  find(filter: BurrFilter, options: FindOptions): { toArray(): Promise<unknown[]> } {
    return { toArray: async () => ((await this.#call('find', { filter, ...options })) as { documents: unknown[] }).documents };
  }

  aggregate(pipeline: PipelineStage[]): { toArray(): Promise<unknown[]> } {
    return { toArray: async () => ((await this.#call('aggregate', { pipeline })) as { documents: unknown[] }).documents };
  }

  async deleteMany(filter: BurrFilter): Promise<{ deletedCount: number }> {
    return (await this.#call('deleteMany', { filter })) as { deletedCount: number };
  }

  async createIndexes(indexes: IndexSpec[]): Promise<unknown> {
    return this.#call('createIndexes', { indexes });
  }

  listIndexes(): { toArray(): Promise<unknown[]> } {
    return { toArray: async () => ((await this.#call('listIndexes', {})) as { indexes: unknown[] }).indexes };
  }

  async #call(action: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { url, apiKey, database, collection, dataSource = 'burr-edge' } = this.#options;
    const response = await this.#fetch(`${url.replace(/\/+$/, '')}/action/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', apiKey },
      body: JSON.stringify({ dataSource, database, collection, ...body }, toEjson),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw new DataApiError(action, response.status, isRecord(parsed) ? parsed : undefined);
    if (!isRecord(parsed)) throw new DataApiError(action, 502, { error: 'the response is not a JSON object' });
    return fromRelaxedEjson(parsed) as Record<string, unknown>;
  }
}

/** A `JSON.stringify` replacer: a `Date` (the TTL field) goes as EJSON `{"$date": …}`, so the gateway stores a BSON date, not text. */
function toEjson(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return raw instanceof Date ? { $date: raw.toISOString() } : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The few EJSON wrappers a Burr document can come back in (`{"$numberInt": "3"}` and friends, when
 * a server answers in canonical EJSON); anything else passes through unchanged.
 */
function fromRelaxedEjson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromRelaxedEjson);
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [key] = keys as [string];
    const inner = value[key];
    if ((key === '$numberInt' || key === '$numberLong' || key === '$numberDouble') && typeof inner === 'string') return Number(inner);
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = fromRelaxedEjson(value[key]);
  return out;
}

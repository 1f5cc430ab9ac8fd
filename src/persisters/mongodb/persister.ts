/**
 * MongoDB persister: one document per step, in Burr's `MongoDBBasePersister` shape, over the
 * official driver (`fromValues`, an injected `MongoClient` or `Collection`) or over `fetch` to a
 * Data API endpoint such as burr-edge's gateway (`fromHttp`).
 *
 * @example
 * ```ts
 * import { MongoDBPersister } from 'burr-edge/mongodb';
 * const persister = MongoDBPersister.fromValues({ uri: process.env.MONGODB_URL!, dbName: 'burr', collectionName: 'burr_state' });
 * await persister.initialize();
 * await persister.save({ partitionKey: 'user-1', appId: 'chat-1', sequenceId: 0, position: 'start', state: { count: 0 }, status: 'completed' });
 * ```
 */
import { BaseStatePersister, defaultErrorKind, someCause, type BasePersisterOptions, type ErrorKind, type InsertOutcome, type LoadQuery, type StoredRecord, type StoredRow } from '../../core/base.js';
import { BackendError, InvalidArgumentError, type ErrorContext } from '../../core/errors.js';
import { LazyClient } from '../../core/lazy.js';
import type { PersistedStatus } from '../../core/types.js';
import { BURR_INDEXES, DUPLICATE_KEY, hasKeyIndex, isKeyIndexDuplicate, type BurrDocument, type BurrFilter, type MongoCollectionLike } from './collection.js';
import { DataApiCollection, type DataApiOptions } from './data-api.js';

/** The slice of a `MongoClient` the persister uses. */
export interface MongoClientLike {
  db(name: string): { collection(name: string): unknown };
  close(): Promise<void>;
}

/** Options of `new MongoDBPersister({...})`: a collection or client you made (dependency injection). */
export type MongoDBPersisterOptions = BasePersisterOptions &
  (
    | {
        /** A driver `Collection` (or anything shaped like {@link MongoCollectionLike}), or a function that makes one on first use. */
        collection: MongoCollectionLike | (() => Promise<MongoCollectionLike>);
        client?: undefined;
      }
    | {
        /** A `MongoClient`; the persister uses `client.db(dbName).collection(collectionName)`. */
        client: MongoClientLike;
        /** @default 'mydatabase' (Burr's default) */
        dbName?: string;
        /** @default 'mystates' (Burr's default) */
        collectionName?: string;
        collection?: undefined;
      }
  ) & {
    /** Close the client in `close()`. An injected client stays yours unless you say so. @default false */
    ownsClient?: boolean;
  };

/** Options of `MongoDBPersister.fromValues({...})`, as Burr's `MongoDBBasePersister.from_values`. */
export interface MongoDBFromValues extends BasePersisterOptions {
  /** `mongodb://…` or `mongodb+srv://…`. */
  uri: string;
  /** @default 'mydatabase' (Burr's default) */
  dbName?: string;
  /** @default 'mystates' (Burr's default) */
  collectionName?: string;
  /** Passed to `new MongoClient(uri, options)` (Burr's `mongo_client_kwargs`). */
  clientOptions?: Record<string, unknown>;
}

/** Options of `MongoDBPersister.fromHttp({...})`: a Data API endpoint (burr-edge's gateway) over `fetch`. */
export interface MongoDBFromHttp extends BasePersisterOptions, DataApiOptions {}

/** BSON documents are at most 16 MiB; the other fields and the BSON framing fit in what is left. */
const MAX_STATE_BYTES = 16 * 1024 * 1024 - 64 * 1024;

// MongoDB names that are spliced into nothing but still must be valid: refused early, clearly.
const DATABASE_NAME = /^[A-Za-z0-9_-]{1,63}$/;
const COLLECTION_NAME = /^(?!system\.)[A-Za-z_][A-Za-z0-9_.-]{0,119}$/;

/** Server error codes worth retrying: shutdowns, elections, network and time-outs. */
const RETRYABLE_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/** Burr's MongoDB persister. One round trip per save, load, list and delete. */
export class MongoDBPersister extends BaseStatePersister {
  protected readonly backendName = 'mongodb';
  protected override readonly maxStateBytes = MAX_STATE_BYTES;
  readonly #collection: LazyClient<MongoCollectionLike>;
  /** `db.collection` for messages; the factories name what they build. */
  #label: string;
  /** Closes what the persister owns: the client `fromValues` made, or one passed with `ownsClient`. */
  #close: (() => Promise<void>) | undefined;

  constructor(options: MongoDBPersisterOptions) {
    super(options);
    const ctx: ErrorContext = { backend: 'mongodb', operation: 'construct' };
    if (options?.collection) {
      this.#collection = new LazyClient(options.collection);
      const { dbName, collectionName = 'collection' } = typeof options.collection === 'function' ? {} : options.collection;
      this.#label = dbName ? `${dbName}.${collectionName}` : collectionName;
      this.#close = undefined;
    } else if (options?.client) {
      const dbName = validateName('dbName', options.dbName ?? 'mydatabase', DATABASE_NAME, ctx);
      const collectionName = validateName('collectionName', options.collectionName ?? 'mystates', COLLECTION_NAME, ctx);
      const client = options.client;
      this.#collection = new LazyClient(client.db(dbName).collection(collectionName) as MongoCollectionLike);
      this.#label = `${dbName}.${collectionName}`;
      this.#close = options.ownsClient ? () => client.close() : undefined;
    } else {
      throw new InvalidArgumentError('collection', 'a MongoDB Collection or MongoClient is required', ctx);
    }
  }

  /**
   * Where `fromValues` gets the `mongodb` driver. This build is the one bundlers pick for edge
   * runtimes and browsers (`edge-light`, `worker`, `workerd`, `browser` conditions), which have
   * no TCP: it never imports the driver. Node, Deno and Bun get the build that does
   * (./node.ts, the subpath's default condition).
   */
  protected static loadDriver(): Promise<{ MongoClient: new (uri: string, options?: Record<string, unknown>) => unknown }> {
    return Promise.reject(
      new InvalidArgumentError(
        'uri',
        "fromValues needs MongoDB's TCP driver, which this runtime's build of burr-edge/mongodb leaves out: use fromHttp (burr-edge's gateway), or import { MongoClient } from 'mongodb' yourself (a Worker with nodejs_compat) and pass new MongoDBPersister({ client })",
        { backend: 'mongodb', operation: 'initialize' },
      ),
    );
  }

  /**
   * Builds a `MongoClient` from plain values, as Burr's `MongoDBBasePersister.from_values`. The
   * `mongodb` driver (an optional peer dependency) is imported on first use (Node, Deno, Bun); the
   * persister owns and closes the client.
   */
  static fromValues<T extends typeof MongoDBPersister>(this: T, values: MongoDBFromValues): InstanceType<T> {
    const { uri, dbName = 'mydatabase', collectionName = 'mystates', clientOptions, ...rest } = values ?? ({} as MongoDBFromValues);
    const ctx: ErrorContext = { backend: 'mongodb', operation: 'construct' };
    if (typeof uri !== 'string' || !/^mongodb(\+srv)?:\/\//.test(uri)) throw new InvalidArgumentError('uri', 'a mongodb:// or mongodb+srv:// URI is required', ctx);
    validateName('dbName', dbName, DATABASE_NAME, ctx);
    validateName('collectionName', collectionName, COLLECTION_NAME, ctx);
    let client: MongoClientLike | undefined;
    const loadDriver = this.loadDriver;
    const persister = new this({
      ...rest,
      collection: async () => {
        const { MongoClient } = await loadDriver();
        client = new MongoClient(uri, clientOptions) as unknown as MongoClientLike;
        return client.db(dbName).collection(collectionName) as MongoCollectionLike;
      },
    });
    persister.#close = async () => {
      await persister.#collection.settled();
      await client?.close();
    };
    persister.#label = `${dbName}.${collectionName}`;
    return persister as InstanceType<T>;
  }

  /** Alias of {@link fromValues}, as Burr's persisters have both. */
  static fromConfig<T extends typeof MongoDBPersister>(this: T, values: MongoDBFromValues): InstanceType<T> {
    return this.fromValues(values);
  }

  /**
   * A persister over `fetch` to a Data API endpoint (burr-edge's gateway): for Vercel Edge,
   * browsers behind your own auth, and Workers that should not open a TCP+TLS connection per request.
   */
  static fromHttp<T extends typeof MongoDBPersister>(this: T, values: MongoDBFromHttp): InstanceType<T> {
    const { url, apiKey, database, collection, dataSource, fetch: customFetch, ...rest } = values ?? ({} as MongoDBFromHttp);
    const ctx: ErrorContext = { backend: 'mongodb', operation: 'construct' };
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new InvalidArgumentError('url', 'the gateway URL (http:// or https://) is required', ctx);
    if (typeof apiKey !== 'string' || apiKey === '') throw new InvalidArgumentError('apiKey', 'an API key is required', ctx);
    validateName('database', database, DATABASE_NAME, ctx);
    validateName('collection', collection, COLLECTION_NAME, ctx);
    const transport = new DataApiCollection({ url, apiKey, database, collection, ...(dataSource ? { dataSource } : {}), ...(customFetch ? { fetch: customFetch } : {}) });
    return new this({ ...rest, collection: transport }) as InstanceType<T>;
  }

  protected get storageTarget(): string {
    return `collection ${this.#label}`;
  }

  async #db(): Promise<MongoCollectionLike> {
    return this.#collection.get();
  }

  protected async storageInitialize(): Promise<void> {
    try {
      await (await this.#db()).createIndexes([...BURR_INDEXES]);
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      if (code === DUPLICATE_KEY) {
        throw new BackendError(
          'the collection holds two documents with the same (partition_key, app_id, sequence_id), so the unique index a save relies on cannot be built; remove one of them and initialize again',
          { ...this.context('initialize', error), retryable: false },
        );
      }
      if (code === 85 || code === 86) {
        throw new BackendError(
          'an index on the same fields with other options (or another name) exists; drop it so the unique key index can be created',
          { ...this.context('initialize', error), retryable: false },
        );
      }
      throw error;
    }
  }

  protected async storageIsInitialized(): Promise<boolean> {
    try {
      return hasKeyIndex(await (await this.#db()).listIndexes().toArray());
    } catch (error) {
      if ((error as { code?: unknown })?.code === 26) return false; // NamespaceNotFound: no collection yet
      throw error;
    }
  }

  protected async storageInsert(record: StoredRecord): Promise<InsertOutcome> {
    const document: BurrDocument = {
      partition_key: storedPartitionKey(record.partitionKey),
      app_id: record.appId,
      sequence_id: record.sequenceId,
      position: record.position,
      state: record.stateJson,
      status: record.status,
      created_at: nowIsoMicros(),
    };
    try {
      // One insertOne; the unique key index refuses a second document at the same key.
      await (await this.#db()).insertOne(document);
      return { inserted: true };
    } catch (error) {
      if (someCause(error, isKeyIndexDuplicate)) return { inserted: false, existing: null }; // the error or one it wraps
      throw error;
    }
  }

  protected async storageSelect(query: LoadQuery): Promise<StoredRow | null> {
    const db = await this.#db();
    const partition = storedPartitionKey(query.partitionKey);
    const found =
      query.appId === null
        ? await db.findOne({ partition_key: partition }, { sort: { created_at: -1, _id: -1 }, projection: { _id: 0 } })
        : await db.findOne(
            { partition_key: partition, app_id: query.appId, ...(query.sequenceId === undefined ? {} : { sequence_id: query.sequenceId }) },
            { sort: { sequence_id: -1 }, projection: { _id: 0 } },
          );
    return found ? this.#toRow(found) : null;
  }

  protected async storageListAppIds(partitionKey: string, limit: number | undefined): Promise<string[]> {
    // One result document holding the list, however many apps: a gateway's cap on result
    // documents never cuts a partition's listing.
    const [row] = await (await this.#db())
      .aggregate([
        { $match: { partition_key: storedPartitionKey(partitionKey) } satisfies BurrFilter },
        { $sort: { created_at: -1, _id: -1 } },
        { $group: { _id: '$app_id', latest: { $first: '$created_at' }, tie: { $first: '$_id' } } },
        { $sort: { latest: -1, tie: -1 } },
        ...(limit === undefined ? [] : [{ $limit: limit }]),
        { $group: { _id: null, apps: { $push: '$_id' } } },
      ])
      .toArray();
    return ((row as { apps?: unknown[] } | undefined)?.apps ?? []).map(String);
  }

  /** Deletes every saved step of one app. One round trip (`deleteMany`). */
  protected override async storageDeleteApp(key: string, app: string): Promise<void> {
    await (await this.#db()).deleteMany({ partition_key: storedPartitionKey(key), app_id: app });
  }

  protected override async storageClose(): Promise<void> {
    await this.#close?.();
  }

  protected override classifyError(error: unknown): ErrorKind {
    const retryable = someCause(error, (e) => {
      const { code, name } = e as { code?: unknown; name?: unknown };
      const labels = (e as { errorLabels?: unknown; errorLabelSet?: unknown }).errorLabels;
      if (typeof code === 'number' && RETRYABLE_CODES.has(code)) return true;
      if (Array.isArray(labels) && (labels.includes('RetryableWriteError') || labels.includes('TransientTransactionError'))) return true;
      return typeof name === 'string' && /^Mongo(Network|NetworkTimeout|ServerSelection|ServerClosed|TopologyClosed)Error$/.test(name);
    });
    return retryable ? 'retryable' : defaultErrorKind(error);
  }

  #toRow(found: unknown): StoredRow {
    const doc = found as Partial<Record<keyof BurrDocument, unknown>>;
    if (typeof doc.state !== 'string') {
      throw new BackendError('a stored document has no JSON text in `state`', { ...this.context('load'), retryable: false });
    }
    return {
      partitionKey: typeof doc.partition_key === 'string' ? doc.partition_key : '',
      appId: String(doc.app_id),
      sequenceId: Number(doc.sequence_id),
      position: String(doc.position),
      status: doc.status as PersistedStatus,
      stateJson: doc.state,
      createdAt: doc.created_at instanceof Date ? doc.created_at : String(doc.created_at),
    };
  }
}

function validateName(argument: string, value: unknown, pattern: RegExp, ctx: ErrorContext): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new InvalidArgumentError(argument, `must match ${pattern} (got ${JSON.stringify(value)})`, ctx);
  }
  return value;
}

/** Burr's Python writes `None` for no partition key; the kit's `''` is stored the same way, so both sides meet. */
function storedPartitionKey(partitionKey: string): string | null {
  return partitionKey === '' ? null : partitionKey;
}

let lastMicros = 0;

/**
 * Now as Python's `datetime.now(timezone.utc).isoformat()` writes it (microseconds, `+00:00`), so
 * the kit's and Burr's documents sort together. Strictly increasing within this process: two saves
 * in one millisecond still order as they were made.
 */
function nowIsoMicros(): string {
  let micros = Date.now() * 1000;
  if (micros <= lastMicros) micros = lastMicros + 1;
  lastMicros = micros;
  return `${new Date(Math.floor(micros / 1000)).toISOString().slice(0, 23)}${String(micros % 1000).padStart(3, '0')}+00:00`;
}

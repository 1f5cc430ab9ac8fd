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
import {
  BaseStatePersister,
  defaultErrorKind,
  someCause,
  type AppsQuery,
  type BasePersisterOptions,
  type ErrorKind,
  type HistoryQuery,
  type InsertOutcome,
  type LoadQuery,
  type PruneQuery,
  type StoredAppsPage,
  type StoredHistoryRow,
  type StoredRecord,
  type StoredRow,
} from '../../core/base.js';
import { BackendError, InvalidArgumentError, type ErrorContext } from '../../core/errors.js';
import { LazyClient } from '../../core/lazy.js';
import type { PersistedStatus } from '../../core/types.js';
import { DUPLICATE_KEY, hasExpiryIndex, hasFollowsIndex, hasKeyIndex, indexesFor, isFollowsIndexDuplicate, isKeyIndexDuplicate, type BurrDocument, type BurrFilter, type MongoCollectionLike, type PipelineStage } from './collection.js';
import { DataApiCollection, type DataApiOptions } from './data-api.js';

/** The slice of a `MongoClient` the persister uses. */
export interface MongoClientLike {
  db(name: string): { collection(name: string): unknown };
  close(): Promise<void>;
}

/** Options every constructor of the MongoDB persister takes. */
export interface MongoDBExpiryOptions {
  /**
   * Native expiry: each step is removed by MongoDB's TTL monitor this many seconds after it was
   * saved (a BSON date `expire_at` on the document; `initialize()` adds a TTL index on it). The
   * latest step is the newest, so an app disappears this long after its last save. The monitor
   * runs about once a minute, so a step may outlive its time by that much. Burr ignores the field.
   * @default no expiry
   */
  expireAfterSeconds?: number;
}

/** Options of `new MongoDBPersister({...})`: a collection or client you made (dependency injection). */
export type MongoDBPersisterOptions = BasePersisterOptions &
  MongoDBExpiryOptions &
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
export interface MongoDBFromValues extends BasePersisterOptions, MongoDBExpiryOptions {
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
export interface MongoDBFromHttp extends BasePersisterOptions, MongoDBExpiryOptions, DataApiOptions {}

/** BSON documents are at most 16 MiB; the other fields and the BSON framing fit in what is left. */
const MAX_STATE_BYTES = 16 * 1024 * 1024 - 64 * 1024;

// MongoDB names that are spliced into nothing but still must be valid: refused early, clearly.
const DATABASE_NAME = /^[A-Za-z0-9_-]{1,63}$/;
const COLLECTION_NAME = /^(?!system\.)[A-Za-z_][A-Za-z0-9_.-]{0,119}$/;

/** Server error codes worth retrying: shutdowns, elections, network and time-outs. */
const RETRYABLE_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/** Apps per `deleteMany` of a prune: keeps each command far below MongoDB's 16 MiB and a gateway's body cap. */
const PRUNE_BATCH = 1000;

/**
 * Burr's MongoDB persister. One round trip per save, load, list and delete; a conditional save
 * (`expectedSequenceId`) and a prune that removes something take two (see those methods).
 */
export class MongoDBPersister extends BaseStatePersister {
  protected readonly backendName = 'mongodb';
  protected override readonly maxStateBytes = MAX_STATE_BYTES;
  protected override readonly supportsExpectedSequenceId = true;
  /** Milliseconds a step lives (`expireAfterSeconds`); `undefined`: forever. */
  readonly #ttlMs: number | undefined;
  readonly #collection: LazyClient<MongoCollectionLike>;
  /** `db.collection` for messages; the factories name what they build. */
  #label: string;
  /** Closes what the persister owns: the client `fromValues` made, or one passed with `ownsClient`. */
  #close: (() => Promise<void>) | undefined;

  constructor(options: MongoDBPersisterOptions) {
    super(options);
    const ctx: ErrorContext = { backend: 'mongodb', operation: 'construct' };
    const ttl = options?.expireAfterSeconds;
    if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl > 1e10)) {
      throw new InvalidArgumentError('expireAfterSeconds', `must be a positive number of seconds, got ${String(ttl)}`, ctx);
    }
    this.#ttlMs = ttl === undefined ? undefined : ttl * 1000;
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
      await (await this.#db()).createIndexes(indexesFor(this.#ttlMs !== undefined));
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      if (code === DUPLICATE_KEY && someCause(error, isFollowsIndexDuplicate)) {
        // Not from the kit's saves (the index was there when they wrote `follows`): documents written around it.
        throw new BackendError(
          'the collection holds two documents of one app with the same `follows` (the step a conditional save followed), so the unique index behind expectedSequenceId cannot be built; remove one of them and initialize again',
          { ...this.context('initialize', error), retryable: false },
        );
      }
      if (code === DUPLICATE_KEY) {
        throw new BackendError(
          'the collection holds two documents with the same (partition_key, app_id, sequence_id), so the unique index a save relies on cannot be built; remove one of them and initialize again',
          { ...this.context('initialize', error), retryable: false },
        );
      }
      if (code === 85 || code === 86) {
        throw new BackendError(
          "an index on the same fields as one of the kit's (the unique key index, or the partial unique index on follows) exists with other options or another name; drop it so initialize() can create the kit's",
          { ...this.context('initialize', error), retryable: false },
        );
      }
      throw error;
    }
  }

  protected async storageIsInitialized(): Promise<boolean> {
    try {
      const indexes = await (await this.#db()).listIndexes().toArray();
      // Indexes that correctness rests on; without them the collection is not in place until initialize() adds them:
      // the key index (saves), the follows index (conditional saves would silently lose their one-winner
      // guarantee), the TTL index when documents expire (they would silently live forever).
      return hasKeyIndex(indexes) && hasFollowsIndex(indexes) && (this.#ttlMs === undefined || hasExpiryIndex(indexes));
    } catch (error) {
      if ((error as { code?: unknown })?.code === 26) return false; // NamespaceNotFound: no collection yet
      throw error;
    }
  }

  /**
   * One `insertOne`; the unique key index refuses a second document at the same key.
   *
   * With `expectedSequenceId`, two round trips: a `findOne` of the app's latest sequence id, then
   * the `insertOne` of a document that also carries `follows` = the expected sequence id (`null`:
   * the save creates the app). The read only refuses early and names the latest step; the
   * indexes decide. The partial unique index on `(partition_key, app_id, follows)` lets one
   * document per app follow a given step, so of conditional writers expecting the same step
   * exactly one gets in, whatever sequence ids they save (`expected + 1`, `expected + 5`, two
   * creators of an app at different ids); a duplicate on it, or on the
   * key, is `ConcurrentUpdateError` — unless the document at the key is this very record (a
   * retry whose answer was lost), which the base class reads back to tell. The read cannot go:
   * the indexes alone would let in a save expecting a step that is not the latest but that no
   * conditional save followed (an app's first steps saved without expectation, a step above the
   * latest, an app that does not exist). What stays open: an unconditional save (no `follows`)
   * between a conditional writer's read and insert, at another key, lets both in.
   */
  protected async storageInsert(record: StoredRecord): Promise<InsertOutcome> {
    const db = await this.#db();
    const partition = storedPartitionKey(record.partitionKey);
    const document: BurrDocument = {
      partition_key: partition,
      app_id: record.appId,
      sequence_id: record.sequenceId,
      position: record.position,
      state: record.stateJson,
      status: record.status,
      created_at: nowIsoMicros(),
      ...(record.forkedFromJson === undefined ? {} : { forked_from: record.forkedFromJson }),
      ...(this.#ttlMs === undefined ? {} : { expire_at: new Date(Date.now() + this.#ttlMs) }),
      ...(record.expectedSequenceId === undefined ? {} : { follows: record.expectedSequenceId }),
    };
    if (record.expectedSequenceId !== undefined) {
      const latest = (await db.findOne({ partition_key: partition, app_id: record.appId }, { sort: { sequence_id: -1 }, projection: { _id: 0, sequence_id: 1 } })) as { sequence_id?: unknown } | null;
      const latestId = latest ? Number(latest.sequence_id) : null;
      // The latest step is at this very key (a retry whose answer was lost?): the base class reads it back to tell.
      if (latestId === record.sequenceId) return { inserted: false, existing: null };
      if (latestId !== record.expectedSequenceId) return { inserted: false, existing: null, latestSequenceId: latestId };
    }
    try {
      await db.insertOne(document);
      return { inserted: true };
    } catch (error) {
      // The key is taken, or (a conditional save) another document already follows the expected
      // step: refused. The base class reads the key back: its own record there is a retry's success.
      if (someCause(error, isKeyIndexDuplicate) || (record.expectedSequenceId !== undefined && someCause(error, isFollowsIndexDuplicate))) return { inserted: false, existing: null };
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

  /** One `find`, newest first; the state only when asked for. */
  protected override async storageListHistory(query: HistoryQuery): Promise<StoredHistoryRow[]> {
    // `latestBlock` is not expressible in one find: those loads read up to a block of rows (the extra ones unused).
    const range = { ...(query.before === undefined ? {} : { $lt: query.before }), ...(query.from === undefined ? {} : { $gte: query.from }) };
    const filter: BurrFilter = { partition_key: storedPartitionKey(query.partitionKey), app_id: query.appId, ...(Object.keys(range).length ? { sequence_id: range } : {}) };
    const projection: Record<string, 0 | 1> = { _id: 0, sequence_id: 1, position: 1, status: 1, created_at: 1, forked_from: 1, ...(query.withState ? { state: 1 } : {}) };
    const documents = await (await this.#db()).find(filter, { sort: { sequence_id: -1 }, limit: query.limit, projection }).toArray();
    return documents.map((found) => {
      const doc = found as Partial<Record<keyof BurrDocument, unknown>>;
      if (query.withState && typeof doc.state !== 'string') throw new BackendError('a stored document has no JSON text in `state`', { ...this.context('listHistory'), retryable: false });
      return {
        sequenceId: Number(doc.sequence_id),
        position: String(doc.position),
        status: doc.status as PersistedStatus,
        createdAt: doc.created_at instanceof Date ? doc.created_at : String(doc.created_at),
        forkedFromJson: typeof doc.forked_from === 'string' ? doc.forked_from : null,
        ...(query.withState ? { stateJson: doc.state as string } : {}),
      };
    });
  }

  /**
   * One `aggregate` per page. An app's marker is its newest `created_at` at or before the
   * snapshot (the newest `created_at` of the partition when the first page was read); apps are
   * ordered by marker, newest first, then by app id; each row carries the app's latest step now.
   *
   * `created_at` is written by each writer's clock, so the listing is exact — every app that
   * existed when it began, once, in its place then — when every step that commits after the
   * first page was read carries a `created_at` later than the snapshot. That holds for saves made
   * by one process (its stamps strictly increase), and for several writers whose clocks agree
   * and none of whose saves was stamped before the first page but committed after it. A writer
   * whose clock runs behind (or a save in flight across the first page) can give an app a marker
   * below the snapshot after the listing began: that app may then be listed twice or not at all.
   * Two apps whose markers are the same microsecond are ordered by app id here, by `_id` in `listAppIds`.
   */
  protected override async storageListApps(query: AppsQuery): Promise<StoredAppsPage> {
    const snapshot = query.snapshot === undefined ? undefined : String(query.snapshot);
    const after = query.after;
    const pipeline: PipelineStage[] = [
      { $match: { partition_key: storedPartitionKey(query.partitionKey) } },
      // The unique key index backwards: each app's steps, highest sequence id first.
      { $sort: { app_id: -1, sequence_id: -1 } },
      {
        $group: {
          _id: '$app_id',
          sequenceId: { $first: '$sequence_id' },
          position: { $first: '$position' },
          status: { $first: '$status' },
          updatedAt: { $first: '$created_at' },
          // $literal: a marker from a cursor is data, never a field path.
          marker: { $max: snapshot === undefined ? '$created_at' : { $cond: [{ $lte: ['$created_at', { $literal: snapshot }] }, '$created_at', null] } },
        },
      },
      ...(snapshot === undefined ? [] : [{ $match: { marker: { $ne: null } } }]), // apps created after the snapshot
      { $sort: { marker: -1, _id: 1 } },
      ...(after === undefined ? [] : [{ $match: { $or: [{ marker: { $lt: String(after.marker) } }, { marker: String(after.marker), _id: { $gt: after.appId } }] } }]),
      { $limit: query.limit },
    ];
    const rows = (await (await this.#db()).aggregate(pipeline).toArray()).map((found) => {
      const doc = found as { _id: unknown; sequenceId: unknown; position: unknown; status: unknown; updatedAt: unknown; marker: unknown };
      return {
        appId: String(doc._id),
        latestSequenceId: Number(doc.sequenceId),
        position: String(doc.position),
        status: doc.status as PersistedStatus,
        updatedAt: doc.updatedAt instanceof Date ? doc.updatedAt : String(doc.updatedAt),
        marker: String(doc.marker),
      };
    });
    return { rows, snapshot: snapshot ?? rows[0]?.marker ?? '' };
  }

  /**
   * One `aggregate`: the distinct partition keys above the cursor, ascending. MongoDB compares
   * strings by their UTF-8 bytes, which is UTF-16 code-unit order except that characters
   * U+E000–U+FFFF sort before characters beyond U+FFFF here (after them in JavaScript).
   */
  protected override async storageListPartitionKeys(limit: number, after: string | undefined): Promise<string[]> {
    // The empty partition is stored as null, below every string: after it come all strings ($gte '').
    const above = after === undefined ? [] : [{ $match: { partition_key: after === '' ? { $gte: '' } : { $gt: after } } }];
    const documents = await (await this.#db())
      .aggregate([...above, { $sort: { partition_key: 1 } }, { $group: { _id: '$partition_key' } }, { $sort: { _id: 1 } }, { $limit: limit }])
      .toArray();
    return documents.map((doc) => {
      const key = (doc as { _id: unknown })._id;
      return key === null || key === undefined ? '' : String(key);
    });
  }

  /**
   * Two round trips when something goes (one when nothing does): an `aggregate` finds, per app
   * in scope, the sequence id of the last step to keep (its `keepLast`-th newest, or its latest);
   * then `deleteMany` removes that app's steps below it (and, with `olderThan`, saved before it).
   * A filter cannot rank an app's steps, so one command cannot do both. Saves meanwhile add
   * higher sequence ids, which the bounds never reach: no latest step is removed. More than
   * 1000 apps to prune take one `deleteMany` per 1000.
   */
  protected override async storagePrune(query: PruneQuery): Promise<number> {
    const db = await this.#db();
    const scope: Record<string, unknown> = {
      ...(query.partitionKey === undefined ? {} : { partition_key: storedPartitionKey(query.partitionKey) }),
      ...(query.appId === undefined ? {} : { app_id: query.appId }),
    };
    const cutoff = query.olderThan === undefined ? undefined : isoMicros(query.olderThan);
    const keep = query.keepLast ?? 1;
    const [found] = await db
      .aggregate([
        { $match: scope },
        // The unique key index backwards: each app's steps, highest sequence id first.
        { $sort: { partition_key: -1, app_id: -1, sequence_id: -1 } },
        { $group: { _id: { p: '$partition_key', a: '$app_id' }, ids: { $push: '$sequence_id' }, oldest: { $min: '$created_at' } } },
        ...(cutoff === undefined ? [] : [{ $match: { oldest: { $lt: cutoff } } }]), // nothing old enough: nothing to do
        { $project: { keepFrom: { $arrayElemAt: ['$ids', keep - 1] } } },
        { $match: { keepFrom: { $exists: true } } }, // fewer steps than kept
        { $group: { _id: null, apps: { $push: '$$ROOT' } } }, // one result document, whatever a gateway's cap on documents
      ])
      .toArray();
    const apps = ((found as { apps?: unknown[] } | undefined)?.apps ?? []) as { _id: { p?: string | null; a: string }; keepFrom: unknown }[];
    let deleted = 0;
    for (let i = 0; i < apps.length; i += PRUNE_BATCH) {
      const clauses: BurrFilter[] = apps.slice(i, i + PRUNE_BATCH).map(({ _id, keepFrom }) => ({
        partition_key: _id.p ?? null,
        app_id: _id.a,
        sequence_id: { $lt: Number(keepFrom) },
        ...(cutoff === undefined ? {} : { created_at: { $lt: cutoff } }),
      }));
      const result = (await db.deleteMany({ $or: clauses })) as { deletedCount?: unknown };
      deleted += Number(result.deletedCount ?? 0);
    }
    return deleted;
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
 * An instant as `created_at` text, for comparing with stored ones. A whole second is written
 * without a fraction, as Python writes it: `…:05+00:00` sorts below `…:05.000001+00:00` ('+' < '.'),
 * so text order is time order for the kit's documents and Burr's alike.
 */
function isoMicros(instant: Date): string {
  const iso = instant.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}+00:00` : `${iso.slice(0, 23)}000+00:00`;
}

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

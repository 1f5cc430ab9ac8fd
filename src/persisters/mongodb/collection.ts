/**
 * What the MongoDB persister needs from a collection, and Burr's document shape.
 *
 * Both transports speak this one structural interface: the official driver's `Collection` has
 * it as is, and {@link DataApiCollection} implements it over `fetch`. Nothing else of the driver
 * is used, so the persister never imports `mongodb` itself.
 */

/** One saved step, exactly Burr's `MongoDBBasePersister` document (plus MongoDB's `_id`). */
export interface BurrDocument {
  /** `null` where Burr's Python wrote `None`; the kit stores its empty partition key as `null` too. */
  partition_key: string | null;
  app_id: string;
  sequence_id: number;
  position: string;
  /** The state as JSON text (`json.dumps` in Burr). */
  state: string;
  status: string;
  /** ISO 8601 with microseconds and `+00:00`, as Python's `datetime.now(timezone.utc).isoformat()`. */
  created_at: string;
  /** The kit's own, absent from Burr's documents: the fork lineage as JSON text, so history reports it without reading `state`. */
  forked_from?: string;
  /** The kit's own: when the TTL index removes the step (the persister's `expireAfterSeconds`). */
  expire_at?: Date;
  /**
   * The kit's own, on conditionally saved steps only (`save({ expectedSequenceId })`): the step
   * this one was saved after (`null`: it created the app). {@link FOLLOWS_INDEX} lets one
   * document per app hold each value, so two conditional writers expecting the same step cannot
   * both succeed, whatever sequence ids they save. Unconditional saves (and Burr) leave it out.
   */
  follows?: number | null;
}

/** The filters the persister sends: equality on Burr's fields, a range on `sequence_id`, `$or` of those (prune). */
export type BurrFilter = Partial<Pick<BurrDocument, 'partition_key' | 'app_id'>> & {
  sequence_id?: number | { $lt?: number; $gte?: number };
  created_at?: { $lt: string };
  $or?: BurrFilter[];
};

/** An index as `createIndexes` takes it. */
export interface IndexSpec {
  key: Record<string, 1 | -1>;
  name: string;
  unique?: boolean;
  expireAfterSeconds?: number;
  partialFilterExpression?: Record<string, unknown>;
}

/** A pipeline stage; the persister builds `$match`, `$sort`, `$group`, `$project`, `$limit`. */
export type PipelineStage = Record<string, unknown>;

/** What `find` takes: the persister always bounds it. */
export interface FindOptions {
  sort: Record<string, 1 | -1>;
  limit: number;
  projection?: Record<string, 0 | 1>;
}

/**
 * The slice of a MongoDB `Collection` the persister uses. The official driver's `Collection`
 * satisfies it structurally; so does {@link DataApiCollection}.
 */
export interface MongoCollectionLike {
  readonly dbName?: string;
  readonly collectionName?: string;
  insertOne(document: BurrDocument): Promise<unknown>;
  findOne(filter: BurrFilter, options: { sort: Record<string, 1 | -1>; projection?: Record<string, 0 | 1> }): Promise<unknown>;
  find(filter: BurrFilter, options: FindOptions): { toArray(): Promise<unknown[]> };
  aggregate(pipeline: PipelineStage[]): { toArray(): Promise<unknown[]> };
  deleteMany(filter: BurrFilter): Promise<unknown>;
  createIndexes(indexes: IndexSpec[]): Promise<unknown>;
  listIndexes(): { toArray(): Promise<unknown[]> };
}

/** The unique index that makes a save one `insertOne`: a second write of a key is refused. */
export const KEY_INDEX: IndexSpec = {
  key: { partition_key: 1, app_id: 1, sequence_id: 1 },
  name: 'partition_key_1_app_id_1_sequence_id_1',
  unique: true,
};

/**
 * For the partition's latest step (`load(pk, null)`) and `listAppIds`, newest first; `_id` breaks
 * ties between two processes' saves in one microsecond, so both read in the index's order.
 */
export const PARTITION_CREATED_AT_INDEX: IndexSpec = {
  key: { partition_key: 1, created_at: -1, _id: -1 },
  name: 'partition_key_1_created_at_-1__id_-1',
};

export const BURR_INDEXES: readonly IndexSpec[] = [KEY_INDEX, PARTITION_CREATED_AT_INDEX];

/**
 * The kit's index behind `expectedSequenceId`: per app, at most one document follows a given
 * step (`follows`; `null` for the one that created the app). Partial on `follows` existing, so
 * Burr's documents and unconditional saves (no `follows`) are not in it, while `follows: null`
 * is (`$exists: true` matches a null field): two writers creating one app conflict too.
 * `$exists: true` in a partial filter is accepted by every MongoDB with partial indexes (3.2+).
 */
export const FOLLOWS_INDEX: IndexSpec = {
  key: { partition_key: 1, app_id: 1, follows: 1 },
  name: 'partition_key_1_app_id_1_follows_1',
  unique: true,
  partialFilterExpression: { follows: { $exists: true } },
};

/**
 * The TTL index of a persister with `expireAfterSeconds`: each document goes once its own
 * `expire_at` has passed (`expireAfterSeconds: 0`), so the delay lives in the documents and
 * persisters with different delays (or none: no `expire_at`, never removed) share one collection.
 */
export const EXPIRE_AT_INDEX: IndexSpec = { key: { expire_at: 1 }, name: 'expire_at_1', expireAfterSeconds: 0 };

/** What `initialize` creates: Burr's two, the kit's {@link FOLLOWS_INDEX}, and the TTL index when documents expire. */
export function indexesFor(expires: boolean): IndexSpec[] {
  return expires ? [...BURR_INDEXES, FOLLOWS_INDEX, EXPIRE_AT_INDEX] : [...BURR_INDEXES, FOLLOWS_INDEX];
}

/** MongoDB's duplicate-key error code. */
export const DUPLICATE_KEY = 11000;

/** Whether `error` is a duplicate-key error raised by `index` (its fields, or its name in the message). */
function isDuplicateOn(error: unknown, index: IndexSpec): boolean {
  const e = error as { code?: unknown; keyPattern?: unknown; errmsg?: unknown; message?: unknown };
  if (typeof e !== 'object' || e === null || e.code !== DUPLICATE_KEY) return false;
  if (typeof e.keyPattern === 'object' && e.keyPattern !== null) return Object.keys(e.keyPattern).join() === Object.keys(index.key).join();
  // Servers before 4.4 put no keyPattern on the error, only the index name in the message.
  const message = String(e.errmsg ?? e.message ?? '');
  return message.includes(` index: ${index.name} `);
}

/** Whether `error` is a duplicate-key error raised by {@link KEY_INDEX} (not by `_id` or another unique index). */
export function isKeyIndexDuplicate(error: unknown): boolean {
  return isDuplicateOn(error, KEY_INDEX);
}

/** Whether `error` is a duplicate-key error raised by {@link FOLLOWS_INDEX}: another document already follows that step. */
export function isFollowsIndexDuplicate(error: unknown): boolean {
  return isDuplicateOn(error, FOLLOWS_INDEX);
}

/** Whether an index list (from `listIndexes`) holds {@link EXPIRE_AT_INDEX} (a TTL index on `expire_at` alone). */
export function hasExpiryIndex(indexes: unknown[]): boolean {
  return indexes.some((index) => {
    const { key, expireAfterSeconds } = (index ?? {}) as { key?: Record<string, unknown>; expireAfterSeconds?: unknown };
    return !!key && Object.keys(key).join() === 'expire_at' && Number(expireAfterSeconds) === 0;
  });
}

/** Whether an index list (from `listIndexes`) holds the kit's unique key index. */
export function hasKeyIndex(indexes: unknown[]): boolean {
  return indexes.some((index) => {
    const { key, unique } = (index ?? {}) as { key?: Record<string, unknown>; unique?: unknown };
    if (!key || unique !== true) return false;
    const fields = Object.entries(key);
    return (
      fields.length === 3 &&
      fields.every(([field, direction], i) => field === ['partition_key', 'app_id', 'sequence_id'][i] && Number(direction) === 1)
    );
  });
}

/** Whether an index list (from `listIndexes`) holds {@link FOLLOWS_INDEX}: unique, on those fields, partial on `follows` existing and nothing else. */
export function hasFollowsIndex(indexes: unknown[]): boolean {
  const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  return indexes.some((index) => {
    const { key, unique, partialFilterExpression: filter } = (index ?? {}) as { key?: Record<string, unknown>; unique?: unknown; partialFilterExpression?: unknown };
    if (!key || unique !== true || !isRecord(filter) || Object.keys(filter).join() !== 'follows') return false;
    const condition = filter.follows;
    if (!isRecord(condition) || Object.keys(condition).join() !== '$exists' || !(condition.$exists === true || Number(condition.$exists) === 1)) return false;
    const fields = Object.entries(key);
    return fields.length === 3 && fields.every(([field, direction], i) => field === ['partition_key', 'app_id', 'follows'][i] && Number(direction) === 1);
  });
}

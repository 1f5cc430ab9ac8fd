/// <reference lib="esnext.disposable" preserve="true" />
/**
 * The shared persister machinery. A backend implements a handful of raw storage operations
 * (`storage*` methods); this class owns everything else: argument validation before any I/O,
 * serialization, the one-time `initialize`, duplicate handling, error typing, `createdAt`
 * normalization and `close`.
 */
import {
  BackendError,
  InvalidArgumentError,
  NotInitializedError,
  PersisterClosedError,
  StateAlreadyExistsError,
  StateTooLargeError,
  isPersisterError,
  redactSecrets,
  ConcurrentUpdateError,
  NotSupportedError,
  type ErrorContext,
  type PersisterOperation,
} from './errors.js';
import { parseJson, stringifyJson, utf8Length, type JsonObject } from './json.js';
import { isStateLike } from './brand.js';
import type {
  AppsPage,
  ForkSource,
  HistoryPage,
  HistoryStep,
  ListAppIdsOptions,
  ListHistoryOptions,
  PageOptions,
  PartitionKeysPage,
  PersistedStateData,
  PersistedStatus,
  PruneOptions,
  PruneResult,
  SaveParams,
  StateSaver,
} from './types.js';
import { normalizePartitionKey, validateAppId, validateLimit, validatePosition, validateSequenceId, validateStatus } from './validation.js';
import { decodeAppsCursor, decodePartitionsCursor, encodeAppsCursor, encodePartitionsCursor, type PageMarker } from './cursor.js';
import { FORK_KEY, parseForkSource } from './lineage.js';
import { jsonEqual, sameJsonText } from './compare.js';
import { toIsoTimestamp } from './time.js';
import {
  DELTA_KEY,
  StepMemory,
  blockOf,
  deltaPrev,
  diffFields,
  encodeRow,
  isDeltaRow,
  joinFields,
  rebuild,
  resolveDeltaOptions,
  serializeFields,
  type DeltaOptions,
  type FieldTexts,
  type ResolvedDeltaOptions,
} from './delta.js';

/** A validated record, with its state already serialized to JSON text. */
export interface StoredRecord {
  partitionKey: string;
  appId: string;
  sequenceId: number;
  position: string;
  status: PersistedStatus;
  stateJson: string;
  /**
   * Optimistic concurrency (`save({ expectedSequenceId })`): insert only if the app's latest
   * sequence id is this (`null`: the app has no step). `undefined`: no condition.
   */
  expectedSequenceId?: number | null;
  /** JSON text of the state's fork lineage (`__burr_edge_fork__`), for backends that keep it beside the state. */
  forkedFromJson?: string;
}

/** A record as read back from storage; `createdAt` in whatever form the backend keeps it. */
export interface StoredRow extends StoredRecord {
  createdAt: string | number | Date;
}

/**
 * What `storageInsert` reports: written, or refused. A refused insert gives the record at the
 * key (or `null` when the key is free or could not be read), and, when the record carried an
 * `expectedSequenceId`, the app's latest sequence id as the store saw it (`null`: no step).
 */
export type InsertOutcome = { inserted: true } | { inserted: false; existing: StoredRecord | null; latestSequenceId?: number | null };

/** What `listHistory` asks a backend for: up to `limit` steps, highest sequence id first. */
export interface HistoryQuery {
  partitionKey: string;
  appId: string;
  /** Rows wanted: the page size plus one (which tells the base class that an older page exists). */
  limit: number;
  /** Only sequence ids below this. */
  before: number | undefined;
  /** Return `stateJson` for every row. */
  withState: boolean;
  /**
   * A hint from delta-mode loads, which a backend may ignore (the extra rows are not used): rows
   * below this sequence id are not wanted.
   */
  from?: number;
  /**
   * A hint from delta-mode latest loads, which a backend may ignore: rows below the start of the
   * newest row's block of this size (`floor(newest / latestBlock) * latestBlock`) are not wanted.
   */
  latestBlock?: number;
}

/** A step as `storageListHistory` returns it. */
export interface StoredHistoryRow {
  sequenceId: number;
  position: string;
  status: PersistedStatus;
  createdAt: string | number | Date;
  /** Required with `withState`. */
  stateJson?: string;
  /** The step's fork lineage as JSON text, when it has one (read beside the state, or out of it). */
  forkedFromJson?: string | null;
}

/**
 * What `listApps` asks a backend for. Apps are ordered by when they were last saved *as of the
 * snapshot* — each app's newest step with a marker at or before `snapshot` — newest first, then
 * by app id; steps saved after the snapshot do not move an app (nor list an app created since),
 * so paging while other writers save shows every app once. `after` is the last app of the
 * previous page: return only apps after it in that order.
 */
export interface AppsQuery {
  partitionKey: string;
  /** Rows wanted: the page size plus one. */
  limit: number;
  /** `undefined` on the first page: the backend picks the snapshot (its newest marker) and returns it. */
  snapshot: PageMarker | undefined;
  after: { marker: PageMarker; appId: string } | undefined;
}

/** One app as `storageListApps` returns it: its latest step now, placed by its marker as of the snapshot. */
export interface StoredAppRow {
  appId: string;
  latestSequenceId: number;
  position: string;
  status: PersistedStatus;
  /** When its latest step (or its most recent save) was stored. */
  updatedAt: string | number | Date;
  /** Its place in the ordering as of the snapshot, as the backend compares markers. */
  marker: PageMarker;
}

export interface StoredAppsPage {
  rows: StoredAppRow[];
  /** The snapshot the page was read at: the query's, or on the first page the one the backend chose. */
  snapshot: PageMarker;
}

/** What `prune` asks a backend to remove. */
export interface PruneQuery {
  /** `undefined`: every partition. */
  partitionKey: string | undefined;
  /** `undefined`: every app (of the partition). */
  appId: string | undefined;
  /** Remove only steps saved before this instant. */
  olderThan: Date | undefined;
  /** Keep each app's last this-many steps. */
  keepLast: number | undefined;
}

/** What `load` asks a backend for, validated and normalized. */
export interface LoadQuery {
  partitionKey: string;
  /** `null`: the most recently saved record of the partition. */
  appId: string | null;
  /** `undefined`: the highest sequence id. */
  sequenceId: number | undefined;
}

/** How a backend classifies a driver error. */
export type ErrorKind = 'retryable' | 'fatal' | 'not-initialized';

/** Options every persister takes. */
export interface BasePersisterOptions {
  /**
   * Skip `initialize()`: the table already exists (created by a migration, by Burr, or by an
   * earlier `initialize()`). Saves a round trip per cold start, e.g. in a Worker.
   * @default false
   */
  assumeInitialized?: boolean;
  /**
   * How steps are written. `'full'` (the default): every step holds the whole state, a Burr row.
   * `'delta'`: a step holds what changed since the previous step this persister saved of the
   * app, with a full snapshot every `delta.snapshotEvery` steps (docs/delta.md). Reading needs
   * no option: every persister reads both kinds of rows.
   * @default 'full'
   */
  storage?: 'full' | 'delta';
  /** Tuning of `storage: 'delta'`. */
  delta?: DeltaOptions;
}

/** Options of `materialize`. */
export interface MaterializeOptions {
  /** Copy the app's steps as Burr rows into this persister (full storage) instead of rewriting them in place. */
  into?: StateSaver;
}

export interface MaterializeResult {
  /** Steps the app has. */
  steps: number;
  /** Rows rewritten in place, or steps saved into `into` (identical ones already there count too). */
  rewritten: number;
}

/** The listings a delta-mode prune walks to find, per app, which rows its kept steps need. */
interface PruneSessions {
  listHistory?: (query: HistoryQuery) => Promise<StoredHistoryRow[]>;
  listApps?: (query: AppsQuery) => Promise<StoredAppsPage>;
  listPartitionKeys?: (limit: number, after: string | undefined) => Promise<string[]>;
}

/** Page size of the listings a delta-mode prune walks (within every backend's per-request result limit). */
const PRUNE_PAGE = 500;

/** Page size of the listings when no `limit` is given. */
const DEFAULT_PAGE = 100;
/** The block size a reader assumes for delta rows when it was not given one (the writers' default). */
const DEFAULT_SNAPSHOT_EVERY = 50;

const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? (Symbol.for('Symbol.asyncDispose') as typeof Symbol.asyncDispose);

/**
 * The lifecycle and validation every persister shares. Subclass {@link BaseStatePersister},
 * {@link BaseStateLoader} or {@link BaseStateSaver} rather than this.
 */
export abstract class PersisterCore {
  /** Backend name used in error messages, e.g. `libsql`. */
  protected abstract readonly backendName: string;
  /** Largest serialized state (UTF-8 bytes) this backend stores; `undefined`: no limit of the kit's. */
  protected readonly maxStateBytes: number | undefined = undefined;

  #initialized: boolean;
  #initializing: Promise<void> | undefined;
  /** `isInitialized()` found the storage in place: calls may run, though `initialize()` still does its part when called. */
  #inPlace = false;
  /** A running `storageIsInitialized` probe made on behalf of a call before `initialize()`, shared by concurrent calls. */
  #probing: Promise<boolean> | undefined;
  #closed = false;
  /** `storage: 'delta'`: the writer's settings and its memory of each app's last saved step. */
  readonly #delta: { options: ResolvedDeltaOptions; memory: StepMemory } | undefined;

  constructor(options: BasePersisterOptions = {}) {
    this.#initialized = options.assumeInitialized === true;
    const storage = options.storage ?? 'full';
    if (storage !== 'full' && storage !== 'delta') {
      throw new InvalidArgumentError('storage', `must be 'full' or 'delta', got ${JSON.stringify(String(storage))}`, { operation: 'construct' });
    }
    if (storage === 'delta') {
      const resolved = resolveDeltaOptions(options.delta, (field, message) => new InvalidArgumentError(field, message, { operation: 'construct' }));
      this.#delta = { options: resolved, memory: new StepMemory(resolved.rememberApps, resolved.rememberBytes) };
    } else if (options.delta !== undefined) {
      throw new InvalidArgumentError('delta', "applies only with storage: 'delta'", { operation: 'construct' });
    }
  }

  /** `'delta'` when steps are written as deltas (see {@link BasePersisterOptions.storage}). */
  get storageMode(): 'full' | 'delta' {
    return this.#delta ? 'delta' : 'full';
  }

  /** Table, collection or key prefix for error messages. Never a secret. */
  protected abstract get storageTarget(): string;
  protected abstract storageInitialize(): Promise<void>;
  protected abstract storageIsInitialized(): Promise<boolean>;
  /** Releases what the persister owns (a client it built). */
  protected async storageClose(): Promise<void> {}
  /** Maps a driver error to how it should be reported. */
  protected classifyError(error: unknown): ErrorKind {
    return defaultErrorKind(error);
  }

  /**
   * Creates what the backend needs (tables, indexes). Idempotent and cheap to call again:
   * concurrent calls share one attempt, and a failed attempt is retried by the next call.
   */
  async initialize(): Promise<void> {
    this.#assertOpen('initialize');
    if (this.#initialized) return;
    this.#initializing ??= this.#guard('initialize', () => this.storageInitialize()).then(
      () => {
        this.#initializing = undefined;
        // close() ran meanwhile: the storage is gone, so this initialize did not succeed.
        this.#assertOpen('initialize');
        this.#initialized = true;
      },
      (error: unknown) => {
        this.#initializing = undefined; // a failed init must not poison the instance
        throw error;
      },
    );
    return this.#initializing;
  }

  /**
   * Whether the backend's tables (indexes, keys) exist — asks the database, as Burr's
   * `is_initialized`. When they do, the instance is ready: `save`, `load` and `listAppIds` work
   * without `initialize()`, so read-only credentials can open a table Burr or another instance made.
   */
  async isInitialized(): Promise<boolean> {
    this.#assertOpen('isInitialized');
    const found = await this.#guard('isInitialized', () => this.storageIsInitialized());
    if (found && !this.#closed) this.#inPlace = true;
    return found;
  }

  /** Closes the persister, and the client if the persister built it. Later calls fail with `PersisterClosedError`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#guard('close', () => this.storageClose());
  }

  async [asyncDispose](): Promise<void> {
    await this.close();
  }

  protected context(operation: PersisterOperation, cause?: unknown): ErrorContext {
    return { backend: this.backendName, operation, target: this.storageTarget, cause };
  }

  /**
   * Validates and serializes `save` arguments. Throws before any I/O. In delta mode the state is
   * serialized field by field (`fields`) and `stateJson` is left for the save to encode.
   */
  protected prepareRecord(params: SaveParams): StoredRecord & { fields?: FieldTexts } {
    const ctx = this.context('save');
    if (typeof params !== 'object' || params === null) {
      throw new InvalidArgumentError('params', 'save() takes one object argument', ctx);
    }
    const record: StoredRecord & { fields?: FieldTexts } = {
      partitionKey: normalizePartitionKey(params.partitionKey, ctx),
      appId: validateAppId(params.appId, ctx),
      sequenceId: validateSequenceId(params.sequenceId, ctx),
      position: validatePosition(params.position, ctx),
      status: validateStatus(params.status, ctx),
      stateJson: '',
    };
    const serialized = this.serializedState(params.state, ctx);
    if (Object.prototype.hasOwnProperty.call(serialized, DELTA_KEY)) {
      throw new InvalidArgumentError('state', `${DELTA_KEY} is a reserved field name (it marks rows written with storage: 'delta')`, ctx);
    }
    let size: number;
    if (this.#delta) {
      record.fields = serializeFields(serialized, ctx);
      size = this.maxStateBytes === undefined ? 0 : utf8Length(joinFields(record.fields));
    } else {
      record.stateJson = stringifyJson(serialized, ctx);
      size = this.maxStateBytes === undefined ? 0 : utf8Length(record.stateJson);
    }
    if (Object.prototype.hasOwnProperty.call(serialized, FORK_KEY)) record.forkedFromJson = stringifyJson(serialized[FORK_KEY] as JsonObject, ctx);
    if (params.expectedSequenceId !== undefined) {
      if (!this.supportsExpectedSequenceId) {
        throw new NotSupportedError(`${this.backendName} does not implement expectedSequenceId: nothing was saved`, ctx);
      }
      if (params.expectedSequenceId !== null) {
        const expected = params.expectedSequenceId;
        if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < 0) {
          throw new InvalidArgumentError('expectedSequenceId', `must be a non-negative integer or null, got ${typeof expected === 'number' ? expected : typeof expected}`, ctx);
        }
        if (expected >= record.sequenceId) {
          throw new InvalidArgumentError('expectedSequenceId', `must be below sequenceId (${record.sequenceId}), got ${expected}: the new step follows the one expected`, ctx);
        }
        record.expectedSequenceId = expected;
      } else record.expectedSequenceId = null;
    }
    // In delta mode too the limit is on the whole state: a snapshot of it must fit, compressed or not.
    if (this.maxStateBytes !== undefined && size > this.maxStateBytes) throw new StateTooLargeError(size, this.maxStateBytes, ctx);
    if (!this.#delta) this.checkRecord(record);
    return record;
  }

  /**
   * Delta mode: encodes the prepared record's state as a delta against the step this persister
   * last saved of the app, when that step is in the same block and the delta is smaller, else as
   * a snapshot. No I/O: the previous step comes from memory, never from the store.
   */
  async #encodeDelta(record: StoredRecord & { fields?: FieldTexts }, delta: { options: ResolvedDeltaOptions; memory: StepMemory }): Promise<void> {
    const fields = record.fields!;
    const { snapshotEvery, compressAbove } = delta.options;
    const previous = delta.memory.get(StepMemory.key(record.partitionKey, record.appId));
    let body: { kind: 'snapshot'; text: string } | { kind: 'delta'; prev: number; text: string } | undefined;
    if (
      previous &&
      previous.sequenceId < record.sequenceId &&
      blockOf(previous.sequenceId, snapshotEvery) === blockOf(record.sequenceId, snapshotEvery) &&
      // A conditional save expecting another step than the one remembered must not build on it.
      (record.expectedSequenceId === undefined || record.expectedSequenceId === previous.sequenceId)
    ) {
      const text = diffFields(previous.fields, fields);
      // "When the change is larger than the state": a delta that saves nothing is a snapshot.
      if (text.length + 48 < fields.bytes) body = { kind: 'delta', prev: previous.sequenceId, text };
    }
    body ??= { kind: 'snapshot', text: joinFields(fields) };
    record.stateJson = await encodeRow(body, compressAbove, record.forkedFromJson);
    this.checkRecord(record);
  }

  /** Extra per-backend checks on a prepared record (e.g. characters a database cannot hold). */
  protected checkRecord(_record: StoredRecord): void {}

  protected serializedState(state: SaveParams['state'], ctx: ErrorContext): JsonObject {
    if (isStateLike(state)) return state.serialize() as JsonObject;
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new InvalidArgumentError('state', 'must be a plain object or a State', ctx);
    }
    return state as JsonObject;
  }

  /** The backend implements `expectedSequenceId` atomically in `storageInsert`. */
  protected readonly supportsExpectedSequenceId: boolean = false;

  /**
   * Validates, then inserts. When the insert reports a taken key without the record holding it
   * (a concurrent writer committed after the statement's snapshot), `reread` fetches it: the
   * rare second round trip the cost budget allows.
   */
  protected async runSave(
    params: SaveParams,
    insert: (record: StoredRecord) => Promise<InsertOutcome>,
    reread?: (record: StoredRecord) => Promise<StoredRecord | null>,
    listHistory?: (query: HistoryQuery) => Promise<StoredHistoryRow[]>,
  ): Promise<void> {
    this.#assertOpen('save');
    const { fields, ...record } = this.prepareRecord(params);
    const delta = this.#delta;
    if (delta) {
      if (!listHistory) throw new NotSupportedError(`${this.backendName} cannot read deltas back (no storageListHistory): storage: 'delta' is not available; nothing was saved`, this.context('save'));
      await this.#encodeDelta(Object.assign(record, { fields }), delta);
    }
    await this.#ensureReady('save');
    const outcome = await this.#guard('save', () => insert(record));
    const remember = () => {
      if (delta && fields) delta.memory.remember(StepMemory.key(record.partitionKey, record.appId), { sequenceId: record.sequenceId, fields });
    };
    if (outcome.inserted) return remember();
    let existing = outcome.existing;
    // A store that evaluated the expectation read the key in the same operation: a free key is final.
    const expectationChecked = record.expectedSequenceId !== undefined && outcome.latestSequenceId !== undefined;
    if (existing === null && reread && !expectationChecked) existing = await this.#guard('save', () => reread(record));
    // A retry of a save whose response was lost finds its own record: that is success.
    if (existing && existing.position === record.position && existing.status === record.status) {
      if (sameJsonText(existing.stateJson, record.stateJson)) return remember();
      // Written as a delta, the same state can be stored as other text (a snapshot after a restart, or a delta against another step).
      if (listHistory && fields && isDeltaRow(this.#parseState(existing.stateJson, this.context('save')))) {
        const stored = await this.#guard('save', () => this.#loadChain(record.partitionKey, record.appId, record.sequenceId, listHistory, 'save'));
        if (stored && jsonEqual(stored.state, parseJson(joinFields(fields)))) return remember();
      } else if (fields && jsonEqual(this.#parseState(existing.stateJson, this.context('save')), parseJson(joinFields(fields)))) return remember();
    }
    if (record.expectedSequenceId !== undefined) {
      throw new ConcurrentUpdateError(
        { partitionKey: record.partitionKey, appId: record.appId, expectedSequenceId: record.expectedSequenceId, actualSequenceId: outcome.latestSequenceId },
        this.context('save'),
      );
    }
    throw new StateAlreadyExistsError(record, this.context('save'));
  }

  /**
   * One step's rows, rebuilt: fetches the newest rows of the app at or below the step — as many
   * as its block can hold, so one read holds the whole chain — and, only when a row the chain
   * needs is not among them (another `snapshotEvery`, rows deleted underneath), the rows below.
   */
  async #loadChain(
    partitionKey: string,
    appId: string,
    sequenceId: number | undefined,
    listHistory: (query: HistoryQuery) => Promise<StoredHistoryRow[]>,
    operation: PersisterOperation,
    first?: StoredHistoryRow,
  ): Promise<{ row: StoredHistoryRow; state: JsonObject } | null> {
    const ctx = this.context(operation);
    const every = this.#delta?.options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
    const texts = new Map<number, string>();
    let target = first;
    let lowest: number;
    if (target) {
      texts.set(Number(target.sequenceId), target.stateJson!);
      lowest = Number(target.sequenceId);
    } else {
      // The block's rows: the hints let a backend leave out the rows of earlier blocks.
      const query: HistoryQuery =
        sequenceId === undefined
          ? { partitionKey, appId, limit: every, before: undefined, withState: true, latestBlock: every }
          : { partitionKey, appId, limit: (sequenceId % every) + 1, before: sequenceId + 1, withState: true, from: blockOf(sequenceId, every) * every };
      const rows = await listHistory(query);
      target = rows[0];
      if (!target || (sequenceId !== undefined && Number(target.sequenceId) !== sequenceId)) return null;
      for (const row of rows) if (!texts.has(Number(row.sequenceId))) texts.set(Number(row.sequenceId), row.stateJson!);
      lowest = Number(rows[rows.length - 1]!.sequenceId);
    }
    const state = await this.#resolveChain(partitionKey, appId, Number(target.sequenceId), texts, lowest, listHistory, ctx);
    return { row: target, state };
  }

  /** Rebuilds step `target` from `texts` (rows down to `lowest`), fetching the rows below when its chain reaches past them. */
  async #resolveChain(
    partitionKey: string,
    appId: string,
    target: number,
    texts: Map<number, string>,
    lowest: number,
    listHistory: (query: HistoryQuery) => Promise<StoredHistoryRow[]>,
    ctx: ErrorContext,
  ): Promise<JsonObject> {
    const every = this.#delta?.options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
    for (;;) {
      const result = rebuild(target, texts, ctx);
      if ('state' in result) return result.state;
      const missing = result.missing;
      const rows = missing < lowest ? await listHistory({ partitionKey, appId, limit: (missing % every) + 1, before: missing + 1, withState: true, from: blockOf(missing, every) * every }) : [];
      if (rows.length === 0 || Number(rows[0]!.sequenceId) !== missing) {
        throw new BackendError(`step ${missing}, which step ${target} is stored against, is missing (deleted or pruned outside burr-edge?)`, { ...ctx, retryable: false });
      }
      for (const row of rows) if (!texts.has(Number(row.sequenceId))) texts.set(Number(row.sequenceId), row.stateJson!);
      lowest = Number(rows[rows.length - 1]!.sequenceId);
    }
  }

  protected async runLoad(
    partitionKey: string | null | undefined,
    appId: string | null,
    sequenceId: number | null | undefined,
    select: (query: LoadQuery) => Promise<StoredRow | null>,
    listHistory?: (query: HistoryQuery) => Promise<StoredHistoryRow[]>,
  ): Promise<PersistedStateData | null> {
    this.#assertOpen('load');
    const ctx = this.context('load');
    const query: LoadQuery = {
      partitionKey: normalizePartitionKey(partitionKey, ctx),
      appId: appId === null ? null : validateAppId(appId, ctx),
      sequenceId: sequenceId === undefined || sequenceId === null ? undefined : validateSequenceId(sequenceId, ctx),
    };
    await this.#ensureReady('load');
    // Delta mode expects delta rows: one read fetches the step with its chain.
    if (this.#delta && listHistory && query.appId !== null) {
      const app = query.appId;
      const found = await this.#guard('load', () => this.#loadChain(query.partitionKey, app, query.sequenceId, listHistory, 'load'));
      return found ? this.#persisted(query.partitionKey, app, found.row, found.state) : null;
    }
    const row = await this.#guard('load', () => select(query));
    if (!row) return null;
    const state = this.#parseState(row.stateJson, ctx);
    if (!isDeltaRow(state)) return this.#persisted(row.partitionKey, row.appId, row, state);
    // A Burr-mode reader met a delta row: a second read fetches its chain.
    if (!listHistory) throw new NotSupportedError(`this step is stored as a delta and ${this.backendName} cannot read the steps it builds on`, ctx);
    const found = await this.#guard('load', () => this.#loadChain(row.partitionKey, row.appId, Number(row.sequenceId), listHistory, 'load', { ...row, createdAt: row.createdAt }));
    return found ? this.#persisted(row.partitionKey, row.appId, found.row, found.state) : null;
  }

  #persisted(partitionKey: string, appId: string, row: StoredHistoryRow, state: JsonObject): PersistedStateData {
    return { partitionKey, appId, sequenceId: Number(row.sequenceId), position: row.position, state, createdAt: toIsoTimestamp(row.createdAt), status: row.status };
  }

  protected async runListAppIds(
    partitionKey: string | null | undefined,
    options: ListAppIdsOptions | undefined,
    select: (partitionKey: string, limit: number | undefined) => Promise<string[]>,
  ): Promise<string[]> {
    this.#assertOpen('listAppIds');
    const ctx = this.context('listAppIds');
    const key = normalizePartitionKey(partitionKey, ctx);
    const limit = validateLimit(options?.limit, ctx);
    await this.#ensureReady('listAppIds');
    return this.#guard('listAppIds', () => select(key, limit));
  }

  protected async runDelete(
    partitionKey: string | null | undefined,
    appId: string,
    remove: ((partitionKey: string, appId: string) => Promise<void>) | undefined,
  ): Promise<void> {
    this.#assertOpen('deleteApp');
    const ctx = this.context('deleteApp');
    const key = normalizePartitionKey(partitionKey, ctx);
    const app = validateAppId(appId, ctx);
    if (!remove) throw this.#unsupported('deleteApp');
    await this.#ensureReady('deleteApp');
    await this.#guard('deleteApp', () => remove(key, app));
    this.#delta?.memory.forget(StepMemory.key(key, app));
  }

  protected async runListHistory(
    partitionKey: string | null | undefined,
    appId: string,
    options: ListHistoryOptions | undefined,
    select: ((query: HistoryQuery) => Promise<StoredHistoryRow[]>) | undefined,
  ): Promise<HistoryPage> {
    const operation = 'listHistory';
    this.#assertOpen(operation);
    const ctx = this.context(operation);
    const key = normalizePartitionKey(partitionKey, ctx);
    const app = validateAppId(appId, ctx);
    const limit = validateLimit(options?.limit, ctx) ?? DEFAULT_PAGE;
    const before = options?.before === undefined || options.before === null ? undefined : validateSequenceId(options.before, { ...ctx });
    if (options?.withState !== undefined && typeof options.withState !== 'boolean') throw new InvalidArgumentError('withState', 'must be a boolean', ctx);
    const withState = options?.withState === true;
    if (!select) throw this.#unsupported(operation);
    await this.#ensureReady(operation);
    const rows = await this.#guard(operation, () => select({ partitionKey: key, appId: app, limit: limit + 1, before, withState }));
    const page = rows.slice(0, limit);
    const texts = new Map<number, string>();
    if (withState) for (const row of rows) if (row.stateJson !== undefined && !texts.has(Number(row.sequenceId))) texts.set(Number(row.sequenceId), row.stateJson);
    let lowest = rows.length ? Number(rows[rows.length - 1]!.sequenceId) : 0;
    const steps: HistoryStep[] = [];
    for (const row of page) {
      const step: HistoryStep = { sequenceId: Number(row.sequenceId), position: row.position, status: row.status, createdAt: toIsoTimestamp(row.createdAt) };
      let lineage: unknown = row.forkedFromJson ? parseJson(row.forkedFromJson, ctx) : undefined;
      if (withState) {
        if (row.stateJson === undefined) throw new BackendError('the backend returned a step without its state', { ...ctx, retryable: false });
        let state = this.#parseState(row.stateJson, ctx);
        if (isDeltaRow(state)) {
          // Rows below the page are fetched only when a chain reaches past it.
          const lowestBefore = lowest;
          state = await this.#guard(operation, () => this.#resolveChain(key, app, step.sequenceId, texts, lowestBefore, select, ctx));
          for (const seq of texts.keys()) lowest = Math.min(lowest, seq);
        }
        step.state = state;
        lineage ??= step.state[FORK_KEY];
      }
      const forkedFrom = parseForkSource(lineage);
      if (forkedFrom) step.forkedFrom = forkedFrom;
      steps.push(step);
    }
    return { partitionKey: key, appId: app, steps, nextBefore: rows.length > limit ? steps[steps.length - 1]!.sequenceId : null };
  }

  protected async runListApps(
    partitionKey: string | null | undefined,
    options: PageOptions | undefined,
    select: ((query: AppsQuery) => Promise<StoredAppsPage>) | undefined,
  ): Promise<AppsPage> {
    const operation = 'listApps';
    this.#assertOpen(operation);
    const ctx = this.context(operation);
    const key = normalizePartitionKey(partitionKey, ctx);
    const limit = validateLimit(options?.limit, ctx) ?? DEFAULT_PAGE;
    const cursor = options?.cursor === undefined || options.cursor === null ? undefined : decodeAppsCursor(key, options.cursor, ctx);
    if (!select) throw this.#unsupported(operation);
    await this.#ensureReady(operation);
    const result = await this.#guard(operation, () => select({ partitionKey: key, limit: limit + 1, snapshot: cursor?.snapshot, after: cursor?.after }));
    const page = result.rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      partitionKey: key,
      apps: page.map((row) => ({
        appId: row.appId,
        latestSequenceId: Number(row.latestSequenceId),
        position: row.position,
        status: row.status,
        updatedAt: toIsoTimestamp(row.updatedAt),
      })),
      nextCursor: result.rows.length > limit && last ? encodeAppsCursor(key, { snapshot: result.snapshot, after: { marker: last.marker, appId: last.appId } }) : null,
    };
  }

  protected async runListPartitionKeys(
    options: PageOptions | undefined,
    select: ((limit: number, after: string | undefined) => Promise<string[]>) | undefined,
  ): Promise<PartitionKeysPage> {
    const operation = 'listPartitionKeys';
    this.#assertOpen(operation);
    const ctx = this.context(operation);
    const limit = validateLimit(options?.limit, ctx) ?? DEFAULT_PAGE;
    const after = options?.cursor === undefined || options.cursor === null ? undefined : decodePartitionsCursor(options.cursor, ctx);
    if (!select) throw this.#unsupported(operation);
    await this.#ensureReady(operation);
    const keys = await this.#guard(operation, () => select(limit + 1, after));
    const page = keys.slice(0, limit);
    return { partitionKeys: page, nextCursor: keys.length > limit ? encodePartitionsCursor(page[page.length - 1]!) : null };
  }

  protected async runPrune(options: PruneOptions, remove: ((query: PruneQuery) => Promise<number>) | undefined, sessions?: PruneSessions): Promise<PruneResult> {
    const operation = 'prune';
    this.#assertOpen(operation);
    const ctx = this.context(operation);
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'prune() takes one object argument', ctx);
    const { olderThan, keepLast } = options;
    if (olderThan === undefined && keepLast === undefined) {
      throw new InvalidArgumentError('options', 'give olderThan, keepLast or both (to remove a whole app, use deleteApp)', ctx);
    }
    let cutoff: Date | undefined;
    if (olderThan !== undefined) {
      cutoff = olderThan instanceof Date ? new Date(olderThan.getTime()) : typeof olderThan === 'number' || typeof olderThan === 'string' ? new Date(olderThan) : new Date(NaN);
      if (Number.isNaN(cutoff.getTime())) throw new InvalidArgumentError('olderThan', `must be a Date, an ISO 8601 text or epoch milliseconds, got ${String(olderThan)}`, ctx);
    }
    if (keepLast !== undefined && (typeof keepLast !== 'number' || !Number.isSafeInteger(keepLast) || keepLast < 1)) {
      throw new InvalidArgumentError('keepLast', `must be a positive integer (an app's latest step is always kept), got ${String(keepLast)}`, ctx);
    }
    const scoped = Object.prototype.hasOwnProperty.call(options, 'partitionKey') && options.partitionKey !== undefined;
    const key = scoped ? normalizePartitionKey(options.partitionKey, ctx) : undefined;
    let app: string | undefined;
    if (options.appId !== undefined) {
      if (!scoped) throw new InvalidArgumentError('appId', 'needs partitionKey too (null for the empty partition)', ctx);
      app = validateAppId(options.appId, ctx);
    }
    if (!remove) throw this.#unsupported(operation);
    await this.#ensureReady(operation);
    const query: PruneQuery = { partitionKey: key, appId: app, olderThan: cutoff, keepLast };
    const delta = this.#delta;
    if (delta) {
      if (!sessions?.listHistory || !sessions.listApps || !sessions.listPartitionKeys) throw this.#unsupported(operation);
      const deleted = await this.#guard(operation, () => this.#pruneKeepingChains(query, remove, sessions as Required<PruneSessions>, delta.options.snapshotEvery));
      delta.memory.forgetWhere((pk, appId) => (key === undefined || pk === key) && (app === undefined || appId === app));
      return { deletedSteps: deleted };
    }
    const deletedSteps = await this.#guard(operation, () => remove(query));
    return { deletedSteps: Number(deletedSteps) };
  }

  /**
   * Delta mode's prune: a kept step must keep the rows it is stored against, so per app the cut
   * moves down to the lowest row that a kept step of the oldest kept step's block is stored
   * against (later blocks start with their own snapshot), and the app is pruned to that many
   * steps. Per app a history listing, one read of that block and one prune, rather than one
   * statement: a filter cannot see chains.
   */
  async #pruneKeepingChains(query: PruneQuery, remove: (query: PruneQuery) => Promise<number>, sessions: Required<PruneSessions>, every: number): Promise<number> {
    const partitions: string[] = [];
    if (query.partitionKey !== undefined) partitions.push(query.partitionKey);
    else {
      for (let after: string | undefined; ; ) {
        const keys = await sessions.listPartitionKeys(PRUNE_PAGE + 1, after);
        partitions.push(...keys.slice(0, PRUNE_PAGE));
        if (keys.length <= PRUNE_PAGE) break;
        after = keys[PRUNE_PAGE - 1];
      }
    }
    let deleted = 0;
    for (const partitionKey of partitions) {
      const apps: string[] = [];
      if (query.appId !== undefined) apps.push(query.appId);
      else {
        for (let snapshot: PageMarker | undefined, after: AppsQuery['after']; ; ) {
          const page = await sessions.listApps({ partitionKey, limit: PRUNE_PAGE + 1, snapshot, after });
          const rows = page.rows.slice(0, PRUNE_PAGE);
          apps.push(...rows.map((row) => row.appId));
          if (page.rows.length <= PRUNE_PAGE) break;
          snapshot = page.snapshot;
          after = { marker: rows[rows.length - 1]!.marker, appId: rows[rows.length - 1]!.appId };
        }
      }
      for (const appId of apps) {
        const steps: { sequenceId: number; createdAt: number }[] = [];
        for (let before: number | undefined; ; ) {
          const rows = await sessions.listHistory({ partitionKey, appId, limit: PRUNE_PAGE, before, withState: false });
          for (const row of rows) steps.push({ sequenceId: Number(row.sequenceId), createdAt: new Date(toIsoTimestamp(row.createdAt)).getTime() });
          if (rows.length < PRUNE_PAGE) break;
          before = Number(rows[rows.length - 1]!.sequenceId);
        }
        let oldestKept = Infinity;
        steps.forEach((step, index) => {
          const byCount = query.keepLast === undefined || index >= query.keepLast;
          const byAge = query.olderThan === undefined || step.createdAt < query.olderThan.getTime();
          if (index === 0 || !(byCount && byAge)) oldestKept = Math.min(oldestKept, step.sequenceId);
        });
        if (oldestKept === Infinity) continue;
        // The rows the kept steps of that block are stored against: follow each one's chain.
        const floor = blockOf(oldestKept, every) * every;
        const block = await sessions.listHistory({ partitionKey, appId, limit: every, before: floor + every, withState: true });
        const prevOf = new Map(block.map((row) => [Number(row.sequenceId), deltaPrev(row.stateJson ?? '{}', this.context('prune'))]));
        let needed = oldestKept;
        for (const start of prevOf.keys()) {
          if (start < oldestKept) continue;
          for (let seq: number | undefined = start; seq !== undefined; seq = prevOf.get(seq)) {
            if (!prevOf.has(seq)) {
              needed = -1; // stored against a step outside its block (another snapshotEvery): keep the app whole
              break;
            }
            needed = Math.min(needed, seq);
          }
        }
        const keep = steps.filter((step) => step.sequenceId >= needed).length;
        if (keep < steps.length) deleted += Number(await remove({ partitionKey, appId, olderThan: undefined, keepLast: keep }));
      }
    }
    return deleted;
  }

  protected async runMaterialize(
    partitionKey: string | null | undefined,
    appId: string,
    options: MaterializeOptions,
    history: ((query: HistoryQuery) => Promise<StoredHistoryRow[]>) | undefined,
    replace: ((partitionKey: string, appId: string, sequenceId: number, stateJson: string) => Promise<void>) | undefined,
  ): Promise<MaterializeResult> {
    const operation = 'materialize';
    this.#assertOpen(operation);
    const ctx = this.context(operation);
    const key = normalizePartitionKey(partitionKey, ctx);
    const app = validateAppId(appId, ctx);
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'must be an object', ctx);
    const into = options.into;
    if (into !== undefined) {
      if (typeof into !== 'object' || into === null || typeof into.save !== 'function') throw new InvalidArgumentError('into', 'must be a persister (it saves the copied steps)', ctx);
      if ((into as { storageMode?: unknown }).storageMode === 'delta') throw new InvalidArgumentError('into', "writes deltas: materialize copies Burr rows, so pass a persister with storage: 'full'", ctx);
    }
    if (!history || (into === undefined && !replace)) {
      throw new NotSupportedError(
        `${this.backendName} cannot ${history ? 'rewrite steps in place' : "list an app's steps"}; copy the app into another store with materialize(partitionKey, appId, { into })`,
        ctx,
      );
    }
    await this.#ensureReady(operation);
    // Every row of the app, oldest first (an app's history is held in memory while it is rewritten).
    const rows: StoredHistoryRow[] = [];
    for (let before: number | undefined; ; ) {
      const page = await this.#guard(operation, () => history({ partitionKey: key, appId: app, limit: PRUNE_PAGE, before, withState: true }));
      rows.push(...page);
      if (page.length < PRUNE_PAGE) break;
      before = Number(page[page.length - 1]!.sequenceId);
    }
    rows.reverse();
    const texts = new Map<number, string>();
    for (const row of rows) if (!texts.has(Number(row.sequenceId))) texts.set(Number(row.sequenceId), row.stateJson!);
    const lowest = rows.length ? Number(rows[0]!.sequenceId) : 0;
    let rewritten = 0;
    for (const row of rows) {
      const seq = Number(row.sequenceId);
      const stored = texts.get(seq)!;
      const parsed = this.#parseState(stored, ctx);
      let state = parsed;
      if (isDeltaRow(parsed)) {
        state = await this.#guard(operation, () => this.#resolveChain(key, app, seq, texts, lowest, history, ctx));
        const whole = stringifyJson(state, ctx);
        // Later steps now rebuild from this row, already whole: one delta each.
        texts.set(seq, whole);
        if (!into) {
          await this.#guard(operation, () => replace!(key, app, seq, whole));
          rewritten++;
        }
      }
      if (into) {
        await into.save({ partitionKey: key, appId: app, sequenceId: seq, position: row.position, status: row.status, state });
        rewritten++;
      }
    }
    return { steps: rows.length, rewritten };
  }

  #unsupported(operation: PersisterOperation): NotSupportedError {
    return new NotSupportedError(
      `${this.backendName} does not implement ${operation}; nothing was sent (a custom persister adds it with the matching storage method — InMemoryPersister is the reference)`,
      this.context(operation),
    );
  }

  #parseState(stateJson: string, ctx: ErrorContext): JsonObject {
    const state = parseJson(stateJson, ctx);
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new BackendError('stored state is not a JSON object', { ...ctx, retryable: false });
    }
    return state as JsonObject;
  }

  protected toPersistedData(row: StoredRow): PersistedStateData {
    const state = this.#parseState(row.stateJson, this.context('load'));
    return {
      partitionKey: row.partitionKey,
      appId: row.appId,
      sequenceId: Number(row.sequenceId),
      position: row.position,
      state,
      createdAt: toIsoTimestamp(row.createdAt),
      status: row.status,
    };
  }

  #assertOpen(operation: PersisterOperation): void {
    if (this.#closed) throw new PersisterClosedError(this.context(operation));
  }

  /**
   * Before the first call without `initialize()`: asks the storage once whether it is already in
   * place (Burr's `is_initialized`) — a table Burr created, keys another instance wrote — and if
   * so the instance is ready. Otherwise the call fails with `NotInitializedError`, never with the
   * driver's "no such table". A negative answer is not cached: the next call asks again.
   */
  async #ensureReady(operation: PersisterOperation): Promise<void> {
    this.#assertOpen(operation);
    if (this.#initialized || this.#inPlace) return;
    if (this.#initializing) {
      await this.#initializing.catch(() => undefined);
      if (this.#initialized) return;
    }
    this.#probing ??= this.#guard(operation, () => this.storageIsInitialized()).finally(() => {
      this.#probing = undefined;
    });
    const found = await this.#probing;
    this.#assertOpen(operation);
    if (found) {
      this.#inPlace = true;
      return;
    }
    throw new NotInitializedError(
      `${this.storageTarget} does not exist yet: call \`await persister.initialize()\` once to create it ` +
        '(with read-only credentials, ask whoever owns the database to run it)',
      this.context(operation),
    );
  }

  /** Runs storage code, turning driver errors into typed errors. */
  async #guard<T>(operation: PersisterOperation, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isPersisterError(error)) throw error;
      // A call in flight when close() ran fails because of the close, not the database.
      if (this.#closed && operation !== 'close') throw new PersisterClosedError(this.context(operation, error));
      const ctx = this.context(operation, error);
      const kind = this.classifyError(error);
      if (kind === 'not-initialized') {
        throw new NotInitializedError(`the storage does not exist yet; call initialize() (${errorMessage(error)})`, ctx);
      }
      throw new BackendError(errorMessage(error), { ...ctx, retryable: kind === 'retryable' });
    }
  }
}

function errorMessage(error: unknown): string {
  return redactSecrets(error instanceof Error ? error.message : String(error));
}

const RETRYABLE_CODES = /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|UND_ERR_\w+|SQLITE_BUSY\w*|SQLITE_LOCKED\w*|08\d\d\d|40001|40P01|57P0[1-3]|53\d\d\d)$/;
const RETRYABLE_MESSAGE =
  /\b(fetch failed|network error|socket hang up|Connection terminated|timeout exceeded when trying to connect|ECONNRESET|ECONNREFUSED|HTTP status 5\d\d|status code 5\d\d)\b/i;

/** Whether `predicate` holds for the error or one of its causes (drivers wrap what failed). */
export function someCause(error: unknown, predicate: (error: { code?: unknown; status?: unknown; name?: unknown; message?: unknown }) => boolean): boolean {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (predicate(e as { code?: unknown })) return true;
  }
  return false;
}

/**
 * Best-effort classification shared by the backends: network failures, dropped connections,
 * HTTP 5xx/429/408, and database "busy" / serialization / shutdown errors are worth retrying;
 * everything else is not.
 */
export function defaultErrorKind(error: unknown): ErrorKind {
  const retryable = someCause(error, ({ code, status, name, message }) => {
    if (typeof code === 'string' && RETRYABLE_CODES.test(code)) return true;
    if (typeof status === 'number' && (status >= 500 || status === 429 || status === 408)) return true;
    if (name === 'AbortError' || name === 'TimeoutError') return true;
    if (typeof message !== 'string') return false;
    if (name === 'TypeError' && /fetch|network|Load failed/i.test(message)) return true;
    return RETRYABLE_MESSAGE.test(message);
  });
  return retryable ? 'retryable' : 'fatal';
}

/** Base for a persister that both loads and saves: implement the storage methods. */
export abstract class BaseStatePersister extends PersisterCore {
  protected abstract storageInsert(record: StoredRecord): Promise<InsertOutcome>;
  protected abstract storageSelect(query: LoadQuery): Promise<StoredRow | null>;
  protected abstract storageListAppIds(partitionKey: string, limit: number | undefined): Promise<string[]>;

  /** Saves one step. See {@link StateSaver.save}. */
  save(params: SaveParams): Promise<void> {
    return this.runSave(
      params,
      (record) => this.storageInsert(record),
      (record) => this.storageSelect({ partitionKey: record.partitionKey, appId: record.appId, sequenceId: record.sequenceId }),
      this.storageListHistory?.bind(this),
    );
  }

  /** Loads the latest step of an app, one step by sequence id, or the partition's latest (`appId === null`). */
  load(partitionKey: string | null | undefined, appId: string | null, sequenceId?: number | null): Promise<PersistedStateData | null> {
    return this.runLoad(partitionKey, appId, sequenceId, (query) => this.storageSelect(query), this.storageListHistory?.bind(this));
  }

  /** Each app id of the partition once, most recently saved first. */
  listAppIds(partitionKey: string | null | undefined, options?: ListAppIdsOptions): Promise<string[]> {
    return this.runListAppIds(partitionKey, options, (key, limit) => this.storageListAppIds(key, limit));
  }

  /** Optional session storage: a backend implements what it can; the rest is `NotSupportedError`. */
  protected storageListHistory?(query: HistoryQuery): Promise<StoredHistoryRow[]>;
  protected storageListApps?(query: AppsQuery): Promise<StoredAppsPage>;
  protected storageListPartitionKeys?(limit: number, after: string | undefined): Promise<string[]>;
  protected storageDeleteApp?(partitionKey: string, appId: string): Promise<void>;
  protected storagePrune?(query: PruneQuery): Promise<number>;
  /** Replaces one step's state column in place (for `materialize`); a step that is gone is left gone. */
  protected storageReplaceState?(partitionKey: string, appId: string, sequenceId: number, stateJson: string): Promise<void>;

  /**
   * Turns an app's delta rows back into Burr rows, so that Burr's Python persisters read every
   * step: in place (each delta row is replaced by the whole state it stands for — one write per
   * row, each atomic, so a reader never meets a half-rewritten app), or, with `into`, by copying
   * every step as a Burr row into another persister (which must write full rows). Safe to run
   * again: rows already whole are left alone, and a copy skips identical steps.
   */
  materialize(partitionKey: string | null | undefined, appId: string, options: MaterializeOptions = {}): Promise<MaterializeResult> {
    return this.runMaterialize(partitionKey, appId, options, this.storageListHistory?.bind(this), this.storageReplaceState?.bind(this));
  }

  /**
   * A page of an app's steps, newest first: sequence id, position, status, when saved, and with
   * `withState: true` the state. Pass `nextBefore` as `before` for the next page. One round trip per page.
   */
  listHistory(partitionKey: string | null | undefined, appId: string, options?: ListHistoryOptions): Promise<HistoryPage> {
    return this.runListHistory(partitionKey, appId, options, this.storageListHistory?.bind(this));
  }

  /**
   * A page of a partition's apps, most recently saved first, each with its latest step. Pass
   * `nextCursor` as `cursor` for the next page: the pages of one listing show each app that
   * existed when it began exactly once, however many saves happen meanwhile. One round trip per page.
   */
  listApps(partitionKey: string | null | undefined, options?: PageOptions): Promise<AppsPage> {
    return this.runListApps(partitionKey, options, this.storageListApps?.bind(this));
  }

  /** A page of the partition keys that hold at least one app, in ascending order. One round trip per page. */
  listPartitionKeys(options?: PageOptions): Promise<PartitionKeysPage> {
    return this.runListPartitionKeys(options, this.storageListPartitionKeys?.bind(this));
  }

  /** Deletes every step of one app, atomically. One round trip. Deleting an app that has no step does nothing. */
  deleteApp(partitionKey: string | null | undefined, appId: string): Promise<void> {
    return this.runDelete(partitionKey, appId, this.storageDeleteApp?.bind(this));
  }

  /**
   * Removes old steps: those saved before `olderThan`, and/or all but each app's last `keepLast`
   * (both given: a step goes only when both say so). An app's latest step is never removed —
   * `deleteApp` removes an app. Scoped to one partition or app when given.
   */
  prune(options: PruneOptions): Promise<PruneResult> {
    return this.runPrune(options, this.storagePrune?.bind(this), {
      listHistory: this.storageListHistory?.bind(this),
      listApps: this.storageListApps?.bind(this),
      listPartitionKeys: this.storageListPartitionKeys?.bind(this),
    });
  }
}

/** Base for a read-only persister (Burr's `BaseStateLoader`). */
export abstract class BaseStateLoader extends PersisterCore {
  protected abstract storageSelect(query: LoadQuery): Promise<StoredRow | null>;
  protected abstract storageListAppIds(partitionKey: string, limit: number | undefined): Promise<string[]>;

  load(partitionKey: string | null | undefined, appId: string | null, sequenceId?: number | null): Promise<PersistedStateData | null> {
    return this.runLoad(partitionKey, appId, sequenceId, (query) => this.storageSelect(query), this.storageListHistory?.bind(this));
  }

  listAppIds(partitionKey: string | null | undefined, options?: ListAppIdsOptions): Promise<string[]> {
    return this.runListAppIds(partitionKey, options, (key, limit) => this.storageListAppIds(key, limit));
  }

  protected storageListHistory?(query: HistoryQuery): Promise<StoredHistoryRow[]>;
  protected storageListApps?(query: AppsQuery): Promise<StoredAppsPage>;
  protected storageListPartitionKeys?(limit: number, after: string | undefined): Promise<string[]>;

  /** See {@link BaseStatePersister.listHistory}. */
  listHistory(partitionKey: string | null | undefined, appId: string, options?: ListHistoryOptions): Promise<HistoryPage> {
    return this.runListHistory(partitionKey, appId, options, this.storageListHistory?.bind(this));
  }

  /** See {@link BaseStatePersister.listApps}. */
  listApps(partitionKey: string | null | undefined, options?: PageOptions): Promise<AppsPage> {
    return this.runListApps(partitionKey, options, this.storageListApps?.bind(this));
  }

  /** See {@link BaseStatePersister.listPartitionKeys}. */
  listPartitionKeys(options?: PageOptions): Promise<PartitionKeysPage> {
    return this.runListPartitionKeys(options, this.storageListPartitionKeys?.bind(this));
  }
}

/** Base for a write-only persister (Burr's `BaseStateSaver`). */
export abstract class BaseStateSaver extends PersisterCore {
  protected abstract storageInsert(record: StoredRecord): Promise<InsertOutcome>;

  save(params: SaveParams): Promise<void> {
    return this.runSave(params, (record) => this.storageInsert(record));
  }
}

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
} from './types.js';
import { normalizePartitionKey, validateAppId, validateLimit, validatePosition, validateSequenceId, validateStatus } from './validation.js';
import { decodeAppsCursor, decodePartitionsCursor, encodeAppsCursor, encodePartitionsCursor, type PageMarker } from './cursor.js';
import { FORK_KEY, parseForkSource } from './lineage.js';
import { sameJsonText } from './compare.js';
import { toIsoTimestamp } from './time.js';

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
}

/** Page size of the listings when no `limit` is given. */
const DEFAULT_PAGE = 100;

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

  constructor(options: BasePersisterOptions = {}) {
    this.#initialized = options.assumeInitialized === true;
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

  /** Validates and serializes `save` arguments. Throws before any I/O. */
  protected prepareRecord(params: SaveParams): StoredRecord {
    const ctx = this.context('save');
    if (typeof params !== 'object' || params === null) {
      throw new InvalidArgumentError('params', 'save() takes one object argument', ctx);
    }
    const record: StoredRecord = {
      partitionKey: normalizePartitionKey(params.partitionKey, ctx),
      appId: validateAppId(params.appId, ctx),
      sequenceId: validateSequenceId(params.sequenceId, ctx),
      position: validatePosition(params.position, ctx),
      status: validateStatus(params.status, ctx),
      stateJson: '',
    };
    const serialized = this.serializedState(params.state, ctx);
    record.stateJson = stringifyJson(serialized, ctx);
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
    if (this.maxStateBytes !== undefined) {
      const size = utf8Length(record.stateJson);
      if (size > this.maxStateBytes) throw new StateTooLargeError(size, this.maxStateBytes, ctx);
    }
    this.checkRecord(record);
    return record;
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
  ): Promise<void> {
    this.#assertOpen('save');
    const record = this.prepareRecord(params);
    await this.#ensureReady('save');
    const outcome = await this.#guard('save', () => insert(record));
    if (outcome.inserted) return;
    let existing = outcome.existing;
    // A store that evaluated the expectation read the key in the same operation: a free key is final.
    const expectationChecked = record.expectedSequenceId !== undefined && outcome.latestSequenceId !== undefined;
    if (existing === null && reread && !expectationChecked) existing = await this.#guard('save', () => reread(record));
    // A retry of a save whose response was lost finds its own record: that is success.
    if (existing && existing.position === record.position && existing.status === record.status && sameJsonText(existing.stateJson, record.stateJson)) {
      return;
    }
    if (record.expectedSequenceId !== undefined) {
      throw new ConcurrentUpdateError(
        { partitionKey: record.partitionKey, appId: record.appId, expectedSequenceId: record.expectedSequenceId, actualSequenceId: outcome.latestSequenceId },
        this.context('save'),
      );
    }
    throw new StateAlreadyExistsError(record, this.context('save'));
  }

  protected async runLoad(
    partitionKey: string | null | undefined,
    appId: string | null,
    sequenceId: number | null | undefined,
    select: (query: LoadQuery) => Promise<StoredRow | null>,
  ): Promise<PersistedStateData | null> {
    this.#assertOpen('load');
    const ctx = this.context('load');
    const query: LoadQuery = {
      partitionKey: normalizePartitionKey(partitionKey, ctx),
      appId: appId === null ? null : validateAppId(appId, ctx),
      sequenceId: sequenceId === undefined || sequenceId === null ? undefined : validateSequenceId(sequenceId, ctx),
    };
    await this.#ensureReady('load');
    const row = await this.#guard('load', () => select(query));
    return row ? this.toPersistedData(row) : null;
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
    const steps = page.map((row): HistoryStep => {
      const step: HistoryStep = { sequenceId: Number(row.sequenceId), position: row.position, status: row.status, createdAt: toIsoTimestamp(row.createdAt) };
      let lineage: unknown = row.forkedFromJson ? parseJson(row.forkedFromJson, ctx) : undefined;
      if (withState) {
        if (row.stateJson === undefined) throw new BackendError('the backend returned a step without its state', { ...ctx, retryable: false });
        step.state = this.#parseState(row.stateJson, ctx);
        lineage ??= step.state[FORK_KEY];
      }
      const forkedFrom = parseForkSource(lineage);
      if (forkedFrom) step.forkedFrom = forkedFrom;
      return step;
    });
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

  protected async runPrune(options: PruneOptions, remove: ((query: PruneQuery) => Promise<number>) | undefined): Promise<PruneResult> {
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
    const deletedSteps = await this.#guard(operation, () => remove({ partitionKey: key, appId: app, olderThan: cutoff, keepLast }));
    return { deletedSteps: Number(deletedSteps) };
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
    );
  }

  /** Loads the latest step of an app, one step by sequence id, or the partition's latest (`appId === null`). */
  load(partitionKey: string | null | undefined, appId: string | null, sequenceId?: number | null): Promise<PersistedStateData | null> {
    return this.runLoad(partitionKey, appId, sequenceId, (query) => this.storageSelect(query));
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
    return this.runPrune(options, this.storagePrune?.bind(this));
  }
}

/** Base for a read-only persister (Burr's `BaseStateLoader`). */
export abstract class BaseStateLoader extends PersisterCore {
  protected abstract storageSelect(query: LoadQuery): Promise<StoredRow | null>;
  protected abstract storageListAppIds(partitionKey: string, limit: number | undefined): Promise<string[]>;

  load(partitionKey: string | null | undefined, appId: string | null, sequenceId?: number | null): Promise<PersistedStateData | null> {
    return this.runLoad(partitionKey, appId, sequenceId, (query) => this.storageSelect(query));
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

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
  type ErrorContext,
  type PersisterOperation,
} from './errors.js';
import { parseJson, stringifyJson, utf8Length, type JsonObject } from './json.js';
import { isStateLike } from './brand.js';
import type { ListAppIdsOptions, PersistedStateData, PersistedStatus, SaveParams } from './types.js';
import { normalizePartitionKey, validateAppId, validateLimit, validatePosition, validateSequenceId, validateStatus } from './validation.js';
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
}

/** A record as read back from storage; `createdAt` in whatever form the backend keeps it. */
export interface StoredRow extends StoredRecord {
  createdAt: string | number | Date;
}

/** What `storageInsert` reports: written, or the record that already holds the key. */
export type InsertOutcome = { inserted: true } | { inserted: false; existing: StoredRecord | null };

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
      stateJson: this.serializeState(params.state, ctx),
    };
    if (this.maxStateBytes !== undefined) {
      const size = utf8Length(record.stateJson);
      if (size > this.maxStateBytes) throw new StateTooLargeError(size, this.maxStateBytes, ctx);
    }
    this.checkRecord(record);
    return record;
  }

  /** Extra per-backend checks on a prepared record (e.g. characters a database cannot hold). */
  protected checkRecord(_record: StoredRecord): void {}

  protected serializeState(state: SaveParams['state'], ctx: ErrorContext): string {
    if (isStateLike(state)) return stringifyJson(state.serialize(), ctx);
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new InvalidArgumentError('state', 'must be a plain object or a State', ctx);
    }
    return stringifyJson(state, ctx);
  }

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
    if (existing === null && reread) existing = await this.#guard('save', () => reread(record));
    // A retry of a save whose response was lost finds its own record: that is success.
    if (existing && existing.position === record.position && existing.status === record.status && sameJsonText(existing.stateJson, record.stateJson)) {
      return;
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
    remove: (partitionKey: string, appId: string) => Promise<void>,
  ): Promise<void> {
    this.#assertOpen('deleteApp');
    const ctx = this.context('deleteApp');
    const key = normalizePartitionKey(partitionKey, ctx);
    const app = validateAppId(appId, ctx);
    await this.#ensureReady('deleteApp');
    await this.#guard('deleteApp', () => remove(key, app));
  }

  protected toPersistedData(row: StoredRow): PersistedStateData {
    const ctx = this.context('load');
    const state = parseJson(row.stateJson, ctx);
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new BackendError('stored state is not a JSON object', { ...ctx, retryable: false });
    }
    return {
      partitionKey: row.partitionKey,
      appId: row.appId,
      sequenceId: Number(row.sequenceId),
      position: row.position,
      state: state as JsonObject,
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
}

/** Base for a write-only persister (Burr's `BaseStateSaver`). */
export abstract class BaseStateSaver extends PersisterCore {
  protected abstract storageInsert(record: StoredRecord): Promise<InsertOutcome>;

  save(params: SaveParams): Promise<void> {
    return this.runSave(params, (record) => this.storageInsert(record));
  }
}

/**
 * Typed errors. Every error the kit raises is a {@link PersisterError} with a stable `code`,
 * so callers can branch on `error.code` (or `isPersisterError`) even when two copies of the
 * package are installed and `instanceof` fails.
 */

/** Stable, machine-readable error codes. */
export type PersisterErrorCode =
  | 'ALREADY_EXISTS'
  | 'NOT_INITIALIZED'
  | 'INVALID_ARGUMENT'
  | 'SERIALIZATION'
  | 'STATE_TOO_LARGE'
  | 'BACKEND'
  | 'CLOSED'
  | 'CONCURRENT_UPDATE'
  | 'NOT_FOUND'
  | 'NOT_SUPPORTED';

/** What was being done when the error happened. */
export type PersisterOperation =
  | 'initialize'
  | 'isInitialized'
  | 'save'
  | 'load'
  | 'listAppIds'
  | 'deleteApp'
  | 'listHistory'
  | 'listApps'
  | 'listPartitionKeys'
  | 'prune'
  | 'initializeFrom'
  | 'materialize'
  | 'close'
  | 'construct';

/** Where an error happened: the backend and the table / key space it addressed. */
export interface ErrorContext {
  /** Backend name, e.g. `libsql`, `postgres`. */
  backend?: string;
  operation?: PersisterOperation;
  /** Table, collection, store or key prefix. Never a connection string or token. */
  target?: string;
  cause?: unknown;
}

const BRAND = Symbol.for('burr-edge.PersisterError');

/**
 * Removes credentials from a driver's message before it becomes ours: the user:password part of
 * URLs, token / password query parameters and bearer tokens. (The driver's own error stays
 * available, unredacted, as `cause`.)
 */
export function redactSecrets(text: string): string {
  return text
    // Everything up to the last @ before a space: a password may hold unescaped / ? #.
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s@]*@/gi, '$1***@')
    .replace(/\b((?:auth_?)?token|password|passwd|pwd|api_?key|secret)=([^&\s'"]+)/gi, '$1=***')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 ***');
}

/** Base class of every error raised by burr-edge. */
export class PersisterError extends Error {
  readonly code: PersisterErrorCode;
  readonly backend: string | undefined;
  readonly operation: PersisterOperation | undefined;
  readonly target: string | undefined;
  /** Whether the same call may succeed if repeated (a network blip, a busy database). */
  readonly retryable: boolean = false;

  constructor(code: PersisterErrorCode, message: string, context: ErrorContext = {}) {
    const where = [context.backend, context.operation, context.target].filter(Boolean).join(' ');
    super(where ? `[burr-edge] ${where}: ${message}` : `[burr-edge] ${message}`, { cause: context.cause });
    this.name = new.target.name;
    this.code = code;
    this.backend = context.backend;
    this.operation = context.operation;
    this.target = context.target;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for any burr-edge error, also one thrown by another copy of the package. */
export function isPersisterError(error: unknown): error is PersisterError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

/** A record already exists at (partitionKey, appId, sequenceId) with different content. Nothing was written. */
export class StateAlreadyExistsError extends PersisterError {
  readonly partitionKey: string;
  readonly appId: string;
  readonly sequenceId: number;
  constructor(key: { partitionKey: string; appId: string; sequenceId: number }, context: ErrorContext = {}) {
    super(
      'ALREADY_EXISTS',
      `a different state is already saved for partitionKey=${JSON.stringify(key.partitionKey)}, ` +
        `appId=${JSON.stringify(key.appId)}, sequenceId=${key.sequenceId}; nothing was overwritten ` +
        '(load the latest step and save the next sequence id, or fork into a new appId)',
      context,
    );
    this.partitionKey = key.partitionKey;
    this.appId = key.appId;
    this.sequenceId = key.sequenceId;
  }
}

/**
 * `save({ expectedSequenceId })` found the app somewhere else: another writer (a second worker,
 * another tab) saved a step since this one loaded it. Nothing was written. Load the latest step,
 * re-apply the action to it, and save again with its sequence id as the expectation.
 */
export class ConcurrentUpdateError extends PersisterError {
  readonly partitionKey: string;
  readonly appId: string;
  /** The latest sequence id the save expected (`null`: the app must not exist yet). */
  readonly expectedSequenceId: number | null;
  /** The app's latest sequence id in the store when the save was refused (`null`: no step), when the store reported it. */
  readonly actualSequenceId: number | null | undefined;
  constructor(
    key: { partitionKey: string; appId: string; expectedSequenceId: number | null; actualSequenceId?: number | null | undefined },
    context: ErrorContext = {},
  ) {
    const expected = key.expectedSequenceId === null ? 'no step yet' : `latest sequenceId ${key.expectedSequenceId}`;
    const actual =
      key.actualSequenceId === undefined ? 'it has moved on' : key.actualSequenceId === null ? 'it has no step' : `its latest is ${key.actualSequenceId}`;
    super(
      'CONCURRENT_UPDATE',
      `partitionKey=${JSON.stringify(key.partitionKey)}, appId=${JSON.stringify(key.appId)} was expected to have ${expected}, but ${actual}: ` +
        'another writer saved first and nothing was written (load the latest step, apply the action again, and save with expectedSequenceId set to its sequenceId)',
      context,
    );
    this.partitionKey = key.partitionKey;
    this.appId = key.appId;
    this.expectedSequenceId = key.expectedSequenceId;
    this.actualSequenceId = key.actualSequenceId;
  }
}

/** What an operation needed is not stored, e.g. the step a fork starts from. */
export class NotFoundError extends PersisterError {
  constructor(message: string, context: ErrorContext = {}) {
    super('NOT_FOUND', message, context);
  }
}

/** The backend (or a custom persister) does not offer this operation or option. Nothing was sent. */
export class NotSupportedError extends PersisterError {
  constructor(message: string, context: ErrorContext = {}) {
    super('NOT_SUPPORTED', message, context);
  }
}

/** An operation ran before `initialize()` (or on a persister that was told to skip it and the table is missing). */
export class NotInitializedError extends PersisterError {
  constructor(message: string, context: ErrorContext = {}) {
    super('NOT_INITIALIZED', message, context);
  }
}

/** An argument is out of its domain. Raised before anything is sent to the database. */
export class InvalidArgumentError extends PersisterError {
  readonly argument: string;
  constructor(argument: string, message: string, context: ErrorContext = {}) {
    super('INVALID_ARGUMENT', `${argument}: ${message}`, context);
    this.argument = argument;
  }
}

/** A value could not be serialized (function, symbol, cycle, …) or stored JSON could not be read. */
export class SerializationError extends PersisterError {
  /** Path of the offending value, e.g. `state.messages[3].fn`. */
  readonly path: string | undefined;
  constructor(message: string, context: ErrorContext & { path?: string } = {}) {
    super('SERIALIZATION', context.path ? `${context.path}: ${message}` : message, context);
    this.path = context.path;
  }
}

/** The serialized state is larger than the backend accepts. Raised before anything is sent. */
export class StateTooLargeError extends PersisterError {
  readonly sizeBytes: number;
  readonly limitBytes: number;
  constructor(sizeBytes: number, limitBytes: number, context: ErrorContext = {}) {
    super(
      'STATE_TOO_LARGE',
      `serialized state is ${sizeBytes} bytes, over this backend's limit of ${limitBytes} bytes`,
      context,
    );
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

/** The database or its transport failed. The driver's error is the `cause`. */
export class BackendError extends PersisterError {
  override readonly retryable: boolean;
  constructor(message: string, context: ErrorContext & { retryable: boolean }) {
    super('BACKEND', message, context);
    this.retryable = context.retryable;
  }
}

/**
 * Redis: Burr Python's unescaped key of a step (ids joined with `:`) holds another app's step —
 * two apps share the key, and Burr let one overwrite the other — so the step asked for cannot be
 * read. Raised only with `burrKeys: 'read'`. Nothing is returned rather than the wrong app's state.
 */
export class BurrKeyCollisionError extends BackendError {
  /** The app asked for, then the app whose step is at the key. */
  readonly candidates: { partitionKey: string; appId: string }[];
  constructor(readonly key: string, candidates: { partitionKey: string; appId: string }[], context: ErrorContext = {}) {
    const [a, b] = candidates.map((c) => `partition ${JSON.stringify(c.partitionKey)}, app ${JSON.stringify(c.appId)}`);
    super(`Burr's key ${JSON.stringify(key)} is shared by ${a} and ${b}, and holds the latter's step`, { ...context, retryable: false });
    this.candidates = candidates;
  }
}

/** The persister was closed; build a new one. */
export class PersisterClosedError extends PersisterError {
  constructor(context: ErrorContext = {}) {
    super('CLOSED', 'the persister is closed', context);
  }
}

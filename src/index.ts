/**
 * burr-edge: Apache Burr's state persisters for every JavaScript runtime.
 *
 * The root holds the runtime-neutral core (State, serde, errors, base classes, the in-memory
 * persister). Each database backend is a subpath export (`burr-edge/libsql`, …) so that a
 * bundle contains only the driver it uses.
 */
export { State } from './core/state.js';
export {
  SERDE_KEY,
  TS_SERDE_KEY,
  registerSerde,
  registerFieldSerde,
  serializeValue,
  deserializeValue,
  type SerdeHandler,
  type FieldSerde,
} from './core/serde.js';
export { parseJson, stringifyJson, type JsonValue, type JsonObject } from './core/json.js';
export {
  PersisterError,
  StateAlreadyExistsError,
  NotInitializedError,
  InvalidArgumentError,
  SerializationError,
  StateTooLargeError,
  BackendError,
  BurrKeyCollisionError,
  PersisterClosedError,
  ConcurrentUpdateError,
  NotFoundError,
  NotSupportedError,
  isPersisterError,
  type PersisterErrorCode,
  type PersisterOperation,
} from './core/errors.js';
export {
  BaseStatePersister,
  BaseStateLoader,
  BaseStateSaver,
  PersisterCore,
  defaultErrorKind,
  type BasePersisterOptions,
  type StoredRecord,
  type StoredRow,
  type InsertOutcome,
  type LoadQuery,
  type ErrorKind,
  type HistoryQuery,
  type StoredHistoryRow,
  type AppsQuery,
  type StoredAppRow,
  type StoredAppsPage,
  type PruneQuery,
  type MaterializeOptions,
  type MaterializeResult,
} from './core/base.js';
export { DELTA_KEY, DELTA_FORMAT_VERSION, type DeltaOptions } from './core/delta.js';
export type {
  PersistedStateData,
  PersistedStatus,
  SaveParams,
  ListAppIdsOptions,
  StateLoader,
  StateSaver,
  StatePersister,
  SessionLoader,
  SessionPersister,
  ForkSource,
  ListHistoryOptions,
  HistoryStep,
  HistoryPage,
  PageOptions,
  AppSummary,
  AppsPage,
  PartitionKeysPage,
  PruneOptions,
  PruneResult,
} from './core/types.js';
export { initializeFrom, StepSaver, allApps, allHistory, allPartitionKeys, FORK_KEY, type InitializeFromOptions, type InitializeFromResult, type StepSaverOptions, type SessionLister } from './core/sessions.js';
export type { PageMarker } from './core/cursor.js';
export { IDENTIFIER_PATTERN } from './core/validation.js';
export { InMemoryPersister } from './persisters/in-memory.js';

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
} from './core/base.js';
export type { PersistedStateData, PersistedStatus, SaveParams, ListAppIdsOptions, StateLoader, StateSaver, StatePersister } from './core/types.js';
export { IDENTIFIER_PATTERN } from './core/validation.js';
export { InMemoryPersister } from './persisters/in-memory.js';

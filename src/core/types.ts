/**
 * The persister contract. Structurally the same as `StatePersister` in Burr's TypeScript port
 * (`@apache-burr/core`), so a burr-edge persister plugs into it unchanged, plus the extras that
 * port lacks (`isInitialized`, `close`, options on `listAppIds`, `State` accepted by `save`).
 */
import type { JsonObject } from './json.js';
import type { State } from './state.js';

/** `completed` after an action ran; `failed` holds the state from before the failed action. */
export type PersistedStatus = 'completed' | 'failed';

/** One saved step, as `load` returns it. */
export interface PersistedStateData {
  /** `''` when the caller gave none (Burr's SQL default). */
  partitionKey: string;
  appId: string;
  /** Non-negative integer. */
  sequenceId: number;
  /** Name of the action that produced the state. */
  position: string;
  /** The serialized state, exactly as saved. Integers beyond 2^53 are `bigint`. Revive with `State.deserialize`. */
  state: JsonObject;
  /** ISO 8601, UTC, with milliseconds: `2026-11-27T08:15:03.123Z`. */
  createdAt: string;
  status: PersistedStatus;
}

/** What `save` takes. */
export interface SaveParams {
  /** `undefined` and `null` mean `''`. */
  partitionKey: string | null | undefined;
  appId: string;
  sequenceId: number;
  position: string;
  /** Serialized state (a JSON-safe object) or a `State`, which is serialized with burr-edge's serde. */
  state: Readonly<Record<string, unknown>> | State;
  status: PersistedStatus;
}

/** Options of `listAppIds`. */
export interface ListAppIdsOptions {
  /** Return at most this many app ids (the most recently saved first). */
  limit?: number;
}

export interface StateLoader {
  /**
   * The latest saved step of an app (highest sequence id, whatever its status), or the step
   * with `sequenceId`, or `null`. With `appId === null`, the most recently saved step of the
   * partition.
   */
  load(partitionKey: string | null | undefined, appId: string | null, sequenceId?: number | null): Promise<PersistedStateData | null>;
  /** Each app id of the partition once, most recently saved first. */
  listAppIds(partitionKey: string | null | undefined, options?: ListAppIdsOptions): Promise<string[]>;
}

export interface StateSaver {
  /** Creates tables / indexes. Idempotent; costs at most two round trips, once per instance. */
  initialize(): Promise<void>;
  /** Saves one step. One round trip. A different record at the same key fails with `StateAlreadyExistsError`. */
  save(params: SaveParams): Promise<void>;
}

export interface StatePersister extends StateLoader, StateSaver {}

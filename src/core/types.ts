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
  /**
   * Optimistic concurrency: save only if the app's latest step is still this sequence id
   * (`null`: only if the app has no step yet), else `ConcurrentUpdateError` and nothing is
   * written. The check and the write are one atomic operation in the store. Omit it for Burr's
   * behaviour (any free sequence id is taken).
   */
  expectedSequenceId?: number | null;
}

/** Options of `listAppIds`. */
export interface ListAppIdsOptions {
  /** Return at most this many app ids (the most recently saved first). */
  limit?: number;
}

/** Where a forked app came from: recorded in the fork's first step. */
export interface ForkSource {
  partitionKey: string;
  appId: string;
  sequenceId: number;
}

/** Options of `listHistory`. */
export interface ListHistoryOptions {
  /** Steps per page. @default 100 */
  limit?: number;
  /** Only steps with a lower sequence id: the previous page's `nextBefore`. */
  before?: number | null;
  /** Include each step's serialized state. @default false */
  withState?: boolean;
}

/** One step of an app's history. */
export interface HistoryStep {
  sequenceId: number;
  position: string;
  status: PersistedStatus;
  /** ISO 8601 UTC with milliseconds. */
  createdAt: string;
  /** The serialized state, with `withState: true`. */
  state?: JsonObject;
  /** On the first step of an app made by `initializeFrom({ forkFrom })`: the step it was forked from. */
  forkedFrom?: ForkSource;
}

/** A page of history, newest step first. */
export interface HistoryPage {
  partitionKey: string;
  appId: string;
  steps: HistoryStep[];
  /** Pass as `before` for the next (older) page; `null` when this page reaches the app's first step. */
  nextBefore: number | null;
}

/** Options of `listApps` and `listPartitionKeys`. */
export interface PageOptions {
  /** Items per page. @default 100 */
  limit?: number;
  /** The previous page's `nextCursor`; omit for the first page. */
  cursor?: string | null;
}

/** One app of a partition, as `listApps` lists it. */
export interface AppSummary {
  appId: string;
  /** Sequence id of its latest step (what `load(partitionKey, appId)` returns). */
  latestSequenceId: number;
  /** Position of that step. */
  position: string;
  status: PersistedStatus;
  /** When the app was last saved: ISO 8601 UTC with milliseconds. */
  updatedAt: string;
}

/** A page of `listApps`, most recently saved first. */
export interface AppsPage {
  partitionKey: string;
  apps: AppSummary[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

/** A page of `listPartitionKeys`, in ascending (code point) order. */
export interface PartitionKeysPage {
  partitionKeys: string[];
  nextCursor: string | null;
}

/** What `prune` removes. At least one of `olderThan` and `keepLast`. */
export interface PruneOptions {
  /** Only this partition (`null`: the empty one). Omitted: every partition. */
  partitionKey?: string | null;
  /** Only this app (needs `partitionKey`). */
  appId?: string;
  /** Remove steps saved before this instant (a `Date`, an ISO 8601 text or epoch milliseconds). */
  olderThan?: Date | string | number;
  /** Keep each app's last this-many steps (by sequence id), at least 1. */
  keepLast?: number;
}

/** What `prune` did. */
export interface PruneResult {
  /** Steps removed. An app's latest step is never among them. */
  deletedSteps: number;
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

/** A loader with the session listings (every burr-edge backend). */
export interface SessionLoader extends StateLoader {
  listHistory(partitionKey: string | null | undefined, appId: string, options?: ListHistoryOptions): Promise<HistoryPage>;
  listApps(partitionKey: string | null | undefined, options?: PageOptions): Promise<AppsPage>;
  listPartitionKeys(options?: PageOptions): Promise<PartitionKeysPage>;
}

/** A persister with the whole session API: listings, deletion and retention (every burr-edge backend). */
export interface SessionPersister extends StatePersister, SessionLoader {
  deleteApp(partitionKey: string | null | undefined, appId: string): Promise<void>;
  prune(options: PruneOptions): Promise<PruneResult>;
}

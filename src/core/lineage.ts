/**
 * Fork lineage. `initializeFrom({ forkFrom })` writes the new app's first step with the source
 * step's state plus one reserved top-level field, {@link FORK_KEY}, naming the step it came from
 * (`{"partition_key", "app_id", "sequence_id"}`, Burr's field names). It travels with the state,
 * so every backend and Burr's Python persisters store it unchanged; `initializeFrom` and
 * `State.deserialize` leave it out of the state they hand back.
 */
import type { JsonObject } from './json.js';
import type { ForkSource } from './types.js';

export const FORK_KEY = '__burr_edge_fork__';

export function forkSourceJson(source: ForkSource): JsonObject {
  return { partition_key: source.partitionKey, app_id: source.appId, sequence_id: source.sequenceId };
}

/** Reads a lineage value (parsed JSON); anything else than what {@link forkSourceJson} writes is `undefined`. */
export function parseForkSource(value: unknown): ForkSource | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { partition_key: partitionKey, app_id: appId, sequence_id: sequenceId } = value as Record<string, unknown>;
  if (typeof partitionKey !== 'string' || typeof appId !== 'string' || typeof sequenceId !== 'number' || !Number.isSafeInteger(sequenceId)) return undefined;
  return { partitionKey, appId, sequenceId };
}

/** A serialized state without the lineage field. */
export function withoutLineage(state: JsonObject): JsonObject {
  if (!Object.prototype.hasOwnProperty.call(state, FORK_KEY)) return state;
  const { [FORK_KEY]: _lineage, ...rest } = state;
  return rest;
}

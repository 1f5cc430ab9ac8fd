/**
 * Brands recognised across copies of the package (two installs, or a bundle next to a
 * dependency), where `instanceof` fails. Checking a brand also spares the persisters from
 * importing `State` and serde just to recognise one, which keeps every backend's bundle small.
 */
export const STATE_BRAND = Symbol.for('burr-edge.State');

/** The slice of `State` the persisters use. */
export interface SerializableState {
  serialize(): Record<string, unknown>;
}

export function isStateLike(value: unknown): value is SerializableState {
  return typeof value === 'object' && value !== null && (value as { [STATE_BRAND]?: unknown })[STATE_BRAND] === true;
}

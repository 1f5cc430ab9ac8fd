/**
 * The Redis key layout: Burr's keys (`<ns:><partition>` sorted set, `<ns:><partition>:<app>:<seq>`
 * hashes), with `%` and `:` escaped inside each part, and the kit's own keys beside them.
 */

/** Escapes `%` and `:` inside one key part; a part without them is unchanged (Burr's key). */
export function escapeKeyPart(part: string): string {
  return part.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** The inverse of {@link escapeKeyPart}. */
export function unescapeKeyPart(part: string): string {
  return part.replace(/%3A/g, ':').replace(/%25/g, '%');
}

/** The Redis keys of one namespace. */
export interface RedisKeyLayout {
  /** `<ns:>` or `''`. */
  readonly prefix: string;
  /** Burr's sorted set of a partition: member app id, score its highest sequence id. */
  partition(partitionKey: string): string;
  /** Burr's hash of one saved step: `<ns:><partition>:<app>:<sequence>`. */
  record(partitionKey: string, appId: string, sequenceId: number): string;
  /** burr-edge's sorted set of a partition's apps by time of their last save (for `listAppIds`, `listApps`). */
  recentApps(partitionKey: string): string;
  /** burr-edge's pointer to the partition's most recently saved step (for `load(pk, null)`). */
  latestRecord(partitionKey: string): string;
  /** burr-edge's sorted set of one app's sequence ids (member and score), for `listHistory` and `prune`. */
  steps(partitionKey: string, appId: string): string;
  /** burr-edge's lexicographic sorted set of the namespace's partition keys (unescaped members, score 0). */
  readonly partitions: string;
  /** burr-edge's marker that `initialize()` ran in this namespace. */
  readonly marker: string;
}

/**
 * The keys burr-edge uses, for tools that read Redis around the persister. For partition keys
 * and app ids without `:` or `%` they are byte-identical to Burr's. Escaped parts never hold a
 * `:`, and a `%` in them is always followed by `25` or `3A`, so the kit's own keys (a part
 * starting `%r`, `%l`, `%s`, `%p` or `%b`) can collide neither with Burr's keys for ordinary ids
 * nor with the kit's keys for any ids.
 */
export function redisKeyLayout(namespace = ''): RedisKeyLayout {
  const prefix = namespace ? `${namespace}:` : '';
  const partition = (partitionKey: string): string => prefix + escapeKeyPart(partitionKey);
  return {
    prefix,
    partition,
    record: (partitionKey, appId, sequenceId) => `${partition(partitionKey)}:${escapeKeyPart(appId)}:${sequenceId}`,
    recentApps: (partitionKey) => `${partition(partitionKey)}:%recent`,
    latestRecord: (partitionKey) => `${partition(partitionKey)}:%latest`,
    steps: (partitionKey, appId) => `${partition(partitionKey)}:${escapeKeyPart(appId)}:%steps`,
    partitions: `${prefix}%partitions`,
    marker: `${prefix}%burr-edge`,
  };
}

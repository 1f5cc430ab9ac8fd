/**
 * The session operations over IndexedDB, each given one open transaction (the persister opens
 * it): history, paged apps as of a snapshot, partition keys, prune. Every read is bounded by the
 * page asked for, except where noted (listApps' apps saved since the snapshot; prune's scope).
 */
import { BackendError } from '../../core/errors.js';
import type { AppsQuery, HistoryQuery, PruneQuery, StoredAppsPage, StoredHistoryRow } from '../../core/base.js';
import type { IdbCursorLike, IdbCursorWithValueLike, IdbTransactionLike } from './client.js';
import { BY_APP_ORDER, BY_APP_SEQUENCE, BY_RECENCY, callWrite, toStoredRow, type AppRecord, type StepRecord } from './schema.js';

/** The two stores of one persister. */
export interface Stores {
  steps: string;
  apps: string;
}

/** An array key sorts after every number and string key: `[pk, AFTER]` is past every key that starts with `pk`. */
const AFTER: IDBValidKey = [];

/** IDBKeyRange from the global scope (the browser's, or fake-indexeddb/auto's in Node). */
export function keyRanges(): typeof IDBKeyRange {
  const KeyRange = (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange;
  if (!KeyRange) throw Object.assign(new Error('IDBKeyRange is not defined (in Node, import "fake-indexeddb/auto" for the classes idb needs)'), { name: 'NoIndexedDB' });
  return KeyRange;
}

/** Up to `limit` steps of one app, highest sequence id first: one cursor over `by_app_sequence`, stopped at the page. */
export async function listHistory(tx: IdbTransactionLike, stores: Stores, query: HistoryQuery): Promise<StoredHistoryRow[]> {
  const { partitionKey: pk, appId, before, limit } = query;
  const range = keyRanges().bound([pk, appId, query.from ?? -Infinity], [pk, appId, before ?? Infinity], false, before !== undefined);
  const rows: StoredHistoryRow[] = [];
  let cursor = await tx.objectStore(stores.steps).index(BY_APP_SEQUENCE).openCursor(range, 'prev');
  // A delta-mode latest load wants the newest step's block only: stop below its start.
  let floor = -Infinity;
  while (cursor) {
    const record = cursor.value as StepRecord;
    if (rows.length === 0 && query.latestBlock !== undefined && before === undefined) floor = Math.floor(record.sequence_id / query.latestBlock) * query.latestBlock;
    if (record.sequence_id < floor) break;
    const row = toStoredRow(record);
    rows.push({
      sequenceId: row.sequenceId,
      position: row.position,
      status: row.status,
      createdAt: row.createdAt,
      forkedFromJson: typeof record.forked_from === 'string' ? record.forked_from : null,
      ...(query.withState ? { stateJson: row.stateJson } : {}),
    });
    if (rows.length >= limit) break;
    cursor = await cursor.continue();
  }
  return rows;
}

/**
 * A page of the partition's apps as of `snapshot`, a `save_order`. The key generator's counter
 * is one total order of commits across tabs (readwrite transactions over these stores never
 * overlap), so "saved by the snapshot" is exactly `save_order ≤ snapshot`, and an app's marker is
 * its newest such save. Apps not saved since the snapshot have it in their app record
 * (`last_save_order`): one bounded read of `by_recency`. Apps saved since have a newer record:
 * each of those costs one lookup of its newest step at or before the snapshot in `by_app_order`.
 */
export async function listApps(tx: IdbTransactionLike, stores: Stores, query: AppsQuery, snapshotGiven: number | undefined, afterMarker: number | undefined): Promise<StoredAppsPage> {
  const KeyRange = keyRanges();
  const pk = query.partitionKey;
  const recency = tx.objectStore(stores.apps).index(BY_RECENCY);
  let snapshot = snapshotGiven;
  if (snapshot === undefined) {
    const newest = (await recency.get(KeyRange.bound([pk, -Infinity], [pk, Infinity]))) as AppRecord | undefined;
    if (!newest) return { rows: [], snapshot: 0 };
    snapshot = newest.last_save_order;
  }
  const after = afterMarker ?? Infinity;
  // Unmoved apps with a marker below the previous page's last: recency > -after, and ≥ -snapshot.
  const pastPrevious = after <= snapshot;
  const unmovedRange = KeyRange.bound([pk, pastPrevious ? -after : -snapshot], [pk, Infinity], pastPrevious, false);
  const [unmoved, moved] = await Promise.all([
    recency.getAll(unmovedRange, query.limit) as Promise<AppRecord[]>,
    // On the first page nothing is newer than the snapshot (read in this transaction).
    snapshotGiven === undefined ? Promise.resolve([] as AppRecord[]) : (recency.getAll(KeyRange.bound([pk, -Infinity], [pk, -snapshot], false, true)) as Promise<AppRecord[]>),
  ]);
  const steps = tx.objectStore(stores.steps);
  const orderIndex = steps.indexNames?.contains(BY_APP_ORDER) === true;
  const asOf = snapshot;
  const movedMarkers = await Promise.all(moved.map((app) => markerAsOf(tx, stores, app, asOf, orderIndex)));
  const candidates = [
    ...unmoved.map((app) => ({ app, marker: app.last_save_order })),
    // An app created after the snapshot has no marker: it is not listed.
    ...moved.flatMap((app, i) => {
      const marker = movedMarkers[i];
      return marker !== undefined && marker < after ? [{ app, marker }] : [];
    }),
  ]
    .sort((a, b) => b.marker - a.marker) // markers are save orders: unique, so no tie to break
    .slice(0, query.limit);
  const latest = (await Promise.all(candidates.map(({ app }) => steps.get(app.latest_save_order)))) as (StepRecord | undefined)[];
  const rows = candidates.map(({ app, marker }, i) => {
    const step = latest[i];
    if (!step) throw new BackendError(`the app record of ${JSON.stringify(app.app_id)} points at a step that is not stored`, { backend: 'indexeddb', operation: 'listApps', retryable: false });
    return { appId: app.app_id, latestSequenceId: app.latest_sequence_id, position: step.position, status: step.status, updatedAt: step.created_at, marker };
  });
  return { rows, snapshot };
}

/** The `save_order` of the app's newest step saved at or before `snapshot`; `undefined` if none. */
async function markerAsOf(tx: IdbTransactionLike, stores: Stores, app: AppRecord, snapshot: number, orderIndex: boolean): Promise<number | undefined> {
  const KeyRange = keyRanges();
  const index = tx.objectStore(stores.steps).index(orderIndex ? BY_APP_ORDER : BY_APP_SEQUENCE);
  if (orderIndex) {
    const newest = await index.openKeyCursor(KeyRange.bound([app.partition_key, app.app_id, -Infinity], [app.partition_key, app.app_id, snapshot]), 'prev');
    return newest ? Number(newest.primaryKey) : undefined;
  }
  // A layout-1 database (no by_app_order, and the persister may not upgrade it): walk the app's keys.
  let best: number | undefined;
  for (let cursor = await index.openKeyCursor(KeyRange.bound([app.partition_key, app.app_id, -Infinity], [app.partition_key, app.app_id, Infinity])); cursor; cursor = await cursor.continue()) {
    const order = Number(cursor.primaryKey);
    if (order <= snapshot && (best === undefined || order > best)) best = order;
  }
  return best;
}

/** Partition keys ascending (IndexedDB orders strings by UTF-16 code unit): one key cursor that jumps from partition to partition. */
export async function listPartitionKeys(tx: IdbTransactionLike, stores: Stores, limit: number, after: string | undefined): Promise<string[]> {
  const index = tx.objectStore(stores.apps).index(BY_RECENCY);
  const keys: string[] = [];
  let cursor = await index.openKeyCursor(after === undefined ? null : keyRanges().lowerBound([after, AFTER], true));
  while (cursor) {
    const partitionKey = (cursor.key as [string, number])[0];
    keys.push(partitionKey);
    if (keys.length >= limit) break;
    cursor = await cursor.continue([partitionKey, AFTER]);
  }
  return keys;
}

/**
 * Removes the steps the query names, in a readwrite transaction over both stores: one cursor over
 * `by_app_sequence` in the scope, highest sequence id first, so each app's steps come together,
 * ranked. An app's first (latest) step always stays, so its record's `latest_*` stay right; its
 * most recent save may go, and then the record moves to its newest remaining save.
 */
export async function prune(tx: IdbTransactionLike, stores: Stores, query: PruneQuery): Promise<number> {
  const KeyRange = keyRanges();
  const { partitionKey: pk, appId } = query;
  const range = pk === undefined ? null : appId === undefined ? KeyRange.bound([pk], [pk, AFTER]) : KeyRange.bound([pk, appId], [pk, appId, AFTER]);
  const keep = Math.max(1, query.keepLast ?? 1);
  const cutoff = query.olderThan?.getTime();
  const steps = tx.objectStore(stores.steps);
  const index = steps.index(BY_APP_SEQUENCE);
  const deletions: Promise<unknown>[] = [];
  let deleted = 0;
  /** Apps that lost a step, with their newest remaining save. */
  const touched: { partitionKey: string; appId: string; newestKept: number }[] = [];
  let app: { partitionKey: string; appId: string; rank: number; newestKept: number; lost: boolean } | undefined;
  const closeApp = () => {
    if (app?.lost) touched.push({ partitionKey: app.partitionKey, appId: app.appId, newestKept: app.newestKept });
  };
  // Without olderThan only keys are needed: a key cursor reads no state.
  let cursor: IdbCursorLike | IdbCursorWithValueLike | null = cutoff === undefined ? await index.openKeyCursor(range, 'prev') : await index.openCursor(range, 'prev');
  while (cursor) {
    const [stepPartition, stepApp] = cursor.key as [string, string, number];
    if (!app || app.partitionKey !== stepPartition || app.appId !== stepApp) {
      closeApp();
      app = { partitionKey: stepPartition, appId: stepApp, rank: 0, newestKept: -Infinity, lost: false };
    }
    const saveOrder = Number(cursor.primaryKey);
    const old = cutoff === undefined || Date.parse(((cursor as IdbCursorWithValueLike).value as StepRecord).created_at) < cutoff;
    if (app.rank >= keep && old) {
      deletions.push(callWrite(steps, 'delete', saveOrder));
      deleted++;
      app.lost = true;
    } else app.newestKept = Math.max(app.newestKept, saveOrder);
    app.rank++;
    cursor = await cursor.continue();
  }
  closeApp();
  const apps = tx.objectStore(stores.apps);
  const records = (await Promise.all(touched.map((t) => apps.get([t.partitionKey, t.appId])))) as (AppRecord | undefined)[];
  touched.forEach((t, i) => {
    const record = records[i];
    if (record && record.last_save_order !== t.newestKept) deletions.push(callWrite(apps, 'put', { ...record, last_save_order: t.newestKept, recency: -t.newestKept }));
  });
  await Promise.all(deletions);
  return deleted;
}

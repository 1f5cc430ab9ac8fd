/**
 * A persister that keeps records in memory, for tests and prototypes. It stores the same JSON
 * text the database backends store, so it behaves like them (big integers, duplicates, errors).
 */
import {
  BaseStatePersister,
  type AppsQuery,
  type BasePersisterOptions,
  type HistoryQuery,
  type InsertOutcome,
  type LoadQuery,
  type PruneQuery,
  type StoredAppsPage,
  type StoredHistoryRow,
  type StoredRecord,
  type StoredRow,
} from '../core/base.js';

interface MemoryRow extends StoredRow {
  /** Insertion counter: orders records saved within the same millisecond. */
  order: number;
}

const rowKey = (partitionKey: string, appId: string, sequenceId: number) => JSON.stringify([partitionKey, appId, sequenceId]);
const appKey = (partitionKey: string, appId: string) => JSON.stringify([partitionKey, appId]);

/** Index of the first element of an ascending list that is at least `value`. */
function firstAtLeast(list: number[], value: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (list[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Keeps records in this process's memory: for tests and prototypes. Same semantics as the database backends. */
export class InMemoryPersister extends BaseStatePersister {
  protected readonly backendName = 'memory';
  protected override readonly supportsExpectedSequenceId = true;
  readonly #rows = new Map<string, MemoryRow>();
  /** Each app's row with the highest sequence id, so `load(pk, app)` does not scan every row. */
  readonly #latest = new Map<string, MemoryRow>();
  /** Each app's sequence ids, ascending, so a history page (and a delta load) reads its rows without scanning every row. */
  readonly #sequences = new Map<string, number[]>();
  #counter = 0;
  #tableExists = false;

  constructor(options: BasePersisterOptions = {}) {
    super(options);
    this.#tableExists = options.assumeInitialized === true;
  }

  protected get storageTarget(): string {
    return 'memory';
  }

  protected async storageInitialize(): Promise<void> {
    this.#tableExists = true;
  }

  protected async storageIsInitialized(): Promise<boolean> {
    return this.#tableExists;
  }

  protected async storageInsert(record: StoredRecord): Promise<InsertOutcome> {
    const key = rowKey(record.partitionKey, record.appId, record.sequenceId);
    const existing = this.#rows.get(key);
    const app = appKey(record.partitionKey, record.appId);
    const latest = this.#latest.get(app);
    if (record.expectedSequenceId !== undefined && (latest?.sequenceId ?? null) !== record.expectedSequenceId) {
      return { inserted: false, existing: existing ?? null, latestSequenceId: latest?.sequenceId ?? null };
    }
    if (existing) return { inserted: false, existing, latestSequenceId: latest?.sequenceId ?? null };
    const { expectedSequenceId: _expected, ...stored } = record;
    const row: MemoryRow = { ...stored, createdAt: new Date().toISOString(), order: this.#counter++ };
    this.#rows.set(key, row);
    if (!latest || row.sequenceId > latest.sequenceId) this.#latest.set(app, row);
    const sequences = this.#sequences.get(app) ?? [];
    sequences.splice(firstAtLeast(sequences, row.sequenceId), 0, row.sequenceId);
    this.#sequences.set(app, sequences);
    return { inserted: true };
  }

  protected async storageSelect(query: LoadQuery): Promise<StoredRow | null> {
    // One app: a map lookup, not a scan (the scan below made loads O(rows stored)).
    if (query.appId !== null) {
      if (query.sequenceId !== undefined) return this.#rows.get(rowKey(query.partitionKey, query.appId, query.sequenceId)) ?? null;
      return this.#latest.get(appKey(query.partitionKey, query.appId)) ?? null;
    }
    let best: MemoryRow | null = null;
    for (const row of this.#rows.values()) {
      if (row.partitionKey !== query.partitionKey) continue;
      if (query.appId !== null && row.appId !== query.appId) continue;
      if (query.sequenceId !== undefined && row.sequenceId !== query.sequenceId) continue;
      const better = query.appId === null ? !best || row.order > best.order : !best || row.sequenceId > best.sequenceId;
      if (better) best = row;
    }
    return best;
  }

  protected async storageListAppIds(partitionKey: string, limit: number | undefined): Promise<string[]> {
    const latest = new Map<string, number>();
    for (const row of this.#rows.values()) {
      if (row.partitionKey === partitionKey) latest.set(row.appId, Math.max(latest.get(row.appId) ?? -1, row.order));
    }
    const ids = [...latest].sort((a, b) => b[1] - a[1]).map(([appId]) => appId);
    return limit === undefined ? ids : ids.slice(0, limit);
  }

  /** Deletes every saved step of one app. */
  protected override async storageDeleteApp(key: string, app: string): Promise<void> {
    for (const [k, row] of this.#rows) if (row.partitionKey === key && row.appId === app) this.#rows.delete(k);
    this.#latest.delete(appKey(key, app));
    this.#sequences.delete(appKey(key, app));
  }

  protected override async storageListHistory(query: HistoryQuery): Promise<StoredHistoryRow[]> {
    const sequences = this.#sequences.get(appKey(query.partitionKey, query.appId)) ?? [];
    const steps: MemoryRow[] = [];
    for (let i = (query.before === undefined ? sequences.length : firstAtLeast(sequences, query.before)) - 1; i >= 0 && steps.length < query.limit; i--) {
      if (query.from !== undefined && sequences[i]! < query.from) break;
      steps.push(this.#rows.get(rowKey(query.partitionKey, query.appId, sequences[i]!))!);
    }
    return steps.map((row) => ({
      sequenceId: row.sequenceId,
      position: row.position,
      status: row.status,
      createdAt: row.createdAt,
      forkedFromJson: row.forkedFromJson ?? null,
      ...(query.withState ? { stateJson: row.stateJson } : {}),
    }));
  }

  protected override async storageReplaceState(partitionKey: string, appId: string, sequenceId: number, stateJson: string): Promise<void> {
    const row = this.#rows.get(rowKey(partitionKey, appId, sequenceId));
    if (row) row.stateJson = stateJson;
  }

  /** Markers are the insertion counter: unique and increasing, so a snapshot is "counter ≤ S". */
  protected override async storageListApps(query: AppsQuery): Promise<StoredAppsPage> {
    const snapshot = typeof query.snapshot === 'number' ? query.snapshot : this.#counter - 1;
    const markers = new Map<string, number>();
    for (const row of this.#rows.values()) {
      if (row.partitionKey !== query.partitionKey || row.order > snapshot) continue;
      markers.set(row.appId, Math.max(markers.get(row.appId) ?? -1, row.order));
    }
    const after = query.after;
    const ordered = [...markers]
      .filter(([, marker]) => !after || marker < Number(after.marker))
      .sort((a, b) => b[1] - a[1])
      .slice(0, query.limit);
    const rows = ordered.map(([appId, marker]) => {
      const latest = this.#latest.get(appKey(query.partitionKey, appId))!;
      return { appId, latestSequenceId: latest.sequenceId, position: latest.position, status: latest.status, updatedAt: latest.createdAt, marker };
    });
    return { rows, snapshot };
  }

  protected override async storageListPartitionKeys(limit: number, after: string | undefined): Promise<string[]> {
    const keys = new Set<string>();
    for (const row of this.#rows.values()) if (after === undefined || row.partitionKey > after) keys.add(row.partitionKey);
    return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, limit);
  }

  protected override async storagePrune(query: PruneQuery): Promise<number> {
    const byApp = new Map<string, MemoryRow[]>();
    for (const row of this.#rows.values()) {
      if (query.partitionKey !== undefined && row.partitionKey !== query.partitionKey) continue;
      if (query.appId !== undefined && row.appId !== query.appId) continue;
      const app = appKey(row.partitionKey, row.appId);
      const steps = byApp.get(app);
      if (steps) steps.push(row);
      else byApp.set(app, [row]);
    }
    let deleted = 0;
    for (const steps of byApp.values()) {
      steps.sort((a, b) => b.sequenceId - a.sequenceId);
      steps.forEach((row, rank) => {
        if (rank === 0) return; // the latest step stays
        if (query.keepLast !== undefined && rank < query.keepLast) return;
        if (query.olderThan !== undefined && !(new Date(row.createdAt as string).getTime() < query.olderThan.getTime())) return;
        this.#rows.delete(rowKey(row.partitionKey, row.appId, row.sequenceId));
        const sequences = this.#sequences.get(appKey(row.partitionKey, row.appId))!;
        sequences.splice(firstAtLeast(sequences, row.sequenceId), 1);
        deleted++;
      });
    }
    return deleted;
  }

  /** How many records are stored (for tests). */
  get size(): number {
    return this.#rows.size;
  }
}

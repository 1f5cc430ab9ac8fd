/**
 * A persister that keeps records in memory, for tests and prototypes. It stores the same JSON
 * text the database backends store, so it behaves like them (big integers, duplicates, errors).
 */
import { BaseStatePersister, type BasePersisterOptions, type InsertOutcome, type LoadQuery, type StoredRecord, type StoredRow } from '../core/base.js';

interface MemoryRow extends StoredRow {
  /** Insertion counter: orders records saved within the same millisecond. */
  order: number;
}

const rowKey = (partitionKey: string, appId: string, sequenceId: number) => JSON.stringify([partitionKey, appId, sequenceId]);
const appKey = (partitionKey: string, appId: string) => JSON.stringify([partitionKey, appId]);

/** Keeps records in this process's memory: for tests and prototypes. Same semantics as the database backends. */
export class InMemoryPersister extends BaseStatePersister {
  protected readonly backendName = 'memory';
  readonly #rows = new Map<string, MemoryRow>();
  /** Each app's row with the highest sequence id, so `load(pk, app)` does not scan every row. */
  readonly #latest = new Map<string, MemoryRow>();
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
    if (existing) return { inserted: false, existing };
    const row: MemoryRow = { ...record, createdAt: new Date().toISOString(), order: this.#counter++ };
    this.#rows.set(key, row);
    const app = appKey(record.partitionKey, record.appId);
    const latest = this.#latest.get(app);
    if (!latest || row.sequenceId > latest.sequenceId) this.#latest.set(app, row);
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
  async deleteApp(partitionKey: string | null | undefined, appId: string): Promise<void> {
    await this.runDelete(partitionKey, appId, async (key, app) => {
      for (const [k, row] of this.#rows) if (row.partitionKey === key && row.appId === app) this.#rows.delete(k);
      this.#latest.delete(appKey(key, app));
    });
  }

  /** How many records are stored (for tests). */
  get size(): number {
    return this.#rows.size;
  }
}

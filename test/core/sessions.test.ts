/**
 * The session helpers' argument handling and the base class's session plumbing, on the
 * in-memory persister (pure logic: every backend's behaviour is covered by the conformance suite).
 */
import { describe, expect, it } from 'vitest';
import { InMemoryPersister, State, StepSaver, initializeFrom, FORK_KEY, BaseStatePersister, type InsertOutcome, type LoadQuery, type StoredRecord, type StoredRow } from '../../src/index.js';

/** A custom persister that implements only Burr's three storage methods. */
class MinimalPersister extends BaseStatePersister {
  protected readonly backendName = 'minimal';
  protected get storageTarget() {
    return 'nowhere';
  }
  protected async storageInitialize() {}
  protected async storageIsInitialized() {
    return true;
  }
  protected async storageInsert(_record: StoredRecord): Promise<InsertOutcome> {
    return { inserted: true };
  }
  protected async storageSelect(_query: LoadQuery): Promise<StoredRow | null> {
    return null;
  }
  protected async storageListAppIds() {
    return [];
  }
}

describe('sessions API on a custom persister without session storage', () => {
  it('each session method is a NOT_SUPPORTED error naming it, and expectedSequenceId is refused before anything is written', async () => {
    const persister = new MinimalPersister();
    await expect(persister.listHistory('p', 'a')).rejects.toMatchObject({ code: 'NOT_SUPPORTED', message: expect.stringContaining('listHistory') });
    await expect(persister.listApps('p')).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await expect(persister.listPartitionKeys()).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await expect(persister.prune({ keepLast: 1 })).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await expect(persister.deleteApp('p', 'a')).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await expect(persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 1, position: 'x', state: {}, status: 'completed', expectedSequenceId: 0 })).rejects.toMatchObject({
      code: 'NOT_SUPPORTED',
      message: expect.stringContaining('expectedSequenceId'),
    });
    // Without the option, Burr's save works as before.
    await expect(persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 1, position: 'x', state: {}, status: 'completed' })).resolves.toBeUndefined();
  });
});

describe('initializeFrom and StepSaver', () => {
  it('refuse bad arguments before any I/O', async () => {
    const persister = new InMemoryPersister();
    await persister.initialize();
    const base = { partitionKey: 'p', appId: 'a', defaultState: {}, defaultEntrypoint: 'start' };
    await expect(initializeFrom(persister, { ...base, appId: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(initializeFrom(persister, { ...base, defaultState: [] as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(initializeFrom(persister, { ...base, defaultEntrypoint: 3 as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(initializeFrom(persister, { ...base, forkFrom: { appId: 'x', sequenceId: -1 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const loaderOnly = { load: persister.load.bind(persister), listAppIds: persister.listAppIds.bind(persister) };
    await expect(initializeFrom(loaderOnly, { ...base, forkFrom: { appId: 'x' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('can save') });
    expect(() => new StepSaver(persister, { partitionKey: 'p', appId: 'a', nextSequenceId: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(persister.size).toBe(0);
  });

  it('take a State as the default, and State.deserialize leaves the lineage field out', async () => {
    const persister = new InMemoryPersister();
    await persister.initialize();
    const fresh = await initializeFrom(persister, { partitionKey: 'p', appId: 'a', defaultState: new State({ when: new Date('2026-01-01T00:00:00Z'), n: 9007199254740993n }), defaultEntrypoint: 'start' });
    const saver = new StepSaver(persister, { partitionKey: 'p', appId: 'a', nextSequenceId: fresh.nextSequenceId });
    await saver.afterStep('start', State.deserialize(fresh.state));
    expect(saver.nextSequenceId).toBe(1);
    const fork = await initializeFrom(persister, { partitionKey: 'p', appId: 'b', defaultState: {}, defaultEntrypoint: 'start', forkFrom: { appId: 'a' } });
    expect(fork.state).not.toHaveProperty(FORK_KEY);
    const stored = await persister.load('p', 'b');
    expect(stored!.state).toHaveProperty(FORK_KEY);
    const revived = State.deserialize(stored!.state);
    expect(revived.keys().sort()).toEqual(['n', 'when']);
    expect(revived.get('when')).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(revived.get('n')).toBe(9007199254740993n);
  });

  it('a StepSaver with optimistic: false saves without the expectation (Burr behaviour)', async () => {
    const persister = new MinimalPersister();
    const saver = new StepSaver(persister, { partitionKey: 'p', appId: 'a', nextSequenceId: 3, optimistic: false });
    await expect(saver.afterStep('x', {})).resolves.toBeUndefined();
    const optimistic = new StepSaver(persister, { partitionKey: 'p', appId: 'a', nextSequenceId: 3 });
    await expect(optimistic.afterStep('x', {})).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
  });
});

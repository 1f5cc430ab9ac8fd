/** The shared lifecycle and limits of PersisterCore, through the smallest persister there is. */
import { describe, expect, it } from 'vitest';
import { InMemoryPersister, StateTooLargeError } from '../../src/index.js';

class SmallPersister extends InMemoryPersister {
  protected override readonly maxStateBytes = 64;
}

describe('PersisterCore', () => {
  it('refuses a state over maxStateBytes (UTF-8 bytes) before storing anything', async () => {
    const persister = new SmallPersister();
    await persister.initialize();
    const base = { partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'x', status: 'completed' as const };
    await persister.save({ ...base, state: { text: 'é'.repeat(20) } }); // 51 bytes of JSON
    const error = await persister.save({ ...base, sequenceId: 1, state: { text: 'é'.repeat(30) } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateTooLargeError);
    expect(error).toMatchObject({ code: 'STATE_TOO_LARGE', sizeBytes: 71, limitBytes: 64 });
    expect(persister.size).toBe(1);
  });

  it('a failed initialize is retried by the next call, not cached', async () => {
    let attempts = 0;
    class Flaky extends InMemoryPersister {
      protected override async storageInitialize(): Promise<void> {
        if (++attempts === 1) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      }
    }
    const persister = new Flaky();
    await expect(persister.initialize()).rejects.toMatchObject({ code: 'BACKEND', retryable: true });
    await expect(persister.initialize()).resolves.toBeUndefined();
    expect(attempts).toBe(2);
    await expect(persister.initialize()).resolves.toBeUndefined();
    expect(attempts).toBe(2);
  });

  it('concurrent initialize calls share one attempt', async () => {
    let attempts = 0;
    class Slow extends InMemoryPersister {
      protected override async storageInitialize(): Promise<void> {
        attempts++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const persister = new Slow();
    await Promise.all([persister.initialize(), persister.initialize(), persister.initialize()]);
    expect(attempts).toBe(1);
  });

  it('await using closes the persister', async () => {
    let closedAfterScope: InMemoryPersister | undefined;
    {
      await using persister = new InMemoryPersister();
      await persister.initialize();
      closedAfterScope = persister;
    }
    await expect(closedAfterScope.load('p', 'a')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

/**
 * Ids with `:` or `%` that Burr's Python RedisBasePersister wrote: Burr keeps them at its
 * unescaped keys (`<ns>:<partition>:<app>:<seq>`), where two apps can share a key. With
 * `burrKeys: 'read'` burr-edge reads them where the step at the key is the app's own, refuses
 * with BurrKeyCollisionError (naming both apps) where it is the other's, and still writes only
 * its escaped keys. The keys are written here with raw Redis commands, in Burr's layout.
 */
import { Redis } from '@upstash/redis';
import { describe, expect, inject, it } from 'vitest';
import { BurrKeyCollisionError, isPersisterError } from '../../src/core/errors.js';
import { RedisPersister } from '../../src/persisters/redis/index.js';
import { upstashCommand, upstashRequester } from '../conformance/redis-targets.js';

const harness = inject('harness');
let n = 0;

/** One step as Burr's Python persister writes it: a hash at its unescaped key, the app's score in the partition's sorted set. */
async function burrSave(namespace: string, partitionKey: string, appId: string, sequenceId: number, state: object, position = 'step'): Promise<void> {
  const key = `${namespace}:${partitionKey}:${appId}:${sequenceId}`;
  await upstashCommand(harness, ['HSET', key, 'partition_key', partitionKey, 'app_id', appId, 'sequence_id', String(sequenceId), 'position', position, 'state', JSON.stringify(state), 'status', 'completed', 'created_at', '2026-12-03T09:00:00.000000+00:00']);
  await upstashCommand(harness, ['ZADD', `${namespace}:${partitionKey}`, sequenceId, appId]);
}

function persister(namespace: string, burrKeys?: 'read'): RedisPersister {
  return new RedisPersister({ client: new Redis(upstashRequester(harness.upstashUrl, harness.upstashToken, fetch)), namespace, ...(burrKeys ? { burrKeys } : {}) });
}

async function burrStore(): Promise<string> {
  const namespace = `burrkeys-${Date.now().toString(36)}-${++n}`;
  await burrSave(namespace, 'user:1', 'chat', 0, { n: 0 });
  await burrSave(namespace, 'user:1', 'chat', 1, { n: 1 });
  await burrSave(namespace, 'plain', 'a:b', 0, { app: 'a:b' });
  await burrSave(namespace, 'p%x', 'q%y', 0, { percent: true });
  // Burr's collision: partition "a:b" + app "c" and partition "a" + app "b:c" share `<ns>:a:b:c:0`; the second save overwrote the first.
  await burrSave(namespace, 'a:b', 'c', 0, { owner: 'a:b / c' });
  await burrSave(namespace, 'a', 'b:c', 0, { owner: 'a / b:c' });
  return namespace;
}

describe("Redis: ids with ':' or '%' at Burr Python's unescaped keys", () => {
  it('are not read by default (burr-edge reads its escaped keys)', async () => {
    const p = persister(await burrStore());
    expect(await p.load('user:1', 'chat')).toBeNull(); // no marker, but Burr's keys: the namespace counts as initialized
    expect(await p.load('plain', 'a:b', 0)).toBeNull();
  });

  it("burrKeys: 'read' reads them where the step at the key is the app's own: latest and by sequence id", async () => {
    const p = persister(await burrStore(), 'read');
    expect(await p.load('user:1', 'chat')).toMatchObject({ partitionKey: 'user:1', appId: 'chat', sequenceId: 1, state: { n: 1 } });
    expect(await p.load('user:1', 'chat', 0)).toMatchObject({ sequenceId: 0, state: { n: 0 } });
    expect(await p.load('plain', 'a:b')).toMatchObject({ appId: 'a:b', state: { app: 'a:b' } });
    expect(await p.load('p%x', 'q%y')).toMatchObject({ partitionKey: 'p%x', appId: 'q%y', state: { percent: true } });
    expect(await p.load('a', 'b:c')).toMatchObject({ state: { owner: 'a / b:c' } });
    expect(await p.load('user:1', 'chat', 5)).toBeNull();
    expect(await p.listAppIds('plain')).toEqual(['a:b']); // Burr's sorted set of an ordinary partition
  });

  it('refuses where the key holds the other app’s step, naming both apps', async () => {
    const p = persister(await burrStore(), 'read');
    const error = await p.load('a:b', 'c').then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(BurrKeyCollisionError);
    expect(isPersisterError(error) && error.code).toBe('BACKEND');
    expect((error as BurrKeyCollisionError).candidates).toEqual([
      { partitionKey: 'a:b', appId: 'c' },
      { partitionKey: 'a', appId: 'b:c' },
    ]);
    expect((error as Error).message).toContain('partition "a:b", app "c"');
    expect((error as Error).message).toContain('partition "a", app "b:c"');
    await expect(p.load('a:b', 'c', 0)).rejects.toBeInstanceOf(BurrKeyCollisionError);
  });

  it('saves go to the escaped keys, and those win over Burr’s afterwards', async () => {
    const namespace = await burrStore();
    const p = persister(namespace, 'read');
    await p.save({ partitionKey: 'user:1', appId: 'chat', sequenceId: 0, position: 'step', state: { n: 0 }, status: 'completed' });
    expect(await upstashCommand(harness, ['EXISTS', `${namespace}:user%3A1:chat:0`])).toBe(1);
    expect((await p.load('user:1', 'chat'))?.sequenceId).toBe(0); // the escaped app now answers (Burr's step 1 stays at its key)
    expect((await persister(namespace).load('user:1', 'chat'))?.sequenceId).toBe(0);
  });
});

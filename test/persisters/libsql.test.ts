/** libSQL-specific behaviour beyond the conformance suite. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { describe, expect, it } from 'vitest';
import { BackendError, PersisterClosedError } from '../../src/index.js';
import { SQLitePersister, type LibsqlClientLike } from '../../src/persisters/libsql.js';
import { raceProcesses } from '../harness/race.js';

describe('SQLitePersister', () => {
  it('close() while the client is still being made closes it, and the initialize in flight fails as closed', async () => {
    let closed = 0;
    const persister = new SQLitePersister({
      ownsClient: true,
      client: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const client = createClient({ url: ':memory:' });
        return Object.assign(Object.create(client) as LibsqlClientLike, {
          execute: client.execute.bind(client),
          batch: client.batch.bind(client),
          close: () => {
            closed++;
            client.close();
          },
        });
      },
    });
    const initializing = persister.initialize();
    await persister.close();
    await expect(initializing).rejects.toBeInstanceOf(PersisterClosedError);
    expect(closed).toBe(1);
  });

  it('an injected client stays open after close()', async () => {
    const client = createClient({ url: ':memory:' });
    const persister = new SQLitePersister({ client });
    await persister.initialize();
    await persister.close();
    await expect(client.execute('SELECT 1')).resolves.toBeDefined();
    client.close();
  });

  it('a refused WebSocket connection is a retryable backend error', async () => {
    const persister = SQLitePersister.fromValues({ url: 'ws://127.0.0.1:1' });
    const error = await persister.initialize().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).retryable).toBe(true);
    await persister.close();
  });

  it('a table that does not exist is NOT_INITIALIZED when initialize() was skipped', async () => {
    const client = createClient({ url: ':memory:' });
    const persister = new SQLitePersister({ client, assumeInitialized: true });
    await expect(persister.load('p', 'a')).rejects.toMatchObject({ code: 'NOT_INITIALIZED' });
    client.close();
  });

  it('messages name the table, never the URL or token', async () => {
    const persister = SQLitePersister.fromValues({ url: 'http://127.0.0.1:1', authToken: 'super-secret-token' });
    const error = (await persister.initialize().then(() => undefined, (e: unknown) => e)) as Error;
    expect(error.message).toContain('libsql initialize table burr_state');
    expect(error.message).not.toContain('super-secret-token');
    await persister.close();
  });
});

describe('expectedSequenceId across processes', () => {
  it('three processes racing on one session of a file: database: one winner per step, none lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burr-edge-race-'));
    const url = `file:${join(dir, 'race.db')}`;
    const persister = SQLitePersister.fromValues({ url });
    try {
      await persister.initialize();
      // raceProcesses checks the outcome: one winner per step, each step extending the one before.
      await raceProcesses({ persister, store: url, partitionKey: 'p', appId: 'race', writers: 3, rounds: 8 });
    } finally {
      await persister.close();
    }
  }, 120_000);
});

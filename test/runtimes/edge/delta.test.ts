/**
 * Vercel's Edge Runtime lists no Compression Streams (the strict EdgeVM has none either: see
 * test/bundle/strict-edge.test.ts). A row another runtime compressed still loads there (the kit
 * inflates with fflate on every runtime), and a writer without `CompressionStream`
 * writes plain rows. vitest's edge environment has both, so each case hides them.
 * The row below is zlib-deflated, as CompressionStream('deflate') writes it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryPersister } from '../../../src/index.js';
import { DELTA_KEY, decodeRow } from '../../../src/core/delta.js';

const COMPRESSED = 'eJztyUEKgzAQBdCrhL92kVpFJleRLqx+rNAkZSaCELx77+Dat30VkWbTSkMYKzR/iYDdqGhQeBQEzDn+lGZcXE5uSrl8qE73VLZId++91xbnq8F7WxHE++Eh0vbd0HmR5/kHzsj5Gw==';

/** The state column as stored (the in-memory persister keeps the same text a database would). */
async function storedText(persister: InMemoryPersister): Promise<string> {
  const raw = persister as unknown as { storageListHistory(query: object): Promise<{ stateJson: string }[]> };
  return (await raw.storageListHistory({ partitionKey: 'p', appId: 'a', limit: 1, before: undefined, withState: true }))[0]!.stateJson;
}

const saved = { CompressionStream: globalThis.CompressionStream, DecompressionStream: globalThis.DecompressionStream };
function withoutCompressionStreams(): void {
  // @ts-expect-error: as in Vercel's Edge Runtime
  delete globalThis.CompressionStream;
  // @ts-expect-error: as in Vercel's Edge Runtime
  delete globalThis.DecompressionStream;
  expect(typeof CompressionStream).toBe('undefined');
}
afterEach(() => Object.assign(globalThis, saved));

describe('delta rows in an edge runtime without Compression Streams', () => {
  it('a compressed snapshot written elsewhere decodes exactly, big integers included', async () => {
    withoutCompressionStreams();
    const decoded = decodeRow({ [DELTA_KEY]: { v: 1, z: 'deflate', data: COMPRESSED } }, {});
    expect(decoded).toEqual({ kind: 'snapshot', state: { messages: [{ role: 'user', text: 'compressed on another runtime '.repeat(20) }], big: 9007199254740993n } });
  });

  it('a delta-mode persister writes plain rows there and reads them back', async () => {
    withoutCompressionStreams();
    const persister = new InMemoryPersister({ storage: 'delta', delta: { compressAbove: 16 } });
    await persister.initialize();
    const state = { messages: ['x'.repeat(5000)] };
    await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 's', status: 'completed', state });
    expect(await storedText(persister)).toBe(JSON.stringify(state));
    expect((await persister.load('p', 'a'))!.state).toEqual(state);
  });

  it('with Compression Streams (as in workerd and vitest’s edge environment), the same state is stored compressed', async () => {
    const persister = new InMemoryPersister({ storage: 'delta', delta: { compressAbove: 16 } });
    await persister.initialize();
    const state = { messages: ['x'.repeat(5000)] };
    await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 's', status: 'completed', state });
    expect(await storedText(persister)).toContain('"z":"deflate"');
    expect((await persister.load('p', 'a'))!.state).toEqual(state);
  });
});

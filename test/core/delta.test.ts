/**
 * Delta storage: the pure pieces (field serialization, the append test, decoding, options,
 * memory bounds) and what a store shows — on embedded libSQL, a real SQLite: rows as written,
 * a full-mode reader of delta rows, materialize in place and into another store, compression.
 * Every backend's behaviour in delta mode is the conformance suite's (inDeltaMode).
 */
import { createClient } from '@libsql/client';
import { describe, expect, it } from 'vitest';
import { InMemoryPersister } from '../../src/index.js';
import { SQLitePersister } from '../../src/persisters/libsql.js';
import { DELTA_KEY, StepMemory, applyDelta, decodeRow, diffFields, encodeRow, joinFields, serializeFields, type FieldTexts } from '../../src/core/delta.js';
import { parseJson, stringifyJson, type JsonObject, type JsonValue } from '../../src/core/json.js';
import { jsonEqual } from '../../src/core/compare.js';
import { countCalls } from '../../src/testing/index.js';
import { random } from '../../src/testing/helpers.js';

function anyValue(next: () => number, depth = 0): JsonValue {
  switch (Math.floor(next() * (depth > 2 ? 5 : 7))) {
    case 0:
      return null;
    case 1:
      return next() < 0.5 ? -0 : 12345678901234567890n;
    case 2:
      return Math.floor(next() * 100) - 50;
    case 3:
      return ['', ']', '[', ',', '"', '\\', 'é', '🚀', 'a,b]'][Math.floor(next() * 9)]!;
    case 4:
      return next() < 0.5;
    case 5:
      return Array.from({ length: Math.floor(next() * 4) }, () => anyValue(next, depth + 1));
    default: {
      const o: JsonObject = {};
      // defineProperty: a field named __proto__ is data, as JSON.parse makes it.
      for (let i = Math.floor(next() * 3); i > 0; i--) Object.defineProperty(o, ['a', 'b', '__proto__', 'c d'][Math.floor(next() * 4)]!, { value: anyValue(next, depth + 1), enumerable: true, writable: true, configurable: true });
      return o;
    }
  }
}

const ctx = { backend: 'test' };
const fields = (state: JsonObject): FieldTexts => serializeFields(state, ctx);

async function roundTrip(previous: JsonObject, next: JsonObject): Promise<JsonObject> {
  const body = diffFields(fields(previous), fields(next));
  const row = parseJson(`{"${DELTA_KEY}":{"v":1,"prev":0${body ? `,${body}` : ''}}}`) as JsonObject;
  const decoded = decodeRow(row, ctx);
  if (decoded.kind !== 'delta') throw new Error('expected a delta');
  return applyDelta(previous, decoded, ctx);
}

describe('delta encoding (pure)', () => {
  it('field-by-field serialization joins to exactly the whole-state JSON (big integers, -0, escapes)', () => {
    const next = random(3);
    for (let i = 0; i < 300; i++) {
      const state: JsonObject = {};
      for (let k = Math.floor(next() * 5); k > 0; k--) state[`f${Math.floor(next() * 7)}`] = anyValue(next);
      const split = fields(state);
      expect(joinFields(split)).toBe(stringifyJson(state));
      expect(split.bytes).toBe(stringifyJson(state).length);
    }
  });

  it('a list that only grew is stored as its tail; any other change of a list is a set — and every pair rebuilds exactly (2,000 random pairs)', async () => {
    const next = random(11);
    let appended = 0;
    for (let i = 0; i < 2000; i++) {
      const base = Array.from({ length: Math.floor(next() * 4) }, () => anyValue(next));
      const roll = next();
      const list = roll < 0.5 ? [...base, ...Array.from({ length: 1 + Math.floor(next() * 3) }, () => anyValue(next))] : roll < 0.7 ? base.slice(1) : [anyValue(next), ...base];
      const previous: JsonObject = { list: base, keep: 1 };
      const current: JsonObject = { list, keep: 1 };
      const body = diffFields(fields(previous), fields(current));
      if (body.includes('"append"')) {
        appended++;
        expect(list.length).toBeGreaterThan(base.length);
        expect(jsonEqual(list.slice(0, base.length), base)).toBe(true);
      }
      expect(jsonEqual(await roundTrip(previous, current), current)).toBe(true);
    }
    expect(appended).toBeGreaterThan(500);
  });

  it('unchanged fields are not stored; removed fields, type changes and a new field order come back', async () => {
    const previous: JsonObject = { a: 1, messages: ['x'], gone: true, z: 'z' };
    const body = diffFields(fields(previous), fields({ z: 'z', a: 1, messages: 'text now' }));
    expect(body).not.toContain('"a":1');
    expect(body).toContain('"unset":["gone"]');
    expect(body).toContain('"keys":["z","a","messages"]');
    const back = await roundTrip(previous, { z: 'z', a: 1, messages: 'text now' });
    expect(Object.keys(back)).toEqual(['z', 'a', 'messages']);
    expect(back).toEqual({ z: 'z', a: 1, messages: 'text now' });
    const proto = await roundTrip({ x: 1 }, JSON.parse('{"x":1,"__proto__":{"polluted":true}}') as JsonObject);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['x', '__proto__']);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('a row of an unknown format version is NOT_SUPPORTED; a damaged delta is a BACKEND error, never a wrong state', async () => {
    const thrown = (run: () => unknown): unknown => {
      try {
        run();
      } catch (error) {
        return error;
      }
      throw new Error('expected it to throw');
    };
    expect(thrown(() => decodeRow({ [DELTA_KEY]: { v: 2, prev: 0 } }, ctx))).toMatchObject({ code: 'NOT_SUPPORTED', message: expect.stringMatching(/v2.*upgrade/) });
    expect(thrown(() => decodeRow({ [DELTA_KEY]: { v: 1, prev: 'x' } }, ctx))).toMatchObject({ code: 'BACKEND' });
    expect(thrown(() => decodeRow({ [DELTA_KEY]: { v: 1, prev: 0, set: [1] } }, ctx))).toMatchObject({ code: 'BACKEND' });
    expect(thrown(() => decodeRow({ [DELTA_KEY]: { v: 1, z: 'deflate', data: 'not base64 deflate!' } }, ctx))).toMatchObject({ code: 'BACKEND' });
    expect(thrown(() => decodeRow({ [DELTA_KEY]: { v: 1, z: 'deflate', data: btoa('not zlib at all') } }, ctx))).toMatchObject({ code: 'BACKEND' });
    const decoded = decodeRow({ [DELTA_KEY]: { v: 1, prev: 0, append: { list: [1] } } }, ctx);
    if (decoded.kind !== 'delta') throw new Error('expected a delta');
    expect(() => applyDelta({ list: 'not a list' }, decoded, ctx)).toThrow(/not a list/);
  });

  it('memory is bounded by apps and by bytes, least recently saved forgotten first', () => {
    const memory = new StepMemory(2, 1000);
    const step = (n: number, size = 10) => ({ sequenceId: n, fields: { keys: [], texts: new Map(), bytes: size } });
    memory.remember('a', step(1));
    memory.remember('b', step(1));
    memory.remember('a', step(2)); // a is now the most recent
    memory.remember('c', step(1));
    expect([memory.get('a')?.sequenceId, memory.get('b'), memory.get('c')?.sequenceId]).toEqual([2, undefined, 1]);
    memory.remember('big', step(1, 995));
    expect(memory.bytes).toBeLessThanOrEqual(1000);
    expect(memory.get('big')).toBeDefined();
    memory.remember('huge', step(1, 5000)); // larger than the whole budget: not kept
    expect(memory.get('huge')).toBeUndefined();
  });
});

describe('compression', () => {
  it('what CompressionStream deflates is read without any Compression Streams (fflate inflates it, as in Vercel’s Edge Runtime)', async () => {
    const state: JsonObject = { messages: Array.from({ length: 40 }, (_, i) => `message ${i} ${'lorem ipsum '.repeat(10)}`), big: 9007199254740993n };
    const text = await encodeRow({ kind: 'snapshot', text: stringifyJson(state) }, 100, undefined);
    expect(text).toContain('"z":"deflate"');
    const row = parseJson(text) as JsonObject;
    const saved = { c: globalThis.CompressionStream, d: globalThis.DecompressionStream };
    try {
      // @ts-expect-error: hiding the platform's streams, as in Vercel's Edge Runtime
      delete globalThis.DecompressionStream;
      // @ts-expect-error: as above
      delete globalThis.CompressionStream;
      const decoded = decodeRow(row, ctx);
      expect(decoded.kind === 'snapshot' && jsonEqual(decoded.state, state)).toBe(true);
      // …and a writer there stores the body plain.
      expect(await encodeRow({ kind: 'snapshot', text: stringifyJson(state) }, 100, undefined)).toBe(stringifyJson(state));
    } finally {
      globalThis.CompressionStream = saved.c;
      globalThis.DecompressionStream = saved.d;
    }
  });

  it('compression is kept only when it saves a quarter: incompressible bodies stay plain', async () => {
    let noise = '';
    const next = random(5);
    for (let i = 0; i < 3000; i++) noise += String.fromCharCode(33 + Math.floor(next() * 90));
    const text = await encodeRow({ kind: 'snapshot', text: JSON.stringify({ noise }) }, 100, undefined);
    expect(text).toBe(JSON.stringify({ noise }));
  });
});

describe('delta storage options', () => {
  it('are checked when the persister is built', () => {
    expect(() => new InMemoryPersister({ storage: 'deltas' as never })).toThrow(/storage/);
    expect(() => new InMemoryPersister({ storage: 'delta', delta: { snapshotEvery: 0 } })).toThrow(/snapshotEvery/);
    expect(() => new InMemoryPersister({ storage: 'delta', delta: { compressAbove: -1 } })).toThrow(/compressAbove/);
    expect(() => new InMemoryPersister({ delta: { snapshotEvery: 5 } })).toThrow(/storage: 'delta'/);
    expect(new InMemoryPersister({ storage: 'delta' }).storageMode).toBe('delta');
    expect(new InMemoryPersister().storageMode).toBe('full');
  });

  it('the reserved field is refused in either mode, before anything is written', async () => {
    for (const persister of [new InMemoryPersister(), new InMemoryPersister({ storage: 'delta' })]) {
      await persister.initialize();
      await expect(persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 's', status: 'completed', state: { [DELTA_KEY]: 1 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await persister.load('p', 'a')).toBeNull();
    }
  });
});

/** A chat that grows by one message a step. */
function chat(steps: number): JsonObject[] {
  const states: JsonObject[] = [];
  let messages: JsonValue[] = [];
  for (let i = 0; i < steps; i++) {
    messages = [...messages, { role: i % 2 ? 'assistant' : 'user', text: `message ${i}: ${'lorem ipsum dolor sit amet '.repeat(8)}` }];
    states.push({ messages, turn: i, big: 9007199254740993n });
  }
  return states;
}

async function rows(client: ReturnType<typeof createClient>, table = 'burr_state'): Promise<{ seq: number; state: string }[]> {
  const result = await client.execute(`SELECT sequence_id, state FROM ${table} ORDER BY sequence_id`);
  return result.rows.map((row) => ({ seq: Number(row.sequence_id), state: String(row.state) }));
}

describe('delta storage on libSQL (a real SQLite)', () => {
  it('stores snapshots at block starts (compressed when large) and deltas between; a full-mode reader loads delta rows in 2 round trips', async () => {
    const client = createClient({ url: ':memory:' });
    const writer = new SQLitePersister({ client, storage: 'delta', delta: { snapshotEvery: 5, compressAbove: 1024 } });
    await writer.initialize();
    const states = chat(12);
    for (const [seq, state] of states.entries()) await writer.save({ partitionKey: 'u', appId: 'a', sequenceId: seq, position: 'chat', status: 'completed', state });
    const stored = await rows(client);
    expect(stored.map((r) => (r.state.includes(`"${DELTA_KEY}"`) ? (r.state.includes('"z":"deflate"') ? 'Z' : 'd') : 'S')).join('')).toBe('SddddZddddZd');
    // A delta row holds the new message, not the history.
    expect(stored[3]!.state.length).toBeLessThan(600);
    const full = stringifyJson(states[10]!).length;
    expect(stored[10]!.state.length).toBeLessThan(full / 3);

    const counted = countCalls(client, ['execute', 'batch']);
    const reader = new SQLitePersister({ client: counted.client });
    expect(await reader.isInitialized()).toBe(true);
    const before = counted.calls();
    const loaded = await reader.load('u', 'a', 8);
    expect(counted.calls() - before).toBe(2);
    expect(jsonEqual(loaded!.state, states[8]!)).toBe(true);
    expect(jsonEqual((await reader.load('u', 'a'))!.state, states[11]!)).toBe(true);
    expect(jsonEqual((await reader.load('u', null))!.state, states[11]!)).toBe(true);

    // A delta-mode latest load reads the newest step's block only (steps 10 and 11), a step load its block up to the step.
    const returned: number[] = [];
    const watched = new SQLitePersister({
      client: { ...client, execute: async (statement: Parameters<typeof client.execute>[0]) => { const result = await client.execute(statement); returned.push(result.rows.length); return result; } } as typeof client,
      storage: 'delta',
      delta: { snapshotEvery: 5 },
      assumeInitialized: true,
    });
    expect(jsonEqual((await watched.load('u', 'a'))!.state, states[11]!)).toBe(true);
    expect(jsonEqual((await watched.load('u', 'a', 7))!.state, states[7]!)).toBe(true);
    expect(returned).toEqual([2, 3]);
  });

  it('compressAbove: false writes no compressed row; a cold writer (a restart) starts with a snapshot', async () => {
    const client = createClient({ url: ':memory:' });
    const first = new SQLitePersister({ client, storage: 'delta', delta: { snapshotEvery: 100, compressAbove: false } });
    await first.initialize();
    const states = chat(6);
    for (let seq = 0; seq < 3; seq++) await first.save({ partitionKey: 'u', appId: 'a', sequenceId: seq, position: 'chat', status: 'completed', state: states[seq]! });
    const restarted = new SQLitePersister({ client, storage: 'delta', delta: { snapshotEvery: 100, compressAbove: false } });
    for (let seq = 3; seq < 6; seq++) await restarted.save({ partitionKey: 'u', appId: 'a', sequenceId: seq, position: 'chat', status: 'completed', state: states[seq]! });
    const stored = await rows(client);
    expect(stored.map((r) => (r.state.includes(`"${DELTA_KEY}"`) ? 'd' : 'S')).join('')).toBe('SddSdd');
    expect(stored.some((r) => r.state.includes('"z"'))).toBe(false);
    for (let seq = 0; seq < 6; seq++) expect(jsonEqual((await restarted.load('u', 'a', seq))!.state, states[seq]!)).toBe(true);
  });

  it('an identical retry of a delta save succeeds, also from a restarted writer; a different state at a taken step is ALREADY_EXISTS', async () => {
    const client = createClient({ url: ':memory:' });
    const writer = new SQLitePersister({ client, storage: 'delta' });
    await writer.initialize();
    const states = chat(3);
    const save = (p: SQLitePersister, seq: number, state: JsonObject) => p.save({ partitionKey: 'u', appId: 'a', sequenceId: seq, position: 'chat', status: 'completed', state });
    for (const [seq, state] of states.entries()) await save(writer, seq, state);
    await save(writer, 2, states[2]!);
    const restarted = new SQLitePersister({ client, storage: 'delta' });
    await save(restarted, 2, states[2]!); // stored as a delta, offered as a snapshot: the same state
    await expect(save(restarted, 2, { ...states[2]!, turn: 99 })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('materialize rewrites every delta row in place as the Burr row it stands for; again, it rewrites nothing', async () => {
    const client = createClient({ url: ':memory:' });
    const writer = new SQLitePersister({ client, storage: 'delta', delta: { snapshotEvery: 4 } });
    await writer.initialize();
    const states = chat(9);
    for (const [seq, state] of states.entries()) await writer.save({ partitionKey: 'u', appId: 'a', sequenceId: seq, position: 'chat', status: 'completed', state });
    const result = await writer.materialize('u', 'a');
    expect(result).toEqual({ steps: 9, rewritten: 9 - 3 }); // steps 0, 4 and 8 are snapshots, plain Burr rows already
    const stored = await rows(client);
    for (const [seq, row] of stored.entries()) expect(row.state).toBe(stringifyJson(states[seq]!)); // byte for byte what full mode writes
    expect(await writer.materialize('u', 'a')).toEqual({ steps: 9, rewritten: 0 });
    // The writer's memory still holds: its next save is a delta again.
    await writer.save({ partitionKey: 'u', appId: 'a', sequenceId: 9, position: 'chat', status: 'completed', state: { ...states[8]!, turn: 9 } });
    expect((await rows(client))[9]!.state).toContain(DELTA_KEY);
  });

  it('materialize into another persister copies every step as Burr rows; a delta-mode target is refused; a persister that cannot rewrite in place says to copy', async () => {
    const client = createClient({ url: ':memory:' });
    const source = new SQLitePersister({ client, storage: 'delta' });
    await source.initialize();
    const states = chat(5);
    for (const [seq, state] of states.entries()) await source.save({ partitionKey: 'u', appId: 'a', sequenceId: seq, position: 'chat', status: 'completed', state });
    const target = createClient({ url: ':memory:' });
    const into = new SQLitePersister({ client: target });
    await into.initialize();
    expect(await source.materialize('u', 'a', { into })).toEqual({ steps: 5, rewritten: 5 });
    expect(await source.materialize('u', 'a', { into })).toEqual({ steps: 5, rewritten: 5 }); // identical steps: skipped, no error
    for (const [seq, row] of (await rows(target)).entries()) expect(row.state).toBe(stringifyJson(states[seq]!));
    await expect(source.materialize('u', 'a', { into: new InMemoryPersister({ storage: 'delta' }) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

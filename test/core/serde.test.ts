import { describe, expect, it } from 'vitest';
import { State, registerFieldSerde, registerSerde } from '../../src/index.js';
import { deserializeValue, serializeValue } from '../../src/core/serde.js';

describe("serde with Burr's __burr_serde__ convention", () => {
  it('round-trips Date, Map, Set, RegExp, bytes, non-finite numbers and bigint', () => {
    const value = {
      when: new Date('2026-11-27T08:15:03.123Z'),
      map: new Map<unknown, unknown>([['a', 1], [2, new Set([3])]]),
      re: /x+y/gi,
      bytes: new Uint8Array([0, 1, 254, 255]),
      inf: -Infinity,
      nan: Number.NaN,
      big: 2n ** 70n,
      list: [undefined, 1],
    };
    const serialized = serializeValue(value);
    expect(serialized).toMatchObject({ when: { __burr_serde__: 'Date', value: '2026-11-27T08:15:03.123Z' }, inf: { __burr_serde__: 'number', value: '-Infinity' } });
    expect((serialized as { list: unknown[] }).list[0]).toEqual({ __burr_serde__: 'undefined' });
    expect(deserializeValue(serialized)).toEqual(value);
  });

  it("reads the TypeScript port's __serde_type tags", () => {
    const revived = deserializeValue({
      d: { __serde_type: 'Date', value: '2026-01-01T00:00:00.000Z' },
      m: { __serde_type: 'Map', value: [['k', 'v']] },
      s: { __serde_type: 'Set', value: [1, 2] },
      r: { __serde_type: 'RegExp', value: { source: 'a.c', flags: 'g' } },
      b: { __serde_type: 'BigInt', value: '123456789012345678901234567890' },
      other: { __serde_type: 'Unknown', value: 1 },
    }) as Record<string, unknown>;
    expect(revived.d).toEqual(new Date('2026-01-01T00:00:00.000Z'));
    expect(revived.m).toEqual(new Map([['k', 'v']]));
    expect(revived.s).toEqual(new Set([1, 2]));
    expect(revived.r).toEqual(/a.c/g);
    expect(revived.b).toBe(123456789012345678901234567890n);
    expect(revived.other).toEqual({ __serde_type: 'Unknown', value: 1 });
  });

  it('keeps an unknown __burr_serde__ object verbatim so a re-save loses nothing', () => {
    const stored = { where: { __burr_serde__: 'point', x: 1.5, y: -2 } };
    const state = State.deserialize(stored);
    expect(state.get('where')).toEqual(stored.where);
    expect(state.serialize()).toEqual(stored);
  });

  it('dispatches a registered key, as Burr dispatches on __burr_serde__', () => {
    class Point {
      constructor(readonly x: number, readonly y: number) {}
    }
    registerSerde<Point>({
      key: 'test.point',
      test: (v): v is Point => v instanceof Point,
      serialize: (p) => ({ x: p.x, y: p.y }),
      deserialize: (d) => new Point(d.x as number, d.y as number),
    });
    const state = new State({ p: new Point(1, 2) });
    expect(state.serialize()).toEqual({ p: { __burr_serde__: 'test.point', x: 1, y: 2 } });
    expect(State.deserialize(state.serialize()).get('p')).toEqual(new Point(1, 2));
  });

  it('applies per-field serde before the type dispatch', () => {
    registerFieldSerde<string>('secret', (v) => ({ __burr_serde__: 'rot', v: [...v].reverse().join('') }), (d) => [...String((d as { v: string }).v)].reverse().join(''));
    const state = new State({ secret: 'abc', other: 'abc' });
    expect(state.serialize()).toEqual({ secret: { __burr_serde__: 'rot', v: 'cba' }, other: 'abc' });
    expect(State.deserialize(state.serialize()).get('secret')).toBe('abc');
  });

  it('refuses functions, symbols, class instances without serde, and cycles, naming the path', () => {
    expect(() => new State({ f: () => 1 }).serialize()).toThrowError(/state\.f: a function/);
    expect(() => new State({ s: [Symbol('x')] }).serialize()).toThrowError(/state\.s\[0\]: a symbol/);
    expect(() => new State({ c: new (class Custom {})() }).serialize()).toThrowError(/no serde is registered for Custom/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => new State({ cyclic }).serialize()).toThrowError(/cycle/);
  });
});

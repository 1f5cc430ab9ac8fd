import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { jsonEqual, sameJsonText } from '../../src/core/compare.js';
import { parseJson, stringifyJson, utf8Length, type JsonValue } from '../../src/core/json.js';

describe('parseJson', () => {
  it('keeps integers beyond 2^53 exact as bigint and small ones as numbers', () => {
    const value = parseJson('{"big": 9007199254740993, "small": 42, "neg": -9223372036854775808, "f": 1e-300}') as Record<string, unknown>;
    expect(value.big).toBe(9007199254740993n);
    expect(value.neg).toBe(-9223372036854775808n);
    expect(value.small).toBe(42);
    expect(value.f).toBe(1e-300);
  });

  it('reads any integer outside the safe range as bigint, 2^53 included', () => {
    expect(parseJson('[9007199254740992, 9007199254740991]')).toEqual([9007199254740992n, 9007199254740991]);
  });

  it('keeps a long decimal fraction a float, not a bigint', () => {
    expect(parseJson('[3.14159265358979323846]')).toEqual([3.141592653589793]);
  });

  it('reads -0.0 as negative zero', () => {
    expect(Object.is((parseJson('[-0.0]') as number[])[0], -0)).toBe(true);
  });

  it('raises a SerializationError on invalid text', () => {
    expect(() => parseJson('{"a":')).toThrowError(expect.objectContaining({ code: 'SERIALIZATION' }) as Error);
  });
});

describe('stringifyJson', () => {
  it('writes a bigint as a plain JSON integer and -0 as -0.0', () => {
    expect(stringifyJson({ big: 9007199254740993n, z: -0, n: 1 })).toBe('{"big":9007199254740993,"z":-0.0,"n":1}');
  });

  it('uses the native stringifier when nothing needs lossless output', () => {
    const value = { a: [1, 'two', { three: null }], b: true };
    expect(stringifyJson(value)).toBe(JSON.stringify(value));
  });

  it('names the path of a value JSON cannot hold', () => {
    expect(() => stringifyJson({ list: [1, { fn: () => 1 }] })).toThrowError(/state\.list\[1\]\.fn/);
    expect(() => stringifyJson({ when: new Date(0) })).toThrowError(/state\.when: a Date is not JSON/);
    expect(() => stringifyJson({ x: Infinity })).toThrowError(expect.objectContaining({ code: 'SERIALIZATION' }) as Error);
  });

  it('detects cycles but allows the same object twice', () => {
    const shared = { v: 1 };
    expect(stringifyJson({ a: shared, b: shared })).toBe('{"a":{"v":1},"b":{"v":1}}');
    const cyclic: Record<string, unknown> = {};
    cyclic.me = { back: cyclic };
    expect(() => stringifyJson(cyclic)).toThrowError(/cycle/);
  });

  it('drops undefined properties, as JSON does', () => {
    expect(stringifyJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});

const jsonArbitrary: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    // A double outside the safe-integer range is an integer JSON cannot tell from a bigint; see the case above.
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d) || Number.isSafeInteger(d)),
    fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).filter((b) => b > 2n ** 53n || b < -(2n ** 53n)),
    fc.integer(),
    fc.string({ unit: 'grapheme' }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
  ),
})).value;

test.prop([fc.dictionary(fc.string(), jsonArbitrary, { maxKeys: 6 })])('stringify then parse gives the same value back', (value) => {
  expect(jsonEqual(parseJson(stringifyJson(value)), value)).toBe(true);
});

describe('sameJsonText', () => {
  it('ignores key order and whitespace but not values', () => {
    expect(sameJsonText('{"a": 1, "b": [1, 2]}', '{"b":[1,2],"a":1}')).toBe(true);
    expect(sameJsonText('{"a": 1}', '{"a": 2}')).toBe(false);
    expect(sameJsonText('{"a": 9007199254740993}', '{"a": 9007199254740992}')).toBe(false);
  });
});

describe('utf8Length', () => {
  it('counts bytes, not code units', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('🚀')).toBe(4);
  });
});

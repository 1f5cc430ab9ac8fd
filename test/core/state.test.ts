import { describe, expect, it } from 'vitest';
import { State } from '../../src/index.js';

describe('State is immutable', () => {
  it('update, append, extend, increment, delete, wipe, merge and subset return new states', () => {
    const s0 = new State({ count: 1, items: ['a'] as string[], keep: true });
    const s1 = s0.update({ count: 2 }).append({ items: 'b' }).extend({ items: ['c', 'd'] }).increment({ count: 3 });
    expect(s1.getAll()).toEqual({ count: 5, items: ['a', 'b', 'c', 'd'], keep: true });
    expect(s0.getAll()).toEqual({ count: 1, items: ['a'], keep: true });
    expect(s1.delete('keep').keys()).toEqual(['count', 'items']);
    expect(s1.wipe({ keep: ['count'] }).getAll()).toEqual({ count: 5 });
    expect(s1.wipe({ delete: ['items'] }).getAll()).toEqual({ count: 5, keep: true });
    expect(s0.merge(new State({ count: 9, extra: 'x' })).getAll()).toEqual({ count: 9, items: ['a'], keep: true, extra: 'x' });
    expect(s1.subset('count', 'missing' as 'count').getAll()).toEqual({ count: 5 });
    expect(s1.has('keep')).toBe(true);
    expect(s1.get('count')).toBe(5);
  });

  it('append and increment create missing fields, and refuse wrong types', () => {
    const s = new State<Record<string, unknown>>({ n: 'x', l: 1 });
    expect(s.append({ fresh: 1 }).get('fresh')).toEqual([1]);
    expect(s.increment({ fresh: 2n }).get('fresh')).toBe(2n);
    expect(() => s.append({ l: 2 })).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    expect(() => s.increment({ n: 1 })).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    expect(() => s.wipe({ keep: ['n'], delete: ['l'] })).toThrowError(/either delete or keep/);
  });

  it('the fields object cannot be mutated from outside', () => {
    const fields = { a: 1 };
    const s = new State(fields);
    fields.a = 2;
    expect(s.get('a')).toBe(1);
    const all = s.getAll();
    all.a = 3;
    expect(s.get('a')).toBe(1);
  });

  it('serialize / deserialize round-trip', () => {
    const s = new State({ when: new Date(5), big: 2n ** 64n, nested: { list: [new Set([1])] } });
    expect(State.deserialize(s.serialize()).getAll()).toEqual(s.getAll());
    expect(State.isState(s)).toBe(true);
    expect(State.isState({})).toBe(false);
  });
});

/** The bench's pure helpers: the workload is what it says, and the numbers are read right. */
import { describe, expect, it } from 'vitest';
import { percentile, ratio, spread } from '../../bench/stats.js';
import { Conversations, FULL, MESSAGE_BYTES, isStateAt, message, readPlan, stateAt } from '../../bench/workload.js';

const utf8 = (text: string) => new TextEncoder().encode(text).length;

describe('bench workload', () => {
  it('makes ~512-byte messages, reproducibly, never one repeated string', () => {
    expect(message(3, 17)).toEqual(message(3, 17));
    const contents = new Set<string>();
    for (let app = 0; app < 5; app++) {
      for (let step = 0; step < 40; step++) {
        const { content } = message(app, step);
        expect(Math.abs(utf8(content) - MESSAGE_BYTES)).toBeLessThanOrEqual(16);
        contents.add(content.replace(/^#\d+ /, ''));
      }
    }
    expect(contents.size).toBe(200);
  });

  it('grows each app by one message per step, as stateAt rebuilds it', () => {
    const conversations = new Conversations(2);
    let last;
    for (let i = 0; i < 10; i++) last = conversations.next(1);
    expect(last!.step).toBe(9);
    expect(last!.state).toEqual(stateAt(1, 9));
    expect(isStateAt(last!.state, 1, 9)).toBe(true);
    expect(isStateAt(last!.state, 1, 8)).toBe(false);
    expect(isStateAt(stateAt(0, 9), 1, 9)).toBe(false);
  });

  it('hands each state its own messages array (a later step cannot change a saved one)', () => {
    const conversations = new Conversations(1);
    const first = conversations.next(0).state;
    conversations.next(0);
    expect(first.messages).toHaveLength(1);
  });

  it('plans reads inside the data, the same every time', () => {
    const plan = readPlan(FULL);
    expect(plan).toEqual(readPlan(FULL));
    expect(plan.latest).toHaveLength(FULL.latestLoads);
    expect(plan.steps).toHaveLength(FULL.stepLoads);
    for (const [app, step] of plan.steps) {
      expect(app).toBeGreaterThanOrEqual(0);
      expect(app).toBeLessThan(FULL.apps);
      expect(step).toBeLessThan(FULL.steps);
    }
    expect(new Set(plan.steps.map(([, s]) => s)).size).toBeGreaterThan(100);
  });
});

describe('bench stats', () => {
  it('takes nearest-rank percentiles and medians', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(spread([4, 1, 2, 3]).median).toBe(2.5);
  });

  it('prints ratios as × figures and refuses to divide by nothing', () => {
    expect(ratio(300, 100)).toBe('3.0×');
    expect(ratio(2500, 100)).toBe('25×');
    expect(ratio(45, 100)).toBe('0.45×');
    expect(ratio(1, 0)).toBe('–');
    expect(ratio(undefined, 1)).toBe('–');
  });
});

/**
 * The delta cases of the conformance suite: they run when the target is wrapped with
 * `inDeltaMode`, on top of every other case (which then also run with deltas). Each saved step
 * must load back exactly — by sequence id, as the latest, in history pages — whatever the
 * changes between steps, across snapshots, compressed rows, restarts, forks, prunes and
 * concurrent writers; and a load stays one round trip.
 */
import { DELTA_KEY } from '../core/delta.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import { initializeFrom } from '../core/sessions.js';
import type { SessionPersister } from '../core/types.js';
import { equal, jsonEquals, ok } from './assert.js';
import type { ConformanceCase, ConformanceSubject } from './conformance.js';
import { random, roundTripsOf, step, withSubject } from './helpers.js';

const WORDS = ['agent', 'tool', 'call', 'résumé', 'state', '数据', 'step', 'fork', 'ünïcode', 'emoji 🚀', 'quote "x"', 'back\\slash'];

/** A random JSON value: nested lists and objects, big integers, negative zero where the store keeps it. */
function value(next: () => number, depth = 0, negativeZero = true): JsonValue {
  const pick = Math.floor(next() * (depth > 2 ? 6 : 8));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return next() < 0.1 ? (negativeZero ? -0 : 0) : Math.round((next() - 0.5) * 1e6) / 100;
    case 3:
      return next() < 0.3 ? 9007199254740993n + BigInt(Math.floor(next() * 1000)) : Math.floor(next() * 1e9);
    case 4:
    case 5:
      return Array.from({ length: 1 + Math.floor(next() * 4) }, () => WORDS[Math.floor(next() * WORDS.length)]!).join(' ');
    case 6:
      return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1, negativeZero));
    default: {
      const object: JsonObject = {};
      for (let i = Math.floor(next() * 4); i > 0; i--) object[`k${Math.floor(next() * 6)}`] = value(next, depth + 1, negativeZero);
      return object;
    }
  }
}

/** The next state: lists grow (mostly), shrink or change type; scalars change; fields come and go. */
function evolve(state: JsonObject, next: () => number, negativeZero: boolean): JsonObject {
  const out: JsonObject = { ...state };
  const messages = Array.isArray(out.messages) ? out.messages : [];
  const roll = next();
  if (roll < 0.6) out.messages = [...messages, { role: next() < 0.5 ? 'user' : 'assistant', text: String(value(next, 3)) + ' '.repeat(Math.floor(next() * 80)) }];
  else if (roll < 0.7) out.messages = messages.slice(0, Math.floor(messages.length / 2));
  else if (roll < 0.75) out.messages = 'not a list any more';
  else if (roll < 0.8) out.messages = [...messages.slice(1), 'rotated'];
  for (let i = Math.floor(next() * 3); i > 0; i--) {
    const key = `f${Math.floor(next() * 8)}`;
    if (next() < 0.2) delete out[key];
    else out[key] = value(next, 0, negativeZero);
  }
  if (next() < 0.1) {
    // Same fields in another order: the order must come back too.
    const reordered: JsonObject = {};
    for (const key of Object.keys(out).reverse()) reordered[key] = out[key]!;
    return reordered;
  }
  return out;
}

function isDelta(stateJson: string): boolean {
  return stateJson.startsWith(`{"${DELTA_KEY}"`) || stateJson.includes(`"${DELTA_KEY}":`);
}

/** Every step of `app` loads back as `expected[i]` by sequence id, the latest as the last, and in history pages. */
async function checkAll(subject: ConformanceSubject, partitionKey: string, app: string, expected: JsonObject[], label: string, keyOrder: boolean): Promise<void> {
  const persister = subject.persister as unknown as SessionPersister;
  for (let seq = 0; seq < expected.length; seq++) {
    const load = () => persister.load(partitionKey, app, seq);
    let loaded!: Awaited<ReturnType<typeof load>>;
    const trips = subject.roundTrips ? await roundTripsOf(subject, async () => (loaded = await load())) : ((loaded = await load()), 1);
    equal(trips, 1, `${label}: round trips of loading step ${seq}`);
    jsonEquals(loaded?.state, expected[seq], `${label}: step ${seq}`);
    if (keyOrder) equal(JSON.stringify(Object.keys(loaded!.state)), JSON.stringify(Object.keys(expected[seq]!)), `${label}: field order of step ${seq}`);
  }
  const latest = () => persister.load(partitionKey, app);
  let last!: Awaited<ReturnType<typeof latest>>;
  const trips = subject.roundTrips ? await roundTripsOf(subject, async () => (last = await latest())) : ((last = await latest()), 1);
  equal(trips, 1, `${label}: round trips of the latest load`);
  equal(last?.sequenceId, expected.length - 1, `${label}: the latest step`);
  jsonEquals(last?.state, expected[expected.length - 1], `${label}: the latest state`);
  let before: number | null = null;
  do {
    const page: Awaited<ReturnType<SessionPersister['listHistory']>> = await persister.listHistory(partitionKey, app, { limit: 4, before, withState: true });
    for (const entry of page.steps) jsonEquals(entry.state, expected[entry.sequenceId], `${label}: history step ${entry.sequenceId}`);
    before = page.nextBefore;
  } while (before !== null);
}

export const deltaCases: ConformanceCase[] = [
  {
    name: 'delta: a growing app stores deltas between snapshots, and every step, the latest and each history page load back exactly, one round trip a load',
    requires: 'delta',
    run: withSubject(async (subject, _id, target) => {
      const { persister } = subject;
      const expected: JsonObject[] = [];
      let state: JsonObject = { messages: [], count: 0, big: 9007199254740993n, tags: ['a'] };
      for (let seq = 0; seq < 11; seq++) {
        if (seq > 0) {
          state = { ...state, messages: [...(state.messages as JsonValue[]), { role: 'user', text: `message ${seq} ${'words '.repeat(12)}` }], count: seq };
          if (seq === 4) state = { ...state, tags: 'now a string' }; // a type change
          if (seq === 5) delete state.big; // a removed field
          if (seq === 6) state = { ...state, big: -12345678901234567890n, added: { nested: [1, 2, 3] } };
          if (seq === 7) state = { ...state, messages: (state.messages as JsonValue[]).slice(0, 2) }; // a list that shrank
        }
        expected.push(state);
        const save = () => persister.save(step('p', 'grow', seq, state));
        if (subject.roundTrips) equal(await roundTripsOf(subject, save), 1, `round trips of saving step ${seq}`);
        else await save();
      }
      await checkAll(subject, 'p', 'grow', expected, 'growing app', target.capabilities?.keyOrder !== false);
      if (subject.inspect) {
        const rows = (await subject.inspect('p', 'grow')).sort((a, b) => a.sequenceId - b.sequenceId);
        equal(rows.length, expected.length, 'one stored row per step (side channel)');
        ok(!isDelta(rows[0]!.stateJson), 'the first step is a snapshot: a plain Burr row');
        ok(rows.filter((row) => isDelta(row.stateJson)).length >= 5, 'most steps are stored as deltas (side channel)');
        ok(rows[2]!.stateJson.length < rows[1]!.stateJson.length * 4, 'a delta row does not hold the whole state');
      }
    }),
  },
  {
    name: 'delta: random changes (list growth, shrinkage, type changes, removed and reordered fields, big integers) load back exactly, over 3 seeds',
    requires: 'delta',
    run: withSubject(async (subject, _id, target) => {
      const negativeZero = target.capabilities?.negativeZero !== false;
      for (const seed of [1, 7, 42]) {
        const next = random(seed);
        const expected: JsonObject[] = [];
        let state: JsonObject = { messages: [] };
        for (let seq = 0; seq < 14; seq++) {
          if (seq > 0) state = evolve(state, next, negativeZero);
          expected.push(state);
          await subject.persister.save(step('p', `seed-${seed}`, seq, state));
        }
        await checkAll(subject, 'p', `seed-${seed}`, expected, `seed ${seed}`, target.capabilities?.keyOrder !== false);
      }
    }),
  },
  {
    name: 'delta: a new instance (a restart) starts a snapshot and reads the old chain; a fork from a middle step loads without the rest of its source',
    requires: 'delta',
    run: withSubject(async (subject, _id, target) => {
      const { persister } = subject;
      const expected: JsonObject[] = [];
      let state: JsonObject = { messages: [] };
      for (let seq = 0; seq < 5; seq++) {
        state = { ...state, messages: [...(state.messages as JsonValue[]), `turn ${seq}`], n: seq };
        expected.push(state);
        await persister.save(step('p', 'app', seq, state));
      }
      const sessions = persister as unknown as SessionPersister;
      const fork = await initializeFrom(sessions, { partitionKey: 'p', appId: 'fork', defaultEntrypoint: 'start', defaultState: {}, forkFrom: { partitionKey: 'p', appId: 'app', sequenceId: 2 } });
      jsonEquals(fork.state, expected[2], 'the fork starts from step 2');
      const forkedStep = { ...expected[2]!, n: 'fork' };
      await persister.save(step('p', 'fork', fork.nextSequenceId, forkedStep));
      jsonEquals((await persister.load('p', 'fork', fork.nextSequenceId))!.state, forkedStep, 'the step after the fork loads');
      jsonEquals(withoutFork((await persister.load('p', 'fork', 2))!.state), expected[2], 'the fork\'s first step loads');
      if (subject.reopen) {
        const restarted = subject.reopen();
        for (let seq = 5; seq < 8; seq++) {
          state = { ...state, messages: [...(state.messages as JsonValue[]), `turn ${seq}`], n: seq };
          expected.push(state);
          await restarted.save(step('p', 'app', seq, state));
        }
        await restarted.close();
        await checkAll(subject, 'p', 'app', expected, 'after a restart', target.capabilities?.keyOrder !== false);
        if (subject.inspect) {
          const rows = (await subject.inspect('p', 'app')).sort((a, b) => a.sequenceId - b.sequenceId);
          // A restarted writer remembers nothing, so its first step is whole (unless it falls on a block start anyway).
          ok(!isDelta(rows[5]!.stateJson), 'the first step after the restart is a snapshot');
        }
      }
    }),
  },
  {
    name: 'delta: two writers of one app (each remembering its own last step) — every step loads back what its writer saved',
    requires: 'delta',
    run: withSubject(async (subject, _id, target) => {
      if (!subject.reopen) return;
      const other = subject.reopen();
      const writers = [subject.persister, other];
      const expected: JsonObject[] = [];
      const next = random(99);
      const views: JsonObject[] = [{ messages: [] }, { messages: [] }];
      for (let seq = 0; seq < 12; seq++) {
        const w = next() < 0.5 ? 0 : 1;
        views[w] = evolve(views[w]!, next, true);
        expected.push(views[w]!);
        await writers[w]!.save(step('p', 'shared', seq, views[w]!));
      }
      await other.close();
      await checkAll(subject, 'p', 'shared', expected, 'two writers', target.capabilities?.keyOrder !== false);
    }),
  },
  {
    name: 'delta: prune keeps every kept step loadable (a block is kept whole down to its snapshot)',
    requires: 'delta',
    run: withSubject(async (subject, _id, target) => {
      const persister = subject.persister as unknown as SessionPersister;
      if (typeof persister.prune !== 'function') return;
      const expected: JsonObject[] = [];
      let state: JsonObject = { messages: [] };
      for (let seq = 0; seq < 10; seq++) {
        state = { ...state, messages: [...(state.messages as JsonValue[]), `turn ${seq}: ${WORDS.join(' ')}`] };
        expected.push(state);
        await persister.save(step('p', 'old', seq, state));
      }
      const every = target.storage?.delta?.snapshotEvery ?? 50;
      const prune = () => persister.prune({ partitionKey: 'p', appId: 'old', keepLast: 2 });
      let deletedSteps = 0;
      const trips = subject.roundTrips ? await roundTripsOf(subject, async () => ({ deletedSteps } = await prune())) : (({ deletedSteps } = await prune()), 0);
      // One history page, one read of the oldest kept step's block, then the backend's prune.
      if (subject.roundTrips) equal(trips, 2 + (target.sessionRoundTrips?.prune ?? 1), 'round trips of a delta-mode prune of one app');
      const kept = (await persister.listHistory('p', 'old')).steps.map((s) => s.sequenceId);
      ok(kept.includes(8) && kept.includes(9), `the last 2 steps are kept, got ${kept.join(',')}`);
      // Steps 8 and 9 are stored against their block's snapshot: the block stays from there, nothing below it.
      const floor = Math.floor(8 / every) * every;
      jsonEquals(kept, Array.from({ length: 10 - floor }, (_, i) => 9 - i), 'kept: the block of the oldest kept step, down to its snapshot');
      equal(deletedSteps, floor, 'deleted: every step below that block');
      for (const seq of kept) jsonEquals((await persister.load('p', 'old', seq))?.state, expected[seq], `kept step ${seq}`);
      await persister.save(step('p', 'old', 10, { ...state, messages: [...(state.messages as JsonValue[]), 'after prune'] }));
      jsonEquals((await persister.load('p', 'old'))?.state, { ...state, messages: [...(state.messages as JsonValue[]), 'after prune'] }, 'a save after the prune');
    }),
  },
];

function withoutFork(state: JsonObject): JsonObject {
  const { __burr_edge_fork__: _fork, ...rest } = state;
  return rest;
}

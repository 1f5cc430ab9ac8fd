/**
 * The session cases of the conformance suite: optimistic concurrency, history, paged listings
 * (exact while other writers save), partition keys, retention, resume and fork. Every backend
 * runs them on every transport and runtime it claims.
 */
import { FORK_KEY } from '../core/lineage.js';
import { initializeFrom, StepSaver, allApps, allHistory } from '../core/sessions.js';
import type { AppSummary, SessionPersister } from '../core/types.js';
import { equal, jsonEquals, ok, rejectsWith } from './assert.js';
import type { ConformanceCase, ConformanceSubject } from './conformance.js';
import { random, roundTripsOf, step, withSubject } from './helpers.js';

function sessions(subject: ConformanceSubject): SessionPersister {
  const persister = subject.persister as Partial<SessionPersister>;
  for (const method of ['listHistory', 'listApps', 'listPartitionKeys', 'prune', 'deleteApp'] as const) {
    ok(typeof persister[method] === 'function', `the persister has no ${method} (declare capabilities.sessions: false if that is intended)`);
  }
  return persister as SessionPersister;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Every page of a listing, with the round trips each page took when the subject counts them. */
async function listAll(subject: ConformanceSubject, partitionKey: string, limit: number, between?: (page: number) => Promise<void>): Promise<AppSummary[]> {
  const persister = sessions(subject);
  const apps: AppSummary[] = [];
  let cursor: string | null = null;
  let page = 0;
  do {
    const current = cursor;
    let result!: Awaited<ReturnType<SessionPersister['listApps']>>;
    const trips = subject.roundTrips ? await roundTripsOf(subject, async () => (result = await persister.listApps(partitionKey, { limit, cursor: current }))) : ((result = await persister.listApps(partitionKey, { limit, cursor: current })), 1);
    equal(trips, 1, `round trips of listApps page ${page}`);
    ok(result.apps.length <= limit, `page ${page} holds at most ${limit} apps, got ${result.apps.length}`);
    if (result.nextCursor !== null) equal(result.apps.length, limit, `a page with a next cursor is full (page ${page})`);
    apps.push(...result.apps);
    cursor = result.nextCursor;
    page++;
    if (cursor !== null) await between?.(page);
  } while (cursor !== null && page < 10_000);
  return apps;
}

export const sessionCases: ConformanceCase[] = [
  {
    name: 'sessions: expectedSequenceId saves only on the step it expects (null: a new app), atomically; a refusal writes nothing and says what the app holds',
    requires: 'sessions',
    run: withSubject(async (subject, _id, target) => {
      const { persister } = subject;
      const conditionalTrips = target.sessionRoundTrips?.conditionalSave ?? 1;
      const first = () => persister.save(step('p', 'a', 0, { n: 0 }, { expectedSequenceId: null }));
      if (subject.roundTrips) equal(await roundTripsOf(subject, first), conditionalTrips, 'round trips of a conditional save');
      else await first();
      await persister.save(step('p', 'a', 1, { n: 1 }, { expectedSequenceId: 0 }));
      const stale = await rejectsWith(() => persister.save(step('p', 'a', 2, { n: 'stale' }, { expectedSequenceId: 0 })), 'CONCURRENT_UPDATE', 'a save expecting an older step');
      equal((stale as unknown as { expectedSequenceId: number }).expectedSequenceId, 0, 'the error names the expected step');
      const actual = (stale as unknown as { actualSequenceId: number | null | undefined }).actualSequenceId;
      ok(actual === undefined || actual === 1, `the error names the latest step when the store reports it (1), got ${String(actual)}`);
      ok(/load the latest step/.test(stale.message), `the message says what to do: ${stale.message}`);
      await rejectsWith(() => persister.save(step('p', 'a', 5, { n: 'new?' }, { expectedSequenceId: null })), 'CONCURRENT_UPDATE', 'expecting a new app that exists');
      await rejectsWith(() => persister.save(step('p', 'a', 1, { n: 'other' }, { expectedSequenceId: 0 })), 'CONCURRENT_UPDATE', 'a different record at the next key, expecting the step before');
      equal((await persister.load('p', 'a'))?.sequenceId, 1, 'nothing was written by the refused saves');
      jsonEquals((await persister.load('p', 'a', 1))?.state, { n: 1 }, 'step 1 is not overwritten');
      if (subject.inspect) equal((await subject.inspect('p', 'a')).length, 2, 'two records stored (side channel)');
      // A retry of a conditional save whose response was lost finds its own record: success.
      await persister.save(step('p', 'a', 2, { n: 2 }, { expectedSequenceId: 1 }));
      await persister.save(step('p', 'a', 2, { n: 2 }, { expectedSequenceId: 1 }));
      // Gaps are allowed (a fork continues its source's numbering); the expectation is the latest step.
      await persister.save(step('p', 'a', 7, { n: 7 }, { expectedSequenceId: 2 }));
      await persister.save(step('q', 'a', 3, { n: 3 }, { expectedSequenceId: null }));
      await rejectsWith(() => persister.save(step('p', 'a', 8, {}, { expectedSequenceId: 8 })), 'INVALID_ARGUMENT', 'an expectation at or after the new step');
      await rejectsWith(() => persister.save(step('p', 'a', 8, {}, { expectedSequenceId: -1 })), 'INVALID_ARGUMENT', 'a negative expectation');
      await rejectsWith(() => persister.save(step('p', 'a', 8, {}, { expectedSequenceId: 1.5 })), 'INVALID_ARGUMENT', 'a fractional expectation');
      equal((await persister.load('p', 'a'))?.sequenceId, 7, 'latest after the gap');
    }),
  },
  {
    name: 'sessions: writers racing on one session with expectedSequenceId — exactly one wins each step, none lost or duplicated',
    requires: 'sessions',
    run: withSubject(async ({ persister }) => {
      const writers = 6;
      const rounds = 4;
      await persister.save(step('p', 'race', 0, { log: [] }, { expectedSequenceId: null }));
      const wins = new Map<number, number[]>();
      await Promise.all(
        Array.from({ length: writers }, async (_, writer) => {
          let won = 0;
          for (let attempt = 0; won < rounds && attempt < 500; attempt++) {
            const latest = (await persister.load('p', 'race'))!;
            const log = [...((latest.state.log as number[]) ?? []), writer];
            try {
              await persister.save(step('p', 'race', latest.sequenceId + 1, { log }, { expectedSequenceId: latest.sequenceId }));
              won++;
              wins.set(latest.sequenceId + 1, [...(wins.get(latest.sequenceId + 1) ?? []), writer]);
            } catch (error) {
              const code = (error as { code?: string }).code;
              if (code !== 'CONCURRENT_UPDATE') throw error;
            }
          }
          equal(won, rounds, `writer ${writer} got its ${rounds} steps in`);
        }),
      );
      const total = writers * rounds;
      const latest = (await persister.load('p', 'race'))!;
      equal(latest.sequenceId, total, 'one step per successful save');
      equal((latest.state.log as number[]).length, total, 'the final state holds every writer\'s every step: none lost');
      for (let i = 1; i <= total; i++) equal(wins.get(i)?.length, 1, `exactly one winner for step ${i}`);
      for (let i = 1; i <= total; i++) {
        const saved = (await persister.load('p', 'race', i))!;
        equal((saved.state.log as number[]).length, i, `step ${i} extends step ${i - 1}`);
      }
    }),
  },
  {
    name: 'sessions: listHistory pages an app\'s steps newest first, state only on request, one round trip per page',
    requires: 'sessions',
    run: withSubject(async (subject) => {
      const persister = sessions(subject);
      for (let i = 0; i < 7; i++) await persister.save(step('p', 'h', i, { n: i, big: 9007199254740993n }, { status: i === 3 ? 'failed' : 'completed' }));
      await persister.save(step('p', 'other', 9));
      await persister.save(step('q', 'h', 8));
      const pages: number[][] = [];
      let before: number | null = null;
      do {
        const at = before;
        let page!: Awaited<ReturnType<SessionPersister['listHistory']>>;
        const trips = subject.roundTrips ? await roundTripsOf(subject, async () => (page = await persister.listHistory('p', 'h', { limit: 3, before: at }))) : ((page = await persister.listHistory('p', 'h', { limit: 3, before: at })), 1);
        equal(trips, 1, 'round trips of a history page');
        equal(page.appId, 'h', 'page names the app');
        for (const s of page.steps) {
          ok(!('state' in s), 'no state without withState');
          ok(ISO.test(s.createdAt), `createdAt is ISO 8601 with milliseconds: ${s.createdAt}`);
          equal(s.position, `step-${s.sequenceId}`, 'position');
          equal(s.status, s.sequenceId === 3 ? 'failed' : 'completed', 'status');
        }
        pages.push(page.steps.map((s) => s.sequenceId));
        before = page.nextBefore;
      } while (before !== null && pages.length < 10);
      jsonEquals(pages, [[6, 5, 4], [3, 2, 1], [0]], 'pages of sequence ids, newest first');
      const full = await persister.listHistory('p', 'h', { withState: true, before: 2 });
      jsonEquals(full.steps.map((s) => s.state), [{ n: 1, big: 9007199254740993n }, { n: 0, big: 9007199254740993n }], 'states with withState, big integers exact');
      equal(full.nextBefore, null, 'the last page has no next');
      const exact = await persister.listHistory('p', 'h', { limit: 7 });
      equal(exact.steps.length, 7, 'a page exactly as long as the history');
      equal(exact.nextBefore, null, 'and no next page');
      jsonEquals(await persister.listHistory('p', 'never'), { partitionKey: 'p', appId: 'never', steps: [], nextBefore: null }, 'an app with no step');
      jsonEquals((await persister.listHistory('p', 'h', { before: 0 })).steps, [], 'nothing before step 0');
      await rejectsWith(() => persister.listHistory('p', 'h', { limit: 0 }), 'INVALID_ARGUMENT', 'limit 0');
      await rejectsWith(() => persister.listHistory('p', 'h', { before: -1 }), 'INVALID_ARGUMENT', 'a negative before');
      await rejectsWith(() => persister.listHistory('p', ''), 'INVALID_ARGUMENT', 'an empty app id');
    }),
  },
  {
    name: 'sessions: listApps pages a partition most recently saved first with each app\'s latest step, one round trip per page',
    sameInDeltaMode: true,
    requires: 'sessions',
    run: withSubject(async (subject) => {
      const persister = sessions(subject);
      for (let i = 0; i < 7; i++) await persister.save(step('p', `app-${i}`, 0));
      await persister.save(step('p', 'app-2', 1, { n: 1 }, { status: 'failed' }));
      await persister.save(step('p', 'app-2', 2, { n: 2 }));
      await persister.save(step('other', 'elsewhere', 0));
      const listed = await listAll(subject, 'p', 3);
      jsonEquals(listed.map((a) => a.appId), await persister.listAppIds('p'), 'the same order as listAppIds');
      jsonEquals(listed.map((a) => a.appId), ['app-2', 'app-6', 'app-5', 'app-4', 'app-3', 'app-1', 'app-0'], 'most recently saved first');
      const moved = listed[0]!;
      equal(moved.latestSequenceId, 2, 'the latest step of app-2');
      equal(moved.position, 'step-2', 'its position');
      equal(moved.status, 'completed', 'its status');
      ok(ISO.test(moved.updatedAt), `updatedAt is ISO 8601 with milliseconds: ${moved.updatedAt}`);
      equal(moved.updatedAt, (await persister.load('p', 'app-2'))!.createdAt, 'updatedAt is when the latest step was saved');
      jsonEquals(listed.map((a) => a.appId), (await listAll(subject, 'p', 100)).map((a) => a.appId), 'one page or many, the same listing');
      jsonEquals(await persister.listApps('empty'), { partitionKey: 'empty', apps: [], nextCursor: null }, 'an empty partition');
      const first = await persister.listApps('p', { limit: 2 });
      ok(first.nextCursor, 'a next cursor');
      await rejectsWith(() => persister.listApps('other', { cursor: first.nextCursor }), 'INVALID_ARGUMENT', "another partition's cursor");
      await rejectsWith(() => persister.listApps('p', { cursor: 'not-a-cursor' }), 'INVALID_ARGUMENT', 'a made-up cursor');
      await rejectsWith(() => persister.listApps('p', { cursor: `${first.nextCursor!.slice(0, -4)}AAAA` }), 'INVALID_ARGUMENT', 'a damaged cursor');
      await rejectsWith(() => persister.listApps('p', { limit: -2 }), 'INVALID_ARGUMENT', 'a negative limit');
      await persister.deleteApp('p', 'app-6');
      jsonEquals((await listAll(subject, 'p', 4)).map((a) => a.appId), ['app-2', 'app-5', 'app-4', 'app-3', 'app-1', 'app-0'], 'a deleted app is not listed');
    }),
  },
  {
    name: 'sessions: listApps stays exact while other writers save between pages — every app once, in its place when the listing began (property, 4 seeds)',
    sameInDeltaMode: true,
    requires: 'sessions',
    run: withSubject(async (subject) => {
      const persister = sessions(subject);
      for (let seed = 1; seed <= 4; seed++) {
        const rand = random(seed * 7919);
        const partition = `prop-${seed}`;
        const count = 12 + Math.floor(rand() * 12);
        const next = new Map<string, number>();
        for (let i = 0; i < count; i++) {
          const app = `a${Math.floor(rand() * 1e6).toString(36)}-${i}`;
          await persister.save(step(partition, app, 0));
          next.set(app, 1);
        }
        // Save some of them again so the order is not the creation order.
        for (const app of [...next.keys()].filter(() => rand() < 0.4)) {
          await persister.save(step(partition, app, next.get(app)!));
          next.set(app, next.get(app)! + 1);
        }
        const expected = await persister.listAppIds(partition);
        const originals = [...next.keys()];
        let created = 0;
        const limit = 1 + Math.floor(rand() * 5);
        const listed = await listAll(subject, partition, limit, async () => {
          // Between pages: saves to listed and unlisted apps, and new apps, some concurrent with each other.
          const writes: Promise<void>[] = [];
          for (let w = Math.floor(rand() * 4); w > 0; w--) {
            if (rand() < 0.25) writes.push(persister.save(step(partition, `new-${seed}-${created++}`, 0)));
            else {
              const app = originals[Math.floor(rand() * originals.length)]!;
              const sequenceId = next.get(app)!;
              next.set(app, sequenceId + 1);
              writes.push(persister.save(step(partition, app, sequenceId)));
            }
          }
          await Promise.all(writes);
        });
        const ids = listed.map((a) => a.appId);
        equal(new Set(ids).size, ids.length, `seed ${seed}: no app listed twice (${ids.join(',')})`);
        jsonEquals(ids, expected, `seed ${seed}: every app that existed, once, in its place when the listing began (page size ${limit})`);
        for (const app of listed) equal(app.latestSequenceId < next.get(app.appId)!, true, `seed ${seed}: ${app.appId}'s latest step is one that was saved`);
      }
    }),
  },
  {
    name: 'sessions: listPartitionKeys pages the partitions that hold apps, ascending, one round trip per page',
    sameInDeltaMode: true,
    requires: 'sessions',
    run: withSubject(async (subject) => {
      const persister = sessions(subject);
      const keys = ['', 'a', 'a:b', 'a%3A', 'b', 'z', 'é', '\u{1F600}'];
      for (const key of [...keys].reverse()) await persister.save(step(key, 'app', 0));
      await persister.save(step('a', 'second', 0));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const at = cursor;
        let page!: Awaited<ReturnType<SessionPersister['listPartitionKeys']>>;
        const trips = subject.roundTrips ? await roundTripsOf(subject, async () => (page = await persister.listPartitionKeys({ limit: 3, cursor: at }))) : ((page = await persister.listPartitionKeys({ limit: 3, cursor: at })), 1);
        equal(trips, 1, 'round trips of a partition page');
        seen.push(...page.partitionKeys);
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 20);
      // These keys sort the same by code point (SQL, Redis, MongoDB: UTF-8 bytes) and by UTF-16
      // code unit (IndexedDB); the two orders differ only between U+E000–U+FFFF and astral characters.
      const sorted = [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      jsonEquals(seen, sorted, 'every partition once, ascending');
      await persister.deleteApp('z', 'app');
      jsonEquals((await persister.listPartitionKeys()).partitionKeys, sorted.filter((k) => k !== 'z'), 'a partition whose last app was deleted is not listed');
      await rejectsWith(() => persister.listPartitionKeys({ cursor: 'garbage!' }), 'INVALID_ARGUMENT', 'a made-up cursor');
    }),
  },
  {
    name: 'sessions: prune removes old steps as told and never an app\'s latest step',
    requires: 'sessions',
    run: withSubject(async (subject, _id, target) => {
      const persister = sessions(subject);
      const pruneTrips = target.sessionRoundTrips?.prune ?? 1;
      for (let i = 0; i < 6; i++) await persister.save(step('p', 'long', i));
      for (let i = 0; i < 3; i++) await persister.save(step('p', 'short', i));
      await persister.save(step('p', 'single', 0));
      for (let i = 0; i < 4; i++) await persister.save(step('q', 'kept', i));
      const history = async (pk: string, app: string) => (await persister.listHistory(pk, app)).steps.map((s) => s.sequenceId);
      const prune = () => persister.prune({ partitionKey: 'p', keepLast: 2 });
      let result!: Awaited<ReturnType<SessionPersister['prune']>>;
      // In delta mode a prune walks each app (the delta prune case counts that).
      if (subject.roundTrips && target.storage?.storage !== 'delta') equal(await roundTripsOf(subject, async () => (result = await prune())), pruneTrips, 'round trips of prune');
      else result = await prune();
      equal(result.deletedSteps, 5, 'steps removed (4 of long, 1 of short)');
      jsonEquals(await history('p', 'long'), [5, 4], 'long keeps its last 2');
      jsonEquals(await history('p', 'short'), [2, 1], 'short keeps its last 2');
      jsonEquals(await history('p', 'single'), [0], 'single keeps its only step');
      jsonEquals(await history('q', 'kept'), [3, 2, 1, 0], 'another partition is untouched');
      equal((await persister.prune({ partitionKey: 'q', olderThan: new Date(Date.now() - 24 * 3600_000) })).deletedSteps, 0, 'nothing is older than a day ago');
      equal((await persister.prune({ partitionKey: 'q', appId: 'kept', keepLast: 3, olderThan: Date.now() + 24 * 3600_000 })).deletedSteps, 1, 'both given: a step goes when both say so');
      jsonEquals(await history('q', 'kept'), [3, 2, 1], 'kept keeps 3');
      equal((await persister.prune({ olderThan: new Date(Date.now() + 24 * 3600_000).toISOString() })).deletedSteps, 4, 'every partition: all but each latest step');
      jsonEquals(await history('p', 'long'), [5], 'long keeps its latest');
      jsonEquals(await history('q', 'kept'), [3], 'kept keeps its latest');
      equal((await persister.load('p', 'long'))?.sequenceId, 5, 'load still finds the latest step');
      jsonEquals(await persister.listAppIds('p'), ['single', 'short', 'long'], 'every app is still there');
      await rejectsWith(() => persister.prune({ partitionKey: 'p' }), 'INVALID_ARGUMENT', 'neither olderThan nor keepLast');
      await rejectsWith(() => persister.prune({ keepLast: 0 }), 'INVALID_ARGUMENT', 'keepLast 0');
      await rejectsWith(() => persister.prune({ olderThan: 'yesterday' }), 'INVALID_ARGUMENT', 'an unreadable date');
      await rejectsWith(() => persister.prune({ appId: 'long', keepLast: 1 }), 'INVALID_ARGUMENT', 'an app without its partition');
    }),
  },
  {
    name: 'sessions: initializeFrom resumes, starts fresh, forks from any step without writing into the source, and StepSaver continues',
    requires: 'sessions',
    run: withSubject(async (subject, _id, target) => {
      const persister = sessions(subject);
      const conditionalTrips = target.sessionRoundTrips?.conditionalSave ?? 1;
      const base = { partitionKey: 'u', defaultState: { count: 0 }, defaultEntrypoint: 'start' };
      const fresh = await initializeFrom(persister, { ...base, appId: 'main' });
      jsonEquals(
        { origin: fresh.origin, state: fresh.state, next: fresh.nextSequenceId, entrypoint: fresh.entrypoint, position: fresh.position },
        { origin: 'fresh', state: { count: 0 }, next: 0, entrypoint: 'start', position: null },
        'a new app starts from the defaults',
      );
      equal(await persister.load('u', 'main'), null, 'starting fresh writes nothing');
      const saver = new StepSaver(persister, { partitionKey: 'u', appId: 'main', nextSequenceId: fresh.nextSequenceId });
      for (let i = 1; i <= 4; i++) await saver.afterStep(`act-${i}`, { count: i });
      await saver.afterStep('act-5', { count: 4 }, { failed: true });
      const resumed = await initializeFrom(persister, { ...base, appId: 'main' });
      jsonEquals(
        { origin: resumed.origin, state: resumed.state, seq: resumed.sequenceId, next: resumed.nextSequenceId, entrypoint: resumed.entrypoint, position: resumed.position, status: resumed.status },
        { origin: 'resumed', state: { count: 4 }, seq: 4, next: 5, entrypoint: null, position: 'act-5', status: 'failed' },
        'resume continues after the latest step',
      );
      equal((await initializeFrom(persister, { ...base, appId: 'main', resumeAtNextAction: false })).entrypoint, 'act-5', 'resumeAtNextAction false reruns the loaded step');
      const sourceBefore = await persister.listHistory('u', 'main', { withState: true });
      const trips = subject.roundTrips ? subject.roundTrips() : 0;
      const fork = await initializeFrom(persister, { ...base, appId: 'branch', forkFrom: { appId: 'main', sequenceId: 2 } });
      if (subject.roundTrips) equal(subject.roundTrips() - trips, 1 + conditionalTrips, 'round trips of a fork: one load and one conditional save');
      jsonEquals(
        { origin: fork.origin, state: fork.state, seq: fork.sequenceId, next: fork.nextSequenceId, from: fork.forkedFrom },
        { origin: 'forked', state: { count: 3 }, seq: 2, next: 3, from: { partitionKey: 'u', appId: 'main', sequenceId: 2 } },
        'a fork starts from the source step',
      );
      jsonEquals(await persister.listHistory('u', 'main', { withState: true }), sourceBefore, 'the source is not written to');
      const branchHistory = await persister.listHistory('u', 'branch');
      jsonEquals(branchHistory.steps.map((s) => [s.sequenceId, s.position, s.forkedFrom]), [[2, 'act-3', { partitionKey: 'u', appId: 'main', sequenceId: 2 }]], "the fork's first step records its lineage (history without state)");
      const stored = (await persister.load('u', 'branch'))!;
      jsonEquals(stored.state[FORK_KEY], { partition_key: 'u', app_id: 'main', sequence_id: 2 }, 'the lineage is in the stored state (what Burr reads)');
      const branchSaver = new StepSaver(persister, { partitionKey: 'u', appId: 'branch', nextSequenceId: fork.nextSequenceId });
      await branchSaver.afterStep('act-3b', { count: 30 });
      const resumedFork = await initializeFrom(persister, { ...base, appId: 'branch' });
      jsonEquals([resumedFork.state, resumedFork.forkedFrom, resumedFork.nextSequenceId], [{ count: 30 }, undefined, 4], 'the fork resumes like any app');
      const stale = new StepSaver(persister, { partitionKey: 'u', appId: 'branch', nextSequenceId: 3 });
      await rejectsWith(() => stale.afterStep('late', { count: -1 }), 'CONCURRENT_UPDATE', 'a second saver on a stale step');
      const latestFork = await initializeFrom(persister, { ...base, appId: 'from-latest', forkFrom: { appId: 'main' } });
      equal(latestFork.sequenceId, 4, 'no sequence id: the source latest');
      const across = await initializeFrom(persister, { ...base, partitionKey: 'other', appId: 'copy', forkFrom: { partitionKey: 'u', appId: 'main', sequenceId: 1 } });
      jsonEquals(across.state, { count: 2 }, 'a fork across partitions');
      await rejectsWith(() => initializeFrom(persister, { ...base, appId: 'nowhere', forkFrom: { appId: 'missing' } }), 'NOT_FOUND', 'a fork source that does not exist');
      await rejectsWith(() => initializeFrom(persister, { ...base, appId: 'nowhere', forkFrom: { appId: 'main', sequenceId: 99 } }), 'NOT_FOUND', 'a fork source step that does not exist');
      equal(await persister.load('u', 'nowhere'), null, 'a failed fork writes nothing');
      await rejectsWith(() => initializeFrom(persister, { ...base, appId: 'branch', forkFrom: { appId: 'main' } }), 'INVALID_ARGUMENT', 'forking into an app that has steps');
      await rejectsWith(() => initializeFrom(persister, { ...base, appId: 'main', forkFrom: { appId: 'main' } }), 'INVALID_ARGUMENT', 'forking an app into itself');
      const walked: number[] = [];
      for await (const s of allHistory(persister, 'u', 'main', { pageSize: 2 })) walked.push(s.sequenceId);
      jsonEquals(walked, [4, 3, 2, 1, 0], 'allHistory walks every page');
      const apps: string[] = [];
      for await (const app of allApps(persister, 'u', 1)) apps.push(app.appId);
      jsonEquals(apps.sort(), ['branch', 'from-latest', 'main'], 'allApps walks every page');
    }),
  },
];


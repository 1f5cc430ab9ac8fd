/**
 * The conformance suite every burr-edge persister passes, exported as `burr-edge/testing` so
 * that anyone writing their own persister can run it too. It is a list of cases, not tied to
 * a test framework: {@link runConformanceSuite} registers them with vitest, jest, mocha or
 * `node:test`; Deno and other runners loop over {@link conformanceCases}.
 */
import type { PersisterError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { State } from '../core/state.js';
import type { PersistedStateData, SaveParams, StatePersister } from '../core/types.js';
import { equal, jsonEquals, ok, rejectsWith } from './assert.js';
import type { Fault } from './instrument.js';
import { roundTripsOf, step, uniqueId, withSubject } from './helpers.js';
import { sessionCases } from './sessions.js';
import { deltaCases } from './delta.js';
import type { BasePersisterOptions } from '../core/base.js';
import type { DeltaOptions } from '../core/delta.js';

/** A persister under test, with the probes the suite uses when the target offers them. */
export interface ConformanceSubject {
  persister: StatePersister & {
    isInitialized(): Promise<boolean>;
    close(): Promise<void>;
    /** Optional: removes every step of one app. Checked when present. */
    deleteApp?(partitionKey: string | null | undefined, appId: string): Promise<void>;
  };
  /** Round trips (driver calls or HTTP requests) made so far. Enables the cost checks. */
  roundTrips?(): number;
  /** Injects a fault into the next request. Enables the fault checks (fetch transports). */
  failNext?(fault: Fault): void;
  /**
   * Reads storage around the persister (raw SQL, raw Redis, …): the stored records of one app
   * as `{sequenceId, stateJson}`. Enables the side-channel checks.
   */
  inspect?(partitionKey: string, appId: string): Promise<{ sequenceId: number; stateJson: string }[]>;
  /**
   * Another persister over the same storage, built as a second process (or a read-only tool)
   * would build it: no `initialize()`, no `assumeInitialized`. Enables the re-open check.
   */
  reopen?(): ConformanceSubject['persister'];
  /** Releases what `create` made. */
  dispose?(): Promise<void>;
}

export interface ConformanceTarget {
  /** Shown in test names, e.g. `libsql (remote http)`. */
  name: string;
  /**
   * Builds a fresh, isolated persister (its own table, namespace or database) for one case.
   * `id` is unique per case and safe as part of a table name. When `tableName` is given, use
   * it as given (the suite checks that bad names are refused).
   */
  create(options: { id: string; tableName?: string; storage?: StorageMode }): Promise<ConformanceSubject>;
  /** Set by {@link inDeltaMode}: the suite runs with every persister writing deltas. */
  storage?: StorageMode;
  /** The backend takes a table name (SQL): the table-name cases run. */
  tableNames?: boolean;
  /** Its subjects count round trips (`roundTrips`): the cost case runs. */
  countsRoundTrips?: boolean;
  /** Its subjects re-open their storage (`reopen`): the re-open case runs. */
  reopens?: boolean;
  /** Exactly how many round trips `initialize()` takes (at most 2); unset: only the bound is checked. */
  initializeRoundTrips?: number;
  /**
   * Round trips of a save whose key is taken (an identical retry, or a conflict): 1 where the
   * write itself reports what holds the key; 2 where it must be read back after the refused
   * write (MongoDB's `insertOne`). @default 1
   */
  takenKeySaveRoundTrips?: 1 | 2;
  /**
   * Round trips where the store cannot do an operation in one (each defaults to 1): a save with
   * `expectedSequenceId`, `prune`.
   */
  sessionRoundTrips?: { conditionalSave?: number; prune?: number };
  /** Its subjects inject transport faults (`failNext`): the fault cases run. */
  injectsFaults?: boolean;
  /** What the storage can hold; the suite checks the documented behaviour either way. */
  capabilities?: ConformanceCapabilities;
}

/** Storage limits a backend documents; each defaults to `true`. */
export interface ConformanceCapabilities {
  /** `-0` comes back as `-0`. `false`: it comes back as `0` (PostgreSQL's JSONB numbers have no negative zero). */
  negativeZero?: boolean;
  /**
   * Strings with NUL or an unpaired UTF-16 surrogate are stored. `false`: such a state is refused
   * with `SERIALIZATION` before anything is sent (PostgreSQL's JSONB cannot hold them).
   */
  nulAndLoneSurrogates?: boolean;
  /** A state's fields come back in the order they were saved. `false`: in the store's order (PostgreSQL's JSONB sorts keys). */
  keyOrder?: boolean;
  /** The persister has `deleteApp`. `false`: the deleteApp case is not run. */
  deleteApp?: boolean;
  /**
   * The persister has the session API (`expectedSequenceId`, `listHistory`, `listApps`,
   * `listPartitionKeys`, `prune`). `false`: those cases are not run.
   */
  sessions?: boolean;
}

/** How the target's persisters write: passed to `create`, to be spread into the persister's options. */
export type StorageMode = Pick<BasePersisterOptions, 'storage' | 'delta'>;

/**
 * The same target with every persister it builds in `storage: 'delta'` mode — small blocks and a
 * low compression threshold by default, so that the suite's short apps cross snapshots, chains
 * and compressed rows. The delta cases run too. A target whose `create` ignores `storage` fails
 * every case (the persister must report `storageMode === 'delta'`).
 */
export function inDeltaMode(target: ConformanceTarget, delta: DeltaOptions = { snapshotEvery: 3, compressAbove: 256 }): ConformanceTarget {
  const storage: StorageMode = { storage: 'delta', delta };
  return {
    ...target,
    name: `${target.name} [delta]`,
    storage,
    async create(options) {
      const subject = await target.create({ ...options, storage });
      const mode = (subject.persister as { storageMode?: string }).storageMode;
      if (mode !== 'delta') {
        await subject.persister.close().catch(() => undefined);
        await subject.dispose?.();
        throw new Error(`${target.name}: create() ignored storage: 'delta' (the persister reports storageMode ${String(mode)})`);
      }
      return subject;
    },
  };
}

export interface ConformanceCase {
  name: string;
  /** What the target must offer for the case to apply; a case that does not apply is not registered. */
  requires?: 'tableNames' | 'roundTrips' | 'faults' | 'deleteApp' | 'reopen' | 'sessions' | 'delta';
  /** Reads and writes no state (lifecycle, names, listings): in delta mode it would check nothing new, so it runs in full mode only. */
  sameInDeltaMode?: true;
  run(target: ConformanceTarget): Promise<void>;
}

function checkRecord(actual: PersistedStateData | null, expected: Omit<PersistedStateData, 'createdAt'>, message: string): void {
  ok(actual, `${message}: expected a record, got null`);
  equal(actual.partitionKey, expected.partitionKey, `${message}: partitionKey`);
  equal(actual.appId, expected.appId, `${message}: appId`);
  equal(actual.sequenceId, expected.sequenceId, `${message}: sequenceId`);
  equal(actual.position, expected.position, `${message}: position`);
  equal(actual.status, expected.status, `${message}: status`);
  jsonEquals(actual.state, expected.state, `${message}: state`);
  ok(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(actual.createdAt), `${message}: createdAt is ISO 8601 UTC with milliseconds, got ${actual.createdAt}`);
}

const BIG = 9007199254740993n;

const cases: ConformanceCase[] = [
  {
    name: 'initialize is idempotent and isInitialized reports it',
    sameInDeltaMode: true,
    run: withSubject(async ({ persister }) => {
      equal(await persister.isInitialized(), false, 'isInitialized before initialize');
      await persister.initialize();
      await persister.initialize();
      equal(await persister.isInitialized(), true, 'isInitialized after initialize');
    }, { initialize: false }),
  },
  {
    name: 'operations before initialize fail with NOT_INITIALIZED',
    sameInDeltaMode: true,
    run: withSubject(async ({ persister }) => {
      await rejectsWith(() => persister.save(step('p', 'a', 0)), 'NOT_INITIALIZED', 'save before initialize');
      await rejectsWith(() => persister.load('p', 'a'), 'NOT_INITIALIZED', 'load before initialize');
    }, { initialize: false }),
  },
  {
    name: 'load and listAppIds on storage never initialized fail with NOT_INITIALIZED, saying to initialize',
    sameInDeltaMode: true,
    run: withSubject(async ({ persister }) => {
      for (const [label, call] of [
        ['load', () => persister.load('p', 'a')],
        ['load by sequence id', () => persister.load('p', 'a', 0)],
        ['load of the partition', () => persister.load('p', null)],
        ['listAppIds', () => persister.listAppIds('p')],
      ] as const) {
        const error = await rejectsWith(call, 'NOT_INITIALIZED', `${label} before initialize`);
        equal(error.name, 'NotInitializedError', `${label}: error class`);
        ok(/initialize\(\)/.test(error.message), `${label}: the message says to call initialize(), got: ${error.message}`);
      }
      equal(await persister.isInitialized(), false, 'isInitialized after the refused calls');
      // The refusal is not cached: once the storage exists, the same instance works.
      await persister.initialize();
      jsonEquals(await persister.listAppIds('p'), [], 'listAppIds after initialize');
    }, { initialize: false }),
  },
  {
    name: 'another instance over storage already in place works without initialize (Burr\'s is_initialized)',
    requires: 'reopen',
    run: withSubject(async (subject) => {
      ok(subject.reopen, 'the target says it re-opens storage, but its subject has no reopen()');
      await subject.persister.save(step('p', 'app', 0, { n: 0 }));
      await subject.persister.save(step('p', 'app', 1, { n: 1 }));
      const reader = subject.reopen();
      try {
        // No initialize(), no assumeInitialized: the storage is found in place, as by a read-only tool.
        checkRecord(await reader.load('p', 'app'), { partitionKey: 'p', appId: 'app', sequenceId: 1, position: 'step-1', status: 'completed', state: { n: 1 } }, 'load latest');
        jsonEquals(await reader.listAppIds('p'), ['app'], 'listAppIds');
        equal(await reader.isInitialized(), true, 'isInitialized');
        await reader.save(step('p', 'app', 2, { n: 2 }));
        equal((await subject.persister.load('p', 'app'))?.sequenceId, 2, 'a save through the re-opened instance');
      } finally {
        await reader.close();
      }
      const checker = subject.reopen();
      try {
        equal(await checker.isInitialized(), true, 'isInitialized of a fresh instance');
        jsonEquals(await checker.listAppIds('p'), ['app'], 'listAppIds after isInitialized');
      } finally {
        await checker.close();
      }
    }),
  },
  {
    name: 'saves and loads the latest step and any earlier step',
    run: withSubject(async ({ persister }) => {
      for (let i = 0; i < 3; i++) await persister.save(step('user', 'app', i, { count: i, items: Array.from({ length: i }, (_, k) => k) }));
      const latest = await persister.load('user', 'app');
      checkRecord(latest, { partitionKey: 'user', appId: 'app', sequenceId: 2, position: 'step-2', status: 'completed', state: { count: 2, items: [0, 1] } }, 'latest');
      const first = await persister.load('user', 'app', 0);
      checkRecord(first, { partitionKey: 'user', appId: 'app', sequenceId: 0, position: 'step-0', status: 'completed', state: { count: 0, items: [] } }, 'by sequence id');
      equal(await persister.load('user', 'app', 7), null, 'a sequence id never saved');
      equal(await persister.load('user', 'nobody'), null, 'an app never saved');
    }),
  },
  {
    name: 'latest is the highest sequence id whatever its status, and order of saving does not matter',
    run: withSubject(async ({ persister }) => {
      await persister.save(step('p', 'app', 1));
      await persister.save(step('p', 'app', 2, { n: 2 }, { status: 'failed', position: 'boom' }));
      await persister.save(step('p', 'app', 0)); // late save of an older step
      const latest = await persister.load('p', 'app');
      checkRecord(latest, { partitionKey: 'p', appId: 'app', sequenceId: 2, position: 'boom', status: 'failed', state: { n: 2 } }, 'latest (failed)');
    }),
  },
  {
    name: 'load with appId null returns the most recently saved step of the partition',
    run: withSubject(async ({ persister }) => {
      await persister.save(step('p', 'first', 5));
      await persister.save(step('p', 'second', 0));
      await persister.save(step('other', 'third', 0));
      const latest = await persister.load('p', null);
      ok(latest, 'a record');
      equal(latest.appId, 'second', 'most recently saved app');
      equal(await persister.load('empty-partition', null), null, 'an empty partition');
    }),
  },
  {
    name: 'partitions are isolated',
    run: withSubject(async ({ persister }) => {
      await persister.save(step('tenant-a', 'shared-id', 0, { owner: 'a' }));
      await persister.save(step('tenant-b', 'shared-id', 0, { owner: 'b' }));
      jsonEquals((await persister.load('tenant-a', 'shared-id'))?.state, { owner: 'a' }, 'tenant a');
      jsonEquals((await persister.load('tenant-b', 'shared-id'))?.state, { owner: 'b' }, 'tenant b');
      jsonEquals(await persister.listAppIds('tenant-a'), ['shared-id'], 'tenant a apps');
      equal(await persister.load('tenant-c', 'shared-id'), null, 'tenant c sees nothing');
    }),
  },
  {
    name: 'a null or undefined partition key is the empty partition',
    run: withSubject(async ({ persister }) => {
      await persister.save(step(undefined, 'app-u', 0));
      await persister.save(step(null, 'app-n', 0));
      await persister.save(step('', 'app-e', 0));
      equal((await persister.load('', 'app-u'))?.partitionKey, '', 'undefined saved as empty');
      equal((await persister.load(null, 'app-e'))?.appId, 'app-e', 'null loads empty');
      jsonEquals([...(await persister.listAppIds(undefined))].sort(), ['app-e', 'app-n', 'app-u'], 'list of the empty partition');
    }),
  },
  {
    name: 'listAppIds returns each app once, most recently saved first, and honours limit',
    sameInDeltaMode: true,
    run: withSubject(async ({ persister }) => {
      await persister.save(step('p', 'old', 0));
      await persister.save(step('p', 'middle', 0));
      await persister.save(step('p', 'old', 1));
      await persister.save(step('p', 'new', 0));
      await persister.save(step('p', 'middle', 1));
      jsonEquals(await persister.listAppIds('p'), ['middle', 'new', 'old'], 'order');
      jsonEquals(await persister.listAppIds('p', { limit: 2 }), ['middle', 'new'], 'limit');
      jsonEquals(await persister.listAppIds('nobody'), [], 'empty partition');
    }),
  },
  {
    name: 'a different record at an existing key is refused and nothing is overwritten',
    run: withSubject(async (subject) => {
      const { persister } = subject;
      await persister.save(step('p', 'app', 0, { version: 'original' }));
      const error = await rejectsWith(() => persister.save(step('p', 'app', 0, { version: 'changed' })), 'ALREADY_EXISTS', 'different state');
      equal(error.name, 'StateAlreadyExistsError', 'error class');
      await rejectsWith(() => persister.save(step('p', 'app', 0, { version: 'original' }, { position: 'elsewhere' })), 'ALREADY_EXISTS', 'different position');
      await rejectsWith(() => persister.save(step('p', 'app', 0, { version: 'original' }, { status: 'failed' })), 'ALREADY_EXISTS', 'different status');
      jsonEquals((await persister.load('p', 'app', 0))?.state, { version: 'original' }, 'stored state unchanged');
      if (subject.inspect) equal((await subject.inspect('p', 'app')).length, 1, 'one stored record (side channel)');
    }),
  },
  {
    name: 'saving an identical record again succeeds (a retry) and stores one record',
    run: withSubject(async (subject) => {
      const { persister } = subject;
      const state = { list: [1, 2, 3], nested: { big: BIG, text: 'x' } };
      await persister.save(step('p', 'app', 0, state));
      await persister.save(step('p', 'app', 0, { nested: { text: 'x', big: BIG }, list: [1, 2, 3] }));
      jsonEquals((await persister.load('p', 'app'))?.state, state, 'state');
      if (subject.inspect) equal((await subject.inspect('p', 'app')).length, 1, 'one stored record (side channel)');
    }),
  },
  {
    name: 'concurrent saves of one key with different states: exactly one wins',
    run: withSubject(async ({ persister }) => {
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => persister.save(step('p', 'race', 0, { writer: i }))));
      const won = results.filter((r) => r.status === 'fulfilled');
      equal(won.length, 1, 'winners');
      for (const r of results) if (r.status === 'rejected') equal((r.reason as PersisterError).code, 'ALREADY_EXISTS', 'loser error code');
      const stored = await persister.load('p', 'race', 0);
      ok(stored && typeof stored.state.writer === 'number', 'a stored winner');
    }),
  },
  {
    name: 'concurrent saves of many sequence ids of one app are all kept',
    run: withSubject(async (subject) => {
      const { persister } = subject;
      const n = 24;
      await Promise.all(Array.from({ length: n }, (_, i) => persister.save(step('p', 'busy', i, { i }))));
      for (const i of [0, 11, n - 1]) jsonEquals((await persister.load('p', 'busy', i))?.state, { i }, `step ${i}`);
      equal((await persister.load('p', 'busy'))?.sequenceId, n - 1, 'latest');
      if (subject.inspect) equal((await subject.inspect('p', 'busy')).length, n, 'stored records (side channel)');
    }),
  },
  {
    name: 'bad arguments are refused before anything is sent',
    run: withSubject(async (subject) => {
      const { persister } = subject;
      const before = subject.roundTrips?.();
      const bad: [string, Partial<SaveParams> & Record<string, unknown>][] = [
        ['negative sequence id', { sequenceId: -1 }],
        ['fractional sequence id', { sequenceId: 1.5 }],
        ['NaN sequence id', { sequenceId: Number.NaN }],
        ['string sequence id', { sequenceId: '3' as unknown as number }],
        ['unknown status', { status: 'done' as 'completed' }],
        ['empty app id', { appId: '' }],
        ['numeric app id', { appId: 7 as unknown as string }],
        ['numeric partition key', { partitionKey: 7 as unknown as string }],
        // UTF-8 storage would turn these into U+FFFD and let two ids share records.
        ['a lone surrogate in the app id', { appId: 'chat-\ud800' }],
        ['a lone surrogate in the partition key', { partitionKey: '\udc00tenant' }],
        ['a lone surrogate in the position', { position: 'step\ud800' }],
        ['array state', { state: [1, 2] as unknown as JsonObject }],
        ['null state', { state: null as unknown as JsonObject }],
      ];
      for (const [label, patch] of bad) await rejectsWith(() => persister.save({ ...step('p', 'app', 0), ...patch } as SaveParams), 'INVALID_ARGUMENT', label);
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const unserializable: [string, Record<string, unknown>][] = [
        ['a function', { f: () => 1 }],
        ['a symbol', { s: Symbol('x') }],
        ['a nested function', { deep: { list: [1, () => 2] } }],
        ['a cycle', cyclic],
        ['NaN', { x: Number.NaN }],
        ['a class instance', { when: new Date(0) }],
      ];
      for (const [label, state] of unserializable) await rejectsWith(() => persister.save(step('p', 'app', 0, state as JsonObject)), 'SERIALIZATION', label);
      await rejectsWith(() => persister.save(step('p', 'app', 0, new State({ f: () => 1 }))), 'SERIALIZATION', 'a State holding a function');
      await rejectsWith(() => persister.load('p', 'app', -2), 'INVALID_ARGUMENT', 'load with a negative sequence id');
      await rejectsWith(() => persister.load('p', 'chat-\ud800'), 'INVALID_ARGUMENT', 'load with a lone surrogate in the app id');
      await rejectsWith(() => persister.listAppIds('\ud800'), 'INVALID_ARGUMENT', 'listAppIds with a lone surrogate in the partition key');
      await rejectsWith(() => persister.listAppIds('p', { limit: 0 }), 'INVALID_ARGUMENT', 'listAppIds with limit 0');
      if (before !== undefined) equal(subject.roundTrips!() - before, 0, 'round trips made by refused calls');
      equal(await persister.load('p', 'app'), null, 'nothing was written');
    }),
  },
  {
    name: 'table names that could inject SQL are refused',
    sameInDeltaMode: true,
    requires: 'tableNames',
    run: async (target) => {
      for (const tableName of ['bad"name', 'two words', 'x; DROP TABLE burr_state', "o'hara", '1starts_with_digit', '', 'a'.repeat(64)]) {
        await rejectsWith(async () => {
          const subject = await target.create({ id: uniqueId(), tableName });
          try {
            await subject.persister.initialize();
          } finally {
            await subject.persister.close().catch(() => undefined);
            await subject.dispose?.();
          }
        }, 'INVALID_ARGUMENT', `table name ${JSON.stringify(tableName)}`);
      }
    },
  },
  {
    name: 'unicode, quotes and control characters survive; NUL and lone surrogates as the backend documents',
    run: (target) =>
      withSubject(async (subject) => {
        const { persister } = subject;
        const state = {
          text: 'naïve café — 日本語 — 🚀',
          quotes: `it's "quoted" \\ backslash\nnewline\ttab`,
          escapes: '\u0001\u001f\u2028\u2029',
          onlyText: '\\u0000 and \\ud800 are plain text here',
          'key with spaces and 🔑': true,
        };
        await persister.save(step('πartition', 'äpp/1:2%3', 0, state, { position: 'schritt-ü' }));
        const loaded = await persister.load('πartition', 'äpp/1:2%3');
        checkRecord(loaded, { partitionKey: 'πartition', appId: 'äpp/1:2%3', sequenceId: 0, position: 'schritt-ü', status: 'completed', state }, 'unicode');
        jsonEquals(await persister.listAppIds('πartition'), ['äpp/1:2%3'], 'unicode app id listed');
        const awkward: [string, JsonObject][] = [
          ['a lone high surrogate', { lone: '\ud800 half a pair' }],
          ['a lone low surrogate', { lone: 'x\udc00' }],
          ['a lone surrogate in a key', { ['k\ud800']: 1 }],
          ['NUL', { nul: 'a\u0000b' }],
          ['NUL in a nested key', { deep: [{ ['\u0000']: 1 }] }],
        ];
        const before = subject.roundTrips?.();
        for (const [index, [label, value]] of awkward.entries()) {
          if (target.capabilities?.nulAndLoneSurrogates === false) {
            await rejectsWith(() => persister.save(step('p', 'awkward', index, value)), 'SERIALIZATION', label);
          } else {
            await persister.save(step('p', 'awkward', index, value));
            jsonEquals((await persister.load('p', 'awkward', index))?.state, value, label);
          }
        }
        if (target.capabilities?.nulAndLoneSurrogates === false) {
          if (before !== undefined) equal(subject.roundTrips!() - before, 0, 'round trips made by refused saves');
          equal(await persister.load('p', 'awkward'), null, 'nothing was written');
        }
      })(target),
  },
  {
    name: 'a 300 KB state round-trips',
    run: withSubject(async ({ persister }) => {
      const state = { blob: 'x'.repeat(300 * 1024), rows: Array.from({ length: 500 }, (_, i) => ({ i, label: `row ${i}` })) };
      await persister.save(step('p', 'big', 0, state));
      jsonEquals((await persister.load('p', 'big'))?.state, state, 'big state');
    }),
  },
  {
    name: 'integers beyond 2^53 and special floats are exact',
    run: (target) =>
      withSubject(async (subject) => {
        const { persister } = subject;
        const state = { big: BIG, max64: 9223372036854775807n, negative: -BIG, nested: [{ id: 123456789012345678901234567890n }], floats: [1.5, -0, 1e-300, 3.141592653589793, 2.5e-7], small: 42 };
        await persister.save(step('p', 'numbers', 0, state));
        const loaded = await persister.load('p', 'numbers');
        const negativeZero = target.capabilities?.negativeZero !== false;
        jsonEquals(loaded?.state, negativeZero ? state : { ...state, floats: [1.5, 0, 1e-300, 3.141592653589793, 2.5e-7] }, 'numbers');
        equal(loaded?.state.big, BIG, 'bigint comes back as bigint');
        equal(typeof loaded?.state.small, 'number', 'a small integer stays a number');
        if (subject.inspect) {
          const [stored] = await subject.inspect('p', 'numbers');
          ok(stored && stored.stateJson.includes('9007199254740993') && stored.stateJson.includes('9223372036854775807'), 'stored as plain JSON integers (side channel)');
        }
        // Saving the same state again is a retry, whatever the storage did to -0.
        await persister.save(step('p', 'numbers', 0, state));
        await persister.save(step('p', 'numbers', 1, new State({ tokens: BIG })));
        equal(State.deserialize((await persister.load('p', 'numbers'))!.state).get('tokens'), BIG, 'a State bigint field');
      })(target),
  },
  {
    name: 'a State instance is serialized with serde, and unknown serde tags are kept verbatim',
    run: withSubject(async ({ persister }) => {
      const when = new Date('2026-01-02T03:04:05.678Z');
      const foreign = { __burr_serde__: 'python.only', x: 1.5, y: -2 };
      const state = new State({ when, tags: new Set(['a', 'b']), foreign, count: 3 });
      await persister.save(step('p', 'serde', 0, state));
      const loaded = await persister.load('p', 'serde');
      ok(loaded, 'loaded');
      jsonEquals(loaded.state.foreign, foreign, 'unknown tag kept as stored');
      const revived = State.deserialize(loaded.state);
      equal((revived.get('when') as Date).getTime(), when.getTime(), 'Date revived');
      ok(revived.get('tags') instanceof Set && (revived.get('tags') as Set<string>).has('b'), 'Set revived');
      jsonEquals(revived.get('foreign'), foreign, 'unknown tag survives deserialize');
      // load → save elsewhere loses nothing
      await persister.save(step('p', 'serde-copy', 0, loaded.state));
      jsonEquals((await persister.load('p', 'serde-copy'))?.state, loaded.state, 'copy is identical');
    }),
  },
  {
    name: 'round trips: save 1, load 1, listAppIds 1, initialize at most 2 and once',
    requires: 'roundTrips',
    run: async (target) => {
      const id = uniqueId();
      const subject = await target.create({ id });
      try {
        ok(subject.roundTrips, 'the target says it counts round trips, but its subject has no roundTrips()');
        const { persister } = subject;
        const init = await roundTripsOf(subject, () => persister.initialize());
        ok(init <= 2, `initialize took ${init} round trips`);
        if (target.initializeRoundTrips !== undefined) equal(init, target.initializeRoundTrips, 'round trips of initialize');
        equal(await roundTripsOf(subject, () => persister.initialize()), 0, 'second initialize');
        equal(await roundTripsOf(subject, () => persister.save(step('p', 'app', 0))), 1, 'save');
        equal(await roundTripsOf(subject, () => persister.save(step('p', 'app', 1))), 1, 'second save');
        const taken = target.takenKeySaveRoundTrips ?? 1;
        equal(await roundTripsOf(subject, () => persister.save(step('p', 'app', 1))), taken, 'identical re-save');
        equal(await roundTripsOf(subject, () => rejectsWith(() => persister.save(step('p', 'app', 1, { other: true })), 'ALREADY_EXISTS', 'conflicting save')), taken, 'conflicting save');
        equal(await roundTripsOf(subject, () => persister.load('p', 'app')), 1, 'load latest');
        equal(await roundTripsOf(subject, () => persister.load('p', 'app', 0)), 1, 'load by sequence id');
        equal(await roundTripsOf(subject, () => persister.load('p', null)), 1, 'load latest of partition');
        equal(await roundTripsOf(subject, () => persister.load('p', 'missing')), 1, 'load of a missing app');
        equal(await roundTripsOf(subject, () => persister.listAppIds('p')), 1, 'listAppIds');
      } finally {
        await subject.persister.close().catch(() => undefined);
        await subject.dispose?.();
      }
    },
  },
  {
    name: 'faults: a request lost before the server is a retryable error and writes nothing',
    requires: 'faults',
    run: withSubject(async (subject) => {
      ok(subject.failNext, 'the target says it injects faults, but its subject has no failNext()');
      const { persister } = subject;
      subject.failNext('request-lost');
      const error = await rejectsWith(() => persister.save(step('p', 'app', 0)), 'BACKEND', 'lost request');
      equal(error.retryable, true, 'retryable');
      equal(await persister.load('p', 'app'), null, 'nothing written');
      await persister.save(step('p', 'app', 0));
      equal((await persister.load('p', 'app'))?.sequenceId, 0, 'the retry is saved');
    }),
  },
  {
    name: 'faults: a response lost after the commit — retrying the same save succeeds, one record',
    requires: 'faults',
    run: withSubject(async (subject) => {
      ok(subject.failNext, 'the target says it injects faults, but its subject has no failNext()');
      const { persister } = subject;
      subject.failNext('response-lost');
      const error = await rejectsWith(() => persister.save(step('p', 'app', 0, { v: 1 })), 'BACKEND', 'lost response');
      equal(error.retryable, true, 'retryable');
      // The server did commit: only the answer was lost.
      jsonEquals((await persister.load('p', 'app'))?.state, { v: 1 }, 'committed although the response was lost');
      await persister.save(step('p', 'app', 0, { v: 1 }));
      jsonEquals((await persister.load('p', 'app'))?.state, { v: 1 }, 'state');
      if (subject.inspect) equal((await subject.inspect('p', 'app')).length, 1, 'exactly one record (side channel)');
      await rejectsWith(() => persister.save(step('p', 'app', 0, { v: 2 })), 'ALREADY_EXISTS', 'a different save after the retry');
    }),
  },
  {
    name: 'faults: a 5xx answer is a retryable backend error',
    requires: 'faults',
    run: withSubject(async (subject) => {
      ok(subject.failNext, 'the target says it injects faults, but its subject has no failNext()');
      const { persister } = subject;
      subject.failNext('server-error');
      const error = await rejectsWith(() => persister.load('p', 'app'), 'BACKEND', 'load answered 503');
      equal(error.retryable, true, 'retryable');
      subject.failNext('server-error');
      const saveError = await rejectsWith(() => persister.save(step('p', 'app', 0)), 'BACKEND', 'save answered 503');
      equal(saveError.retryable, true, 'save retryable');
      equal(await persister.load('p', 'app'), null, 'nothing written');
    }),
  },
  {
    name: 'deleteApp removes every step of one app and nothing else, in one round trip',
    requires: 'deleteApp',
    run: withSubject(async (subject) => {
      const { persister } = subject;
      ok(persister.deleteApp, "the persister has no deleteApp (declare capabilities.deleteApp: false if that is intended)");
      for (let i = 0; i < 3; i++) await persister.save(step('p', 'doomed', i));
      await persister.save(step('other', 'doomed', 0, { keep: true }));
      await persister.save(step('p', 'older', 0));
      await persister.save(step('p', 'newest', 0));
      if (subject.roundTrips) equal(await roundTripsOf(subject, () => persister.deleteApp!('p', 'newest')), 1, 'round trips of deleteApp');
      else await persister.deleteApp('p', 'newest');
      await persister.deleteApp('p', 'doomed');
      equal(await persister.load('p', 'doomed'), null, 'latest of the deleted app');
      equal(await persister.load('p', 'doomed', 1), null, 'a step of the deleted app');
      jsonEquals(await persister.listAppIds('p'), ['older'], 'apps left in the partition');
      equal((await persister.load('p', null))?.appId, 'older', "the partition's latest falls back to the app that is left");
      jsonEquals((await persister.load('other', 'doomed'))?.state, { keep: true }, 'the same app id in another partition is kept');
      if (subject.inspect) equal((await subject.inspect('p', 'doomed')).length, 0, 'nothing stored (side channel)');
      await persister.deleteApp('p', 'never-saved');
      await persister.save(step('p', 'doomed', 0, { reborn: true }));
      jsonEquals((await persister.load('p', 'doomed'))?.state, { reborn: true }, 'the id can be used again');
    }),
  },
  {
    name: 'a closed persister refuses calls',
    sameInDeltaMode: true,
    run: withSubject(async ({ persister }) => {
      await persister.close();
      await rejectsWith(() => persister.load('p', 'app'), 'CLOSED', 'load after close');
      await rejectsWith(() => persister.save(step('p', 'app', 0)), 'CLOSED', 'save after close');
    }),
  },
  ...sessionCases,
  ...deltaCases,
];

/**
 * The conformance cases that apply to `target`, for runners that register tests themselves
 * (Deno.test, …). A case is left out only when the target does not offer what it needs (a table
 * name, a round-trip counter, fault injection, `deleteApp`); a backend that stores less declares
 * it in `capabilities`, and the suite checks the documented behaviour instead.
 */
export function conformanceCases(target?: ConformanceTarget): ConformanceCase[] {
  if (!target) return [...cases];
  const offers: Record<NonNullable<ConformanceCase['requires']>, boolean> = {
    tableNames: target.tableNames === true,
    roundTrips: target.countsRoundTrips === true,
    faults: target.injectsFaults === true,
    deleteApp: target.capabilities?.deleteApp !== false,
    reopen: target.reopens === true,
    sessions: target.capabilities?.sessions !== false,
    delta: target.storage?.storage === 'delta',
  };
  return cases.filter((c) => (c.requires === undefined || offers[c.requires]) && !(offers.delta && c.sameInDeltaMode));
}

/** The test-framework functions the suite registers its cases with. */
export interface TestFramework {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>, timeout?: number): void;
}

/**
 * Registers the whole suite for `target` with a test framework:
 *
 * ```ts
 * import { describe, it } from 'vitest';
 * import { runConformanceSuite } from 'burr-edge/testing';
 * runConformanceSuite({ name: 'my persister', create: async () => ({ persister: new MyPersister() }) }, { describe, it });
 * ```
 */
export function runConformanceSuite(target: ConformanceTarget, framework: TestFramework, timeoutMs = 30_000): void {
  framework.describe(`conformance: ${target.name}`, () => {
    for (const c of conformanceCases(target)) framework.it(c.name, () => c.run(target), timeoutMs);
  });
}

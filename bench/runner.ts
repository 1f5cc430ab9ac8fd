/**
 * Runs the workload (./workload.ts) against one system and measures it: an unmeasured warm-up
 * run, then `runs` measured runs, each on fresh storage, plus the wide partition for listing
 * pages. Browser-safe: the IndexedDB row runs this inside Chromium.
 */
import { percentile, spread, type Spread } from './stats.js';
import { Conversations, WARMUP, appName, isStateAt, readPlan, stateAt, type AgentState, type Scale } from './workload.js';

/** One system's storage for one run, through the library's public API. */
export interface Session {
  save(app: string, step: number, state: AgentState): Promise<void>;
  /** The app's latest state (burr-edge: `load(pk, app)`). */
  loadLatest(app: string): Promise<unknown>;
  /** The state saved at `step`; absent when the library keeps no history. */
  loadStep?(app: string, step: number): Promise<unknown>;
  /** Lists the partition's apps; returns how many. Absent when the library has no such API. */
  list?(): Promise<number>;
  /** Reads `size` consecutive steps, newest first, from `newest` down; returns the states read. */
  historyPage?(app: string, newest: number, size: number): Promise<unknown[]>;
  /** One listing page of at most `size` app ids; returns how many. */
  listPage?(size: number): Promise<number>;
  /** Requests (round trips / driver calls) so far, counted exactly; absent where there are none. */
  requests?(): number;
  /** Bytes the client wrote to the server's socket so far. */
  bytesSent?(): number;
  /** What the database says this run's data takes, in bytes. */
  storedBytes?(): Promise<number | undefined>;
  close(): Promise<void>;
}

export interface SystemInfo {
  /** Row name, e.g. `burr-edge · PostgreSQL (pg Pool)`. */
  name: string;
  /** `burr-edge`, or the peer library. */
  library: string;
  /** What `--only` matches besides the name, e.g. `postgres`, `langgraph`. */
  tags: string[];
  /** Storage engine and settings that decide durability, as stated in the table. */
  durability: string;
  /** A delta-mode row: the name of its twin writing full rows (the delta-vs-full table compares them). */
  fullRow?: string;
  /** Burr-edge rows: the peer rows (by name, same engine) that the × figures compare against. */
  peers?: string[];
  /** Said next to the row. */
  notes: string[];
  /** What the bytes-stored figure is. */
  storedMeasure?: string;
  /** Set for rows that could not run: why. */
  skipped?: string;
}

export interface System extends SystemInfo {
  /** Fresh storage for a run (`label` unique per run). */
  open(label: string): Promise<Session>;
  /** Client CPU so far, in ms (the process's own user + system time by default). */
  cpu?(): number | Promise<number>;
}

export type PhaseName = 'save' | 'latest' | 'step' | 'list' | 'history' | 'page';
export const PHASES: PhaseName[] = ['save', 'latest', 'step', 'list', 'history', 'page'];

/** What one phase of one run measured. */
export interface PhaseRun {
  ops: number;
  /** Time inside the operations (sum of latencies), ms. */
  ms: number;
  latencies: number[];
  requests?: number;
  bytesSent?: number;
  cpuMs?: number;
}

/** A phase over all measured runs. */
export interface PhaseResult {
  opsPerSecond: Spread;
  p50: number;
  p99: number;
  requestsPerOp?: number;
  bytesSentPerOp?: number;
  cpuMsPerOp?: number;
  runs: number;
}

export interface SystemResult extends SystemInfo {
  phases: Partial<Record<PhaseName, PhaseResult>>;
  /** Bytes stored at the end of the last run (main partition only). */
  storedBytes?: number;
  /** Wall time of the whole row, warm-up included. */
  seconds: number;
  error?: string;
}

export interface RunOptions {
  scale: Scale;
  runs: number;
  /** Progress text for a status line. */
  progress?: (text: string) => void;
}

type Op = () => Promise<unknown>;

async function phase(session: Session, cpu: (() => number | Promise<number>) | undefined, count: number, op: (i: number) => Op, check: (i: number, value: unknown) => void, tick?: (i: number) => void): Promise<PhaseRun> {
  const latencies: number[] = [];
  const requests = session.requests?.();
  const sent = session.bytesSent?.();
  const cpuBefore = await cpu?.();
  for (let i = 0; i < count; i++) {
    const run = op(i);
    const t = performance.now();
    const value = await run();
    latencies.push(performance.now() - t);
    check(i, value);
    if (tick && i % 50 === 0) tick(i);
  }
  const cpuAfter = await cpu?.();
  return {
    ops: count,
    ms: latencies.reduce((a, b) => a + b, 0),
    latencies,
    requests: requests === undefined ? undefined : session.requests!() - requests,
    bytesSent: sent === undefined ? undefined : session.bytesSent!() - sent,
    cpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
  };
}

function fail(what: string): never {
  throw new Error(`wrong result: ${what}`);
}

/** One run of the main partition: saves, then the reads. */
async function mainRun(session: Session, scale: Scale, cpu: System['cpu'], say: (text: string) => void): Promise<Partial<Record<PhaseName, PhaseRun>>> {
  const out: Partial<Record<PhaseName, PhaseRun>> = {};
  const conversations = new Conversations(scale.apps);
  const total = scale.apps * scale.steps;
  // Step-major: every app takes step s before any takes s + 1, as a fleet of agents would.
  out.save = await phase(
    session,
    cpu,
    total,
    (i) => {
      const app = i % scale.apps;
      const { step, state } = conversations.next(app);
      return () => session.save(appName(app), step, state);
    },
    () => {},
    (i) => say(`saves ${i}/${total}`),
  );
  const plan = readPlan(scale);
  const last = scale.steps - 1;
  say('latest loads');
  out.latest = await phase(session, cpu, plan.latest.length, (i) => () => session.loadLatest(appName(plan.latest[i]!)), (i, v) => isStateAt(v, plan.latest[i]!, last) || fail(`latest of ${appName(plan.latest[i]!)}`));
  if (session.loadStep) {
    say('step loads');
    out.step = await phase(
      session,
      cpu,
      plan.steps.length,
      (i) => () => session.loadStep!(appName(plan.steps[i]![0]), plan.steps[i]![1]),
      (i, v) => isStateAt(v, plan.steps[i]![0], plan.steps[i]![1]) || fail(`step ${plan.steps[i]![1]} of ${appName(plan.steps[i]![0])}`),
    );
  }
  if (session.list) {
    say('listings');
    out.list = await phase(session, cpu, scale.lists, () => () => session.list!(), (_i, v) => v === scale.apps || fail(`listing gave ${String(v)} apps, not ${scale.apps}`));
  }
  if (session.historyPage) {
    say('history pages');
    const size = Math.min(scale.historyPage, scale.steps);
    out.history = await phase(
      session,
      cpu,
      plan.history.length,
      (i) => () => session.historyPage!(appName(plan.history[i]!), last, size),
      (i, v) => {
        const states = v as unknown[];
        if (states.length !== size) fail(`history page of ${states.length} steps, not ${size}`);
        states.forEach((s, k) => isStateAt(s, plan.history[i]!, last - k) || fail(`history step ${last - k} of ${appName(plan.history[i]!)}`));
      },
    );
  }
  return out;
}

function combine(runs: PhaseRun[]): PhaseResult {
  const ops = runs.reduce((a, r) => a + r.ops, 0);
  const sum = (pick: (r: PhaseRun) => number | undefined) => (runs.every((r) => pick(r) !== undefined) ? runs.reduce((a, r) => a + pick(r)!, 0) : undefined);
  const latencies = runs.flatMap((r) => r.latencies);
  const requests = sum((r) => r.requests);
  const bytesSent = sum((r) => r.bytesSent);
  const cpuMs = sum((r) => r.cpuMs);
  return {
    opsPerSecond: spread(runs.map((r) => (r.ops / r.ms) * 1000)),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requestsPerOp: requests === undefined ? undefined : requests / ops,
    bytesSentPerOp: bytesSent === undefined ? undefined : bytesSent / ops,
    cpuMsPerOp: cpuMs === undefined ? undefined : cpuMs / ops,
    runs: runs.length,
  };
}

/** Measures one system: warm-up, `runs` measured runs, the wide partition. */
export async function measureSystem(system: System, options: RunOptions): Promise<SystemResult> {
  const { name, library, tags, durability, peers, notes, storedMeasure, skipped, fullRow } = system;
  const info: SystemInfo = { name, library, tags, durability, peers, notes, storedMeasure, skipped, ...(fullRow ? { fullRow } : {}) };
  const started = performance.now();
  const say = (text: string) => options.progress?.(text);
  const cpu = system.cpu?.bind(system);
  const collected: Partial<Record<PhaseName, PhaseRun[]>> = {};
  const keep = (phaseName: PhaseName, run: PhaseRun | undefined) => {
    if (run) (collected[phaseName] ??= []).push(run);
  };
  let storedBytes: number | undefined;

  say('warm-up (not counted)');
  const warm = await system.open('warmup');
  try {
    await mainRun(warm, WARMUP, undefined, () => {});
  } finally {
    await warm.close();
  }

  for (let r = 1; r <= options.runs; r++) {
    const session = await system.open(`run${r}`);
    try {
      const out = await mainRun(session, options.scale, cpu, (text) => say(`run ${r}/${options.runs} · ${text}`));
      for (const p of PHASES) keep(p, out[p]);
      if (r === options.runs) storedBytes = await session.storedBytes?.();
    } finally {
      await session.close();
    }
  }

  const scale = options.scale;
  if (scale.wideApps > 0) {
    const wide = await system.open('wide');
    try {
      if (wide.listPage) {
        say(`wide partition: writing ${scale.wideApps} apps (not timed)`);
        const state = stateAt(0, 0);
        for (let a = 0; a < scale.wideApps; a++) {
          await wide.save(appName(a), 0, state);
          if (a % 200 === 0) say(`wide partition: ${a}/${scale.wideApps} apps written (not timed)`);
        }
        await wide.listPage(scale.pageSize); // warm
        const expected = Math.min(scale.pageSize, scale.wideApps);
        for (let r = 1; r <= options.runs; r++) {
          say(`wide partition: listing pages, round ${r}/${options.runs}`);
          keep('page', await phase(wide, cpu, scale.pages, () => () => wide.listPage!(scale.pageSize), (_i, v) => v === expected || fail(`page of ${String(v)} ids, not ${expected}`)));
        }
      }
    } finally {
      await wide.close();
    }
  }

  const phases: Partial<Record<PhaseName, PhaseResult>> = {};
  for (const p of PHASES) if (collected[p]) phases[p] = combine(collected[p]!);
  return { ...info, phases, storedBytes, seconds: (performance.now() - started) / 1000 };
}

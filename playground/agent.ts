/**
 * The demo agent: a small deterministic research planner (no network, no LLM). Each step is
 * one action that reads the state and returns a new one; the state grows as it goes. The same
 * code runs in the CLI demo, the Cloudflare Worker and the browser playground, persisting
 * through whichever burr-edge persister it is given.
 *
 * Sessions go through the library: `initializeFrom` resumes, starts or forks an app, and
 * `StepSaver` saves each step with optimistic concurrency, so two writers on one session get a
 * `ConcurrentUpdateError` instead of a silently forked history.
 */
import { State, StepSaver, initializeFrom, type ForkSource, type InitializeFromResult, type PersistedStatus, type StatePersister } from '../src/index.js';

export interface Note {
  topic: string;
  finding: string;
}

export interface AgentFields extends Record<string, unknown> {
  question: string;
  plan: string[];
  notes: Note[];
  draft: string;
  reviews: number;
  answer: string | null;
  /** Grows every step. Kept beyond 2^53 so the demo exercises exact big integers (a bigint within the safe range loads back as a number). */
  tokens: bigint;
  /** Burr's bookkeeping fields, as Burr's Application writes them. */
  __SEQUENCE_ID: number;
  __PRIOR_STEP: string;
}

export type AgentState = State<AgentFields>;

const FACTS: Record<string, string> = {
  persistence: 'saving after every step means a crash loses at most the step in flight',
  edge: 'edge runtimes have fetch but no sockets, so drivers speak HTTP',
  compatibility: 'one table layout lets Python and TypeScript share state',
  latency: 'one round trip per save keeps a step fast far from the database',
  browsers: 'IndexedDB keeps state on the device across reloads and offline',
};

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** The first state of a new app. */
export function initialState(question: string): AgentState {
  return new State<AgentFields>({
    question,
    plan: [],
    notes: [],
    draft: '',
    reviews: 0,
    answer: null,
    tokens: 9007199254741000n,
    __SEQUENCE_ID: 0,
    __PRIOR_STEP: 'start',
  });
}

/** The entrypoint of a new app: it saves the question as step 0. */
export const ENTRYPOINT = 'start';
/** The last action: once it ran the agent is done, so a step's position alone says so. */
export const FINAL_ACTION = 'finalize';

/** Which action runs after `position`, or `null` when the agent is done. */
export function nextAction(position: string, state: AgentState): string | null {
  if (state.get('answer') !== null) return null;
  if (position === 'start') return 'plan';
  if (position === 'plan' || position === 'research') return state.get('notes').length < state.get('plan').length ? 'research' : 'draft';
  if (position === 'draft') return 'review';
  if (position === 'review') return state.get('reviews') < 2 ? 'draft' : 'finalize';
  return null;
}

const actions: Record<string, (state: AgentState) => AgentState> = {
  // The question is already in the default state: step 0 saves it as it is.
  start: (state) => state,
  plan(state) {
    const topics = Object.keys(FACTS);
    const offset = hash(state.get('question')) % topics.length;
    const plan = [0, 1, 2].map((i) => topics[(offset + i) % topics.length]!);
    return state.update({ plan });
  },
  research(state) {
    const topic = state.get('plan')[state.get('notes').length]!;
    return state.update({ notes: [...state.get('notes'), { topic, finding: FACTS[topic]! }] });
  },
  draft(state) {
    const body = state.get('notes').map((n) => `${n.topic}: ${n.finding}`).join('; ');
    const revision = state.get('reviews');
    return state.update({ draft: `Draft ${revision + 1} on "${state.get('question')}": ${body}.` });
  },
  review(state) {
    return state.update({ reviews: state.get('reviews') + 1 });
  },
  finalize(state) {
    return state.update({ answer: state.get('draft').replace(/^Draft \d+/, 'Answer') });
  },
};

export interface StepResult {
  sequenceId: number;
  position: string;
  state: AgentState;
  /** False when the agent had already finished and nothing was saved. */
  saved: boolean;
  done: boolean;
}

/** Identifies one run of the agent. */
export interface AppRef {
  partitionKey: string;
  appId: string;
}

export interface OpenOptions {
  /** The question of a new app. */
  question?: string;
  /** Start `app` as a fork of this app's step (its latest when no `sequenceId`), in the same partition. */
  forkFrom?: { appId: string; sequenceId?: number | null };
}

/**
 * One app being run: where it stands and what runs next. Opened with {@link openSession}; each
 * {@link Session.step} runs one action and saves it (one save, no load).
 */
export class Session {
  readonly app: AppRef;
  /** How `initializeFrom` found the app. */
  readonly origin: 'fresh' | 'resumed' | 'forked';
  /** The step this app was forked from, when it is a fork. */
  readonly forkedFrom: ForkSource | undefined;
  #state: AgentState;
  #position: string | null;
  #status: PersistedStatus | null;
  #sequenceId: number | null;
  #next: string | null;
  readonly #saver: StepSaver;

  constructor(persister: StatePersister, start: InitializeFromResult) {
    this.app = { partitionKey: start.partitionKey, appId: start.appId };
    this.origin = start.origin;
    this.forkedFrom = start.forkedFrom;
    this.#state = State.deserialize(start.state) as AgentState;
    this.#position = start.position;
    this.#status = start.status;
    this.#sequenceId = start.sequenceId;
    // Fresh: the entrypoint; resumed or forked: the agent's transitions pick what follows the loaded step.
    this.#next = start.entrypoint ?? nextAction(start.position!, this.#state);
    this.#saver = new StepSaver(persister, { ...this.app, nextSequenceId: start.nextSequenceId });
  }

  get state(): AgentState {
    return this.#state;
  }
  /** Position of the latest saved step; `null` before step 0. */
  get position(): string | null {
    return this.#position;
  }
  /** Status of the latest saved step; `null` before step 0. */
  get status(): PersistedStatus | null {
    return this.#status;
  }
  get sequenceId(): number | null {
    return this.#sequenceId;
  }
  /** The action the next {@link step} runs, `null` when the agent is done. */
  get nextAction(): string | null {
    return this.#next;
  }
  get done(): boolean {
    return this.#next === null;
  }

  /**
   * Runs the next action and saves its state. Another writer having saved this app meanwhile is a
   * `ConcurrentUpdateError` (nothing saved) — unless it saved the identical step, which counts as ours.
   */
  async step(): Promise<StepResult> {
    const action = this.#next;
    if (action === null) return { sequenceId: this.#sequenceId ?? 0, position: this.#position ?? ENTRYPOINT, state: this.#state, saved: false, done: true };
    const sequenceId = this.#saver.nextSequenceId;
    const current = this.#state;
    const state = actions[action]!(current).update({ tokens: BigInt(current.get('tokens')) + BigInt(17 * sequenceId), __SEQUENCE_ID: sequenceId, __PRIOR_STEP: action });
    await this.#saver.afterStep(action, state);
    this.#state = state;
    this.#position = action;
    this.#status = 'completed';
    this.#sequenceId = sequenceId;
    this.#next = nextAction(action, state);
    return { sequenceId, position: action, state, saved: true, done: this.#next === null };
  }
}

/**
 * Resumes `app` from its latest step, starts it (nothing saved until the first step), or forks it
 * from another app's step (the fork's first step is saved here, lineage included). One load; a fork
 * adds one save.
 */
export async function openSession(persister: StatePersister, app: AppRef, options: OpenOptions = {}): Promise<Session> {
  const start = await initializeFrom(persister, {
    ...app,
    defaultState: initialState(options.question ?? 'Why persist agent state at the edge?'),
    defaultEntrypoint: ENTRYPOINT,
    ...(options.forkFrom ? { forkFrom: { partitionKey: app.partitionKey, ...options.forkFrom } } : {}),
  });
  return new Session(persister, start);
}

/** Opens the app and runs its next step: one load and one save (a new app is started with `question`). */
export async function runStep(persister: StatePersister, app: AppRef, question?: string): Promise<StepResult> {
  return (await openSession(persister, app, question === undefined ? {} : { question })).step();
}

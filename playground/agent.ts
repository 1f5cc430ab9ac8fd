/**
 * The demo agent: a small deterministic research planner (no network, no LLM). Each step is
 * one action that reads the state and returns a new one; the state grows as it goes. The same
 * code runs in the CLI demo, the Cloudflare Worker and the browser playground, persisting
 * through whichever burr-edge persister it is given.
 */
import { State, type PersistedStateData, type StatePersister } from '../src/index.js';

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

/**
 * Runs the next step of an app and saves it (one save, one round trip). A new app is
 * started with `question`. Returns `done: true` without saving when the agent has finished.
 */
export async function runStep(persister: StatePersister, app: AppRef, question = 'Why persist agent state at the edge?'): Promise<StepResult> {
  const latest = await persister.load(app.partitionKey, app.appId);
  if (!latest) {
    const state = initialState(question);
    await persister.save({ ...app, sequenceId: 0, position: 'start', state, status: 'completed' });
    return { sequenceId: 0, position: 'start', state, saved: true, done: false };
  }
  const current = State.deserialize(latest.state) as AgentState;
  const action = nextAction(latest.position, current);
  if (!action) return { sequenceId: latest.sequenceId, position: latest.position, state: current, saved: false, done: true };
  const sequenceId = latest.sequenceId + 1;
  const state = actions[action]!(current).update({ tokens: BigInt(current.get('tokens')) + BigInt(17 * sequenceId), __SEQUENCE_ID: sequenceId, __PRIOR_STEP: action });
  await persister.save({ ...app, sequenceId, position: action, state, status: 'completed' });
  return { sequenceId, position: action, state, saved: true, done: nextAction(action, state) === null };
}

/** Copies the step `sequenceId` of `from` into a new app `to`, which then continues from there (Burr's fork). */
export async function forkApp(persister: StatePersister, from: AppRef, sequenceId: number, to: AppRef): Promise<PersistedStateData> {
  const source = await persister.load(from.partitionKey, from.appId, sequenceId);
  if (!source) throw new Error(`no step ${sequenceId} in app ${from.appId} (list its steps with: npm start -- --history ${from.appId})`);
  await persister.save({ ...to, sequenceId: source.sequenceId, position: source.position, state: source.state, status: source.status });
  return { ...source, appId: to.appId, partitionKey: to.partitionKey };
}

/** Every saved step of an app, oldest first: one load for the latest, then one per earlier step, in parallel. */
export async function history(persister: StatePersister, app: AppRef): Promise<PersistedStateData[]> {
  const latest = await persister.load(app.partitionKey, app.appId);
  if (!latest) return [];
  const earlier = await Promise.all(Array.from({ length: latest.sequenceId }, (_, i) => persister.load(app.partitionKey, app.appId, i)));
  return [...earlier.filter((s): s is PersistedStateData => s !== null), latest];
}

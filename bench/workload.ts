/**
 * The benchmark's workload, fixed and seeded: agents whose chat history grows by one message per
 * step, every step saved whole. Pure and browser-safe (no `node:` imports): the IndexedDB row
 * runs this same module inside Chromium.
 */
import { random } from '../src/testing/helpers.js';

/** How big one run is. */
export interface Scale {
  /** Apps (LangGraph: threads; Mastra: workflow runs) in the main partition. */
  apps: number;
  /** Steps per app; each appends one message and saves the whole state. */
  steps: number;
  /** Loads of an app's latest step, at random apps. */
  latestLoads: number;
  /** Loads of one step, at a random app and step. */
  stepLoads: number;
  /** Listings of the main partition's app ids. */
  lists: number;
  /** History pages: `historyPage` consecutive steps of one app, newest first. */
  historyPages: number;
  historyPage: number;
  /** Apps in the second, wide partition (one step each), for listing pages. */
  wideApps: number;
  /** Listing pages of `pageSize` ids read from the wide partition. */
  pages: number;
  pageSize: number;
}

export const FULL: Scale = { apps: 20, steps: 200, latestLoads: 100, stepLoads: 400, lists: 5, historyPages: 5, historyPage: 20, wideApps: 4000, pages: 10, pageSize: 50 };
export const QUICK: Scale = { apps: 4, steps: 25, latestLoads: 20, stepLoads: 40, lists: 5, historyPages: 2, historyPage: 10, wideApps: 200, pages: 5, pageSize: 50 };
/** The unmeasured warm-up run before the measured ones: every code path, on other keys. */
export const WARMUP: Scale = { apps: 2, steps: 12, latestLoads: 10, stepLoads: 10, lists: 2, historyPages: 1, historyPage: 5, wideApps: 0, pages: 0, pageSize: 50 };

export interface Message {
  role: 'user' | 'assistant';
  content: string;
}

/** The state an agent saves at every step: the whole conversation so far plus a few scalars. */
export interface AgentState {
  messages: Message[];
  step: number;
  tokens: number;
  lastRole: Message['role'];
  done: boolean;
}

/** mulberry32 (the conformance suite's PRNG): same seed, same sequence, every runtime. */
export const prng = random;

const WORDS = (
  'agent tool call result search query answer draft revise plan step state memory context token ' +
  'model prompt reply user assistant order refund invoice ticket shipping address weather forecast ' +
  'calendar meeting summary report table chart error retry timeout budget cost latency region edge ' +
  'worker queue batch stream chunk embed vector score rank filter merge branch commit review ' +
  'approve reject escalate notify schedule remind confirm cancel update delete create fetch parse ' +
  'validate format translate compare explain because however therefore meanwhile finally'
).split(' ');

/** Target size of one message's content in UTF-8 bytes (ASCII here, so characters). */
export const MESSAGE_BYTES = 512;

/**
 * Message `step` of app `app`: ~512 bytes of varied words (never one repeated string, so
 * compression and deduplication get no free ride), a few non-ASCII characters, reproducible.
 */
export function message(app: number, step: number): Message {
  const random = prng((app + 1) * 100_003 + step * 7919);
  const role: Message['role'] = step % 2 === 0 ? 'user' : 'assistant';
  let content = `#${step} `;
  while (content.length < MESSAGE_BYTES - 12) {
    content += WORDS[Math.floor(random() * WORDS.length)]!;
    content += random() < 0.08 ? '. ' : ' ';
  }
  // A little text that JSON must escape or encode as multi-byte UTF-8.
  content = `${content.slice(0, MESSAGE_BYTES - 12).trimEnd()} "ok" é→✓`;
  return { role, content };
}

/**
 * Builds each app's state step by step, as an agent holds it: `next(app)` appends one message
 * and returns a fresh state object (its own messages array) for the step.
 */
export class Conversations {
  readonly #messages: Message[][];
  readonly #steps: number[];
  constructor(apps: number) {
    this.#messages = Array.from({ length: apps }, () => []);
    this.#steps = new Array<number>(apps).fill(0);
  }

  next(app: number): { step: number; state: AgentState } {
    const step = this.#steps[app]!++;
    const list = this.#messages[app]!;
    const m = message(app, step);
    list.push(m);
    return { step, state: { messages: list.slice(), step, tokens: 1000 + step * 137 + app, lastRole: m.role, done: false } };
  }
}

/** The state of one app at one step, built from scratch (for the wide partition and checks). */
export function stateAt(app: number, step: number): AgentState {
  const messages = Array.from({ length: step + 1 }, (_, s) => message(app, s));
  return { messages, step, tokens: 1000 + step * 137 + app, lastRole: messages.at(-1)!.role, done: false };
}

/** Whether a loaded state is the one saved at `step` (length and last message checked). */
export function isStateAt(value: unknown, app: number, step: number): boolean {
  const s = value as Partial<AgentState> | null | undefined;
  return !!s && s.step === step && Array.isArray(s.messages) && s.messages.length === step + 1 && s.messages[step]?.content === message(app, step).content;
}

/** The seeded order of the read phases: which app (and step) each operation reads. */
export function readPlan(scale: Scale, seed = 42): { latest: number[]; steps: [number, number][]; history: number[] } {
  const random = prng(seed);
  const pick = (n: number) => Math.floor(random() * n);
  return {
    latest: Array.from({ length: scale.latestLoads }, () => pick(scale.apps)),
    steps: Array.from({ length: scale.stepLoads }, () => [pick(scale.apps), pick(scale.steps)] as [number, number]),
    history: Array.from({ length: scale.historyPages }, () => pick(scale.apps)),
  };
}

export const appName = (app: number) => `app-${String(app).padStart(4, '0')}`;

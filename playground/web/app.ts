/**
 * The browser playground: the demo agent (playground/agent.ts) run step by step in the page,
 * every step saved to IndexedDB through `IndexedDBPersister`. Sessions list, each app's
 * timeline, the state at any step, fork from a step, delete an app, resume after a reload.
 * Tabs of the same origin share the database and tell each other about changes.
 */
import { isPersisterError, State, stringifyJson, type JsonValue, type PersistedStateData } from '../../src/index.js';
import { IndexedDBPersister, type VersionChangeInfo } from '../../src/persisters/indexeddb.js';
import { forkApp, history, nextAction, runStep, type AgentState, type AppRef } from '../agent.js';

const DB_NAME = 'burr-edge-playground';
const PARTITION = 'playground';
const LINEAGE_KEY = 'burr-edge-playground:lineage';
/** Burr's bookkeeping fields: changed by every step, so not worth calling out. */
const BOOKKEEPING = new Set(['__SEQUENCE_ID', '__PRIOR_STEP', 'tokens']);

interface Summary {
  appId: string;
  question: string;
  sequenceId: number;
  position: string;
  done: boolean;
  createdAt: string;
}

interface OpenApp {
  appId: string;
  steps: PersistedStateData[];
  /** Sequence id of the step shown in the inspector. */
  selected: number;
}

function $(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found;
}

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string; title?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title) node.title = props.title;
  node.append(...children);
  return node;
}

const ui = {
  form: $('new-session') as HTMLFormElement,
  question: $('question') as HTMLInputElement,
  sessions: $('sessions'),
  sessionCount: $('session-count'),
  noSessions: $('no-sessions'),
  workspace: $('workspace'),
  welcome: $('welcome'),
  appId: $('app-id'),
  lineage: $('app-lineage'),
  appQuestion: $('app-question'),
  answer: $('answer'),
  answerText: $('answer-text'),
  runStep: $('run-step') as HTMLButtonElement,
  runAll: $('run-all') as HTMLButtonElement,
  deleteApp: $('delete-app') as HTMLButtonElement,
  timeline: $('timeline'),
  stepCount: $('step-count'),
  stepTitle: $('step-title'),
  stepMeta: $('step-meta'),
  fork: $('fork') as HTMLButtonElement,
  json: $('state-json'),
  notice: $('notice'),
  error: $('error'),
  estimate: $('storage-estimate'),
};

const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('burr-edge-playground') : undefined;

const persister = IndexedDBPersister.fromValues({
  dbName: DB_NAME,
  onVersionChange: (info: VersionChangeInfo) =>
    notice(`Another tab ${info.newVersion === null ? 'deleted' : 'upgraded'} the database; this tab stepped aside and reconnects on the next action.`),
});

let sessions: Summary[] = [];
let current: OpenApp | null = null;
let busy = false;

// ---------------------------------------------------------------------------------------------
// Messages

let noticeTimer: ReturnType<typeof setTimeout> | undefined;

function notice(text: string, sticky = false): void {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
  clearTimeout(noticeTimer);
  if (!sticky) noticeTimer = setTimeout(() => (ui.notice.hidden = true), 8000);
}

function showError(error: unknown): void {
  ui.error.textContent = isPersisterError(error) ? `${error.code}: ${error.message.replace(/^\[burr-edge\] /, '')}` : error instanceof Error ? error.message : String(error);
  ui.error.hidden = false;
}

function clearError(): void {
  ui.error.hidden = true;
  ui.error.textContent = '';
}

// ---------------------------------------------------------------------------------------------
// Fork lineage is the page's own bookkeeping (the persister stores steps, not relations).

type Lineage = Record<string, { from: string; step: number }>;

function readLineage(): Lineage {
  try {
    return JSON.parse(localStorage.getItem(LINEAGE_KEY) ?? '{}') as Lineage;
  } catch {
    return {};
  }
}

function writeLineage(update: (lineage: Lineage) => void): void {
  try {
    const lineage = readLineage();
    update(lineage);
    localStorage.setItem(LINEAGE_KEY, JSON.stringify(lineage));
  } catch {
    // no localStorage (private mode): forks just lose their label
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

function ref(appId: string): AppRef {
  return { partitionKey: PARTITION, appId };
}

function agentState(step: PersistedStateData): AgentState {
  return State.deserialize(step.state) as AgentState;
}

function isDone(step: PersistedStateData): boolean {
  return nextAction(step.position, agentState(step)) === null;
}

function summarize(step: PersistedStateData): Summary {
  return {
    appId: step.appId,
    question: String(step.state.question ?? ''),
    sequenceId: step.sequenceId,
    position: step.position,
    done: isDone(step),
    createdAt: step.createdAt,
  };
}

async function loadSessions(): Promise<void> {
  const ids = await persister.listAppIds(PARTITION);
  const latest = await Promise.all(ids.map((appId) => persister.load(PARTITION, appId)));
  sessions = latest.filter((s): s is PersistedStateData => s !== null).map(summarize);
}

async function loadApp(appId: string, selected?: number): Promise<void> {
  const steps = await history(persister, ref(appId));
  if (steps.length === 0) {
    current = null;
    return;
  }
  const last = steps[steps.length - 1]!.sequenceId;
  current = { appId, steps, selected: selected !== undefined && steps.some((s) => s.sequenceId === selected) ? selected : last };
}

// ---------------------------------------------------------------------------------------------
// Rendering

function time(iso: string): string {
  const date = new Date(iso);
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

function renderSessions(): void {
  const lineage = readLineage();
  ui.sessions.replaceChildren(
    ...sessions.map((s) => {
      const title = h('span', { className: 'session-id' }, s.appId);
      if (lineage[s.appId]) title.append(h('span', { className: 'badge fork', text: 'fork' }));
      if (s.done) title.append(h('span', { className: 'badge done', text: 'finished' }));
      const button = h(
        'button',
        {},
        title,
        h('span', { className: 'session-question', text: s.question }),
        h('span', { className: 'session-meta', text: `step ${s.sequenceId} · ${s.position} · ${ago(s.createdAt)}` }),
      );
      button.type = 'button';
      button.dataset.appId = s.appId;
      button.setAttribute('aria-current', String(current?.appId === s.appId));
      button.addEventListener('click', () => void act(() => select(s.appId)));
      return h('li', {}, button);
    }),
  );
  ui.sessionCount.textContent = String(sessions.length);
  ui.noSessions.hidden = sessions.length > 0;
}

/** Top-level fields whose value differs from the previous step (bookkeeping left out). */
function changedKeys(step: PersistedStateData, previous: PersistedStateData | undefined): string[] {
  if (!previous) return [];
  const keys = new Set([...Object.keys(step.state), ...Object.keys(previous.state)]);
  const text = (value: JsonValue | undefined): string => (value === undefined ? '' : stringifyJson({ v: value }));
  return [...keys].filter((key) => !BOOKKEEPING.has(key) && text(step.state[key]) !== text(previous.state[key]));
}

/** A few words on what a step changed, for the timeline: `notes: 2 items`, `reviews = 1`. */
function describeChanges(step: PersistedStateData, keys: string[]): string {
  return keys
    .map((key) => {
      const value = step.state[key];
      if (Array.isArray(value)) return `${key}: ${value.length} item${value.length === 1 ? '' : 's'}`;
      if (typeof value === 'number' || typeof value === 'bigint') return `${key} = ${value}`;
      if (typeof value === 'string') return `${key} written`;
      return `${key} changed`;
    })
    .join(', ');
}

/** Pretty JSON as DOM nodes (no innerHTML), big integers written exactly, changed fields marked. */
function renderJson(value: JsonValue, changed: Set<string>): DocumentFragment {
  const out = document.createDocumentFragment();
  const token = (className: string, text: string, title?: string): HTMLSpanElement => h('span', { className, text, title });
  const write = (v: JsonValue, indent: string, target: Node): void => {
    if (v === null) target.appendChild(token('l', 'null'));
    else if (typeof v === 'boolean') target.appendChild(token('l', String(v)));
    else if (typeof v === 'bigint') target.appendChild(token('n', v.toString(), 'an integer beyond 2^53, kept exact (bigint)'));
    else if (typeof v === 'number') target.appendChild(token('n', Object.is(v, -0) ? '-0.0' : String(v)));
    else if (typeof v === 'string') target.appendChild(token('s', JSON.stringify(v)));
    else if (Array.isArray(v)) {
      if (v.length === 0) return void target.appendChild(document.createTextNode('[]'));
      target.appendChild(document.createTextNode('[\n'));
      v.forEach((item, i) => {
        target.appendChild(document.createTextNode(indent + '  '));
        write(item, indent + '  ', target);
        target.appendChild(document.createTextNode(i < v.length - 1 ? ',\n' : '\n'));
      });
      target.appendChild(document.createTextNode(indent + ']'));
    } else {
      const entries = Object.entries(v);
      if (entries.length === 0) return void target.appendChild(document.createTextNode('{}'));
      target.appendChild(document.createTextNode('{\n'));
      entries.forEach(([key, item], i) => {
        const comma = i < entries.length - 1 ? ',' : '';
        if (indent === '' && changed.has(key)) {
          // A changed top-level field is one block: its lines are highlighted together.
          const block = h('span', { className: 'changed', title: 'changed by this step' }, `${indent}  `, token('k', JSON.stringify(key)), ': ');
          write(item, indent + '  ', block);
          block.append(comma);
          target.appendChild(block);
          return;
        }
        target.appendChild(document.createTextNode(indent + '  '));
        target.appendChild(token('k', JSON.stringify(key)));
        target.appendChild(document.createTextNode(': '));
        write(item, indent + '  ', target);
        target.appendChild(document.createTextNode(comma + '\n'));
      });
      target.appendChild(document.createTextNode(indent + '}'));
    }
  };
  write(value, '', out);
  return out;
}

function renderApp(): void {
  renderSessions();
  ui.workspace.hidden = current === null;
  ui.welcome.hidden = current !== null;
  if (!current) return;
  const { appId, steps, selected } = current;
  const latest = steps[steps.length - 1]!;
  const done = isDone(latest);
  const origin = readLineage()[appId];
  ui.lineage.textContent = origin ? `Fork of ${origin.from} at step ${origin.step}` : 'Session';
  ui.appId.textContent = appId;
  ui.appQuestion.textContent = String(latest.state.question ?? '');
  const answer = latest.state.answer;
  ui.answer.hidden = typeof answer !== 'string';
  ui.answerText.textContent = typeof answer === 'string' ? answer : '';
  ui.runStep.disabled = busy || done;
  ui.runAll.disabled = busy || done;
  ui.deleteApp.disabled = busy;
  ui.fork.disabled = busy;
  ui.runStep.textContent = done ? 'Finished' : 'Run next step';
  ui.runStep.classList.toggle('finished', done);
  ui.stepCount.textContent = `${steps.length} step${steps.length === 1 ? '' : 's'}${done ? ' · finished' : ''}`;

  ui.timeline.replaceChildren(
    ...steps.map((step, i) => {
      const changes = i === 0 ? (step.sequenceId === 0 ? 'initial state' : 'forked here') : describeChanges(step, changedKeys(step, steps[i - 1])) || 'no change';
      const button = h(
        'button',
        { title: `Step ${step.sequenceId}: ${step.position}, saved ${new Date(step.createdAt).toLocaleString()}` },
        h('span', { className: 'dot', text: String(step.sequenceId) }),
        h('span', {}, h('span', { className: 'step-name', text: step.position }), h('span', { className: 'step-changes', text: changes })),
        h('span', { className: 'step-time', text: time(step.createdAt) }),
      );
      button.type = 'button';
      button.dataset.sequenceId = String(step.sequenceId);
      button.setAttribute('aria-current', String(step.sequenceId === selected));
      button.addEventListener('click', () => {
        if (!current) return;
        current.selected = step.sequenceId;
        writeHash();
        renderApp();
      });
      return h('li', {}, button);
    }),
  );

  const index = steps.findIndex((s) => s.sequenceId === selected);
  const step = steps[index]!;
  ui.stepTitle.textContent = `Step ${step.sequenceId} · ${step.position}`;
  ui.stepMeta.textContent = `${step.status} · saved ${new Date(step.createdAt).toLocaleString()}`;
  ui.json.replaceChildren(renderJson(step.state, new Set(changedKeys(step, steps[index - 1]))));
  // Where the inspector scrolls (desktop), keep the first changed field in view.
  const firstChange = ui.json.querySelector<HTMLElement>('.changed');
  ui.json.scrollTop = 0;
  if (firstChange && firstChange.offsetTop + 40 > ui.json.clientHeight) ui.json.scrollTop = firstChange.offsetTop - 48;
  ui.timeline.querySelector('[aria-current="true"]')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

function writeHash(): void {
  const hash = current ? `#app=${encodeURIComponent(current.appId)}&step=${current.selected}` : '';
  if (location.hash !== hash) history_.replaceState(null, '', hash || location.pathname);
}

// `history` is the agent's; the browser's is this.
const history_ = window.history;

function readHash(): { appId?: string; step?: number } {
  const params = new URLSearchParams(location.hash.slice(1));
  const step = params.get('step');
  return { appId: params.get('app') ?? undefined, step: step !== null && /^\d+$/.test(step) ? Number(step) : undefined };
}

async function updateEstimate(): Promise<void> {
  try {
    const estimate = await navigator.storage?.estimate?.();
    if (estimate?.usage !== undefined) ui.estimate.textContent = `This origin uses ${(estimate.usage / 1024).toFixed(1)} KB of IndexedDB and other storage`;
  } catch {
    // not every browser says
  }
}

// ---------------------------------------------------------------------------------------------
// Actions

/** Runs one user action: buttons off meanwhile, errors shown, other tabs told. */
async function act(run: () => Promise<void>, changes = false): Promise<void> {
  if (busy) return;
  busy = true;
  clearError();
  renderApp();
  try {
    await run();
    if (changes) channel?.postMessage({ type: 'changed' });
  } catch (error) {
    showError(error);
  } finally {
    busy = false;
    renderApp();
    void updateEstimate();
  }
}

async function select(appId: string, step?: number): Promise<void> {
  await loadApp(appId, step);
  writeHash();
}

async function refresh(appId = current?.appId, step?: number): Promise<void> {
  await loadSessions();
  if (appId && sessions.some((s) => s.appId === appId)) await loadApp(appId, step);
  else current = null;
  writeHash();
}

function newId(prefix: string): string {
  for (;;) {
    const id = `${prefix}-${Math.random().toString(36).slice(2, 6)}`;
    if (!sessions.some((s) => s.appId === id)) return id;
  }
}

async function runNext(): Promise<boolean> {
  if (!current) return false;
  try {
    const result = await runStep(persister, ref(current.appId));
    await refresh(current.appId);
    return !result.done;
  } catch (error) {
    if (isPersisterError(error) && error.code === 'ALREADY_EXISTS') {
      // Another tab ran this step first: its step is kept, ours refused. Show what is stored.
      await refresh(current.appId);
      notice('Another tab saved this step first; showing the stored step.');
      return false;
    }
    throw error;
  }
}

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const question = ui.question.value.trim() || 'Why persist agent state at the edge?';
  void act(async () => {
    const appId = newId('run');
    await runStep(persister, ref(appId), question);
    await refresh(appId);
  }, true);
});

ui.runStep.addEventListener('click', () => void act(async () => void (await runNext()), true));

ui.runAll.addEventListener('click', () =>
  void act(async () => {
    for (let i = 0; i < 50 && (await runNext()); i++) {
      renderApp();
      await new Promise((resolve) => setTimeout(resolve, 120)); // let the timeline grow visibly
    }
  }, true),
);

ui.fork.addEventListener('click', () =>
  void act(async () => {
    if (!current) return;
    const from = current.appId;
    const step = current.selected;
    const to = newId('fork');
    await forkApp(persister, ref(from), step, ref(to));
    writeLineage((lineage) => (lineage[to] = { from, step }));
    await refresh(to);
    notice(`Forked ${from} at step ${step} into ${to}.`);
  }, true),
);

let confirmTimer: ReturnType<typeof setTimeout> | undefined;
ui.deleteApp.addEventListener('click', () => {
  if (!current) return;
  // Two clicks, no modal: the first arms the button, the second deletes.
  if (!ui.deleteApp.classList.contains('confirming')) {
    ui.deleteApp.classList.add('confirming');
    ui.deleteApp.textContent = 'Click again to delete';
    confirmTimer = setTimeout(disarmDelete, 4000);
    return;
  }
  disarmDelete();
  const appId = current.appId;
  void act(async () => {
    await persister.deleteApp(PARTITION, appId);
    writeLineage((lineage) => delete lineage[appId]);
    await loadSessions();
    const next = sessions[0]?.appId;
    if (next) await select(next);
    else current = null;
    writeHash();
    notice(`Deleted ${appId} and all its steps.`);
  }, true);
});

function disarmDelete(): void {
  clearTimeout(confirmTimer);
  ui.deleteApp.classList.remove('confirming');
  ui.deleteApp.textContent = 'Delete this app';
}

channel?.addEventListener('message', () => {
  if (!busy) void act(() => refresh(current?.appId, current?.selected));
});

window.addEventListener('hashchange', () => {
  const { appId, step } = readHash();
  if (appId && (appId !== current?.appId || step !== current?.selected)) void act(() => select(appId, step));
});

// ---------------------------------------------------------------------------------------------
// Start: resume what IndexedDB holds.

void act(async () => {
  await persister.initialize();
  await loadSessions();
  const { appId, step } = readHash();
  const resume = appId && sessions.some((s) => s.appId === appId) ? appId : sessions[0]?.appId;
  if (resume) {
    await select(resume, appId === resume ? step : undefined);
    const latest = current?.steps[current.steps.length - 1];
    if (latest) notice(`Resumed ${resume} from IndexedDB at step ${latest.sequenceId} (${latest.position}).`);
  }
  document.documentElement.dataset.ready = 'true';
});

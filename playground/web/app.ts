/**
 * The browser playground: the demo agent (playground/agent.ts) run step by step in the page,
 * every step saved to IndexedDB through `IndexedDBPersister`, all through the library's session
 * API: the session list is `listApps` page by page, an app's timeline is `listHistory` (newest
 * first, a fork's first step naming its source), a step runs through `initializeFrom` and
 * `StepSaver`, a fork is `initializeFrom({ forkFrom })`. Tabs of the same origin share the
 * database and tell each other about changes.
 */
import { isPersisterError, FORK_KEY, stringifyJson, type AppSummary, type ForkSource, type HistoryStep, type JsonObject, type JsonValue } from '../../src/index.js';
import { IndexedDBPersister, type VersionChangeInfo } from '../../src/persisters/indexeddb/index.js';
import { FINAL_ACTION, openSession, runStep, type AppRef } from '../agent.js';

const DB_NAME = 'burr-edge-playground';
const PARTITION = 'playground';
/** Sessions per `listApps` page: the list grows by this much per "Show more". */
const SESSIONS_PAGE = 8;
/** Steps per `listHistory` page; the agent's apps have at most 10, so one page holds a whole app. */
const HISTORY_PAGE = 50;
/** Burr's bookkeeping fields (and the fork's lineage): changed by every step, so not worth calling out. */
const BOOKKEEPING = new Set(['__SEQUENCE_ID', '__PRIOR_STEP', 'tokens', FORK_KEY]);

interface SessionList {
  apps: AppSummary[];
  /** The next `listApps` page's cursor; `null` when the list is complete. */
  nextCursor: string | null;
}

interface OpenApp {
  appId: string;
  /** Every step, newest first, each with its state. */
  steps: HistoryStep[];
  /** Where this app was forked from (its first step says so). */
  forkedFrom: ForkSource | undefined;
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
  moreSessions: $('more-sessions') as HTMLButtonElement,
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

let sessions: SessionList = { apps: [], nextCursor: null };
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
// Reading: one listApps call per page of sessions, one listHistory call per page of steps.

function ref(appId: string): AppRef {
  return { partitionKey: PARTITION, appId };
}

const isFinished = (position: string): boolean => position === FINAL_ACTION;
const stateOf = (step: HistoryStep): JsonObject => step.state ?? {};

/** Reloads the session list, as many sessions as were shown (at least one page) in one call. */
async function loadSessions(): Promise<void> {
  const page = await persister.listApps(PARTITION, { limit: Math.max(SESSIONS_PAGE, sessions.apps.length) });
  sessions = { apps: page.apps, nextCursor: page.nextCursor };
}

/** The next page of sessions, after those shown. */
async function loadMoreSessions(): Promise<void> {
  if (sessions.nextCursor === null) return;
  const page = await persister.listApps(PARTITION, { limit: SESSIONS_PAGE, cursor: sessions.nextCursor });
  const shown = new Set(sessions.apps.map((app) => app.appId));
  sessions = { apps: [...sessions.apps, ...page.apps.filter((app) => !shown.has(app.appId))], nextCursor: page.nextCursor };
}

/** Every step of an app with its state, newest first; `[]` when it has none. */
async function loadSteps(appId: string): Promise<HistoryStep[]> {
  const steps: HistoryStep[] = [];
  let before: number | null = null;
  do {
    const page = await persister.listHistory(PARTITION, appId, { limit: HISTORY_PAGE, before, withState: true });
    steps.push(...page.steps);
    before = page.nextBefore;
  } while (before !== null);
  return steps;
}

async function loadApp(appId: string, selected?: number): Promise<boolean> {
  const steps = await loadSteps(appId);
  if (steps.length === 0) return false;
  const latest = steps[0]!.sequenceId;
  current = { appId, steps, forkedFrom: steps[steps.length - 1]!.forkedFrom, selected: selected !== undefined && steps.some((s) => s.sequenceId === selected) ? selected : latest };
  return true;
}

function appLink(appId: string, step: number): string {
  return `#app=${encodeURIComponent(appId)}&step=${step}`;
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
  ui.sessions.replaceChildren(
    ...sessions.apps.map((s) => {
      const title = h('span', { className: 'session-id' }, s.appId);
      if (isFinished(s.position)) title.append(h('span', { className: 'badge done', text: 'finished' }));
      if (s.status === 'failed') title.append(h('span', { className: 'badge failed', text: 'failed' }));
      const button = h('button', {}, title, h('span', { className: 'session-meta', text: `step ${s.latestSequenceId} · ${s.position} · ${ago(s.updatedAt)}` }));
      button.type = 'button';
      button.dataset.appId = s.appId;
      button.setAttribute('aria-current', String(current?.appId === s.appId));
      button.addEventListener('click', () => void act(() => select(s.appId)));
      return h('li', {}, button);
    }),
  );
  const more = sessions.nextCursor !== null;
  ui.sessionCount.textContent = `${sessions.apps.length}${more ? '+' : ''}`;
  ui.sessionCount.title = more ? `${sessions.apps.length} shown; more below` : `${sessions.apps.length} session${sessions.apps.length === 1 ? '' : 's'}`;
  ui.moreSessions.hidden = !more;
  ui.moreSessions.disabled = busy;
  ui.noSessions.hidden = sessions.apps.length > 0;
}

/** Top-level fields whose value differs from the previous step (bookkeeping left out). */
function changedKeys(step: HistoryStep, previous: HistoryStep | undefined): string[] {
  if (!previous) return [];
  const [now, before] = [stateOf(step), stateOf(previous)];
  const keys = new Set([...Object.keys(now), ...Object.keys(before)]);
  const text = (value: JsonValue | undefined): string => (value === undefined ? '' : stringifyJson({ v: value }));
  return [...keys].filter((key) => !BOOKKEEPING.has(key) && text(now[key]) !== text(before[key]));
}

/** A few words on what a step changed, for the timeline: `notes: 2 items`, `reviews = 1`. */
function describeChanges(step: HistoryStep, keys: string[]): string {
  return keys
    .map((key) => {
      const value = stateOf(step)[key];
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

/** The page's JSON view of a step: the lineage field is shown in the header and on the timeline, not in the state. */
function shownState(step: HistoryStep): JsonObject {
  const { [FORK_KEY]: _lineage, ...rest } = stateOf(step);
  return rest;
}

function renderApp(): void {
  renderSessions();
  ui.workspace.hidden = current === null;
  ui.welcome.hidden = current !== null;
  if (!current) return;
  const { appId, steps, selected, forkedFrom } = current;
  const latest = steps[0]!;
  const state = stateOf(latest);
  const done = isFinished(latest.position);
  ui.lineage.replaceChildren(...(forkedFrom ? ['Fork of ', forkLink(forkedFrom, forkedFrom.appId), ` at step ${forkedFrom.sequenceId}`] : ['Session']));
  ui.appId.textContent = appId;
  ui.appQuestion.textContent = String(state.question ?? '');
  const answer = state.answer;
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
      const previous = steps[i + 1];
      const changes = step.forkedFrom ? 'forked here' : previous ? describeChanges(step, changedKeys(step, previous)) || 'no change' : step.sequenceId === 0 ? 'initial state' : 'first step';
      const saved = new Date(step.createdAt).toLocaleString();
      const button = h(
        'button',
        { className: 'step', title: `Step ${step.sequenceId}: ${step.position}, ${step.status}, saved ${saved}` },
        h('span', { className: 'dot', text: String(step.sequenceId) }),
        h('span', { className: 'step-main' }, h('span', { className: 'step-name', text: step.position }), h('span', { className: 'step-changes', text: changes })),
        h('span', { className: 'step-when' }, h('span', { className: 'step-time', text: time(step.createdAt) }), h('span', { className: `step-status status-${step.status}`, text: step.status })),
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
      const fork = h('button', { className: 'step-fork', text: 'Fork', title: `Start a new session from step ${step.sequenceId}` });
      fork.type = 'button';
      fork.dataset.forkStep = String(step.sequenceId);
      fork.setAttribute('aria-label', `Fork from step ${step.sequenceId}`);
      fork.disabled = busy;
      fork.addEventListener('click', () => forkFrom(step.sequenceId));
      const item = h('li', { className: step.forkedFrom ? 'forked' : '' }, button, fork);
      if (step.forkedFrom) {
        const source = step.forkedFrom;
        item.append(h('p', { className: 'fork-marker' }, '↳ forked from ', forkLink(source, `${source.appId} @ step ${source.sequenceId}`)));
      }
      return item;
    }),
  );

  const index = steps.findIndex((s) => s.sequenceId === selected);
  const step = steps[index]!;
  ui.stepTitle.textContent = `Step ${step.sequenceId} · ${step.position}`;
  ui.stepMeta.textContent = `${step.status} · saved ${new Date(step.createdAt).toLocaleString()}`;
  ui.fork.textContent = `Fork from step ${step.sequenceId}`;
  ui.json.replaceChildren(renderJson(shownState(step), new Set(changedKeys(step, steps[index + 1]))));
  // Where the inspector scrolls (desktop), keep the first changed field in view.
  const firstChange = ui.json.querySelector<HTMLElement>('.changed');
  ui.json.scrollTop = 0;
  if (firstChange && firstChange.offsetTop + 40 > ui.json.clientHeight) ui.json.scrollTop = firstChange.offsetTop - 48;
  ui.timeline.querySelector('[aria-current="true"]')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

/** A link to the step a fork came from (same partition: this page's). */
function forkLink(source: ForkSource, label: string): HTMLAnchorElement {
  const link = h('a', { className: 'fork-link', text: label, title: `Open ${source.appId} at step ${source.sequenceId}` });
  link.href = appLink(source.appId, source.sequenceId);
  return link;
}

function writeHash(): void {
  const hash = current ? appLink(current.appId, current.selected) : '';
  if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname);
}

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
  // A link to a fork's source that was deleted since: say so and stay where we are.
  if (!(await loadApp(appId, step))) notice(`${appId} has no saved steps (deleted?).`);
  writeHash();
}

async function refresh(appId = current?.appId, step?: number): Promise<void> {
  await loadSessions();
  if (!appId || !(await loadApp(appId, step))) current = null;
  writeHash();
}

function newId(prefix: string): string {
  // Four random characters; should one be taken anyway, the save (expectedSequenceId: null) refuses it.
  for (;;) {
    const id = `${prefix}-${Math.random().toString(36).slice(2, 6)}`;
    if (!sessions.apps.some((s) => s.appId === id)) return id;
  }
}

async function runNext(): Promise<boolean> {
  if (!current) return false;
  try {
    // One load (initializeFrom) and one save that holds only if the app's latest step is still the one loaded.
    const result = await runStep(persister, ref(current.appId));
    await refresh(current.appId);
    return !result.done;
  } catch (error) {
    if (isPersisterError(error) && (error.code === 'CONCURRENT_UPDATE' || error.code === 'ALREADY_EXISTS')) {
      // Another tab saved a different next step first: its step is kept, ours refused. Show what is stored.
      await refresh(current.appId);
      notice('Another tab saved this step first; showing the stored step.');
      return false;
    }
    throw error;
  }
}

function forkFrom(step: number): void {
  void act(async () => {
    if (!current) return;
    const from = current.appId;
    const to = newId('fork');
    // Saves the fork's first step (a copy of `step` naming its source); the source is not written.
    await openSession(persister, ref(to), { forkFrom: { appId: from, sequenceId: step } });
    await refresh(to);
    notice(`Forked ${from} at step ${step} into ${to}.`);
  }, true);
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

ui.fork.addEventListener('click', () => {
  if (current) forkFrom(current.selected);
});

ui.moreSessions.addEventListener('click', () => void act(loadMoreSessions));

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
    await loadSessions();
    const next = sessions.apps[0]?.appId;
    if (!next || !(await loadApp(next))) current = null;
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
  // The hash's app (it may be beyond the first page of sessions), else the most recently saved.
  const resumed = (appId !== undefined && (await loadApp(appId, step))) || (sessions.apps[0] !== undefined && (await loadApp(sessions.apps[0].appId)));
  writeHash();
  const latest = resumed ? current?.steps[0] : undefined;
  if (latest) notice(`Resumed ${current!.appId} from IndexedDB at step ${latest.sequenceId} (${latest.position}).`);
  document.documentElement.dataset.ready = 'true';
});

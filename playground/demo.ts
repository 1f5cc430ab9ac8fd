/**
 * `npm start`: the demo agent, saving every step through a burr-edge persister — by default
 * `SQLitePersister` on a local libSQL file (./burr-state.db), no server needed. Run it again and
 * it resumes where it stopped; interrupting it loses at most the step in flight.
 *
 *   npm start                         run the next steps of the current app (or start one)
 *   npm start -- --list               list this owner's apps, page by page (listApps)
 *   npm start -- --history <app>      print an app's saved steps, newest first, page by page (listHistory)
 *   npm start -- --new ["question"]   start a new app
 *   npm start -- --fork <app>@<seq>   fork a new app from a saved step (also <app>:<seq>; <app> alone: its latest)
 *   npm start -- --app <app>          resume that app
 *   options: --db <libsql url> --backend <name> --owner <partition key> --steps <n> --delay <ms> --page-size <n>
 */
import { parseArgs } from 'node:util';
import { State, isPersisterError, type AppsPage, type ForkSource, type HistoryPage } from '../src/index.js';
import { FINAL_ACTION, openSession, type AgentState, type AppRef } from './agent.js';
import { BACKENDS, ConfigError, backendConfigFromEnv, createPersister, type BackendConfig, type ManagedPersister } from './backends.js';

const HELP = `Usage: npm start -- [--list | --history <app> | --new [question] | --fork <app>@<seq> | --app <app>]
Options:
  --db <url>         libSQL URL (default file:./burr-state.db; also :memory:, libsql://…, https://…)
  --backend <name>   ${BACKENDS.join(' | ')} (default libsql; others read their settings from the environment)
  --owner <key>      partition key (default demo-user)
  --steps <n>        steps to run this time (default 4)
  --delay <ms>       pause between steps, so you can interrupt (default 250)
  --page-size <n>    apps (--list) or steps (--history) fetched per page (default 20)
--fork takes <app>@<seq> (or <app>:<seq>); <app> alone forks its latest step.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    db: { type: 'string', default: process.env.LIBSQL_URL || 'file:./burr-state.db' },
    backend: { type: 'string', default: process.env.BURR_BACKEND || 'libsql' },
    owner: { type: 'string', default: 'demo-user' },
    steps: { type: 'string', default: '4' },
    delay: { type: 'string', default: '250' },
    list: { type: 'boolean', default: false },
    history: { type: 'string' },
    new: { type: 'boolean', default: false },
    fork: { type: 'string' },
    app: { type: 'string' },
    'page-size': { type: 'string', default: '20' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function backendConfig(): BackendConfig {
  // --db is the libSQL URL; the other backends read their settings (README) from the environment.
  return backendConfigFromEnv({ ...process.env, BURR_BACKEND: values.backend, LIBSQL_URL: values.db });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function describeStep(position: string, state: AgentState): string {
  switch (position) {
    case 'start':
      return `question: ${state.get('question')}`;
    case 'plan':
      return `plan: ${state.get('plan').join(', ')}`;
    case 'research': {
      const note = state.get('notes').at(-1)!;
      return `${note.topic}: ${note.finding}`;
    }
    case 'draft':
      return `${state.get('draft').slice(0, 72)}…`;
    case 'review':
      return `review ${state.get('reviews')} done`;
    case 'finalize':
      return `answer: ${state.get('answer')}`;
    default:
      return '';
  }
}

function newAppId(): string {
  return `app-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${Math.floor(Math.random() * 1e4).toString().padStart(4, '0')}`;
}

function positiveInt(name: string, text: string | undefined): number {
  if (text === undefined || !/^\d{1,6}$/.test(text) || Number(text) === 0) throw new ConfigError(`--${name} takes a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

const forkText = (source: ForkSource): string => `${source.appId}@${source.sequenceId}`;

/** The app to run: --app, else the owner's most recently saved app if unfinished, else a new one. */
async function pickApp(persister: ManagedPersister, owner: string): Promise<AppRef> {
  if (values.app) return { partitionKey: owner, appId: values.app };
  if (!values.new) {
    const [latest] = (await persister.listApps(owner, { limit: 1 })).apps;
    if (latest && latest.position !== FINAL_ACTION) return { partitionKey: owner, appId: latest.appId };
  }
  return { partitionKey: owner, appId: newAppId() };
}

async function run(persister: ManagedPersister, owner: string): Promise<void> {
  const app = await pickApp(persister, owner);
  const question = values.new ? positionals.join(' ') || undefined : undefined;
  // One load: resume from the latest step, or start fresh. Each step after that is one save.
  const session = await openSession(persister, app, question === undefined ? {} : { question });
  if (session.origin === 'fresh') console.log(`Starting a new app ${app.appId}`);
  else console.log(`Resuming app ${app.appId} after step ${session.sequenceId} (${session.position})${session.forkedFrom ? `, forked from ${forkText(session.forkedFrom)}` : ''}`);
  const steps = Number(values.steps);
  for (let i = 0; i < steps; i++) {
    const started = performance.now();
    const result = await session.step();
    if (!result.saved) {
      console.log(`App ${app.appId} is finished. Start another with: npm start -- --new`);
      return;
    }
    const ms = (performance.now() - started).toFixed(1);
    console.log(`  step ${String(result.sequenceId).padStart(2)}  ${result.position.padEnd(9)} ${describeStep(result.position, result.state)}  [saved, ${ms} ms]`);
    if (result.done) {
      console.log(`Finished. Run 'npm start' again for a new app, or 'npm start -- --history ${app.appId}'.`);
      return;
    }
    if (i < steps - 1) await sleep(Number(values.delay));
  }
  console.log(`Stopped after ${steps} steps; run 'npm start' again to resume app ${app.appId}.`);
}

/** Every app of the owner, most recently saved first: one listApps call per page. */
async function list(persister: ManagedPersister, owner: string, pageSize: number): Promise<void> {
  let cursor: string | null = null;
  let page = 1;
  let count = 0;
  do {
    const apps: AppsPage = await persister.listApps(owner, { limit: pageSize, cursor });
    if (page > 1) console.log(`  -- page ${page} --`);
    for (const app of apps.apps) {
      console.log(`  ${app.appId}  step ${app.latestSequenceId} (${app.position})  ${app.position === FINAL_ACTION ? 'finished' : 'in progress'}  ${app.updatedAt}${app.status === 'failed' ? '  failed' : ''}`);
    }
    count += apps.apps.length;
    cursor = apps.nextCursor;
    page++;
  } while (cursor !== null);
  console.log(count === 0 ? 'No apps yet. Run: npm start' : `${count} app${count === 1 ? '' : 's'}`);
}

/** An app's steps, newest first: one listHistory call per page, each step's state to describe it. */
async function printHistory(persister: ManagedPersister, owner: string, appId: string, pageSize: number): Promise<void> {
  let before: number | null = null;
  let page = 1;
  let count = 0;
  do {
    const steps: HistoryPage = await persister.listHistory(owner, appId, { limit: pageSize, before, withState: true });
    if (page === 1 && steps.steps.length > 0) console.log(`App ${appId}, newest step first:`);
    if (page > 1) console.log(`  -- page ${page} --`);
    for (const step of steps.steps) {
      const state = State.deserialize(step.state!) as AgentState;
      console.log(`  step ${String(step.sequenceId).padStart(2)}  ${step.position.padEnd(9)} ${step.status}  ${step.createdAt}  ${describeStep(step.position, state)}`);
      if (step.forkedFrom) console.log(`           forked from ${forkText(step.forkedFrom)}${step.forkedFrom.partitionKey === owner ? '' : ` (owner ${step.forkedFrom.partitionKey})`}: the steps before it are that app's`);
    }
    count += steps.steps.length;
    before = steps.nextBefore;
    page++;
  } while (before !== null);
  if (count === 0) console.log(`No app ${appId} for owner ${owner}.`);
}

/** `<app>@<seq>`, `<app>:<seq>`, or `<app>` (its latest step). */
function parseForkSpec(spec: string): { appId: string; sequenceId?: number } {
  const match = /^(.+)[@:](\d+)$/.exec(spec);
  if (match) return { appId: match[1]!, sequenceId: Number(match[2]) };
  if (/[@:]/.test(spec) || spec === '') throw new ConfigError('--fork takes <app>@<sequenceId> (or <app>:<sequenceId>, or <app> for its latest step), e.g. --fork app-1@3');
  return { appId: spec };
}

async function fork(persister: ManagedPersister, owner: string, spec: string): Promise<void> {
  const from = parseForkSpec(spec);
  const to: AppRef = { partitionKey: owner, appId: newAppId() };
  // Reads the source step and saves the fork's first step (a copy naming its source); the source is untouched.
  const session = await openSession(persister, to, { forkFrom: from });
  console.log(`Forked ${from.appId} at step ${session.sequenceId} (${session.position}) into ${to.appId}. Resume it with: npm start -- --app ${to.appId}`);
}

async function main(): Promise<void> {
  if (values.help) {
    console.log(HELP);
    return;
  }
  const owner = values.owner!;
  const pageSize = positiveInt('page-size', values['page-size']);
  const config = backendConfig();
  const persister = await createPersister(config);
  console.log(`burr-edge demo · ${config.backend}${config.backend === 'libsql' ? ` ${config.url}` : ''} · owner ${owner}`);
  try {
    if (values.list) await list(persister, owner, pageSize);
    else if (values.history) await printHistory(persister, owner, values.history, pageSize);
    else if (values.fork) await fork(persister, owner, values.fork);
    else await run(persister, owner);
  } finally {
    await persister.close();
  }
}

main().catch((error: unknown) => {
  if (isPersisterError(error)) console.error(`${error.name} (${error.code}): ${error.message}`);
  else if (error instanceof ConfigError) console.error(`${error.message}\n\n${HELP}`);
  // Anything else the user caused (a bad --fork, a missing step) reads as its message; BURR_DEBUG=1 shows the stack.
  else console.error(error instanceof Error && !process.env.BURR_DEBUG ? error.message : error);
  process.exitCode = 1;
});

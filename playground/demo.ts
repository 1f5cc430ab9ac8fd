/**
 * `npm start`: the demo agent, saving every step through a burr-edge persister — by default
 * `SQLitePersister` on a local libSQL file (./burr-state.db), no server needed. Run it again and
 * it resumes where it stopped; interrupting it loses at most the step in flight.
 *
 *   npm start                         run the next steps of the current app (or start one)
 *   npm start -- --list               list this owner's apps
 *   npm start -- --history <app>      print an app's saved steps
 *   npm start -- --new ["question"]   start a new app
 *   npm start -- --fork <app>:<seq>   fork a new app from a saved step
 *   npm start -- --app <app>          resume that app
 *   options: --db <libsql url> --backend <name> --owner <partition key> --steps <n> --delay <ms>
 */
import { parseArgs } from 'node:util';
import { State, isPersisterError } from '../src/index.js';
import { forkApp, history, runStep, type AgentState, type AppRef } from './agent.js';
import { BACKENDS, ConfigError, backendConfigFromEnv, createPersister, type BackendConfig, type ManagedPersister } from './backends.js';

const HELP = `Usage: npm start -- [--list | --history <app> | --new [question] | --fork <app>:<seq> | --app <app>]
Options:
  --db <url>         libSQL URL (default file:./burr-state.db; also :memory:, libsql://…, https://…)
  --backend <name>   ${BACKENDS.join(' | ')} (default libsql; others read their settings from the environment)
  --owner <key>      partition key (default demo-user)
  --steps <n>        steps to run this time (default 4)
  --delay <ms>       pause between steps, so you can interrupt (default 250)`;

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

async function pickApp(persister: ManagedPersister, owner: string): Promise<{ app: AppRef; resumed: boolean }> {
  if (values.app) return { app: { partitionKey: owner, appId: values.app }, resumed: true };
  if (!values.new) {
    const latest = await persister.load(owner, null);
    if (latest && latest.state.answer === null) return { app: { partitionKey: owner, appId: latest.appId }, resumed: true };
  }
  return { app: { partitionKey: owner, appId: newAppId() }, resumed: false };
}

async function run(persister: ManagedPersister, owner: string): Promise<void> {
  const { app, resumed } = await pickApp(persister, owner);
  const latest = await persister.load(app.partitionKey, app.appId);
  if (resumed && latest) console.log(`Resuming app ${app.appId} after step ${latest.sequenceId} (${latest.position})`);
  else console.log(`Starting a new app ${app.appId}`);
  const steps = Number(values.steps);
  const question = values.new ? positionals.join(' ') || undefined : undefined;
  for (let i = 0; i < steps; i++) {
    const started = performance.now();
    const result = await runStep(persister, app, question);
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

async function main(): Promise<void> {
  if (values.help) {
    console.log(HELP);
    return;
  }
  const owner = values.owner!;
  const config = backendConfig();
  const persister = await createPersister(config);
  console.log(`burr-edge demo · ${config.backend}${config.backend === 'libsql' ? ` ${config.url}` : ''} · owner ${owner}`);
  try {
    if (values.list) {
      const apps = await persister.listAppIds(owner);
      if (apps.length === 0) console.log('No apps yet. Run: npm start');
      for (const appId of apps) {
        const latest = (await persister.load(owner, appId))!;
        console.log(`  ${appId}  step ${latest.sequenceId} (${latest.position})  ${latest.state.answer === null ? 'in progress' : 'finished'}  ${latest.createdAt}`);
      }
    } else if (values.history) {
      const steps = await history(persister, { partitionKey: owner, appId: values.history });
      if (steps.length === 0) console.log(`No app ${values.history} for owner ${owner}.`);
      for (const step of steps) {
        console.log(`  step ${String(step.sequenceId).padStart(2)}  ${step.position.padEnd(9)} ${step.status}  ${step.createdAt}  ${describeStep(step.position, State.deserialize(step.state) as AgentState)}`);
      }
    } else if (values.fork) {
      const match = /^(.+):(\d+)$/.exec(values.fork);
      if (!match) throw new ConfigError('--fork takes <app>:<sequenceId>, e.g. --fork app-1:3');
      const to = { partitionKey: owner, appId: newAppId() };
      const forked = await forkApp(persister, { partitionKey: owner, appId: match[1]! }, Number(match[2]), to);
      console.log(`Forked ${match[1]} at step ${forked.sequenceId} (${forked.position}) into ${to.appId}. Resume it with: npm start -- --app ${to.appId}`);
    } else {
      await run(persister, owner);
    }
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

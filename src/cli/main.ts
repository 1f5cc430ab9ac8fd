/**
 * The `burr-edge` command: look inside a store (`list`, `history`, `show`) and copy sessions
 * between stores (`copy`). Argument parsing is commander's, the progress bar cli-progress's;
 * both are dependencies of the bin only — no library subpath imports this folder.
 */
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { isPersisterError, redactSecrets } from '../core/errors.js';
import { stringifyJson } from '../core/json.js';
import type { PersistedStateData, StatePersister } from '../core/types.js';
import type { MaterializeResult } from '../core/base.js';

type MaterializeFn = (partitionKey: string, appId: string) => Promise<MaterializeResult>;
import { copyStores, type CopyProgress } from './copy.js';
import { addGatewayCommand } from './gateway.js';
import { CliError, STORE_KINDS, openStore, positiveInt, type Store, type StoreOptions } from './stores.js';

/** Where the command writes, and what it must never write. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  env: Readonly<Record<string, string | undefined>>;
}

/** The store flags every command takes (see {@link StoreOptions}), and `--partition`. */
type CommonFlags = Omit<StoreOptions, 'env'> & { partition?: string };

const STORES_HELP = `
Stores (<store>, <from>, <to>) are one URL-like argument each:
  file:burr-state.db[#table]            SQLite file (libSQL)
  libsql://db.turso.io[#table]          Turso / sqld over HTTP (token: --auth-token or LIBSQL_AUTH_TOKEN)
  https://host[#table]                  the same, any libSQL HTTP URL
  postgres://user:pass@host/db[#table]  PostgreSQL: Neon over HTTP for *.neon.tech, else the pg package
  upstash:[https://db.upstash.io][#ns]  Upstash Redis REST (--redis-url/--redis-token or UPSTASH_REDIS_REST_URL/_TOKEN)
  burr-tracking:~/.burr[#project]       Burr's local tracking logs (read-only)
  mongodb://host[#database.collection]  MongoDB over the official driver (default #mydatabase.mystates, Burr's)
  mongodb-gateway:https://gw[#db.coll]  MongoDB through burr-edge's gateway (--mongodb-api-key or MONGODB_GATEWAY_API_KEY)
The #fragment names the table, namespace, collection or project; --table / --namespace set it for every store.
Secrets (tokens, passwords) are never printed.`;

function addStoreOptions(command: Command): Command {
  return command
    .option('--auth-token <token>', 'libSQL auth token (default: $LIBSQL_AUTH_TOKEN)')
    .option('--table <name>', 'SQL table (default: burr_state)')
    .option('--namespace <ns>', 'Redis key namespace (default: none)')
    .option('--redis-url <url>', 'Upstash REST URL (default: $UPSTASH_REDIS_REST_URL)')
    .option('--redis-token <token>', 'Upstash REST token (default: $UPSTASH_REDIS_REST_TOKEN)')
    .option('--mongodb-api-key <key>', 'MongoDB gateway API key (default: $MONGODB_GATEWAY_API_KEY)')
    .addOption(new Option('--postgres-driver <driver>', 'PostgreSQL driver').choices(['auto', 'neon', 'pg']).default('auto'));
}

function storeOptions(flags: CommonFlags, io: CliIo): StoreOptions {
  const { authToken, table, namespace, redisUrl, redisToken, mongodbApiKey, postgresDriver } = flags;
  return { authToken, table, namespace, redisUrl, redisToken, mongodbApiKey, postgresDriver, env: io.env };
}

/** Every secret the run knows, to be scrubbed from anything printed. */
function secretsOf(flags: CommonFlags, io: CliIo, args: string[]): string[] {
  const found = [flags.authToken, flags.redisToken, flags.mongodbApiKey, io.env.LIBSQL_AUTH_TOKEN, io.env.UPSTASH_REDIS_REST_TOKEN, io.env.MONGODB_GATEWAY_API_KEY, io.env.MONGODB_URL, ...(io.env.BURR_EDGE_GATEWAY_API_KEYS ?? '').split(',')];
  for (const arg of args) {
    try {
      const url = new URL(arg.replace(/^(upstash|mongodb-gateway):/, ''));
      if (url.password) found.push(decodeURIComponent(url.password), url.password);
      for (const [key, value] of url.searchParams) if (/token|password|secret|key/i.test(key)) found.push(value);
    } catch {
      // not a URL
    }
  }
  return found.filter((s): s is string => typeof s === 'string' && s.length >= 4);
}

class Printer {
  constructor(readonly io: CliIo, readonly secrets: string[]) {}
  scrub(text: string): string {
    let out = redactSecrets(text);
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }
  out(line = ''): void {
    this.io.stdout.write(`${this.scrub(line)}\n`);
  }
  err(line: string): void {
    this.io.stderr.write(`${this.scrub(line)}\n`);
  }
}

async function withStore<T>(argument: string, flags: CommonFlags, io: CliIo, run: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(argument, storeOptions(flags, io), 'source');
  try {
    return await run(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** The partition an app lives in: the one given, or the only one holding it. */
async function partitionOf(store: Store, appId: string, partition: string | undefined): Promise<string> {
  if (partition !== undefined) return partition;
  const holding: string[] = [];
  for (const key of await store.partitions()) if (await store.loader.load(key, appId)) holding.push(key);
  if (holding.length === 1) return holding[0]!;
  if (holding.length === 0) throw new CliError(`no app ${JSON.stringify(appId)} in ${store.label}`, 1);
  throw new CliError(`app ${JSON.stringify(appId)} is in several partitions (${holding.map((k) => JSON.stringify(k)).join(', ')}): add --partition`);
}

function row(step: PersistedStateData): string {
  return `${String(step.sequenceId).padStart(5)}  ${step.status.padEnd(9)}  ${step.createdAt}  ${step.position}`;
}

function pretty(value: unknown): string {
  // Lossless (bigints stay exact integers), then indented.
  const text = stringifyJson(value);
  let depth = 0;
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      if (text[i + 1] === close) {
        out += c + close;
        i++;
      } else out += `${c}\n${'  '.repeat(++depth)}`;
    } else if (c === '}' || c === ']') out += `\n${'  '.repeat(--depth)}${c}`;
    else if (c === ',') out += `,\n${'  '.repeat(depth)}`;
    else if (c === ':') out += ': ';
    else out += c;
  }
  return out;
}

function progressFor(io: CliIo, printer: Printer): CopyProgress {
  if (io.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: io.stderr as NodeJS.WritableStream,
        format: 'copy [{bar}] {percentage}% | {value}/{total} steps | {speed} steps/s | ETA {eta_formatted} | {app}',
        hideCursor: true,
        etaBuffer: 50,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = 0;
    let done = 0;
    return {
      start(total) {
        started = performance.now();
        bar.start(total, 0, { speed: '0', app: '' });
      },
      step(step) {
        const seconds = (performance.now() - started) / 1000;
        done++;
        bar.increment(1, { speed: seconds > 0 ? (done / seconds).toFixed(0) : '0', app: printer.scrub(`${step.appId}#${step.sequenceId}`) });
      },
      appDone() {},
      stop() {
        bar.stop();
      },
    };
  }
  let done = 0;
  let total = 0;
  return {
    start(steps, apps) {
      total = steps;
      printer.err(`copying ${steps} steps of ${apps} apps`);
    },
    step() {
      done++;
    },
    appDone(s) {
      printer.err(`[${done}/${total}] partition ${JSON.stringify(s.partitionKey)} app ${JSON.stringify(s.appId)}: ${s.written} written, ${s.alreadyThere} already there`);
    },
    stop() {},
  };
}

const EXAMPLES = {
  list: `
Examples:
  $ burr-edge list file:burr-state.db
  $ burr-edge list file:burr-state.db --partition user-42 --limit 10 --offset 10
  $ LIBSQL_AUTH_TOKEN=… burr-edge list libsql://my-db-me.turso.io
  $ burr-edge list burr-tracking:~/.burr#chatbot`,
  history: `
Examples:
  $ burr-edge history file:burr-state.db my-app-id
  $ burr-edge history postgres://me:secret@ep-1.neon.tech/db my-app-id --partition user-42`,
  show: `
Examples:
  $ burr-edge show file:burr-state.db my-app-id            # the latest step
  $ burr-edge show file:burr-state.db my-app-id --seq 0    # the first step
  $ burr-edge show upstash:#my-agent my-app-id --json      # the whole record as JSON`,
  materialize: `
Examples:
  $ burr-edge materialize file:burr-state.db                  # every app of every partition
  $ burr-edge materialize postgres://me:secret@host/db --app my-app-id
  $ burr-edge copy file:delta.db file:burr.db                 # or copy: copy writes Burr rows (--storage full)

Each delta row is replaced by the whole state it stands for, one row at a time (each write is
atomic, and the state a step loads is the same before and after). Run again, it rewrites nothing.`,
  copy: `
Examples:
  $ burr-edge copy file:burr-state.db libsql://my-db-me.turso.io --auth-token …
  $ burr-edge copy burr-tracking:~/.burr#chatbot file:burr.db
  $ burr-edge copy file:burr-state.db upstash:#my-agent --partition user-42 --dry-run
  $ burr-edge copy postgres://me:secret@localhost/app file:backup.db --app my-app-id

Identical steps already in the target are skipped, so a copy can be run again; a step that
differs stops the copy, naming the app and sequence id. At the end both sides are compared
(step count and latest step of each app); any difference exits with status 1.`,
};

/** Builds the program; `scrub` cleans what commander itself prints (an unknown option may echo a value). */
function program(io: CliIo, scrub: (text: string) => string): Command {
  const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  const root = new Command('burr-edge')
    .description("Look inside Burr state stores and copy sessions between them (libSQL/Turso, PostgreSQL/Neon, Upstash Redis, MongoDB, Burr's tracking logs); run the MongoDB gateway.")
    .version(version)
    // An unknown option is echoed with its value, which may be a misspelled secret flag's: never the value.
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(scrub(s).replace(/(unknown option '[^'=]*)=[^']*'/g, "$1=***'")) })
    .exitOverride() // set before the commands are added, so they inherit it: main() turns it into a status
    .showHelpAfterError('(add --help for usage and examples)')
    .addHelpText('after', `${STORES_HELP}\n${EXAMPLES.copy.split('\n').slice(0, 4).join('\n')}`);

  addStoreOptions(
    root
      .command('list')
      .description('apps of a store, most recently saved first (every partition unless --partition)')
      .argument('<store>', 'the store to read')
      .option('--partition <key>', 'only this partition key')
      .option('--limit <n>', 'apps per page', (v) => positiveInt(v, '--limit'), 50)
      .option('--offset <n>', 'apps to skip (the next page)', (v) => positiveInt(v, '--offset', true), 0)
      .option('--json', 'one JSON object per app'),
  )
    .addHelpText('after', `${STORES_HELP}\n${EXAMPLES.list}`)
    .action(async (argument: string, flags: CommonFlags & { limit: number; offset: number; json?: boolean }) => {
      const printer = new Printer(io, secretsOf(flags, io, [argument]));
      await withStore(argument, flags, io, async (store) => {
        const partitions = flags.partition !== undefined ? [flags.partition] : await store.partitions();
        // Partitions in key order, each partition's apps most recent first; a page is a slice of that.
        const all: { partitionKey: string; appId: string }[] = [];
        for (const partitionKey of partitions) {
          if (all.length > flags.offset + flags.limit) break;
          for (const appId of await store.loader.listAppIds(partitionKey, { limit: flags.offset + flags.limit + 1 - all.length })) all.push({ partitionKey, appId });
        }
        const page = all.slice(flags.offset, flags.offset + flags.limit);
        const more = all.length > flags.offset + flags.limit;
        const latest = await Promise.all(page.map(({ partitionKey, appId }) => store.loader.load(partitionKey, appId)));
        let shown = 0;
        for (const step of latest) {
          if (!step) continue;
          shown++;
          if (flags.json) printer.out(stringifyJson({ partitionKey: step.partitionKey, appId: step.appId, sequenceId: step.sequenceId, position: step.position, status: step.status, createdAt: step.createdAt }));
          else printer.out(`${JSON.stringify(step.partitionKey).padEnd(14)} ${step.appId.padEnd(38)} ${String(step.sequenceId).padStart(5)}  ${step.status.padEnd(9)}  ${step.createdAt}  ${step.position}`);
        }
        if (!flags.json) {
          if (shown === 0) printer.err(`no apps in ${store.label}${flags.partition !== undefined ? ` partition ${JSON.stringify(flags.partition)}` : ''}`);
          else if (more) printer.err(`more: --offset ${flags.offset + flags.limit}`);
        }
      });
    });

  addStoreOptions(
    root
      .command('history')
      .description('every saved step of an app, in sequence order')
      .argument('<store>', 'the store to read')
      .argument('<app>', 'the app id')
      .option('--partition <key>', "the app's partition key (found when only one partition holds the app)")
      .option('--json', 'one JSON object per step (state included)'),
  )
    .addHelpText('after', `${STORES_HELP}\n${EXAMPLES.history}`)
    .action(async (argument: string, appId: string, flags: CommonFlags & { json?: boolean }) => {
      const printer = new Printer(io, secretsOf(flags, io, [argument]));
      await withStore(argument, flags, io, async (store) => {
        const partitionKey = await partitionOf(store, appId, flags.partition);
        let n = 0;
        for await (const step of store.steps(partitionKey, appId)) {
          n++;
          printer.out(flags.json ? stringifyJson(step) : row(step));
        }
        if (n === 0) throw new CliError(`no app ${JSON.stringify(appId)} in partition ${JSON.stringify(partitionKey)} of ${store.label}`, 1);
      });
    });

  addStoreOptions(
    root
      .command('show')
      .description('one step of an app (the latest unless --seq), its state pretty-printed')
      .argument('<store>', 'the store to read')
      .argument('<app>', 'the app id')
      .option('--partition <key>', "the app's partition key (found when only one partition holds the app)")
      .option('--seq <n>', 'the sequence id (default: the latest)', (v) => positiveInt(v, '--seq', true))
      .option('--json', 'the whole record as JSON (big integers exact)'),
  )
    .addHelpText('after', `${STORES_HELP}\n${EXAMPLES.show}`)
    .action(async (argument: string, appId: string, flags: CommonFlags & { seq?: number; json?: boolean }) => {
      const printer = new Printer(io, secretsOf(flags, io, [argument]));
      await withStore(argument, flags, io, async (store) => {
        const partitionKey = await partitionOf(store, appId, flags.partition);
        const step = await store.loader.load(partitionKey, appId, flags.seq);
        if (!step) throw new CliError(`no step${flags.seq !== undefined ? ` ${flags.seq}` : ''} of app ${JSON.stringify(appId)} in partition ${JSON.stringify(partitionKey)}`, 1);
        if (flags.json) {
          printer.out(stringifyJson(step));
          return;
        }
        printer.out(`app        ${step.appId}`);
        printer.out(`partition  ${JSON.stringify(step.partitionKey)}`);
        printer.out(`sequence   ${step.sequenceId}`);
        printer.out(`position   ${step.position}`);
        printer.out(`status     ${step.status}`);
        printer.out(`created    ${step.createdAt}`);
        printer.out('state');
        printer.out(pretty(step.state));
      });
    });

  addStoreOptions(
    root
      .command('copy')
      .description('copy every step of every matching app from one store into another, then verify both sides')
      .argument('<from>', 'the store to read')
      .argument('<to>', 'the store to write (created if needed)')
      .option('--partition <key>', 'only this partition key')
      .option('--app <id>', 'only this app')
      .option('--dry-run', 'read both sides and say what would be written; write nothing')
      .addOption(new Option('--storage <mode>', 'how the target stores steps: Burr rows, or delta rows (docs/delta.md)').choices(['full', 'delta']).default('full')),
  )
    .addHelpText('after', `${STORES_HELP}\n${EXAMPLES.copy}`)
    .action(async (fromArg: string, toArg: string, flags: CommonFlags & { app?: string; dryRun?: boolean; storage?: 'full' | 'delta' }) => {
      const printer = new Printer(io, secretsOf(flags, io, [fromArg, toArg]));
      const options = { ...storeOptions(flags, io), storage: flags.storage };
      const from = await openStore(fromArg, options, 'source');
      try {
        const to = await openStore(toArg, options, 'target');
        try {
          printer.err(`${flags.dryRun ? 'dry run: ' : ''}${from.label} → ${to.label}`);
          const result = await copyStores(from, to, { partition: flags.partition, app: flags.app, dryRun: flags.dryRun === true }, progressFor(io, printer));
          const rate = result.seconds > 0 ? Math.round(result.steps / result.seconds) : result.steps;
          printer.out(
            `${flags.dryRun ? 'would copy' : 'copied'} ${result.apps.length} apps, ${result.steps} steps: ${result.written} ${flags.dryRun ? 'to write' : 'written'}, ` +
              `${result.alreadyThere} already there (${result.seconds.toFixed(2)} s, ${rate} steps/s)`,
          );
          if (flags.dryRun) return;
          if (result.differences.length > 0) {
            for (const d of result.differences) printer.err(`difference: partition ${JSON.stringify(d.partitionKey)} app ${JSON.stringify(d.appId)}: ${d.what}`);
            const apps = new Set(result.differences.map((d) => JSON.stringify([d.partitionKey, d.appId]))).size;
            throw new CliError(`verification failed: ${apps} of ${result.apps.length} apps differ`, 1);
          }
          printer.out(`verified: ${result.apps.length} apps have the same step count and latest step on both sides`);
        } finally {
          await to.close().catch(() => undefined);
        }
      } finally {
        await from.close().catch(() => undefined);
      }
    });

  addStoreOptions(
    root
      .command('materialize')
      .description("rewrite delta rows (storage: 'delta') in place as the Burr rows they stand for, so Burr's Python reads every step")
      .argument('<store>', 'the store to rewrite (libSQL or PostgreSQL; copy other stores with `copy`)')
      .option('--partition <key>', 'only this partition key')
      .option('--app <id>', 'only this app'),
  )
    .addHelpText('after', `${STORES_HELP}\n${EXAMPLES.materialize}`)
    .action(async (argument: string, flags: CommonFlags & { app?: string }) => {
      const printer = new Printer(io, secretsOf(flags, io, [argument]));
      const store = await openStore(argument, storeOptions(flags, io), 'source');
      try {
        const persister = store.writer as (StatePersister & { materialize?: MaterializeFn }) | undefined;
        if (!persister || typeof persister.materialize !== 'function') throw new CliError(`${store.kind} stores cannot be rewritten; copy them: burr-edge copy ${store.label.split(' ')[0]} <to>`);
        const partitions = flags.partition !== undefined ? [flags.partition] : await store.partitions();
        let apps = 0;
        let steps = 0;
        let rewritten = 0;
        for (const partitionKey of partitions) {
          const ids = flags.app !== undefined ? [flags.app] : await store.loader.listAppIds(partitionKey);
          for (const appId of ids) {
            const result = await persister.materialize(partitionKey, appId);
            apps++;
            steps += result.steps;
            rewritten += result.rewritten;
            printer.err(`partition ${JSON.stringify(partitionKey)} app ${JSON.stringify(appId)}: ${result.rewritten} of ${result.steps} steps rewritten`);
          }
        }
        printer.out(`materialized ${apps} apps, ${steps} steps: ${rewritten} rewritten as Burr rows, ${steps - rewritten} were already`);
      } finally {
        await store.close().catch(() => undefined);
      }
    });

  addGatewayCommand(root, io);

  return root;
}


/** Runs the command; resolves to the exit status. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const secrets = secretsOf({}, io, argv);
  const printer = new Printer(io, secrets.concat(flagValues(argv, ['--auth-token', '--redis-token', '--mongodb-api-key'])));
  const cli = program(io, (text) => printer.scrub(text));
  try {
    await cli.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      // commander printed its message (or the help / version) already.
      return code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help' ? 0 : 2;
    }
    if (error instanceof CliError) {
      printer.err(`burr-edge: ${error.message}`);
      return error.exitCode;
    }
    if (isPersisterError(error)) {
      printer.err(`burr-edge: ${error.message}`);
      return 1;
    }
    printer.err(`burr-edge: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** Values of the secret flags, and of anything that looks like one (a misspelled `--auth-tokn=…` is echoed by commander). */
function flagValues(argv: string[], names: string[]): string[] {
  const out: string[] = [];
  argv.forEach((arg, i) => {
    for (const name of names) if (arg === name && argv[i + 1]) out.push(argv[i + 1]!);
    const inline = /^--[\w-]*(?:token|password|secret)[\w-]*=(.+)$/i.exec(arg);
    if (inline) out.push(inline[1]!);
  });
  return out;
}

export { STORE_KINDS };

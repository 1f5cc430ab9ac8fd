/**
 * A small Hrana-over-HTTP server (protocol v2, JSON) in front of a real libSQL database file, so that the
 * unmodified `@libsql/client/web` can be tested without sqld or Turso. Each stream (baton) gets its own
 * native `libsql` connection to the same file, so an interactive transaction on one stream is isolated
 * from the others exactly as on a real server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import Database from 'libsql';
import { listenOnLoopback } from './net.js';

export interface HranaServer {
  readonly url: string;
  readonly token: string;
  /** number of POST /v2/pipeline requests received since start (or since resetCount) */
  requestCount(): number;
  resetCount(): void;
  close(): Promise<void>;
}

type Value =
  | { type: 'null' }
  | { type: 'integer'; value: string }
  | { type: 'float'; value: number }
  | { type: 'text'; value: string }
  | { type: 'blob'; base64: string };
interface Stmt { sql?: string; sql_id?: number; args?: Value[]; named_args?: { name: string; value: Value }[]; want_rows?: boolean }
type Cond =
  | { type: 'ok' | 'error'; step: number }
  | { type: 'not'; cond: Cond }
  | { type: 'and' | 'or'; conds: Cond[] }
  | { type: 'is_autocommit' };
type Request =
  | { type: 'execute'; stmt: Stmt }
  | { type: 'batch'; batch: { steps: { condition?: Cond | null; stmt: Stmt }[] } }
  | { type: 'sequence' | 'describe'; sql?: string; sql_id?: number }
  | { type: 'store_sql'; sql_id: number; sql: string }
  | { type: 'close_sql'; sql_id: number }
  | { type: 'close' | 'get_autocommit' };
interface StmtResult { cols: { name: string; decltype: string | null }[]; rows: Value[][]; affected_row_count: number; last_insert_rowid: string | null }
interface ProtoError { message: string; code: string }
interface Stream { db: Database.Database; path: string; sqls: Map<number, string>; timer?: NodeJS.Timeout }

const STREAM_IDLE_MS = 10_000;
const BUSY_WAIT_MS = 5_000;

/** An error reported to the client as-is (not a SQLite error). */
class HranaError extends Error {
  constructor(message: string, readonly code: string) { super(message); }
}

function toProtoError(e: unknown): ProtoError {
  if (e instanceof HranaError) return { message: e.message, code: e.code };
  const code = (e as { code?: unknown }).code;
  // The native error carries sqld's extended code name (SQLITE_CONSTRAINT_PRIMARYKEY, ...); sqld prefixes messages like this.
  if (typeof code === 'string') return { message: `SQLite error: ${(e as Error).message}`, code };
  return { message: String(e), code: 'INTERNAL_ERROR' };
}

function decodeValue(v: Value): unknown {
  switch (v.type) {
    case 'null': return null;
    case 'integer': return BigInt(v.value); // bigint binds as SQLite INTEGER, exact to 64 bits
    case 'float': return v.value; // JS numbers bind as REAL, which is what sqld does for `float`
    case 'text': return v.value;
    case 'blob': return Buffer.from(v.base64, 'base64');
  }
}

function encodeValue(v: unknown): Value {
  if (v === null || v === undefined) return { type: 'null' };
  if (typeof v === 'bigint') return { type: 'integer', value: v.toString() };
  if (typeof v === 'number') return { type: 'float', value: v }; // with safeIntegers, a number is always a REAL
  if (typeof v === 'string') return { type: 'text', value: v };
  if (v instanceof ArrayBuffer) return { type: 'blob', base64: Buffer.from(v).toString('base64') };
  if (ArrayBuffer.isView(v)) return { type: 'blob', base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  throw new HranaError(`Cannot encode value of type ${typeof v}`, 'INTERNAL_ERROR');
}

/** True if `sql` has an anonymous `?` parameter (outside literals, quoted identifiers and comments). */
function hasAnonymousParam(sql: string): boolean {
  const stripped = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/g, ' ');
  return /\?(?!\d)/.test(stripped);
}

function bindParams(sql: string, stmt: Stmt): unknown[] | Record<string, unknown> {
  const args = (stmt.args ?? []).map(decodeValue);
  if (!stmt.named_args?.length) return args;
  // libsql binds an object by looking up every parameter's name; an anonymous `?` has none and the
  // native addon then panics, aborting the whole process. Refuse instead.
  if (hasAnonymousParam(sql)) throw new HranaError('Anonymous `?` parameters cannot be combined with named arguments', 'ARGS_INVALID');
  // libsql strips the first character of each parameter name (`:a` -> `a`, `?2` -> `2`) before the lookup.
  const params: Record<string, unknown> = {};
  args.forEach((v, i) => { params[String(i + 1)] = v; });
  for (const { name, value } of stmt.named_args) params[/^[:@$]/.test(name) ? name.slice(1) : name] = decodeValue(value);
  return params;
}

const isBusy = (e: unknown) => (e as { code?: unknown }).code === 'SQLITE_BUSY';

/**
 * SQLite's own busy timeout would block the event loop, and the lock holder is usually another stream of
 * this very process, which then cannot run until the timeout expires. So the SQLite busy timeout stays 0
 * and we wait asynchronously instead. Retrying is safe: a statement that failed with SQLITE_BUSY has changed nothing.
 */
async function retryBusy<T>(fn: () => T): Promise<T> {
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

function sqlOf(s: Stream, r: { sql?: string; sql_id?: number }): string {
  const sql = r.sql ?? (r.sql_id !== undefined ? s.sqls.get(r.sql_id) : undefined);
  if (sql === undefined) throw new HranaError(`SQL text ${r.sql_id} not found`, 'SQL_NOT_FOUND');
  return sql;
}

async function runStmt(s: Stream, stmt: Stmt): Promise<StmtResult> {
  const sql = sqlOf(s, stmt);
  const params = bindParams(sql, stmt);
  const prepared = await retryBusy(() => s.db.prepare(sql));
  const reader = prepared.reader; // SELECT, RETURNING, some PRAGMAs; the rest must go through run()
  if (reader) prepared.safeIntegers(true).raw(true);
  // `run()` reports lastInsertRowid as a lossy JS number and `all()` reports no counts, so ask SQLite.
  const meta = s.db.prepare('SELECT total_changes(), changes(), last_insert_rowid()').safeIntegers(true).raw(true);
  const totalBefore = (meta.all()[0] as bigint[])[0];
  let rows: unknown[][];
  try {
    // Retry the SAME statement object: one that failed with SQLITE_BUSY stays active (resumable) until it
    // is reset, which run()/all() do first; a fresh one would leave it active, and an active write
    // statement makes a later COMMIT fail with "cannot commit transaction - SQL statements in progress".
    rows = await retryBusy(() => (reader ? (prepared.all(params) as unknown[][]) : (prepared.run(params), [])));
  } catch (e) {
    // Out of patience: the stuck statement would pin a stale read snapshot on this connection. The JS API
    // cannot reset it, so outside a transaction swap in a fresh connection (nothing is lost).
    if (isBusy(e) && !s.db.inTransaction) { s.db.close(); s.db = new Database(s.path); }
    throw e;
  }
  const [total, changes, rowid] = meta.all()[0] as bigint[];
  return {
    cols: reader ? prepared.columns().map((c) => ({ name: c.name, decltype: c.type })) : [],
    rows: stmt.want_rows === false ? [] : rows.map((r) => r.map(encodeValue)),
    // changes() is stale after a statement that changed nothing (SELECT, DDL), hence the total_changes() check.
    affected_row_count: total === totalBefore ? 0 : Number(changes),
    last_insert_rowid: rowid === undefined ? null : rowid.toString(),
  };
}

function evalCond(c: Cond, ok: (StmtResult | null)[], err: (ProtoError | null)[], db: Database.Database): boolean {
  switch (c.type) {
    case 'ok': return ok[c.step] != null;
    case 'error': return err[c.step] != null;
    case 'not': return !evalCond(c.cond, ok, err, db);
    case 'and': return c.conds.every((x) => evalCond(x, ok, err, db));
    case 'or': return c.conds.some((x) => evalCond(x, ok, err, db));
    case 'is_autocommit': return !db.inTransaction;
  }
}

async function handleRequest(s: Stream, req: Request): Promise<object> {
  switch (req.type) {
    case 'execute': return { type: 'execute', result: await runStmt(s, req.stmt) };
    case 'batch': {
      const ok: (StmtResult | null)[] = [];
      const err: (ProtoError | null)[] = [];
      for (const step of req.batch.steps) {
        if (step.condition && !evalCond(step.condition, ok, err, s.db)) { ok.push(null); err.push(null); continue; }
        try {
          ok.push(await runStmt(s, step.stmt));
          err.push(null);
        } catch (e) {
          ok.push(null);
          err.push(toProtoError(e));
        }
      }
      return { type: 'batch', result: { step_results: ok, step_errors: err } };
    }
    case 'sequence':
      // No busy retry: exec() may have run earlier statements before failing, so a retry could repeat them.
      s.db.exec(sqlOf(s, req));
      return { type: 'sequence' };
    case 'describe': { // minimal: libsql's JS API exposes neither parameter names nor read-only-ness
      const sql = sqlOf(s, req);
      const prepared = s.db.prepare(sql);
      const cols = prepared.reader ? prepared.columns().map((c) => ({ name: c.name, decltype: c.type })) : [];
      return { type: 'describe', result: { params: [], cols, is_explain: /^\s*explain\b/i.test(sql), is_readonly: /^\s*(select|values|explain)\b/i.test(sql) } };
    }
    case 'store_sql': s.sqls.set(req.sql_id, req.sql); return { type: 'store_sql' };
    case 'close_sql': s.sqls.delete(req.sql_id); return { type: 'close_sql' };
    case 'get_autocommit': return { type: 'get_autocommit', is_autocommit: !s.db.inTransaction };
    case 'close': return { type: 'close' };
    default: throw new HranaError(`Unknown request type ${(req as { type: unknown }).type}`, 'PROTO_ERROR');
  }
}

export async function startHranaServer(options: { dbPath: string; token: string; port?: number }): Promise<HranaServer> {
  const { dbPath, token } = options;
  // WAL is persistent in the file; it lets readers on other streams proceed while one stream writes.
  const setup = new Database(dbPath);
  setup.pragma('journal_mode = WAL');
  setup.close();

  const streams = new Map<string, Stream>(); // baton -> stream; each baton is single-use, as in sqld
  const live = new Set<Stream>(); // also the streams of pipelines in flight, so close() closes every connection
  let count = 0;
  const closeStream = (s: Stream) => { // closing the connection rolls back any open transaction
    clearTimeout(s.timer);
    live.delete(s);
    if (s.db.open) s.db.close();
  };

  async function pipeline(body: { baton?: string | null; requests: Request[] }): Promise<[number, object]> {
    let stream: Stream;
    if (body.baton == null) {
      stream = { db: new Database(dbPath), path: dbPath, sqls: new Map() };
      live.add(stream);
    } else {
      const found = streams.get(body.baton);
      if (!found) return [400, { error: 'Stream expired or invalid baton' }];
      streams.delete(body.baton);
      clearTimeout(found.timer);
      stream = found;
    }
    const results: object[] = [];
    let closed = false;
    for (const req of body.requests) {
      if (closed) { results.push({ type: 'error', error: { message: 'Stream is closed', code: 'STREAM_CLOSED' } }); continue; }
      try {
        results.push({ type: 'ok', response: await handleRequest(stream, req) });
      } catch (e) {
        results.push({ type: 'error', error: toProtoError(e) });
      }
      closed = req.type === 'close';
    }
    let baton: string | null = null;
    if (closed) {
      closeStream(stream);
    } else {
      baton = randomUUID();
      const b = baton;
      streams.set(b, stream);
      stream.timer = setTimeout(() => { streams.delete(b); closeStream(stream); }, STREAM_IDLE_MS);
      stream.timer.unref(); // an abandoned stream must not keep the test process alive
    }
    return [200, { baton, base_url: null, results }];
  }

  function send(res: ServerResponse, status: number, body?: object): void {
    // Exactly `application/json`: the client only parses error bodies with that precise content type.
    if (body) res.setHeader('content-type', 'application/json');
    res.writeHead(status).end(body ? JSON.stringify(body) : undefined);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('access-control-allow-origin', '*'); // browser tests call from another origin
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-headers', '*');
      res.setHeader('access-control-allow-methods', 'GET,POST,OPTIONS');
      return void res.writeHead(204).end();
    }
    if (req.method === 'GET' && (path === '/v2' || path === '/health')) return void res.writeHead(200).end();
    if (req.method !== 'POST' || path !== '/v2/pipeline') return void res.writeHead(404).end(); // incl. /v3-protobuf
    count++;
    if (req.headers.authorization !== `Bearer ${token}`) {
      // Shaped like sqld's `{"error": ...}` so the client reports SERVER_ERROR "HTTP status 401", as with Turso.
      return send(res, 401, { error: 'Unauthorized: invalid or missing bearer token' });
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const [status, body] = await pipeline(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    send(res, status, body);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => { if (!res.headersSent) send(res, 500, { error: String(e) }); else res.end(); });
  });
  const { port } = await listenOnLoopback(server, options.port);

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requestCount: () => count,
    resetCount: () => { count = 0; },
    close: async () => {
      for (const s of [...live]) closeStream(s);
      streams.clear();
      server.closeAllConnections(); // keep-alive sockets from fetch would otherwise hold close() open
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

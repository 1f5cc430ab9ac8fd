/**
 * The demo agent's HTTP API, written once against web standards (`Request` in, `Response` out)
 * and served by both edge examples: the Cloudflare Worker (playground/worker.ts) and the Vercel
 * Edge Function (playground/vercel/api/agent.ts). Every step is saved through the burr-edge
 * persister the environment names (playground/backends.ts), so state survives restarts, deploys
 * and the isolate being evicted.
 *
 * | route (under `basePath`) | what | round trips |
 * |---|---|---|
 * | `POST /apps/:owner` `{question?, appId?}` | start an app (saves step 0) | 1 |
 * | `POST /apps/:owner/:app/step` | run the next step | 2 (load + save) |
 * | `GET /apps/:owner/:app[?sequenceId=n]` | latest step, or step n | 1 |
 * | `GET /apps/:owner/:app/history[?limit=n&before=s]` | a page of saved steps with their state, newest first (`listHistory`); `nextBefore` is the next page's `before` | 1 |
 * | `GET /apps/:owner[?limit=n&cursor=c]` | a page of the owner's apps, most recently saved first (`listApps`); `nextCursor` is the next page's `cursor` | 1 |
 * | `POST /apps/:owner/:app/fork` `{sequenceId, newAppId?}` | a new app continuing from step n (`initializeFrom({ forkFrom })`) | 2 |
 *
 * The owner is Burr's partition key; the app is Burr's app id. JSON bodies carry the state as
 * stored: integers beyond 2^53 (the agent's `tokens`) are exact JSON integers, so read them with
 * a lossless parser (`parseJson` from `burr-edge`) rather than `JSON.parse`.
 *
 * Errors are JSON `{error: {code, message}}`: the kit's codes for persister errors
 * (`ALREADY_EXISTS` and `CONCURRENT_UPDATE` are 409, `INVALID_ARGUMENT`, `BACKEND`, …),
 * `INVALID_ARGUMENT` for a bad request, `NOT_FOUND` (404), `METHOD_NOT_ALLOWED` (405), and `CONFIG` (500) with `missing` naming the
 * variables to set when the environment names no usable store.
 *
 * A handler keeps one persister per configuration for the life of the isolate (both platforms
 * reuse an isolate across requests), so a cold start pays for `initialize` once and every later
 * request goes straight to its queries.
 */
import { State, isPersisterError, parseJson, stringifyJson, type JsonObject, type JsonValue } from '../src/index.js';
import { initialState, nextAction, openSession, type AgentState, type AppRef } from './agent.js';
import { ConfigError, backendConfigFromEnv, createPersister, type BackendEnv, type ManagedPersister } from './backends.js';

/** Answers one request; `env` holds the settings (a Worker's bindings, Vercel's `process.env`). */
export type AgentHandler = (request: Request, env: BackendEnv) => Promise<Response>;

export interface AgentHandlerOptions {
  /** Where the routes are mounted: `''` for a Worker, `/api/agent` for the Vercel function. @default '' */
  basePath?: string;
}

/** A request the API refuses, with its HTTP status and code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (message: string) => new HttpError(400, 'INVALID_ARGUMENT', message);
const notFound = (message: string) => new HttpError(404, 'NOT_FOUND', message);

/** Builds a handler with its own persister cache (one per isolate in production; tests make more). */
export function createAgentHandler(options: AgentHandlerOptions = {}): AgentHandler {
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const persisters = new Map<string, Promise<ManagedPersister>>();

  function persisterFor(env: BackendEnv): Promise<ManagedPersister> {
    const config = backendConfigFromEnv(env); // a ConfigError is a 500 that names the variables to set
    const key = JSON.stringify(config);
    let pending = persisters.get(key);
    if (!pending) {
      pending = createPersister(config);
      // A failed start (database down, bad token) must not stick to the isolate: the next request tries again.
      pending.catch(() => persisters.delete(key));
      persisters.set(key, pending);
    }
    return pending;
  }

  return async (request, env) => {
    try {
      return await route(request, basePath, () => persisterFor(env));
    } catch (error) {
      return errorResponse(error);
    }
  };
}

type Route = (request: Request, persister: () => Promise<ManagedPersister>, params: string[], url: URL) => Promise<Response>;

const routes: [method: string, pattern: RegExp, handler: Route][] = [
  ['GET', /^\/$/, async () => json({ service: 'burr-edge demo agent', routes: ['POST /apps/:owner', 'POST /apps/:owner/:app/step', 'GET /apps/:owner/:app', 'GET /apps/:owner/:app/history', 'GET /apps/:owner', 'POST /apps/:owner/:app/fork'] })],
  ['POST', /^\/apps\/([^/]+)$/, startApp],
  ['GET', /^\/apps\/([^/]+)$/, listApps],
  ['GET', /^\/apps\/([^/]+)\/([^/]+)$/, readApp],
  ['GET', /^\/apps\/([^/]+)\/([^/]+)\/history$/, appHistory],
  ['POST', /^\/apps\/([^/]+)\/([^/]+)\/step$/, stepApp],
  ['POST', /^\/apps\/([^/]+)\/([^/]+)\/fork$/, forkFrom],
];

async function route(request: Request, basePath: string, persister: () => Promise<ManagedPersister>): Promise<Response> {
  const url = new URL(request.url);
  const inside = url.pathname === basePath || url.pathname.startsWith(`${basePath}/`);
  if (!inside) throw notFound(`no route for ${url.pathname}`);
  const path = url.pathname.slice(basePath.length) || '/';
  let pathMatched = false;
  for (const [method, pattern, handler] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    pathMatched = true;
    if (method !== request.method) continue;
    const params = match.slice(1).map(decodeSegment);
    return handler(request, persister, params, url);
  }
  throw pathMatched ? new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${url.pathname}`) : notFound(`no route for ${url.pathname}`);
}

/** `POST /apps/:owner` — saves step 0 of a new app. Repeating the same request is harmless (an identical save succeeds). */
async function startApp(request: Request, persister: () => Promise<ManagedPersister>, [owner = '']: string[]): Promise<Response> {
  const body = await readBody(request);
  const question = optionalString(body, 'question') ?? 'Why persist agent state at the edge?';
  const appId = optionalString(body, 'appId') ?? crypto.randomUUID();
  const state = initialState(question);
  await (await persister()).save({ partitionKey: owner, appId, sequenceId: 0, position: 'start', state, status: 'completed' });
  return json(stepBody({ partitionKey: owner, appId }, 0, 'start', 'completed', state), 201);
}

/** `POST /apps/:owner/:app/step` — loads the latest step once (`initializeFrom`) and saves the next with optimistic concurrency. */
async function stepApp(_request: Request, persister: () => Promise<ManagedPersister>, [owner = '', appId = '']: string[]): Promise<Response> {
  const app: AppRef = { partitionKey: owner, appId };
  const session = await openSession(await persister(), app);
  if (session.origin === 'fresh') throw notFound(`no app ${JSON.stringify(app.appId)} for owner ${JSON.stringify(app.partitionKey)}`);
  const result = await session.step();
  return json(stepBody(app, result.sequenceId, result.position, session.status ?? 'completed', result.state, result.done));
}

/** `GET /apps/:owner/:app[?sequenceId=n]` — one saved step. */
async function readApp(_request: Request, persister: () => Promise<ManagedPersister>, [owner = '', appId = '']: string[], url: URL): Promise<Response> {
  const sequenceId = optionalInteger(url.searchParams.get('sequenceId'), 'sequenceId');
  const step = await (await persister()).load(owner, appId, sequenceId);
  if (!step) throw notFound(sequenceId === undefined ? `no app ${JSON.stringify(appId)} for owner ${JSON.stringify(owner)}` : `no step ${sequenceId} in app ${JSON.stringify(appId)}`);
  const done = nextAction(step.position, State.deserialize(step.state) as AgentState) === null;
  return json({ owner: step.partitionKey, appId: step.appId, sequenceId: step.sequenceId, position: step.position, status: step.status, createdAt: step.createdAt, done, state: step.state });
}

/** `GET /apps/:owner/:app/history[?limit=n&before=s]` — a page of the app's steps, newest first, with their state; a fork's first step names its source. */
async function appHistory(_request: Request, persister: () => Promise<ManagedPersister>, [owner = '', appId = '']: string[], url: URL): Promise<Response> {
  const limit = optionalInteger(url.searchParams.get('limit'), 'limit');
  const before = optionalInteger(url.searchParams.get('before'), 'before');
  const page = await (await persister()).listHistory(owner, appId, { withState: true, ...(limit === undefined ? {} : { limit }), ...(before === undefined ? {} : { before }) });
  if (page.steps.length === 0 && before === undefined) throw notFound(`no app ${JSON.stringify(appId)} for owner ${JSON.stringify(owner)}`);
  const steps = page.steps.map((s) => ({ sequenceId: s.sequenceId, position: s.position, status: s.status, createdAt: s.createdAt, ...(s.forkedFrom ? { forkedFrom: { ...s.forkedFrom } } : {}), state: s.state! }));
  return json({ owner, appId, steps, nextBefore: page.nextBefore });
}

/** `GET /apps/:owner[?limit=n&cursor=c]` — a page of the owner's apps, most recently saved first, each with its latest step. */
async function listApps(_request: Request, persister: () => Promise<ManagedPersister>, [owner = '']: string[], url: URL): Promise<Response> {
  const limit = optionalInteger(url.searchParams.get('limit'), 'limit');
  const cursor = url.searchParams.get('cursor') || undefined;
  const page = await (await persister()).listApps(owner, { ...(limit === undefined ? {} : { limit }), ...(cursor === undefined ? {} : { cursor }) });
  return json({ owner, apps: page.apps.map((app) => ({ ...app })), nextCursor: page.nextCursor });
}

/** `POST /apps/:owner/:app/fork` `{sequenceId, newAppId?}` — a new app that continues from step `sequenceId`; its first step records the source. */
async function forkFrom(request: Request, persister: () => Promise<ManagedPersister>, [owner = '', appId = '']: string[]): Promise<Response> {
  const body = await readBody(request);
  const sequenceId = body.sequenceId;
  if (typeof sequenceId !== 'number' || !Number.isSafeInteger(sequenceId) || sequenceId < 0) throw badRequest('sequenceId: a non-negative integer is required');
  const newAppId = optionalString(body, 'newAppId') ?? crypto.randomUUID();
  // A missing source step is the library's NotFoundError (404); an app id already taken is INVALID_ARGUMENT (400).
  const session = await openSession(await persister(), { partitionKey: owner, appId: newAppId }, { forkFrom: { appId, sequenceId } });
  return json(
    { owner, appId: newAppId, forkedFrom: { ...session.forkedFrom! }, sequenceId: session.sequenceId, position: session.position, status: session.status, done: session.done, state: session.state.serialize() as JsonObject },
    201,
  );
}

function stepBody(app: AppRef, sequenceId: number, position: string, status: string, state: AgentState, done = false): JsonObject {
  return { owner: app.partitionKey, appId: app.appId, sequenceId, position, status, done, state: state.serialize() as JsonObject };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`malformed path segment ${JSON.stringify(segment)}`);
  }
}

async function readBody(request: Request): Promise<Record<string, JsonValue>> {
  const text = await request.text();
  if (text.trim() === '') return {};
  let body: JsonValue;
  try {
    body = parseJson(text);
  } catch {
    throw badRequest('the request body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
  return body;
}

function optionalString(body: Record<string, JsonValue>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') throw badRequest(`${field}: a non-empty string is expected`);
  return value;
}

function optionalInteger(text: string | null, name: string): number | undefined {
  if (text === null || text === '') return undefined;
  if (!/^\d{1,9}$/.test(text)) throw badRequest(`${name}: a non-negative integer is expected, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** JSON with exact big integers (bigint → plain JSON integer). */
function json(body: JsonValue, status = 200): Response {
  return new Response(stringifyJson(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

const STATUS_BY_CODE: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  SERIALIZATION: 400,
  ALREADY_EXISTS: 409,
  CONCURRENT_UPDATE: 409,
  NOT_FOUND: 404,
  STATE_TOO_LARGE: 413,
  NOT_SUPPORTED: 501,
};

/** Maps errors to JSON answers: typed persister errors keep their code; a retryable backend failure is a 503. */
function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) return json({ error: { code: error.code, message: error.message } }, error.status);
  if (error instanceof ConfigError) return json({ error: { code: 'CONFIG', message: error.message, missing: error.missing } }, 500);
  if (isPersisterError(error)) {
    const status = STATUS_BY_CODE[error.code] ?? (error.code === 'BACKEND' ? (error.retryable ? 503 : 502) : 500);
    const response = json({ error: { code: error.code, message: error.message, retryable: error.retryable } }, status);
    if (status === 503) response.headers.set('retry-after', '1');
    return response;
  }
  return json({ error: { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) } }, 500);
}

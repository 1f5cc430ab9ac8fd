/**
 * The demo agent as a Vercel Edge Function: the same HTTP API as the Cloudflare Worker
 * (playground/http.ts), mounted at `/api/agent` (vercel.json sends `/api/agent/*` here).
 *
 * ```sh
 * curl -X POST https://<deployment>/api/agent/apps/ada -d '{"question":"Why persist?"}'   # step 0
 * curl -X POST https://<deployment>/api/agent/apps/ada/<appId>/step                       # one step per request
 * curl https://<deployment>/api/agent/apps/ada                                            # ada's sessions, a page (?cursor= the next)
 * curl https://<deployment>/api/agent/apps/ada/<appId>/history                            # one session's steps, newest first (?before= older)
 * ```
 *
 * The store comes from the variables Vercel's integrations set — Neon `DATABASE_URL`, Upstash
 * `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN` (or `KV_REST_API_URL` + `KV_REST_API_TOKEN`),
 * Turso `TURSO_DATABASE_URL` + `TURSO_AUTH_TOKEN` — or `BURR_BACKEND` when several are set
 * (playground/backends.ts). None, or half of a store's, is a JSON 500 with `code: "CONFIG"` and
 * `missing` naming what to set.
 */
import type { BackendEnv } from '../../backends.js';
import { createAgentHandler } from '../../http.js';

export const config = { runtime: 'edge' };

const handler = createAgentHandler({ basePath: '/api/agent' });

/**
 * Vercel's Edge Runtime exposes the project's variables as `process.env` and nothing else of
 * Node's `process`; without it (another runtime) there are none.
 */
function vercelEnv(): BackendEnv {
  return typeof process === 'undefined' ? {} : (process.env as BackendEnv);
}

export default function agent(request: Request): Promise<Response> {
  return handler(request, vercelEnv());
}

/**
 * The demo agent as a Cloudflare Worker: a small JSON HTTP API that starts apps, runs their next
 * step, reads their state, lists an owner's apps and forks an app from one of its steps. Every
 * step is saved through the burr-edge persister that the Worker's environment names, so state
 * survives restarts, deploys and the isolate being evicted.
 *
 * ```sh
 * npx wrangler dev                                  # local, reads wrangler.toml (+ .dev.vars)
 * curl -X POST localhost:8787/apps/ada -d '{"question":"Why persist?"}'
 * curl -X POST localhost:8787/apps/ada/<appId>/step
 * curl localhost:8787/apps/ada/<appId>
 * ```
 *
 * The routes, their round trips and the error shape are playground/http.ts's, shared with the
 * Vercel Edge Function (playground/vercel/).
 *
 * The first request of an isolate builds and initializes the persister (libSQL: 2 round trips
 * more); later requests of that isolate reuse it.
 */
import { createAgentHandler } from './http.js';
import type { BackendEnv } from './backends.js';

/** The Worker's environment: `[vars]` in wrangler.toml, secrets, or `.dev.vars` locally. */
export type WorkerEnv = BackendEnv;

/** The part of a Worker's module export this example implements. */
export interface AgentWorker {
  fetch(request: Request, env: WorkerEnv): Promise<Response>;
}

/**
 * Builds the Worker. The default export is one instance; each instance keeps one persister per
 * configuration for the life of the isolate (Workers reuse an isolate across requests), so a
 * cold start pays for `initialize` once and every later request goes straight to its queries.
 */
export function createWorker(): AgentWorker {
  return { fetch: createAgentHandler() };
}

export default createWorker();

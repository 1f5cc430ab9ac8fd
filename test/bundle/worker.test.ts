/**
 * The Worker example as it deploys: built by `wrangler deploy --dry-run` from wrangler.toml and
 * run in Miniflare (workerd) WITHOUT `nodejs_compat` — the vitest workers pool always turns that
 * flag on, so only this proves the fetch backends need nothing from Node. Every outbound request
 * of the Worker is counted, and state must survive a restart (a new Miniflare instance, a cold
 * isolate, reading the same database).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Miniflare, fetch as miniflareFetch } from 'miniflare';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseJson, stringifyJson, type JsonObject } from '../../src/index.js';

const root = new URL('../../', import.meta.url).pathname;
const harness = inject('harness');

interface WorkerBackend {
  name: string;
  bindings: Record<string, string>;
  /** Requests `initialize()` adds to the first call of an isolate (once per isolate). */
  coldStartExtra: number;
}

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** One line per backend the Worker supports, configured the way a deployment would set its env. */
const BACKENDS: WorkerBackend[] = [
  {
    name: 'libsql (Turso over HTTP)',
    bindings: { BURR_BACKEND: 'libsql', LIBSQL_URL: harness.hranaUrl, LIBSQL_AUTH_TOKEN: harness.hranaToken, BURR_TABLE: `worker_libsql_${run}` },
    coldStartExtra: 1, // initialize: one write batch
  },
  {
    name: 'postgres (Neon over HTTP)',
    bindings: { BURR_BACKEND: 'postgres', DATABASE_URL: harness.postgresUrl, NEON_FETCH_ENDPOINT: harness.neonSqlEndpoint, BURR_TABLE: `worker_pg_${run}` },
    coldStartExtra: 1, // initialize: one statement
  },
  {
    name: 'redis (Upstash REST)',
    bindings: { BURR_BACKEND: 'redis', UPSTASH_REDIS_REST_URL: harness.upstashUrl, UPSTASH_REDIS_REST_TOKEN: harness.upstashToken, BURR_NAMESPACE: `worker_${run}` },
    coldStartExtra: 2, // initialize: EVAL of both scripts into the server's cache
  },
];

let outdir: string;
let script: string;
let compatibilityDate: string;

beforeAll(async () => {
  const toml = await readFile(join(root, 'wrangler.toml'), 'utf8');
  // The example must not rely on Node compatibility; fail loudly if someone turns it on.
  expect(toml).not.toMatch(/^\s*compatibility_flags\s*=.*nodejs_compat/m);
  compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? '';
  expect(compatibilityDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);

  outdir = await mkdtemp(join(tmpdir(), 'burr-edge-worker-'));
  await promisify(execFile)(process.execPath, [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir, '--config', join(root, 'wrangler.toml')], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG: 'error', CI: 'true' },
    timeout: 120_000,
  });
  script = join(outdir, 'worker.js');
}, 180_000);

afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

/** A Miniflare instance running the built bundle with no compatibility flags, counting outbound requests. */
function startWorker(bindings: Record<string, string>): { mf: Miniflare; requests(): number } {
  let count = 0;
  const mf = new Miniflare({
    name: 'burr-edge-agent',
    modules: true,
    scriptPath: script,
    modulesRoot: outdir, // module names are paths relative to this; the default (cwd) would need '..'
    compatibilityDate,
    compatibilityFlags: [],
    bindings,
    cf: false,
    outboundService: (request) => {
      count++;
      return miniflareFetch(request);
    },
  });
  return { mf, requests: () => count };
}

async function call(mf: Miniflare, method: string, path: string, body?: unknown): Promise<{ status: number; body: JsonObject }> {
  const response = await mf.dispatchFetch(`http://localhost${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: response.status, body: parseJson(await response.text()) as JsonObject };
}

describe('Worker bundle (wrangler deploy --dry-run) in Miniflare without nodejs_compat', () => {
  it('has no Node import in the bundle', async () => {
    const code = await readFile(script, 'utf8');
    expect(code).not.toMatch(/(from|import\(|require\()\s*["']node:/);
    expect(code).not.toMatch(/\brequire\(["'](fs|path|os|net|tls|crypto|stream|buffer)["']\)/);
  });

  for (const backend of BACKENDS) {
    describe(backend.name, () => {
      it('serves the API with the documented round trips, and state survives a restart', async () => {
        const owner = `owner-${run}`;
        const first = startWorker(backend.bindings);
        try {
          const started = await call(first.mf, 'POST', `/apps/${owner}`, { appId: 'a', question: 'Does it survive?' });
          expect(started.status, stringifyJson(started.body)).toBe(201);
          console.info(`${backend.name}: the first call of a cold isolate made ${first.requests()} requests (its own 1 + initialize, once per isolate)`);
          expect(first.requests()).toBe(1 + backend.coldStartExtra);

          // A warm isolate: the persister is reused, so each call costs exactly its own queries.
          const counted = async (method: string, path: string, body?: unknown) => {
            const before = first.requests();
            const result = await call(first.mf, method, path, body);
            return { ...result, requests: first.requests() - before };
          };
          const step = await counted('POST', `/apps/${owner}/a/step`);
          expect(step).toMatchObject({ status: 200, requests: 2, body: { sequenceId: 1, position: 'plan' } });
          expect(await counted('GET', `/apps/${owner}/a`)).toMatchObject({ status: 200, requests: 1, body: { sequenceId: 1 } });
          expect(await counted('GET', `/apps/${owner}/a?sequenceId=0`)).toMatchObject({ status: 200, requests: 1, body: { position: 'start' } });
          expect(await counted('GET', `/apps/${owner}`)).toMatchObject({ status: 200, requests: 1, body: { apps: [{ appId: 'a', latestSequenceId: 1 }], nextCursor: null } });
          expect(await counted('POST', `/apps/${owner}/a/fork`, { sequenceId: 1, newAppId: 'b' })).toMatchObject({ status: 201, requests: 2 });
          expect(await counted('GET', `/apps/${owner}/b/history`)).toMatchObject({ status: 200, requests: 1, body: { steps: [{ sequenceId: 1, forkedFrom: { appId: 'a', sequenceId: 1 } }], nextBefore: null } });
          expect(await counted('POST', `/apps/${owner}`, { appId: 'c' })).toMatchObject({ status: 201, requests: 1 });
        } finally {
          await first.mf.dispose();
        }

        // Restart: a new runtime, a cold isolate, the same database.
        const second = startWorker(backend.bindings);
        try {
          const read = await call(second.mf, 'GET', `/apps/${owner}/a`);
          expect(read).toMatchObject({ status: 200, body: { appId: 'a', sequenceId: 1, position: 'plan' } });
          expect(String((read.body.state as JsonObject).question)).toBe('Does it survive?');
          const next = await call(second.mf, 'POST', `/apps/${owner}/a/step`);
          expect(next.body).toMatchObject({ sequenceId: 2, position: 'research' });
          expect(((await call(second.mf, 'GET', `/apps/${owner}`)).body.apps as JsonObject[]).map((a) => a.appId)).toEqual(['a', 'c', 'b']);
        } finally {
          await second.mf.dispose();
        }
      });
    });
  }
});

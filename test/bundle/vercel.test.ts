/**
 * The Vercel Edge Function example (playground/vercel/) as Vercel runs it: the bundle that
 * playground/vercel/build.ts writes for `vercel deploy --prebuilt` (esbuild, `edge-light` /
 * `worker` / `browser` conditions, one ES module) is evaluated in a strict `EdgeVM` from
 * `@edge-runtime/vm` — no `Buffer`, `require` or `node:*`, and of `process` only the `env` that
 * Vercel's Edge Runtime exposes — and driven with the VM's own `Request`s against the harness's
 * Neon HTTP, Upstash REST and libSQL (Hrana over HTTP) fronts. The store is picked from the
 * variables alone, as Vercel's integrations set them. Every `fetch` the function makes is
 * counted: exact requests per step, per cold start, per restart.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeVM } from '@edge-runtime/vm';
import * as esbuild from 'esbuild';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parseJson, type JsonObject } from '../../src/index.js';
import { initialState } from '../../playground/agent.js';
import { STORES } from '../../playground/backends.js';
import { EDGE_CONDITIONS, bundleFunction, projectDir, routesOf, writePrebuilt, type FunctionBundle } from '../../playground/vercel/build.js';

const harness = inject('harness');
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const root = new URL('../../', import.meta.url).pathname;

/** Vercel's limit for an Edge Function on the Hobby plan, after gzip. */
const VERCEL_EDGE_LIMIT_BYTES = 1024 * 1024;
/** Our own budget for this function, all three drivers included (measured 105 KB, December 2026). */
const BUDGET_GZIP_BYTES = 128 * 1024;

interface Store {
  name: string;
  /** The project's environment variables, as the integration would set them; no BURR_BACKEND. */
  env: Record<string, string>;
  /** Origin every request of the function must go to. */
  origin: string;
  /** Requests `initialize()` adds to the first call of a cold isolate. */
  coldStartExtra: number;
  /** Requests a save with `expectedSequenceId` (each agent step's) takes beyond the 1 of a plain save. */
  expectationExtra: number;
}

const STORES_UNDER_TEST: Store[] = [
  {
    name: 'Neon (DATABASE_URL, over HTTP)',
    env: { DATABASE_URL: harness.postgresUrl, NEON_FETCH_ENDPOINT: harness.neonSqlEndpoint, BURR_TABLE: `vercel_pg_${run}` },
    origin: new URL(harness.neonSqlEndpoint).origin,
    coldStartExtra: 1, // one CREATE … IF NOT EXISTS statement
    expectationExtra: 0,
  },
  {
    name: 'Upstash (UPSTASH_REDIS_REST_URL / _TOKEN)',
    env: { UPSTASH_REDIS_REST_URL: harness.upstashUrl, UPSTASH_REDIS_REST_TOKEN: harness.upstashToken, BURR_NAMESPACE: `vercel_${run}` },
    origin: new URL(harness.upstashUrl).origin,
    coldStartExtra: 2, // EVAL of both scripts into the server's cache
    expectationExtra: 0,
  },
  {
    name: 'Turso (TURSO_DATABASE_URL / TURSO_AUTH_TOKEN, libSQL over HTTP)',
    env: { TURSO_DATABASE_URL: harness.hranaUrl, TURSO_AUTH_TOKEN: harness.hranaToken, BURR_TABLE: `vercel_libsql_${run}` },
    origin: new URL(harness.hranaUrl).origin,
    coldStartExtra: 1, // one write batch
    expectationExtra: 0,
  },
  {
    name: `MongoDB (MONGODB_GATEWAY_URL / _API_KEY, burr-edge's gateway; ${harness.mongodb[0]!.server})`,
    env: { MONGODB_GATEWAY_URL: harness.mongodb[0]!.gatewayUrl, MONGODB_GATEWAY_API_KEY: harness.mongodb[0]!.gatewayKey, MONGODB_DATABASE: harness.mongodb[0]!.database, MONGODB_COLLECTION: `vercel_mongo_${run}` },
    origin: new URL(harness.mongodb[0]!.gatewayUrl).origin,
    coldStartExtra: 1, // createIndexes
    expectationExtra: 1, // the persister reads the latest step, then inserts with `follows` (the unique key and follows indexes decide racing writers)
  },
];

let bundle: FunctionBundle;
/** The deployed module with its `export`s turned into `globalThis.__fn` (EdgeVM evaluates scripts, not modules). */
let script: string;

beforeAll(async () => {
  bundle = await bundleFunction();
  script = (await esbuild.transform(bundle.code, { format: 'iife', globalName: '__fn', target: 'es2022', logLevel: 'silent' })).code;
  console.info(`playground/vercel api/agent: ${(bundle.minBytes / 1024).toFixed(1)} KB min, ${(bundle.gzipBytes / 1024).toFixed(1)} KB min+gzip`);
});

/** Names that exist in Node but not in Vercel's Edge Runtime. */
const NODE_ONLY = ['Buffer', 'require', 'module', 'exports', 'setImmediate', '__dirname', '__filename', 'global'];

interface Isolate {
  vm: EdgeVM;
  call(method: string, path: string, body?: string): Promise<{ status: number; body: JsonObject; requests: number }>;
  /** Every URL the function fetched, in order. */
  fetched: string[];
}

/**
 * A fresh EdgeVM with the function loaded: a cold isolate. `env` becomes `process.env` (Vercel's
 * Edge Runtime offers that and nothing else of `process`); `null` leaves `process` undefined.
 */
function startIsolate(env: Record<string, string> | null): Isolate {
  const fetched: string[] = [];
  const vm = new EdgeVM({
    extend: (context) => {
      const edgeFetch = context.fetch;
      context.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
        fetched.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
        return edgeFetch(input as Parameters<typeof edgeFetch>[0], init as Parameters<typeof edgeFetch>[1]);
      };
      if (env) Object.assign(context, { process: { env: { ...env } } });
      return context;
    },
  });
  for (const name of NODE_ONLY) expect(vm.evaluate(`typeof globalThis.${name}`), `${name} must not exist in the strict VM`).toBe('undefined');
  expect(vm.evaluate('typeof process')).toBe(env ? 'object' : 'undefined');
  if (env) expect(vm.evaluate('Object.keys(process)')).toEqual(['env']);
  vm.evaluate(script);
  const handler = vm.evaluate<(request: Request) => Promise<Response>>('__fn.default');
  const RequestInVm = vm.evaluate<typeof Request>('Request');
  return {
    vm,
    fetched,
    async call(method, path, body) {
      const before = fetched.length;
      const request = new RequestInVm(`https://burr-edge-agent.vercel.app${path}`, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
      const response = await handler(request);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      // Lossless: the agent's `tokens` is beyond 2^53.
      return { status: response.status, body: parseJson(await response.text()) as JsonObject, requests: fetched.length - before };
    },
  };
}

const api = '/api/agent';
/** The agent's token counter after step n: 17·k is added at step k. */
const tokensAt = (step: number): bigint => initialState('').get('tokens') + BigInt((17 * step * (step + 1)) / 2);

describe('Vercel Edge Function bundle (esbuild, edge conditions) in a strict EdgeVM', () => {
  it('the strict checks catch what they are meant to (negative controls)', async () => {
    // A bare `process.env` read at load, or a Buffer, throws in the strict VM…
    expect(() => new EdgeVM().evaluate('const level = process.env.LOG_LEVEL;')).toThrow(/process is not defined/);
    expect(() => new EdgeVM().evaluate('Buffer.from("x")')).toThrow(/Buffer is not defined/);
    // …a `node:` import in the function's graph fails its build options…
    await expect(
      esbuild.build({ stdin: { contents: "import { readFileSync } from 'node:fs'; export default readFileSync;", resolveDir: projectDir }, bundle: true, platform: 'browser', conditions: EDGE_CONDITIONS, write: false, logLevel: 'silent' }),
    ).rejects.toThrow(/node:fs/);
    // …and any fetch made inside the VM is seen by the counter.
    const isolate = startIsolate(null);
    expect(isolate.fetched).toEqual([]);
    const url = `${harness.upstashUrl}/ping`;
    await isolate.vm.evaluate<Promise<Response>>(`fetch(${JSON.stringify(url)}).then((r) => r.text())`);
    expect(isolate.fetched).toEqual([url]);
  });

  it('has no Node built-in and stays within its size budget', () => {
    expect(bundle.code).not.toMatch(/["']node:[a-z_/]+["']/);
    expect(bundle.code).not.toMatch(/\brequire\(["'](fs|path|os|net|tls|crypto|stream|buffer|child_process|worker_threads|http|https|zlib)["']\)/);
    expect(bundle.inputs.filter((input) => input.startsWith('node:') || input.includes('(disabled)'))).toEqual([]);
    // Everything the function runs is in the one file: the deployment installs nothing.
    expect(bundle.externalImports).toEqual([]);
    expect(bundle.inputs).toContain('playground/vercel/api/agent.ts');
    expect(bundle.inputs.some((input) => input.startsWith('src/persisters/'))).toBe(true);
    expect(bundle.gzipBytes).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
    expect(bundle.gzipBytes).toBeLessThan(VERCEL_EDGE_LIMIT_BYTES);
  });

  it('exports config = { runtime: "edge" } and a web-standard default handler', () => {
    const vm = new EdgeVM();
    vm.evaluate(script);
    expect(vm.evaluate('JSON.stringify(__fn.config)')).toBe('{"runtime":"edge"}');
    expect(vm.evaluate('typeof __fn.default')).toBe('function');
  });

  it('writes the prebuilt deployment (Build Output API v3) holding exactly the tested bundle', async () => {
    const out = await mkdtemp(join(tmpdir(), 'burr-edge-vercel-'));
    try {
      const written = await writePrebuilt(out);
      expect(await readFile(join(out, 'functions/api/agent.func/index.js'), 'utf8')).toBe(bundle.code);
      expect(written.code).toBe(bundle.code);
      expect(JSON.parse(await readFile(join(out, 'functions/api/agent.func/.vc-config.json'), 'utf8'))).toEqual({ runtime: 'edge', entrypoint: 'index.js' });
      const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as { version: number; routes: { src?: string; dest?: string }[] };
      expect(config.version).toBe(3);
      const vercelJson = JSON.parse(await readFile(join(projectDir, 'vercel.json'), 'utf8')) as { rewrites: { source: string; destination: string }[] };
      expect(config.routes).toEqual(routesOf(vercelJson.rewrites));
      const rewrite = config.routes.find((r) => r.dest === api)!;
      for (const path of [api, `${api}/apps/ada`, `${api}/apps/ada/a1/step`]) expect(new RegExp(rewrite.src!).test(path), path).toBe(true);
      for (const path of ['/api/agents', '/api', '/apps/ada']) expect(new RegExp(rewrite.src!).test(path), path).toBe(false);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    expect(() => routesOf([{ source: '/api/:path', destination: '/x' }])).toThrow(/only/);
  });

  for (const store of STORES_UNDER_TEST) {
    describe(store.name, () => {
      it('a session of several steps, resumed by appId after the isolate restarts, with exact requests per step', async () => {
        const owner = `owner-${run}`;
        const first = startIsolate(store.env);
        const started = await first.call('POST', `${api}/apps/${owner}`, JSON.stringify({ appId: 'a', question: 'Does it survive?' }));
        expect(started).toMatchObject({ status: 201, body: { owner, appId: 'a', sequenceId: 0, position: 'start', done: false } });
        const stepRequests = 2 + store.expectationExtra; // initializeFrom's load + StepSaver's save with expectedSequenceId
        console.info(`${store.name}: cold start ${started.requests} requests (1 save + initialize); a step ${stepRequests}; a restart's first step ${stepRequests + store.coldStartExtra}`);
        expect(started.requests).toBe(1 + store.coldStartExtra);

        // A warm isolate: each step is one load and one save that holds only if the latest step is still the one loaded.
        const positions: string[] = [];
        for (let step = 1; step <= 3; step++) {
          const result = await first.call('POST', `${api}/apps/${owner}/a/step`);
          expect(result).toMatchObject({ status: 200, requests: stepRequests, body: { appId: 'a', sequenceId: step } });
          expect((result.body.state as JsonObject).tokens).toBe(tokensAt(step));
          positions.push(String(result.body.position));
        }
        expect(positions).toEqual(['plan', 'research', 'research']);
        const listed = await first.call('GET', `${api}/apps/${owner}`);
        expect(listed).toMatchObject({ status: 200, requests: 1, body: { owner, nextCursor: null } }); // one listApps page
        expect(listed.body.apps).toMatchObject([{ appId: 'a', latestSequenceId: 3, position: 'research', status: 'completed' }]);
        const history = await first.call('GET', `${api}/apps/${owner}/a/history`);
        expect(history).toMatchObject({ status: 200, requests: 1, body: { owner, appId: 'a', nextBefore: null } }); // one listHistory page
        expect((history.body.steps as JsonObject[]).map((s) => `${s.sequenceId}:${s.position}`)).toEqual(['3:research', '2:research', '1:plan', '0:start']);
        const older = await first.call('GET', `${api}/apps/${owner}/a/history?limit=2&before=2`);
        expect(older).toMatchObject({ status: 200, requests: 1, body: { nextBefore: null } });
        expect((older.body.steps as JsonObject[]).map((s) => s.sequenceId)).toEqual([1, 0]);
        expect(await first.call('GET', `${api}/apps/${owner}/a?sequenceId=1`)).toMatchObject({ status: 200, requests: 1, body: { sequenceId: 1, position: 'plan' } });
        expect(new Set(first.fetched.map((url) => new URL(url).origin))).toEqual(new Set([store.origin]));

        // Restart: a new VM is a cold isolate with nothing in memory; the session resumes from the store.
        const second = startIsolate(store.env);
        const resumed = await second.call('POST', `${api}/apps/${owner}/a/step`);
        expect(resumed).toMatchObject({ status: 200, requests: stepRequests + store.coldStartExtra, body: { appId: 'a', sequenceId: 4, position: 'research' } });
        expect((resumed.body.state as JsonObject).question).toBe('Does it survive?');
        expect((resumed.body.state as JsonObject).tokens).toBe(tokensAt(4));
        const after = await second.call('GET', `${api}/apps/${owner}/a/history`);
        expect(after.requests).toBe(1);
        expect((after.body.steps as JsonObject[]).map((s) => s.sequenceId)).toEqual([4, 3, 2, 1, 0]);
        expect((after.body.steps as JsonObject[]).every((s) => s.status === 'completed' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(String(s.createdAt)))).toBe(true);
      });

      it('answers a malformed body, an unknown session and a conflicting start with JSON errors and the kit’s codes', async () => {
        const owner = `errors-${run}`;
        const isolate = startIsolate(store.env);
        const malformed = await isolate.call('POST', `${api}/apps/${owner}`, '{"question": "unterminated');
        expect(malformed).toMatchObject({ status: 400, requests: 0, body: { error: { code: 'INVALID_ARGUMENT', message: 'the request body is not JSON' } } });
        expect(await isolate.call('POST', `${api}/apps/${owner}`, '["not", "an object"]')).toMatchObject({ status: 400, requests: 0, body: { error: { code: 'INVALID_ARGUMENT' } } });
        expect(await isolate.call('POST', `${api}/apps/${owner}`, '{"appId": 7}')).toMatchObject({ status: 400, requests: 0, body: { error: { code: 'INVALID_ARGUMENT' } } });

        const unknown = await isolate.call('POST', `${api}/apps/${owner}/nobody/step`);
        expect(unknown).toMatchObject({ status: 404, requests: 1 + store.coldStartExtra, body: { error: { code: 'NOT_FOUND' } } });
        expect(await isolate.call('GET', `${api}/apps/${owner}/nobody/history`)).toMatchObject({ status: 404, requests: 1, body: { error: { code: 'NOT_FOUND' } } });
        expect(await isolate.call('DELETE', `${api}/apps/${owner}`)).toMatchObject({ status: 405, requests: 0, body: { error: { code: 'METHOD_NOT_ALLOWED' } } });
        expect(await isolate.call('GET', '/api/elsewhere')).toMatchObject({ status: 404, requests: 0, body: { error: { code: 'NOT_FOUND' } } });

        expect(await isolate.call('POST', `${api}/apps/${owner}`, '{"appId": "twice", "question": "q1"}')).toMatchObject({ status: 201, requests: 1 });
        expect(await isolate.call('POST', `${api}/apps/${owner}`, '{"appId": "twice", "question": "q1"}')).toMatchObject({ status: 201 }); // an identical retry
        const conflict = await isolate.call('POST', `${api}/apps/${owner}`, '{"appId": "twice", "question": "q2"}');
        expect(conflict).toMatchObject({ status: 409, body: { error: { code: 'ALREADY_EXISTS', retryable: false } } });
      });
    });
  }

  describe('environment', () => {
    it('no store configured — not even a `process` — is a JSON 500 naming every store’s variables, with no request made', async () => {
      const isolate = startIsolate(null);
      const response = await isolate.call('POST', `${api}/apps/ada`, '{}');
      expect(response).toMatchObject({ status: 500, requests: 0, body: { error: { code: 'CONFIG' } } });
      const error = response.body.error as JsonObject;
      expect(error.missing).toEqual(STORES.flatMap((s) => Object.values(s.required).map((names) => names.join(' or '))));
      for (const name of ['DATABASE_URL', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'TURSO_DATABASE_URL', 'TURSO_AUTH_TOKEN']) expect(String(error.message)).toContain(name);
    });

    it('half a store names the missing variable and never echoes the one that is set', async () => {
      const isolate = startIsolate({ UPSTASH_REDIS_REST_TOKEN: harness.upstashToken });
      const response = await isolate.call('GET', `${api}/apps/ada`);
      expect(response).toMatchObject({ status: 500, requests: 0, body: { error: { code: 'CONFIG', missing: ['UPSTASH_REDIS_REST_URL or KV_REST_API_URL'] } } });
      expect(JSON.stringify(response.body)).not.toContain(harness.upstashToken);
    });

    it('two stores at once ask for BURR_BACKEND, which then picks one', async () => {
      const both = { ...STORES_UNDER_TEST[0]!.env, ...STORES_UNDER_TEST[2]!.env };
      const ambiguous = await startIsolate(both).call('GET', `${api}/apps/ada`);
      expect(ambiguous).toMatchObject({ status: 500, requests: 0, body: { error: { code: 'CONFIG', missing: ['BURR_BACKEND'] } } });
      const chosen = startIsolate({ ...both, BURR_BACKEND: 'libsql' });
      expect(await chosen.call('GET', `${api}/apps/nobody-${run}`)).toMatchObject({ status: 200, body: { apps: [], nextCursor: null } });
      expect(new Set(chosen.fetched.map((url) => new URL(url).origin))).toEqual(new Set([new URL(harness.hranaUrl).origin]));
    });
  });

  it('the README’s "Deploy to Vercel" section names every variable and the measured size', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const start = readme.indexOf('### Deploy to Vercel');
    expect(start).toBeGreaterThanOrEqual(0);
    const section = readme.slice(start, readme.indexOf('\n## ', start) === -1 ? undefined : readme.indexOf('\n## ', start));
    for (const store of STORES) for (const names of [...Object.values(store.required), ...Object.values(store.optional)]) for (const name of names) expect(section, name).toContain(`\`${name}\``);
    for (const command of ['npx tsx playground/vercel/build.ts', 'vercel env add', 'vercel deploy --prebuilt']) expect(section).toContain(command);
    const stated = /(\d+(?:\.\d+)?) KB min\+gzip/.exec(section);
    expect(stated, 'the section states the bundle size as "<n> KB min+gzip"').not.toBeNull();
    // Within 10% of what this build measures: the number in the README is the function's.
    expect(Math.abs(Number(stated![1]) * 1024 - bundle.gzipBytes) / bundle.gzipBytes).toBeLessThan(0.1);
  });
});

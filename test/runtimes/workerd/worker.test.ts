/**
 * The Worker example (playground/worker.ts, wrangler.toml) inside workerd, called through its
 * own entrypoint with the bindings the pool config gives it: libSQL over HTTP at the harness.
 */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { parseJson, type JsonObject } from '../../../src/index.js';
import { initialState } from '../../../playground/agent.js';
import { createWorker, type WorkerEnv } from '../../../playground/worker.js';

const worker = exports.default;
const owner = `owner-${crypto.randomUUID()}`;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: JsonObject }> {
  const response = await worker.fetch(`http://example.com${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  // Lossless: the agent's `tokens` is beyond 2^53.
  return { status: response.status, body: parseJson(await response.text()) as JsonObject };
}

describe('Worker example in workerd', () => {
  it('runs with the bindings of wrangler.toml and the pool (libSQL at the harness)', () => {
    expect(env.BURR_BACKEND).toBe('libsql');
    expect(env.LIBSQL_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
  });

  it('starts an app, runs it to the end, reads any step, forks, lists history and apps page by page', async () => {
    const started = await call('POST', `/apps/${owner}`, { question: 'Why persist agent state at the edge?', appId: 'first' });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ owner, appId: 'first', sequenceId: 0, position: 'start', done: false });

    const positions: string[] = [];
    for (let i = 0; i < 20; i++) {
      const step = await call('POST', `/apps/${owner}/first/step`);
      expect(step.status).toBe(200);
      positions.push(String(step.body.position));
      if (step.body.done === true) break;
    }
    expect(positions).toEqual(['plan', 'research', 'research', 'research', 'draft', 'review', 'draft', 'review', 'finalize']);

    const latest = await call('GET', `/apps/${owner}/first`);
    expect(latest.status).toBe(200);
    expect(latest.body).toMatchObject({ sequenceId: 9, position: 'finalize', status: 'completed', done: true });
    expect(latest.body.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const state = latest.body.state as JsonObject;
    expect(String(state.answer)).toMatch(/^Answer on "Why persist agent state at the edge\?": /);
    // tokens grow by 17 × sequenceId per step (1 + … + 9 = 45) and stay exact beyond 2^53.
    expect(state.tokens).toBe(initialState('any').get('tokens') + 17n * 45n);

    const third = await call('GET', `/apps/${owner}/first?sequenceId=3`);
    expect(third.body).toMatchObject({ sequenceId: 3, position: 'research', done: false });

    const fork = await call('POST', `/apps/${owner}/first/fork`, { sequenceId: 3, newAppId: 'second' });
    expect(fork.status).toBe(201);
    expect(fork.body).toMatchObject({ appId: 'second', sequenceId: 3, position: 'research', forkedFrom: { appId: 'first', sequenceId: 3 } });
    expect((fork.body.state as JsonObject).__burr_edge_fork__).toBeUndefined(); // the lineage is `forkedFrom`, not state
    const continued = await call('POST', `/apps/${owner}/second/step`);
    expect(continued.body).toMatchObject({ appId: 'second', sequenceId: 4, position: 'research' });
    // The fork's history: newest first, its first step naming the source.
    const history = await call('GET', `/apps/${owner}/second/history`);
    expect(history.body).toMatchObject({ owner, appId: 'second', nextBefore: null, steps: [{ sequenceId: 4, position: 'research' }, { sequenceId: 3, forkedFrom: { partitionKey: owner, appId: 'first', sequenceId: 3 } }] });
    expect((history.body.steps as JsonObject[])[0]!.forkedFrom).toBeUndefined();

    // The owner's apps, most recently saved first, page by page with the cursor.
    const list = await call('GET', `/apps/${owner}`);
    expect((list.body.apps as JsonObject[]).map((a) => a.appId)).toEqual(['second', 'first']);
    expect(list.body).toMatchObject({ owner, nextCursor: null, apps: [{ appId: 'second', latestSequenceId: 4, position: 'research' }, { appId: 'first', latestSequenceId: 9, position: 'finalize' }] });
    const firstPage = await call('GET', `/apps/${owner}?limit=1`);
    expect((firstPage.body.apps as JsonObject[]).map((a) => a.appId)).toEqual(['second']);
    const nextPage = await call('GET', `/apps/${owner}?limit=1&cursor=${encodeURIComponent(String(firstPage.body.nextCursor))}`);
    expect((nextPage.body.apps as JsonObject[]).map((a) => a.appId)).toEqual(['first']);
    expect(nextPage.body.nextCursor).toBeNull();
  });

  it('answers 404, 400, 405 and 409 with typed JSON errors', async () => {
    expect((await call('GET', `/apps/${owner}/nobody`)).status).toBe(404);
    expect((await call('POST', `/apps/${owner}/nobody/step`)).status).toBe(404);
    expect((await call('GET', `/apps/${owner}/nobody?sequenceId=-1`)).status).toBe(400);
    expect((await call('POST', `/apps/${owner}/nobody/fork`, { sequenceId: 0 })).status).toBe(404);
    expect((await call('POST', `/apps/${owner}/nobody/fork`, { sequenceId: 'x' })).status).toBe(400);
    expect((await call('POST', `/apps/${owner}/first/fork`, { sequenceId: 99 })).body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await call('POST', `/apps/${owner}/first/fork`, { sequenceId: 1, newAppId: 'second' })).status).toBe(400); // that app id is taken
    expect((await call('GET', `/apps/${owner}/nobody/history`)).status).toBe(404);
    expect((await call('DELETE', `/apps/${owner}`)).status).toBe(405);
    expect((await call('GET', '/nowhere')).status).toBe(404);

    // Starting an app twice with the same question is a harmless retry; with another question it conflicts.
    expect((await call('POST', `/apps/${owner}`, { appId: 'twice', question: 'q1' })).status).toBe(201);
    expect((await call('POST', `/apps/${owner}`, { appId: 'twice', question: 'q1' })).status).toBe(201);
    const conflict = await call('POST', `/apps/${owner}`, { appId: 'twice', question: 'q2' });
    expect(conflict.status).toBe(409);
    expect((conflict.body.error as JsonObject).code).toBe('ALREADY_EXISTS');
  });

  it('state survives a new Worker instance (a cold isolate with its own persister)', async () => {
    await call('POST', `/apps/${owner}`, { appId: 'durable' });
    await call('POST', `/apps/${owner}/durable/step`);
    const fresh = createWorker();
    const bindings = env as WorkerEnv;
    const read = await fresh.fetch(new Request(`http://example.com/apps/${owner}/durable`), bindings);
    expect(read.status).toBe(200);
    expect(parseJson(await read.text())).toMatchObject({ appId: 'durable', sequenceId: 1, position: 'plan' });
    const next = await fresh.fetch(new Request(`http://example.com/apps/${owner}/durable/step`, { method: 'POST' }), bindings);
    expect(parseJson(await next.text())).toMatchObject({ sequenceId: 2, position: 'research' });
  });

  it('a missing database address is a 500 that names the variable, not a crash', async () => {
    const response = await createWorker().fetch(new Request(`http://example.com/apps/${owner}`), { BURR_BACKEND: 'libsql' });
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('LIBSQL_URL is not set');
    const unknown = await createWorker().fetch(new Request(`http://example.com/apps/${owner}`), { BURR_BACKEND: 'cassandra' });
    expect(await unknown.text()).toContain('BURR_BACKEND=cassandra is not supported');
  });
});

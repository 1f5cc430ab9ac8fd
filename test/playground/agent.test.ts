/**
 * The demo agent's session logic (playground/agent.ts) on the in-memory persister: a new app
 * starts at `start`, a resumed one continues after its latest step with one save per step, a
 * fork starts from the source step and names it, and a writer that lost the race gets
 * `ConcurrentUpdateError` with nothing saved.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryPersister, State } from '../../src/index.js';
import { ENTRYPOINT, FINAL_ACTION, initialState, openSession, runStep } from '../../playground/agent.js';

async function persister(): Promise<InMemoryPersister> {
  const p = new InMemoryPersister();
  await p.initialize();
  return p;
}

const app = { partitionKey: 'u', appId: 'a' };
const positions = async (p: InMemoryPersister, appId: string): Promise<string[]> => (await p.listHistory('u', appId)).steps.map((s) => `${s.sequenceId} ${s.position}`).reverse();

describe('the demo agent on the session API', () => {
  it('starts fresh at the entrypoint, saves nothing until the first step, then runs to the end and stops', async () => {
    const p = await persister();
    const session = await openSession(p, app, { question: 'Q?' });
    expect(session).toMatchObject({ origin: 'fresh', position: null, sequenceId: null, nextAction: ENTRYPOINT, done: false });
    expect(await p.load('u', 'a')).toBeNull();
    const results = [];
    while (!session.done) results.push(await session.step());
    expect(results.map((r) => `${r.sequenceId} ${r.position}`)).toEqual(['0 start', '1 plan', '2 research', '3 research', '4 research', '5 draft', '6 review', '7 draft', '8 review', `9 ${FINAL_ACTION}`]);
    expect(await positions(p, 'a')).toEqual(results.map((r) => `${r.sequenceId} ${r.position}`));
    // Step 0 is the initial state as it was; the last has the answer.
    expect((await p.load('u', 'a', 0))!.state).toEqual(initialState('Q?').serialize());
    expect(String(session.state.get('answer'))).toMatch(/^Answer on "Q\?"/);
    expect(await session.step()).toMatchObject({ saved: false, done: true, sequenceId: 9 });
    expect(await runStep(p, app)).toMatchObject({ saved: false, done: true });
  });

  it('resumes after the latest step: one load to open, then one save per step', async () => {
    const p = await persister();
    for (let i = 0; i < 3; i++) await runStep(p, app);
    const session = await openSession(p, app);
    expect(session).toMatchObject({ origin: 'resumed', position: 'research', sequenceId: 2, nextAction: 'research' });
    expect(await session.step()).toMatchObject({ sequenceId: 3, position: 'research', saved: true });
    expect(await positions(p, 'a')).toEqual(['0 start', '1 plan', '2 research', '3 research']);
  });

  it('forks from a middle step: the fork starts there, names its source, and the source is untouched', async () => {
    const p = await persister();
    for (let i = 0; i < 6; i++) await runStep(p, app);
    const fork = await openSession(p, { partitionKey: 'u', appId: 'f' }, { forkFrom: { appId: 'a', sequenceId: 3 } });
    expect(fork).toMatchObject({ origin: 'forked', position: 'research', sequenceId: 3, nextAction: 'research', forkedFrom: { partitionKey: 'u', appId: 'a', sequenceId: 3 } });
    expect(fork.state.get('notes')).toHaveLength(2);
    expect(fork.state.get('tokens')).toBe(State.deserialize((await p.load('u', 'a', 3))!.state).get('tokens'));
    await fork.step();
    const history = await p.listHistory('u', 'f');
    expect(history.steps.map((s) => [s.sequenceId, s.forkedFrom?.appId])).toEqual([[4, undefined], [3, 'a']]);
    expect(await positions(p, 'a')).toHaveLength(6);
    // Resumed later, the fork continues after its own latest step.
    expect(await openSession(p, { partitionKey: 'u', appId: 'f' })).toMatchObject({ origin: 'resumed', sequenceId: 4 });
    await expect(openSession(p, { partitionKey: 'u', appId: 'g' }, { forkFrom: { appId: 'a', sequenceId: 42 } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(openSession(p, { partitionKey: 'u', appId: 'f' }, { forkFrom: { appId: 'a', sequenceId: 1 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a session whose app moved on under it is refused (ConcurrentUpdateError), nothing saved; the same step saved twice is one step', async () => {
    const p = await persister();
    for (let i = 0; i < 3; i++) await runStep(p, app);
    const [one, two] = await Promise.all([openSession(p, app), openSession(p, app)]);
    // The agent is deterministic: both build the identical step 3, stored once, neither fails.
    await one.step();
    await two.step();
    expect(await positions(p, 'a')).toEqual(['0 start', '1 plan', '2 research', '3 research']);
    // Another writer saves a different step 4 meanwhile: this session's step 4 is refused.
    const stale = await openSession(p, app);
    await p.save({ ...app, sequenceId: 4, position: 'research', state: { other: true }, status: 'failed' });
    await expect(stale.step()).rejects.toMatchObject({ code: 'CONCURRENT_UPDATE' });
    expect((await p.load('u', 'a'))!.state).toEqual({ other: true });
    expect(stale.sequenceId).toBe(3); // the session did not advance
  });
});

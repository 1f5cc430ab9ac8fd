/**
 * BurrTrackingLoader against the tracking directory Burr 0.40.2's LocalTrackingClient wrote
 * (`../shared/fixtures/burr-python/tracking/`): every case of tracking-expected.json exactly —
 * records, errors for sequence ids never logged, big integers — and what Burr's loader does not
 * do: listAppIds by partition, a run still writing, logs far larger than one read.
 */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BurrTrackingLoader } from '../../src/persisters/tracking.js';
import { TRACKING_DIR, revive, trackingExpected } from './tracking-fixture.js';

const expected = trackingExpected;
const storageDir = TRACKING_DIR;

const temps: string[] = [];
function copyOfFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'burr-edge-tracking-'));
  temps.push(dir);
  cpSync(storageDir, dir, { recursive: true });
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('BurrTrackingLoader on the tracking directory Burr wrote', () => {
  const loader = new BurrTrackingLoader({ storageDir, project: expected.project });

  it('covers the fixture: several apps, a failed step, a fork, big integers', () => {
    expect(expected.loads.length).toBeGreaterThan(20);
    expect(expected.loads.some((c) => c.error)).toBe(true);
    expect(expected.loads.some((c) => c.result?.status === 'failed')).toBe(true);
  });

  for (const c of expected.loads) {
    const { partition_key, app_id, sequence_id } = c.query;
    it(`load(${JSON.stringify(partition_key)}, ${JSON.stringify(app_id)}, ${sequence_id}) is what Burr returned`, async () => {
      const call = loader.load(partition_key, app_id, sequence_id);
      if (c.error !== undefined) {
        const error = await call.then(() => null, (e: unknown) => e as { code: string; message: string; argument: string });
        expect(error, 'an error').not.toBeNull();
        expect(error!.code).toBe('INVALID_ARGUMENT');
        expect(error!.argument).toBe('sequenceId');
        expect(error!.message.endsWith(c.error)).toBe(true);
        return;
      }
      const loaded = await call;
      if (c.result === null) {
        expect(loaded).toBeNull();
        return;
      }
      const result = c.result!;
      expect(loaded).not.toBeNull();
      expect({ partitionKey: loaded!.partitionKey, appId: loaded!.appId, sequenceId: loaded!.sequenceId, position: loaded!.position, status: loaded!.status }).toEqual({
        partitionKey: partition_key,
        appId: result.app_id,
        sequenceId: result.sequence_id,
        position: result.position,
        status: result.status,
      });
      const want = revive(result.state) as Record<string, unknown>;
      expect(loaded!.state).toStrictEqual(want);
      expect(Object.keys(loaded!.state)).toEqual(Object.keys(want)); // __SEQUENCE_ID put back last, as Burr does
      if ('big' in want) expect(typeof loaded!.state.big).toBe('bigint');
      expect(loaded!.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });
  }

  it('listAppIds lists the apps of the partition from metadata.json (Burr returns [])', async () => {
    expect([...(await loader.listAppIds(expected.partition_key))].sort()).toEqual([...expected.app_ids].sort());
    expect(await loader.listAppIds('someone-else')).toEqual([]);
    expect(await loader.listAppIds(expected.partition_key, { limit: 2 })).toHaveLength(2);
  });

  it('an app of another partition is not found; load(pk, null) is the most recently written app', async () => {
    expect(await loader.load('someone-else', 'app-1')).toBeNull();
    const dir = copyOfFixture();
    const copy = new BurrTrackingLoader({ storageDir: dir, project: expected.project });
    const base = Date.now() / 1000 - 1000;
    for (const [i, app] of ['app-fork', 'app-1', 'app-fail', 'app-2'].entries()) utimesSync(join(dir, expected.project, app, 'log.jsonl'), base + i, base + i);
    expect(await copy.listAppIds(expected.partition_key)).toEqual(['app-2', 'app-fail', 'app-1', 'app-fork']);
    expect((await copy.load(expected.partition_key, null))?.appId).toBe('app-2');
  });

  it('steps() gives every logged step in order, each as load gives it', async () => {
    const steps = [];
    for await (const s of loader.steps(expected.partition_key, 'app-fork')) steps.push(s);
    expect(steps.map((s) => s.sequenceId)).toEqual([3, 4]);
    expect(steps[1]).toEqual(await loader.load(expected.partition_key, 'app-fork', 4));
  });

  it('a project directory that does not exist: NOT_INITIALIZED naming it', async () => {
    const missing = new BurrTrackingLoader({ storageDir, project: 'no-such-project' });
    expect(await missing.isInitialized()).toBe(false);
    await expect(missing.load('', 'a')).rejects.toMatchObject({ code: 'NOT_INITIALIZED' });
    await expect(missing.initialize()).rejects.toThrow(/no Burr tracking directory at .*no-such-project/);
  });

  it('refuses a project name that is a path', () => {
    expect(() => new BurrTrackingLoader({ storageDir, project: '../etc' })).toThrow(/project/);
  });
});

describe('logs as a running app leaves them', () => {
  it('a truncated last line (a run still writing) is skipped; the step before it is the latest', async () => {
    const dir = copyOfFixture();
    const log = join(dir, expected.project, 'app-2', 'log.jsonl');
    appendFileSync(log, '{"type":"begin_entry","start_time":"2026-12-03T09:13:08","action":"chat","inputs":{},"sequence_id":3}\n{"type":"end_entry","end_time":"2026-12-03T09:13:08","action":"chat","result":{},"exception":null,"state":{"count":2,"mess');
    const loader = new BurrTrackingLoader({ storageDir: dir, project: expected.project });
    expect((await loader.load(expected.partition_key, 'app-2'))?.sequenceId).toBe(2);
    await expect(loader.load(expected.partition_key, 'app-2', 3)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a broken line in the middle is a SERIALIZATION error naming the file and line', async () => {
    const dir = copyOfFixture();
    const log = join(dir, expected.project, 'app-2', 'log.jsonl');
    const lines = readFileSync(log, 'utf8').split('\n');
    lines[1] = lines[1]!.slice(0, 40);
    writeFileSync(log, lines.join('\n'));
    const loader = new BurrTrackingLoader({ storageDir: dir, project: expected.project });
    await expect(loader.load(expected.partition_key, 'app-2')).rejects.toMatchObject({ code: 'SERIALIZATION', message: expect.stringMatching(/log\.jsonl:2 /) });
  });

  it('an app that only began its first step has no step yet', async () => {
    const dir = copyOfFixture();
    const app = join(dir, expected.project, 'fresh');
    mkdirSync(app);
    writeFileSync(join(app, 'metadata.json'), JSON.stringify({ type: 'application_metadata', partition_key: null }));
    writeFileSync(join(app, 'log.jsonl'), '{"type":"begin_entry","action":"a","inputs":{},"sequence_id":0}\n');
    const loader = new BurrTrackingLoader({ storageDir: dir, project: expected.project });
    expect(await loader.load(null, 'fresh')).toBeNull();
    expect(await loader.listAppIds(null)).toEqual(['fresh']);
  });

  it('a log of thousands of steps, read in small chunks: lines across chunk boundaries, multi-byte characters split', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burr-edge-tracking-big-'));
    temps.push(dir);
    const app = join(dir, 'proj', 'big');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'metadata.json'), JSON.stringify({ partition_key: 'p' }));
    const n = 3000;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      parts.push(JSON.stringify({ type: 'begin_entry', action: 'step', sequence_id: i }));
      parts.push(`{"type":"end_entry","action":"step","exception":null,"state":{"i":${i},"text":"é🚀${'x'.repeat(i % 97)}","big":123456789012345678901234567890,"__PRIOR_STEP":"step","__SEQUENCE_ID":${i}},"sequence_id":${i}}`);
    }
    writeFileSync(join(app, 'log.jsonl'), `${parts.join('\n')}\n`);
    for (const chunkBytes of [61, 65536]) {
      const loader = new BurrTrackingLoader({ storageDir: dir, project: 'proj', chunkBytes });
      const latest = await loader.load('p', 'big');
      expect(latest?.state).toStrictEqual({ i: n - 1, text: `é🚀${'x'.repeat((n - 1) % 97)}`, big: 123456789012345678901234567890n, __SEQUENCE_ID: n - 1 });
      expect((await loader.load('p', 'big', 1234))?.state.text).toBe(`é🚀${'x'.repeat(1234 % 97)}`);
    }
    let count = 0;
    for await (const step of new BurrTrackingLoader({ storageDir: dir, project: 'proj' }).steps('p', 'big')) expect(step.sequenceId).toBe(count++);
    expect(count).toBe(n);
  });
});

/**
 * BurrTrackingLoader in Deno 2 (node:fs through Deno's Node compatibility): every case of the
 * fixture Burr's LocalTrackingClient wrote, exactly as Burr's load answered it, and a run still
 * writing its last line. Needs no harness. Plain Deno.test and node:assert (no `jsr:`).
 */
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BurrTrackingLoader } from '../../../src/persisters/tracking.js';
import { TRACKING_DIR, revive, trackingExpected } from '../../persisters/tracking-fixture.js';

interface DenoApi {
  test(definition: { name: string; fn: () => Promise<void> }): void;
}
const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

const expected = trackingExpected;

const loader = new BurrTrackingLoader({ storageDir: TRACKING_DIR, project: expected.project });

deno.test({
  name: `tracking (Deno): all ${expected.loads.length} loads of tracking-expected.json are what Burr returned`,
  async fn() {
    for (const { query, result, error } of expected.loads) {
      const label = JSON.stringify(query);
      if (error !== undefined) {
        await assert.rejects(loader.load(query.partition_key, query.app_id, query.sequence_id), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && e.message.endsWith(error), label);
        continue;
      }
      const loaded = await loader.load(query.partition_key, query.app_id, query.sequence_id);
      if (!result) {
        assert.equal(loaded, null, label);
        continue;
      }
      assert.ok(loaded, label);
      assert.deepEqual(
        { appId: loaded.appId, sequenceId: loaded.sequenceId, position: loaded.position, status: loaded.status, state: loaded.state },
        { appId: result.app_id, sequenceId: result.sequence_id, position: result.position, status: result.status, state: revive(result.state) },
        label,
      );
      assert.deepEqual(Object.keys(loaded.state), Object.keys(result.state), `${label}: key order`);
    }
    assert.deepEqual([...(await loader.listAppIds(expected.partition_key))].sort(), [...expected.app_ids].sort());
  },
});

deno.test({
  name: 'tracking (Deno): a truncated last line is skipped',
  async fn() {
    const dir = mkdtempSync(join(tmpdir(), 'burr-edge-deno-tracking-'));
    cpSync(TRACKING_DIR, dir, { recursive: true });
    appendFileSync(join(dir, expected.project, 'app-2', 'log.jsonl'), '{"type":"end_entry","action":"chat","exception":null,"state":{"cou');
    const copy = new BurrTrackingLoader({ storageDir: dir, project: expected.project });
    assert.equal((await copy.load(expected.partition_key, 'app-2'))?.sequenceId, 2);
  },
});

/** `npm start` as a user runs it: a real libSQL file, a second run resumes, history/list/fork work. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from '@libsql/client';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = join(root, 'node_modules/.bin/tsx');
const demo = join(root, 'playground/demo.ts');

async function start(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(tsx, [demo, '--delay', '0', ...args], { cwd, env: { ...process.env, LIBSQL_URL: '', BURR_BACKEND: '' } });
  return stdout;
}

describe('the demo (npm start)', () => {
  it('saves each step to ./burr-state.db and resumes on the next run', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'burr-demo-'));
    const first = await start(cwd, '--db', 'file:./burr-state.db');
    expect(first).toMatch(/Starting a new app (app-\S+)/);
    const appId = /Starting a new app (app-\S+)/.exec(first)![1]!;
    expect(first).toContain('step  3  research');
    const second = await start(cwd, '--db', 'file:./burr-state.db');
    expect(second).toContain(`Resuming app ${appId} after step 3 (research)`);
    expect(second).toContain('step  4  research');
    const third = await start(cwd, '--db', 'file:./burr-state.db');
    expect(third).toContain('step  9  finalize');
    expect(third).toContain('Finished.');

    // What the demo claims is really in the file.
    const db = createClient({ url: `file:${join(cwd, 'burr-state.db')}` });
    const rows = await db.execute({ sql: 'SELECT sequence_id, position FROM burr_state WHERE app_id = ? ORDER BY sequence_id', args: [appId] });
    db.close();
    expect(rows.rows.map((r) => `${String(r.sequence_id)}:${String(r.position)}`)).toEqual([
      '0:start', '1:plan', '2:research', '3:research', '4:research', '5:draft', '6:review', '7:draft', '8:review', '9:finalize',
    ]);

    const history = await start(cwd, '--db', 'file:./burr-state.db', '--history', appId);
    expect(history.match(/step +\d+/g)).toHaveLength(10);
    const forked = await start(cwd, '--db', 'file:./burr-state.db', '--fork', `${appId}:5`);
    const forkId = /into (app-\S+)\./.exec(forked)![1]!;
    const resumed = await start(cwd, '--db', 'file:./burr-state.db', '--app', forkId, '--steps', '1');
    expect(resumed).toContain(`Resuming app ${forkId} after step 5 (draft)`);
    expect(resumed).toContain('step  6  review');
    const list = await start(cwd, '--db', 'file:./burr-state.db', '--list');
    expect([...list.matchAll(/^ {2}(app-\S+) {2}/gm)].map((m) => m[1])).toEqual([forkId, appId]);
    expect(list).toContain(`${appId}  step 9 (finalize)  finished`);
  }, 60_000);
});

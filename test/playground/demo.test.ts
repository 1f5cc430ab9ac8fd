/**
 * `npm start` as a user runs it: a real libSQL file, a second run resumes, and --history, --list
 * and --fork page through and fork with the library's session API (listHistory, listApps,
 * initializeFrom({ forkFrom })).
 */
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

/** A run that must fail: its exit code and what it printed on stderr. */
async function fails(cwd: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(tsx, [demo, '--delay', '0', ...args], { cwd, env: { ...process.env, LIBSQL_URL: '', BURR_BACKEND: '' } });
  } catch (error) {
    const { code, stderr } = error as { code: number; stderr: string };
    return { code, stderr };
  }
  throw new Error(`expected ${args.join(' ')} to fail`);
}

/** The `step n  position` lines, in the order printed. */
const stepLines = (output: string): string[] => [...output.matchAll(/^ {2}step +(\d+) {2}(\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);

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

    // --history: newest first, every page (4 steps a page here: 3 pages, one listHistory call each).
    const history = await start(cwd, '--db', 'file:./burr-state.db', '--history', appId, '--page-size', '4');
    expect(stepLines(history)).toEqual(['9 finalize', '8 review', '7 draft', '6 review', '5 draft', '4 research', '3 research', '2 research', '1 plan', '0 start']);
    expect(history.match(/^ {2}-- page \d+ --$/gm)).toEqual(['  -- page 2 --', '  -- page 3 --']);
    expect(history).not.toContain('forked from');
    expect(stepLines(await start(cwd, '--db', 'file:./burr-state.db', '--history', appId))).toHaveLength(10); // default page size: one page

    // --fork app@seq: a new app whose first step is a copy of step 5 naming its source.
    const forked = await start(cwd, '--db', 'file:./burr-state.db', '--fork', `${appId}@5`);
    const forkId = /into (app-\S+)\./.exec(forked)![1]!;
    expect(forked).toContain(`Forked ${appId} at step 5 (draft) into ${forkId}.`);
    const resumed = await start(cwd, '--db', 'file:./burr-state.db', '--app', forkId, '--steps', '1');
    expect(resumed).toContain(`Resuming app ${forkId} after step 5 (draft), forked from ${appId}@5`);
    expect(resumed).toContain('step  6  review');
    const forkHistory = await start(cwd, '--db', 'file:./burr-state.db', '--history', forkId);
    expect(stepLines(forkHistory)).toEqual(['6 review', '5 draft']);
    expect(forkHistory).toMatch(new RegExp(`step {2}5 {2}draft .*\\n {11}forked from ${appId}@5: `));
    // The lineage is in the fork's first step's state, as the library writes it; the source is untouched.
    const check = createClient({ url: `file:${join(cwd, 'burr-state.db')}` });
    const forkRows = await check.execute({ sql: 'SELECT sequence_id, state FROM burr_state WHERE app_id = ? ORDER BY sequence_id', args: [forkId] });
    const sourceCount = await check.execute({ sql: 'SELECT count(*) AS n FROM burr_state WHERE app_id = ?', args: [appId] });
    check.close();
    expect(forkRows.rows.map((r) => Number(r.sequence_id))).toEqual([5, 6]);
    expect(JSON.parse(String(forkRows.rows[0]!.state).replace(/: ?(\d{16,})/g, ': "$1"')).__burr_edge_fork__).toEqual({ partition_key: 'demo-user', app_id: appId, sequence_id: 5 });
    expect(String(forkRows.rows[1]!.state)).not.toContain('__burr_edge_fork__');
    expect(Number(sourceCount.rows[0]!.n)).toBe(10);

    // The older app:seq form still works; app alone forks its latest step.
    const colon = /into (app-\S+)\./.exec(await start(cwd, '--db', 'file:./burr-state.db', '--fork', `${appId}:2`))![1]!;
    const latest = await start(cwd, '--db', 'file:./burr-state.db', '--fork', forkId);
    expect(latest).toContain(`Forked ${forkId} at step 6 (review) into `);
    const latestId = /into (app-\S+)\./.exec(latest)![1]!;

    // --list: every app, most recently saved first, one listApps page at a time (1 per page here).
    const list = await start(cwd, '--db', 'file:./burr-state.db', '--list', '--page-size', '1');
    expect([...list.matchAll(/^ {2}(app-\S+) {2}/gm)].map((m) => m[1])).toEqual([latestId, colon, forkId, appId]);
    expect(list.match(/^ {2}-- page \d+ --$/gm)).toHaveLength(3);
    expect(list).toContain(`${appId}  step 9 (finalize)  finished`);
    expect(list).toContain(`${forkId}  step 6 (review)  in progress`);
    expect(list).toContain('4 apps');
    const onePage = await start(cwd, '--db', 'file:./burr-state.db', '--list');
    expect(onePage).not.toContain('-- page');

    // Mistakes read as messages, with a non-zero exit.
    const missing = await fails(cwd, '--db', 'file:./burr-state.db', '--fork', `${appId}@42`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND.*has no step 42; nothing was written/);
    expect((await fails(cwd, '--db', 'file:./burr-state.db', '--fork', `${appId}@x`)).stderr).toContain('--fork takes <app>@<sequenceId>');
    expect((await fails(cwd, '--db', 'file:./burr-state.db', '--list', '--page-size', '0')).stderr).toContain('--page-size takes a positive integer');
  }, 120_000);
});

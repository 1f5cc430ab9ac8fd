/**
 * The browser playground as a person uses it: `node scripts/playground.mjs` builds and serves
 * the page, Chromium (playwright-core, Debian's binary) clicks through it — new session, run
 * steps, reload and resume, the timeline (newest first), fork from a middle step and follow the
 * fork's link back, run to the end, delete, the session list page by page, a second tab, a
 * phone-width viewport — and the test checks what the page shows, and for a fork what
 * IndexedDB holds.
 *
 * `UPDATE_SCREENSHOT=1` also writes docs/playground.png and docs/playground-phone.png.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialState } from '../../playground/agent.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const executablePath = process.env.BURR_CHROMIUM ?? '/usr/bin/chromium';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
const screenshots = process.env.UPDATE_SCREENSHOT === '1';
/** The agent's token counter: a bigint past 2^53 that grows by 17·n at step n. */
const tokensAt = (step: number): bigint => initialState('').get('tokens') + BigInt((17 * step * (step + 1)) / 2);

let server: ChildProcess;
let url: string;
let browser: Browser;

beforeAll(async () => {
  server = spawn(process.execPath, ['scripts/playground.mjs', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`playground did not start:\n${output}`)), 30_000);
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /burr-edge playground: (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    server.stdout!.on('data', read);
    server.stderr!.on('data', read);
    server.once('exit', (code) => reject(new Error(`playground exited with ${code}:\n${output}`)));
  });
  browser = await chromium.launch({ executablePath, args });
});

afterAll(async () => {
  await browser?.close();
  server?.kill();
});

async function ready(page: Page): Promise<void> {
  await page.waitForSelector('html[data-ready="true"]');
}

const texts = (page: Page, selector: string): Promise<string[]> => page.locator(selector).allInnerTexts();
const text = async (page: Page, selector: string): Promise<string> => ((await page.locator(selector).textContent()) ?? '').trim();

/** The timeline as shown, newest first: `<sequenceId> <position>`. */
async function stepsShown(page: Page): Promise<string[]> {
  return page.locator('#timeline button.step').evaluateAll((buttons) => buttons.map((b) => `${(b as HTMLElement).dataset.sequenceId} ${b.querySelector('.step-name')?.textContent}`));
}

const sessionIds = (page: Page): Promise<string[]> => page.locator('#sessions button').evaluateAll((b) => b.map((x) => (x as HTMLElement).dataset.appId!));

async function runStepAndWait(page: Page, count: number): Promise<void> {
  await page.click('#run-step');
  await expect.poll(() => page.locator('#timeline li').count()).toBe(count);
  await expect.poll(() => page.locator('#run-step').isDisabled()).toBe(false);
}

/** The steps IndexedDB holds for an app, read past the persister: sequence id and the stored state. */
function storedSteps(page: Page, appId: string): Promise<{ sequence_id: number; state: string }[]> {
  return page.evaluate(
    (app) =>
      new Promise<{ sequence_id: number; state: string }[]>((resolve, reject) => {
        const req = indexedDB.open('burr-edge-playground');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const db = req.result;
          const index = db.transaction('burr_state').objectStore('burr_state').index('by_app_sequence');
          const rows = index.getAll(IDBKeyRange.bound(['playground', app, 0], ['playground', app, Infinity]));
          rows.onsuccess = () => {
            db.close();
            resolve((rows.result as { sequence_id: number; state: unknown }[]).map((r) => ({ sequence_id: r.sequence_id, state: typeof r.state === 'string' ? r.state : JSON.stringify(r.state) })));
          };
        };
      }),
    appId,
  );
}

describe('the playground page (npm run playground)', () => {
  it('runs an agent step by step, resumes after a reload, forks from a step, deletes an app', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      await page.goto(url);
      await ready(page);
      expect(await page.isVisible('#welcome')).toBe(true);
      expect(await text(page, '#no-sessions')).toMatch(/No sessions yet/);

      // A new session: step 0 is saved and shown.
      await page.fill('#question', 'How do tabs share agent state?');
      await page.click('#start');
      await expect.poll(() => page.locator('#timeline li').count()).toBe(1);
      const appId = await text(page, '#app-id');
      expect(appId).toMatch(/^run-[a-z0-9]{4}$/);
      expect(await text(page, '#app-question')).toBe('How do tabs share agent state?');

      for (const count of [2, 3, 4]) await runStepAndWait(page, count);
      // The timeline is newest first, each step with what it changed, its status and time.
      expect(await stepsShown(page)).toEqual(['3 research', '2 research', '1 plan', '0 start']);
      expect(await page.locator('#timeline .step-changes').allTextContents()).toEqual(['notes: 2 items', 'notes: 1 item', 'plan: 3 items', 'initial state']);
      expect(await page.locator('#timeline .step-status').allTextContents()).toEqual(['completed', 'completed', 'completed', 'completed']);
      expect((await page.locator('#timeline .step-time').allTextContents()).every((t) => /\d{1,2}:\d{2}:\d{2}/.test(t))).toBe(true);
      expect(await text(page, '#step-count')).toBe('4 steps');
      expect(await page.getAttribute('#timeline', 'aria-label')).toBe('Timeline, newest step first');
      expect(await text(page, '#step-title')).toBe('Step 3 · research');
      const json = await text(page, '#state-json');
      expect(tokensAt(3)).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
      expect(json).toContain(`"tokens": ${tokensAt(3)}`); // exact, past 2^53
      expect(json).toContain('"__PRIOR_STEP": "research"');
      expect(JSON.parse(json.replace(/: (\d{16,})/g, ': "$1"')).notes).toHaveLength(2);
      expect(await texts(page, '#sessions .session-meta')).toEqual([expect.stringMatching(/^step 3 · research · /)]);

      // Reload: everything comes back from IndexedDB and the agent resumes from step 3.
      await page.reload();
      await ready(page);
      expect(await text(page, '#app-id')).toBe(appId);
      expect(await stepsShown(page)).toEqual(['3 research', '2 research', '1 plan', '0 start']);
      expect(await text(page, '#notice')).toBe(`Resumed ${appId} from IndexedDB at step 3 (research).`);
      await runStepAndWait(page, 5);
      expect((await stepsShown(page))[0]).toBe('4 research');

      // Inspect step 2, a middle step, then fork from it.
      await page.click('#timeline button[data-sequence-id="2"]');
      expect(await text(page, '#step-title')).toBe('Step 2 · research');
      expect(page.url()).toContain(`#app=${appId}&step=2`);
      expect(await text(page, '#state-json')).toContain(`"tokens": ${tokensAt(2)}`);
      expect(await text(page, '#fork')).toBe('Fork from step 2');
      await page.click('#fork');
      await expect.poll(() => text(page, '#app-id')).toMatch(/^fork-[a-z0-9]{4}$/);
      const forkId = await text(page, '#app-id');
      expect(await text(page, '#notice')).toBe(`Forked ${appId} at step 2 into ${forkId}.`);
      // Its lineage comes from the library (the fork's first step), shown in the header and on that step.
      expect(await text(page, '#app-lineage')).toBe(`Fork of ${appId} at step 2`);
      expect(await page.getAttribute('#app-lineage a', 'href')).toBe(`#app=${appId}&step=2`);
      expect(await stepsShown(page)).toEqual(['2 research']);
      expect(await text(page, '#timeline .fork-marker')).toBe(`↳ forked from ${appId} @ step 2`);
      expect(await page.locator('#timeline .step-changes').allTextContents()).toEqual(['forked here']);
      // Its state is step 2's: one note, step 2's tokens, no lineage field in what the page shows.
      const forkJson = await text(page, '#state-json');
      expect(forkJson).toContain(`"tokens": ${tokensAt(2)}`);
      expect(JSON.parse(forkJson.replace(/: (\d{16,})/g, ': "$1"')).notes).toHaveLength(1);
      expect(forkJson).not.toContain('__burr_edge_fork__');
      // What IndexedDB holds: one step, 2, whose state names the source (Burr's field names).
      const stored = await storedSteps(page, forkId);
      expect(stored.map((r) => r.sequence_id)).toEqual([2]);
      expect(JSON.parse(stored[0]!.state.replace(/: ?(\d{16,})/g, ': "$1"')).__burr_edge_fork__).toEqual({ partition_key: 'playground', app_id: appId, sequence_id: 2 });
      expect((await storedSteps(page, appId)).map((r) => r.sequence_id)).toEqual([0, 1, 2, 3, 4]); // the source is untouched
      await runStepAndWait(page, 2);
      expect(await stepsShown(page)).toEqual(['3 research', '2 research']);
      expect(await text(page, '#app-lineage')).toBe(`Fork of ${appId} at step 2`); // still known after the fork moved on
      // Most recently saved first; the original is untouched.
      expect(await sessionIds(page)).toEqual([forkId, appId]);

      // Run the fork to the end.
      await page.click('#run-all');
      await expect.poll(() => text(page, '#run-step'), { timeout: 20_000 }).toBe('Finished');
      expect(await stepsShown(page)).toEqual(['9 finalize', '8 review', '7 draft', '6 review', '5 draft', '4 research', '3 research', '2 research']);
      expect(await text(page, '#answer-text')).toMatch(/^Answer on "How do tabs share agent state\?": \w+: /);
      expect(await page.isDisabled('#run-step')).toBe(true);
      expect(await texts(page, '#sessions .badge')).toEqual(['finished']);

      // The fork's marker links back to the step it came from.
      await page.click('#timeline .fork-marker a');
      await expect.poll(() => text(page, '#app-id')).toBe(appId);
      expect(await text(page, '#step-title')).toBe('Step 2 · research');
      expect(await page.locator('#timeline li').count()).toBe(5);

      if (screenshots) {
        mkdirSync(`${root}docs`, { recursive: true });
        await page.click(`#sessions button[data-app-id="${forkId}"]`);
        await expect.poll(() => text(page, '#app-id')).toBe(forkId);
        await page.click('#timeline button[data-sequence-id="4"]');
        await page.evaluate(() => document.getElementById('notice')!.setAttribute('hidden', ''));
        await page.setViewportSize({ width: 1280, height: 1000 }); // tall enough for the fork's first step, at the timeline's end
        await page.screenshot({ path: `${root}docs/playground.png` });
        await page.setViewportSize({ width: 1280, height: 860 });
        await page.click(`#sessions button[data-app-id="${appId}"]`);
        await expect.poll(() => text(page, '#app-id')).toBe(appId);
      }

      // Delete the original: two clicks, then it is gone from the list and from IndexedDB.
      await page.click('#delete-app');
      expect(await text(page, '#delete-app')).toBe('Click again to delete');
      await page.click('#delete-app');
      await expect.poll(() => page.locator('#sessions li').count()).toBe(1);
      expect(await text(page, '#app-id')).toBe(forkId);
      expect(await text(page, '#notice')).toBe(`Deleted ${appId} and all its steps.`);
      await page.reload();
      await ready(page);
      expect(await sessionIds(page)).toEqual([forkId]);
      // Its source is gone; its lineage is still what its first step recorded, and the link says so.
      expect(await text(page, '#app-lineage')).toBe(`Fork of ${appId} at step 2`);
      await page.click('#app-lineage a');
      await expect.poll(() => text(page, '#notice')).toBe(`${appId} has no saved steps (deleted?).`);
      expect(await text(page, '#app-id')).toBe(forkId);

      // Phone width: one column, nothing wider than the screen, actions reachable.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.click('#timeline button[data-sequence-id="5"]');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(overflow).toBeLessThanOrEqual(390);
      for (const id of ['#run-step', '#run-all', '#delete-app', '#fork', '#start']) {
        const box = await page.locator(id).boundingBox();
        expect(box, id).not.toBeNull();
        expect(box!.x + box!.width, `${id} fits the screen`).toBeLessThanOrEqual(390);
      }
      if (screenshots) {
        await page.evaluate(() => document.getElementById('notice')!.setAttribute('hidden', ''));
        await page.screenshot({ path: `${root}docs/playground-phone.png`, fullPage: true });
      }
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('lists sessions page by page: more sessions than a page holds, "Show more" fetches the next page', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      await page.goto(url);
      await ready(page);
      const pageSize = 8; // SESSIONS_PAGE in playground/web/app.ts
      const created: string[] = [];
      for (let i = 0; i < pageSize + 3; i++) {
        await page.fill('#question', `Question ${i}`);
        await page.click('#start');
        await expect.poll(() => text(page, '#app-question')).toBe(`Question ${i}`);
        created.push(await text(page, '#app-id'));
      }
      expect(new Set(created).size).toBe(pageSize + 3);
      const newestFirst = [...created].reverse();

      // A fresh load shows one page; the count says there is more.
      await page.reload();
      await ready(page);
      expect(await sessionIds(page)).toEqual(newestFirst.slice(0, pageSize));
      expect(await text(page, '#session-count')).toBe(`${pageSize}+`);
      expect(await page.isVisible('#more-sessions')).toBe(true);
      await page.click('#more-sessions');
      await expect.poll(() => sessionIds(page)).toEqual(newestFirst);
      expect(await text(page, '#session-count')).toBe(String(pageSize + 3));
      expect(await page.isHidden('#more-sessions')).toBe(true);

      // A step moves its session to the top; the list keeps every session shown, once each.
      const oldest = created[0]!;
      await page.click(`#sessions button[data-app-id="${oldest}"]`);
      await expect.poll(() => text(page, '#app-id')).toBe(oldest);
      await runStepAndWait(page, 2);
      expect(await sessionIds(page)).toEqual([oldest, ...newestFirst.slice(0, -1)]);

      // A link to a session beyond the first page opens it.
      const second = created[1]!;
      await page.goto(`${url}#app=${second}`);
      await page.reload();
      await ready(page);
      expect(await text(page, '#app-id')).toBe(second);
      expect(await sessionIds(page)).not.toContain(second);

      // Every step of the timeline has its own "fork from this step" button.
      await page.click(`#timeline button[aria-label="Fork from step 0"]`);
      await expect.poll(() => text(page, '#app-lineage')).toBe(`Fork of ${second} at step 0`);
      expect(await stepsShown(page)).toEqual(['0 start']);
      expect(await text(page, '#app-question')).toBe('Question 1');
      expect((await sessionIds(page))[0]).toBe(await text(page, '#app-id'));
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('two tabs: a step run in one shows up in the other, and the same step run in both at once is stored once', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    try {
      const a = await context.newPage();
      await a.goto(url);
      await ready(a);
      await a.click('#start');
      await expect.poll(() => a.locator('#timeline li').count()).toBe(1);
      const appId = await text(a, '#app-id');
      const b = await context.newPage();
      await b.goto(`${url}#app=${appId}`);
      await ready(b);
      expect(await text(b, '#app-id')).toBe(appId);

      await runStepAndWait(b, 2);
      await expect.poll(() => a.locator('#timeline li').count()).toBe(2); // told through BroadcastChannel

      // Both tabs run "the next step" at the same moment. A third connection holds a write
      // transaction for a moment, so both tabs read the same latest step before either saves.
      // The agent is deterministic, so both build the identical step 2: one is stored, the other
      // save is an identical re-save and succeeds; neither tab shows an error.
      const hold = a.evaluate(
        () =>
          new Promise<void>((resolve, reject) => {
            const req = indexedDB.open('burr-edge-playground');
            req.onerror = () => reject(req.error);
            req.onsuccess = () => {
              const db = req.result;
              const tx = db.transaction(['burr_state_apps'], 'readwrite');
              const store = tx.objectStore('burr_state_apps');
              const until = Date.now() + 800;
              const spin = (): void => {
                if (Date.now() < until) store.get(['', '']).onsuccess = spin;
              };
              spin();
              tx.oncomplete = () => {
                db.close();
                resolve();
              };
            };
          }),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      await Promise.all([a.click('#run-step'), b.click('#run-step')]);
      await hold;
      await expect.poll(() => Promise.all([a.locator('#timeline li').count(), b.locator('#timeline li').count()])).toEqual([3, 3]);
      expect(await stepsShown(a)).toEqual(['2 research', '1 plan', '0 start']);
      expect(await Promise.all([a.isHidden('#error'), b.isHidden('#error')])).toEqual([true, true]);
      expect((await storedSteps(a, appId)).map((r) => r.sequence_id)).toEqual([0, 1, 2]);
    } finally {
      await context.close();
    }
  });
});

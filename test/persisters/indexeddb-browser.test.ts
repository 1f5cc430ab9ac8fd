/**
 * IndexedDBPersister in real Chromium, driven from Node with playwright-core: what one page
 * cannot show. Two tabs of one origin saving to the same app at once, and racing on one session
 * with expectedSequenceId; a newer tab upgrading the database while an older one is open
 * (versionchange, blocked, and the layout upgrade that adds by_app_order); data surviving a reload and a
 * browser restart (persistent profile); the quota and an opaque origin as typed errors.
 *
 * The persister is bundled with esbuild (what an app ships) and served from a loopback server,
 * so every page has the same real origin.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as IndexedDBModule from '../../src/persisters/indexeddb/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const executablePath = process.env.BURR_CHROMIUM ?? '/usr/bin/chromium';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** What the test bundle puts on `window.burr`. */
type Burr = typeof IndexedDBModule;
/** An error as it crosses from the page to the test. */
interface ErrorShape {
  name: string;
  code?: string;
  reason?: string;
  retryable?: boolean;
  message: string;
}

let server: Server;
let origin: string;
let browser: Browser;
const profiles: string[] = [];

beforeAll(async () => {
  const bundle = await build({
    stdin: { contents: "export * from './src/persisters/indexeddb/index.ts';", resolveDir: root, loader: 'ts', sourcefile: 'idb-test-entry.ts' },
    bundle: true,
    format: 'iife',
    globalName: 'burr',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  const script = bundle.outputFiles[0]!.text;
  server = createServer((req, res) => {
    if (req.url === '/burr.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else if (req.url === '/sandboxed') {
      // An opaque origin (as a sandboxed iframe has): browsers deny it IndexedDB.
      res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': 'sandbox allow-scripts' }).end('<!doctype html><script src="/burr.js"></script>');
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>burr-edge idb test</title><script src="/burr.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath, args });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
});

async function openPage(context: BrowserContext, path = '/'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(origin + path);
  await page.waitForFunction(() => 'burr' in globalThis);
  return page;
}

/** Creates `window.persister` in the page (the persister opens the database itself) and initializes it. */
async function setUpPersister(page: Page, options: { dbName: string; version?: number; withDraftsStore?: boolean }): Promise<void> {
  await page.evaluate(async ({ dbName, version, withDraftsStore }) => {
    const w = globalThis as unknown as { burr: Burr; persister: IndexedDBModule.IndexedDBPersister; changes: unknown[]; blocked: unknown[] };
    w.changes = [];
    w.blocked = [];
    w.persister = w.burr.IndexedDBPersister.fromValues({
      dbName,
      version,
      upgrade: withDraftsStore ? (db) => void (db as IDBDatabase).createObjectStore('drafts') : undefined,
      onVersionChange: (info) => void w.changes.push(info),
      onBlocked: (info) => void w.blocked.push(info),
    });
    await w.persister.initialize();
  }, options);
}

describe('indexeddb in Chromium: tabs, upgrades, restarts, errors', () => {
  it('two tabs saving to the same app at once: no lost write, each duplicate refused once', async () => {
    const context = await browser.newContext();
    try {
      const [a, b] = [await openPage(context), await openPage(context)];
      await setUpPersister(a, { dbName: 'tabs' });
      await setUpPersister(b, { dbName: 'tabs' });
      // Tab A saves steps 0–39, tab B steps 20–59, all in flight at once: 20–39 collide.
      const saveRange = (page: Page, tab: string, from: number, to: number) =>
        page.evaluate(
          async ({ tab, from, to }) => {
            const { persister } = globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister };
            const seqs = Array.from({ length: to - from + 1 }, (_, i) => from + i);
            const results = await Promise.allSettled(seqs.map((sequenceId) => persister.save({ partitionKey: 'p', appId: 'shared', sequenceId, position: `by-${tab}`, state: { tab, sequenceId }, status: 'completed' })));
            return results.map((r, i) => ({ sequenceId: seqs[i]!, ok: r.status === 'fulfilled', code: r.status === 'rejected' ? (r.reason as { code?: string }).code : undefined }));
          },
          { tab, from, to },
        );
      const [fromA, fromB] = await Promise.all([saveRange(a, 'A', 0, 39), saveRange(b, 'B', 20, 59)]);
      const winners = new Map<number, string>();
      for (const [tab, results] of [['A', fromA], ['B', fromB]] as const) {
        for (const r of results) {
          if (r.ok) {
            expect(winners.has(r.sequenceId), `step ${r.sequenceId} saved twice`).toBe(false);
            winners.set(r.sequenceId, tab);
          } else {
            expect(r.code).toBe('ALREADY_EXISTS');
          }
        }
      }
      expect([...winners.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => i));
      const collisions = fromA.filter((r) => r.sequenceId >= 20 && !r.ok).length + fromB.filter((r) => r.sequenceId <= 39 && !r.ok).length;
      expect(collisions).toBe(20);
      // What is stored, read by tab A through a raw connection: one record per step, the winner's.
      const stored = await a.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const req = indexedDB.open('tabs');
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
        const rows = await new Promise<{ sequence_id: number; state: string; position: string }[]>((resolve, reject) => {
          const req = db.transaction('burr_state').objectStore('burr_state').getAll();
          req.onsuccess = () => resolve(req.result as { sequence_id: number; state: string; position: string }[]);
          req.onerror = () => reject(req.error);
        });
        db.close();
        return rows;
      });
      expect(stored).toHaveLength(60);
      for (const row of stored) expect(JSON.parse(row.state).tab).toBe(winners.get(row.sequence_id));
      expect(await b.evaluate(async () => (await (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.load('p', 'shared'))?.sequenceId)).toBe(59);

      // Recency is one counter for the whole origin: B's later save is newer than A's.
      await a.evaluate(() => (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.save({ partitionKey: 'p', appId: 'x', sequenceId: 0, position: 'a', state: {}, status: 'completed' }));
      await b.evaluate(() => (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.save({ partitionKey: 'p', appId: 'y', sequenceId: 0, position: 'b', state: {}, status: 'completed' }));
      expect(await a.evaluate(() => (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.listAppIds('p'))).toEqual(['y', 'x', 'shared']);
      expect(await a.evaluate(async () => (await (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.load('p', null))?.appId)).toBe('y');

      // The same step saved identically by both tabs (a retry after a lost answer) succeeds in both.
      const same = (page: Page) => page.evaluate(() => (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.save({ partitionKey: 'p', appId: 'shared', sequenceId: 60, position: 'both', state: { same: true }, status: 'completed' }).then(() => 'ok'));
      expect(await Promise.all([same(a), same(b)])).toEqual(['ok', 'ok']);
    } finally {
      await context.close();
    }
  });

  it('two tabs racing on one session with expectedSequenceId: exactly one winner per step, none lost or duplicated', async () => {
    const context = await browser.newContext();
    try {
      const pages = [await openPage(context), await openPage(context)];
      for (const page of pages) await setUpPersister(page, { dbName: 'race' });
      await pages[0]!.evaluate(() =>
        (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.save({ partitionKey: 'p', appId: 'race', sequenceId: 0, position: 'start', state: { log: [] }, status: 'completed', expectedSequenceId: null }),
      );
      // Two writers per tab, each loading the latest step and saving the next one expecting it,
      // until it has won `rounds` steps; all four start at the same instant.
      const rounds = 10;
      const startAt = Date.now() + 300;
      const race = (page: Page, tab: number) =>
        page.evaluate(
          async ({ tab, rounds, startAt }) => {
            const { persister } = globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister };
            await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()));
            return Promise.all(
              [0, 1].map(async (local) => {
                const writer = tab * 2 + local;
                const won: number[] = [];
                let lost = 0;
                for (let attempt = 0; won.length < rounds && attempt < 1000; attempt++) {
                  const latest = (await persister.load('p', 'race'))!;
                  const next = latest.sequenceId + 1;
                  try {
                    await persister.save({ partitionKey: 'p', appId: 'race', sequenceId: next, position: `writer-${writer}`, state: { log: [...(latest.state.log as number[]), writer] }, status: 'completed', expectedSequenceId: latest.sequenceId });
                    won.push(next);
                  } catch (error) {
                    if ((error as { code?: string }).code !== 'CONCURRENT_UPDATE') throw error;
                    lost++;
                  }
                }
                return { writer, won, lost };
              }),
            );
          },
          { tab, rounds, startAt },
        );
      const results = (await Promise.all(pages.map((page, tab) => race(page, tab)))).flat();
      const total = results.length * rounds;
      const winners = new Map<number, number[]>();
      for (const r of results) for (const s of r.won) winners.set(s, [...(winners.get(s) ?? []), r.writer]);
      expect([...winners.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      for (const [s, who] of winners) expect(who, `winners of step ${s}`).toHaveLength(1);
      // The race was real: saves were refused, and every writer won its share.
      expect(results.reduce((sum, r) => sum + r.lost, 0)).toBeGreaterThan(0);
      for (const r of results) expect(r.won, `writer ${r.writer}`).toHaveLength(rounds);
      // Read through the other tab, then around the persister: step i extends step i-1 by its winner.
      const latest = await pages[1]!.evaluate(async () => (await (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.load('p', 'race'))!);
      expect(latest.sequenceId).toBe(total);
      const log = latest.state.log as number[];
      expect(log).toHaveLength(total);
      for (let i = 1; i <= total; i++) expect(log[i - 1]).toBe(winners.get(i)![0]);
      for (const r of results) expect(log.filter((w) => w === r.writer)).toHaveLength(rounds);
      const stored = await pages[0]!.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const req = indexedDB.open('race');
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
        const rows = await new Promise<{ sequence_id: number; state: string; position: string }[]>((resolve, reject) => {
          const req = db.transaction('burr_state').objectStore('burr_state').getAll();
          req.onsuccess = () => resolve(req.result as { sequence_id: number; state: string; position: string }[]);
          req.onerror = () => reject(req.error);
        });
        db.close();
        return rows.map((row) => ({ sequenceId: row.sequence_id, log: (JSON.parse(row.state) as { log: number[] }).log, position: row.position }));
      });
      expect(stored.map((row) => row.sequenceId).sort((x, y) => x - y)).toEqual(Array.from({ length: total + 1 }, (_, i) => i));
      for (const row of stored) {
        expect(row.log, `step ${row.sequenceId}`).toEqual(log.slice(0, row.sequenceId));
        if (row.sequenceId > 0) expect(row.position).toBe(`writer-${winners.get(row.sequenceId)![0]}`);
      }
      // Both tabs see the same history, newest first, through listHistory.
      const history = await pages[1]!.evaluate(async () => (await (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.listHistory('p', 'race', { limit: 5 })).steps.map((s) => s.sequenceId));
      expect(history).toEqual([total, total - 1, total - 2, total - 3, total - 4]);
    } finally {
      await context.close();
    }
  });

  it('a database of the layout before by_app_order, open in an old tab: a new tab adds the index with one version bump, the old tab steps aside, the data is all there', async () => {
    const context = await browser.newContext();
    try {
      const old = await openPage(context);
      // The old code's layout and saves, in an old tab that closes on versionchange (as the old persister did).
      await old.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const req = indexedDB.open('layout1', 1);
          req.onupgradeneeded = () => {
            req.result.createObjectStore('burr_state', { keyPath: 'save_order', autoIncrement: true }).createIndex('by_app_sequence', ['partition_key', 'app_id', 'sequence_id'], { unique: true });
            req.result.createObjectStore('burr_state_apps', { keyPath: ['partition_key', 'app_id'] }).createIndex('by_recency', ['partition_key', 'recency']);
          };
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
        db.onversionchange = () => db.close();
        // Saves a0, b0, c0, a1 (save orders 1–4) as the old persister wrote them: a step, and its app's record.
        const tx = db.transaction(['burr_state', 'burr_state_apps'], 'readwrite');
        const saves: [string, number][] = [['a', 0], ['b', 0], ['c', 0], ['a', 1]];
        saves.forEach(([app, sequenceId], i) => {
          const order = i + 1;
          tx.objectStore('burr_state').add({ partition_key: 'p', app_id: app, sequence_id: sequenceId, position: `step-${sequenceId}`, status: 'completed', state: '{}', created_at: new Date().toISOString() });
          tx.objectStore('burr_state_apps').put({ partition_key: 'p', app_id: app, last_save_order: order, recency: -order, latest_sequence_id: sequenceId, latest_save_order: order });
        });
        await new Promise((resolve, reject) => {
          tx.oncomplete = resolve;
          tx.onerror = () => reject(tx.error);
        });
      });
      const newer = await openPage(context);
      await setUpPersister(newer, { dbName: 'layout1' });
      const seen = await newer.evaluate(async () => {
        const { persister } = globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister };
        const first = await persister.listApps('p', { limit: 2 });
        await persister.save({ partitionKey: 'p', appId: 'c', sequenceId: 1, position: 'moved', state: {}, status: 'completed' }); // c moves after the listing began
        const second = await persister.listApps('p', { limit: 2, cursor: first.nextCursor });
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const req = indexedDB.open('layout1');
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
        const store = db.transaction('burr_state').objectStore('burr_state');
        const counts = await Promise.all([store.count(), store.index('by_app_order').count()].map((req) => new Promise<number>((resolve) => (req.onsuccess = () => resolve(req.result)))));
        const version = db.version;
        db.close();
        return { ids: [...first.apps, ...second.apps].map((a) => a.appId), version, counts };
      });
      expect(seen).toEqual({ ids: ['a', 'c', 'b'], version: 2, counts: [5, 5] });
    } finally {
      await context.close();
    }
  });

  it('a newer tab upgrades while an older one is open: the old tab closes its connection, says so, and its next call is a typed "reload"', async () => {
    const context = await browser.newContext();
    try {
      const old = await openPage(context);
      await setUpPersister(old, { dbName: 'versions', version: 1 });
      await old.evaluate(() => (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.save({ partitionKey: 'p', appId: 'app', sequenceId: 0, position: 'start', state: { from: 'v1' }, status: 'completed' }));
      const newer = await openPage(context);
      await setUpPersister(newer, { dbName: 'versions', version: 2, withDraftsStore: true });
      expect(await old.evaluate(() => (globalThis as unknown as { changes: unknown[] }).changes)).toEqual([{ dbName: 'versions', oldVersion: 1, newVersion: 2 }]);
      expect(await newer.evaluate(() => (globalThis as unknown as { blocked: unknown[] }).blocked)).toEqual([]); // the old tab stepped aside at once
      const error = await old.evaluate(async () => {
        try {
          await (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.save({ partitionKey: 'p', appId: 'app', sequenceId: 1, position: 'next', state: {}, status: 'completed' });
          return null;
        } catch (e) {
          const err = e as ErrorShape;
          return { name: err.name, code: err.code, reason: err.reason, retryable: err.retryable, message: err.message };
        }
      });
      expect(error).toMatchObject({ name: 'IndexedDBError', code: 'BACKEND', reason: 'newer-version', retryable: false });
      expect(error?.message).toMatch(/reload the page/);
      // The newer tab has the old tab's data and its own store.
      expect(await newer.evaluate(async () => (await (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.load('p', 'app'))?.state)).toEqual({ from: 'v1' });
      // After a reload the old tab runs the new code's version and works again.
      await old.reload();
      await old.waitForFunction(() => 'burr' in globalThis);
      await setUpPersister(old, { dbName: 'versions', version: 2, withDraftsStore: true });
      await old.evaluate(() => (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.save({ partitionKey: 'p', appId: 'app', sequenceId: 1, position: 'next', state: {}, status: 'completed' }));
    } finally {
      await context.close();
    }
  });

  it('blocked: an old tab that ignores versionchange holds the upgrade until it closes; the newer tab is told', async () => {
    const context = await browser.newContext();
    try {
      const old = await openPage(context);
      await old.evaluate(async () => {
        const w = globalThis as unknown as { burr: Burr; stubborn: IDBDatabase };
        w.stubborn = await new Promise<IDBDatabase>((resolve, reject) => {
          const req = indexedDB.open('blocked', 1);
          req.onupgradeneeded = () => w.burr.createStateStores(req.result);
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
      });
      const newer = await openPage(context);
      const opened = setUpPersister(newer, { dbName: 'blocked', version: 2 });
      await newer.waitForFunction(() => (globalThis as unknown as { blocked?: unknown[] }).blocked?.length === 1);
      expect(await newer.evaluate(() => (globalThis as unknown as { blocked: unknown[] }).blocked)).toEqual([{ dbName: 'blocked', oldVersion: 1, newVersion: 2 }]);
      await old.evaluate(() => (globalThis as unknown as { stubborn: IDBDatabase }).stubborn.close());
      await opened;
      await newer.evaluate(() => (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.save({ partitionKey: 'p', appId: 'app', sequenceId: 0, position: 'start', state: {}, status: 'completed' }));
    } finally {
      await context.close();
    }
  });

  it('state survives a reload and a browser restart (same profile), big integers exact', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'burr-edge-chromium-profile-'));
    profiles.push(profile);
    const state = { tokens: '9007199254740993', note: 'é 🚀' };
    const first = await chromium.launchPersistentContext(profile, { executablePath, args });
    try {
      const page = await openPage(first);
      await setUpPersister(page, { dbName: 'restart' });
      await page.evaluate(async ({ tokens, note }) => {
        const { persister } = globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister };
        for (let i = 0; i < 3; i++) await persister.save({ partitionKey: 'p', appId: 'agent', sequenceId: i, position: `step-${i}`, state: { tokens: BigInt(tokens) + BigInt(i), note }, status: 'completed' });
      }, state);
      await page.reload();
      await page.waitForFunction(() => 'burr' in globalThis);
      await setUpPersister(page, { dbName: 'restart' });
      expect(await page.evaluate(async () => (await (globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister }).persister.load('p', 'agent'))?.sequenceId)).toBe(2);
    } finally {
      await first.close();
    }
    const second = await chromium.launchPersistentContext(profile, { executablePath, args });
    try {
      const page = await openPage(second);
      await setUpPersister(page, { dbName: 'restart' });
      const loaded = await page.evaluate(async () => {
        const { persister } = globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister };
        const latest = await persister.load('p', 'agent');
        const first = await persister.load('p', 'agent', 0);
        return { sequenceId: latest?.sequenceId, tokens: String(latest?.state.tokens), type: typeof latest?.state.tokens, firstTokens: String(first?.state.tokens), note: latest?.state.note, apps: await persister.listAppIds('p') };
      });
      expect(loaded).toEqual({ sequenceId: 2, tokens: '9007199254740995', type: 'bigint', firstTokens: '9007199254740993', note: state.note, apps: ['agent'] });
    } finally {
      await second.close();
    }
  });

  it("the origin's quota: QuotaExceededError becomes a typed error and nothing is written", async () => {
    const context = await browser.newContext();
    try {
      const page = await openPage(context);
      await setUpPersister(page, { dbName: 'quota' });
      const cdp = await context.newCDPSession(page);
      // A real quota, shrunk: Chromium's own QuotaExceededError, not a stub.
      const quotaSize = 256 * 1024;
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize });
      const result = await page.evaluate(async (quotaSize) => {
        const { persister } = globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister };
        // Random text, 8× the quota: Chromium may compress IndexedDB values (builds differ), and
        // no compressor gets this under the quota, so the outcome cannot depend on the build.
        const chunk = new Uint8Array(65536);
        let blob = '';
        while (blob.length < 8 * quotaSize) {
          crypto.getRandomValues(chunk);
          blob += String.fromCharCode(...Array.from(chunk, (b) => 0x21 + (b % 94)));
        }
        (globalThis as unknown as { blob: string }).blob = blob;
        const before = await navigator.storage.estimate();
        let error: ErrorShape | null = null;
        try {
          await persister.save({ partitionKey: 'p', appId: 'big', sequenceId: 0, position: 'start', state: { blob }, status: 'completed' });
        } catch (e) {
          const err = e as ErrorShape;
          error = { name: err.name, code: err.code, reason: err.reason, retryable: err.retryable, message: err.message };
        }
        return { usage: before.usage ?? 0, error, afterwards: await persister.load('p', 'big'), apps: await persister.listAppIds('p') };
      }, quotaSize);
      // The origin had room before the save (estimate() reports real usage, not the CDP override):
      // the save itself is what exceeds the quota.
      expect(result.usage).toBeLessThan(quotaSize);
      expect(result.error).toMatchObject({ name: 'IndexedDBError', code: 'BACKEND', reason: 'quota-exceeded', retryable: false });
      expect(result.error?.message).toMatch(/QuotaExceededError/);
      expect(result.afterwards).toBeNull();
      expect(result.apps).toEqual([]);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin }); // quota back to normal: the same save works
      const saved = await page.evaluate(async () => {
        const { persister, blob } = globalThis as unknown as { persister: IndexedDBModule.IndexedDBPersister; blob: string };
        await persister.save({ partitionKey: 'p', appId: 'big', sequenceId: 0, position: 'start', state: { blob }, status: 'completed' });
        return (await persister.load('p', 'big'))?.state.blob === blob;
      });
      expect(saved).toBe(true);
    } finally {
      await context.close();
    }
  });

  it('an opaque origin (sandboxed document) is denied IndexedDB: a typed "unavailable" error', async () => {
    const context = await browser.newContext();
    try {
      const page = await openPage(context, '/sandboxed');
      const error = await page.evaluate(async () => {
        const { burr } = globalThis as unknown as { burr: Burr };
        const persister = burr.IndexedDBPersister.fromValues({ dbName: 'nope' });
        try {
          await persister.initialize();
          return null;
        } catch (e) {
          const err = e as ErrorShape;
          return { name: err.name, code: err.code, reason: err.reason, retryable: err.retryable, message: err.message };
        }
      });
      expect(error).toMatchObject({ name: 'IndexedDBError', code: 'BACKEND', reason: 'unavailable', retryable: false });
      expect(error?.message).toMatch(/SecurityError/);
    } finally {
      await context.close();
    }
  });
});

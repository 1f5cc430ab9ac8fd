/**
 * The IndexedDB row, in real Chromium: Debian's /usr/bin/chromium (never a downloaded browser)
 * driven by playwright-core, the page served from a loopback server so it has a real origin, the
 * bench's runner and burr-edge's IndexedDBPersister bundled into it with esbuild.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { ROOT } from './child.js';
import type { SystemResult } from './runner.js';
import type { Scale } from './workload.js';

const executablePath = process.env.BURR_CHROMIUM ?? '/usr/bin/chromium';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export const INDEXEDDB_ROW = 'burr-edge · IndexedDB (Chromium)';

/** Why the row cannot run here, or undefined. */
export function indexedDbUnavailable(): string | undefined {
  return existsSync(executablePath) ? undefined : `no Chromium at ${executablePath} (apt-get install -y chromium, or set BURR_CHROMIUM)`;
}

export async function runIndexedDbInChromium(scale: Scale, runs: number, progress: (text: string) => void, delta = false): Promise<SystemResult> {
  const bundle = await build({ entryPoints: [`${ROOT}bench/indexeddb-page.ts`], bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false });
  const script = bundle.outputFiles[0]!.text;
  const server = createServer((req, res) => {
    if (req.url === '/bench.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>burr-edge bench</title><script src="/bench.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath, args });
  try {
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.exposeFunction('benchProgress', (text: string) => progress(text));
    await page.exposeFunction('benchCpu', async () => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) * 1000;
    });
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'runBench' in window);
    return await page.evaluate(([s, r, d]) => window.runBench(s, r, d), [scale, runs, delta] as const);
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

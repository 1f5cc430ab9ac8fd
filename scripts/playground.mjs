#!/usr/bin/env node
/**
 * The browser playground: bundles playground/web/app.ts with esbuild into playground/dist/ and
 * serves that folder on a loopback port.
 *
 *   npm run playground                 build, serve on http://127.0.0.1:4173/
 *   npm run playground -- --port 0     any free port (the URL is printed)
 *   npm run playground -- --build-only build and exit
 *
 * Options: --port N (or PORT), --host H (default 127.0.0.1).
 */
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'playground', 'web');
const dist = join(root, 'playground', 'dist');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Bundles the page into `dist/`. Returns the bundle's size in bytes. */
export async function buildPlayground({ outdir = dist, minify = true } = {}) {
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: [join(web, 'app.ts')],
    outfile: join(outdir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: true,
    logLevel: 'warning',
  });
  await Promise.all(['index.html', 'styles.css'].map((file) => copyFile(join(web, file), join(outdir, file))));
  return (await stat(join(outdir, 'app.js'))).size;
}

/** Serves `dir` as static files on `host:port`. Resolves with the server and its URL. */
export function servePlayground({ dir = dist, host = '127.0.0.1', port = 4173 } = {}) {
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      const file = resolve(dir, '.' + (path.endsWith('/') ? path + 'index.html' : path));
      if (!file.startsWith(dir + sep)) {
        res.writeHead(403).end('forbidden');
        return;
      }
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolvePromise({ server, url: `http://${host}:${address.port}/` });
    });
  });
}

function option(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const bytes = await buildPlayground();
  console.log(`built playground/dist/app.js (${(bytes / 1024).toFixed(1)} KB) in ${Date.now() - started} ms`);
  if (!process.argv.includes('--build-only')) {
    const port = Number(option('--port') ?? process.env.PORT ?? 4173);
    const host = option('--host') ?? '127.0.0.1';
    const { url } = await servePlayground({ host, port });
    console.log(`burr-edge playground: ${url}`);
    console.log('state is kept in this browser\'s IndexedDB (database "burr-edge-playground"); Ctrl+C to stop');
  }
}

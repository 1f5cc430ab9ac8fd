/**
 * Bundles the Vercel Edge Function the way an Edge deployment does — esbuild, one ES module, the
 * `edge-light` / `worker` / `browser` export conditions, no Node built-ins (a `node:` import fails
 * the build) — and writes it as a prebuilt deployment (Vercel's Build Output API v3) that
 * `vercel deploy --prebuilt` uploads as is:
 *
 * ```text
 * playground/vercel/.vercel/output/
 *   config.json                          version 3 + the routes of vercel.json's rewrites
 *   functions/api/agent.func/index.js    this bundle
 *   functions/api/agent.func/.vc-config.json   { runtime: "edge", entrypoint: "index.js" }
 * ```
 *
 * The function imports the demo (playground/http.ts, agent.ts, backends.ts) and burr-edge from this
 * repository's sources, as the Worker example does; the bundle holds all of it, the three drivers
 * included, so the deployment installs nothing. test/bundle/vercel.test.ts runs this very bundle.
 *
 *   npx tsx playground/vercel/build.ts        # then: cd playground/vercel && vercel deploy --prebuilt
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

export const projectDir = dirname(fileURLToPath(import.meta.url));
export const entry = join(projectDir, 'api/agent.ts');

/** The conditions Vercel's Edge bundling resolves package exports with. */
export const EDGE_CONDITIONS = ['edge-light', 'worker', 'browser'];

export interface FunctionBundle {
  /** The ES module that is deployed. */
  code: string;
  minBytes: number;
  gzipBytes: number;
  /** Files that went in, relative to the repository. */
  inputs: string[];
  /** Imports left in the module (none: the deployment installs nothing). */
  externalImports: string[];
}

/** The function as deployed: minified ES module, everything bundled. */
export async function bundleFunction(): Promise<FunctionBundle> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser', // Node built-ins do not resolve: `node:*` or `fs` in the graph fails the build
    conditions: EDGE_CONDITIONS,
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  const bytes = result.outputFiles[0]!.contents;
  const root = join(projectDir, '../..');
  const output = Object.values(result.metafile.outputs)[0]!;
  return {
    code,
    minBytes: bytes.length,
    gzipBytes: gzipSync(bytes, { level: 9 }).length,
    inputs: Object.keys(result.metafile.inputs).map((input) => relative(root, join(process.cwd(), input))),
    externalImports: output.imports.filter((i) => i.external).map((i) => i.path),
  };
}

interface Rewrite {
  source: string;
  destination: string;
}

/** Build Output API routes for vercel.json's rewrites; only the `/prefix/:name*` form is used here. */
export function routesOf(rewrites: Rewrite[]): { handle?: string; src?: string; dest?: string; check?: boolean }[] {
  return [
    { handle: 'filesystem' },
    ...rewrites.map(({ source, destination }) => {
      const match = /^((?:\/[\w-]+)+)\/:\w+\*$/.exec(source);
      if (!match) throw new Error(`vercel.json rewrite ${source}: only "/prefix/:path*" sources are translated`);
      return { src: `^${match[1]}(?:/(.*))?$`, dest: destination, check: true };
    }),
  ];
}

/** Writes `.vercel/output` under `projectDir` (or `outDir`) and returns the bundle it holds. */
export async function writePrebuilt(outDir = join(projectDir, '.vercel/output')): Promise<FunctionBundle> {
  const bundle = await bundleFunction();
  const vercelJson = JSON.parse(await readFile(join(projectDir, 'vercel.json'), 'utf8')) as { rewrites?: Rewrite[] };
  const fn = join(outDir, 'functions/api/agent.func');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(fn, { recursive: true });
  await writeFile(join(outDir, 'config.json'), `${JSON.stringify({ version: 3, routes: routesOf(vercelJson.rewrites ?? []) }, null, 2)}\n`);
  await writeFile(join(fn, 'index.js'), bundle.code);
  await writeFile(join(fn, '.vc-config.json'), `${JSON.stringify({ runtime: 'edge', entrypoint: 'index.js' }, null, 2)}\n`);
  return bundle;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const bundle = await writePrebuilt();
  console.log(`playground/vercel/.vercel/output: api/agent ${(bundle.minBytes / 1024).toFixed(1)} KB min, ${(bundle.gzipBytes / 1024).toFixed(1)} KB min+gzip`);
  console.log('next: cd playground/vercel && vercel deploy --prebuilt');
}

// Builds dist/: one ESM file per source module (esbuild, no bundling, so subpath exports stay
// separate and tree-shakable) and .d.ts files (tsc, with no Node types: the core must not need them).
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const sources = readdirSync('src', { recursive: true })
  .map(String)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => join('src', file));

rmSync('dist', { recursive: true, force: true });
await build({ entryPoints: sources, outdir: 'dist', outbase: 'src', format: 'esm', platform: 'neutral', target: 'es2022', bundle: false, sourcemap: true, logLevel: 'warning' });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
console.log(`built ${sources.length} modules into dist/`);

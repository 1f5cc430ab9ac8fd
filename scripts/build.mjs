// Builds dist/: one ESM file per source module (esbuild, no bundling, so subpath exports stay
// separate and tree-shakable) and .d.ts files (tsc, with no Node types: the core must not need them;
// the Node-only bin and tracking loader are declared in a second pass, with Node's types).
// The bin (dist/cli/index.js) gets its shebang from its source and is made executable.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const sources = readdirSync('src', { recursive: true })
  .map(String)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => join('src', file));

rmSync('dist', { recursive: true, force: true });
await build({ entryPoints: sources, outdir: 'dist', outbase: 'src', format: 'esm', platform: 'neutral', target: 'es2022', bundle: false, sourcemap: true, logLevel: 'warning' });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build-node.json'], { stdio: 'inherit' });
const bin = 'dist/cli/index.js';
if (!readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')) throw new Error(`${bin} must start with a #!/usr/bin/env node line`);
chmodSync(bin, 0o755);
console.log(`built ${sources.length} modules into dist/`);

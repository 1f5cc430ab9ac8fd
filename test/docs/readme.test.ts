/**
 * The README's TypeScript examples are real code: every block type-checks against the sources
 * (as a user would import them: `burr-edge`, `burr-edge/libsql`, …), the SQLite example runs,
 * and the custom persister it shows passes the whole conformance suite.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runConformanceSuite } from '../../src/testing/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = join(root, '.tmp/readme');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const kvIndex = blocks.findIndex((code) => code.includes('class KVPersister'));
const files = blocks.map((code, i) => {
  const file = `block-${i + 1}.ts`;
  // The conformance example uses the class the block before it defines.
  const prefix = code.includes('new KVPersister') && !code.includes('class KVPersister') ? `import { KVPersister } from './block-${kvIndex + 1}.js';\n` : '';
  writeFileSync(join(dir, file), `${prefix}${code}\nexport {};\n`);
  return file;
});
// Names the examples take from their surroundings (a Worker's env, the caller's own values).
writeFileSync(join(dir, 'surroundings.d.ts'), 'declare const env: { DATABASE_URL: string; TURSO_TOKEN: string; [name: string]: string };\ndeclare const url: string;\ndeclare const token: string;\ndeclare function showBanner(text: string): void;\n');
writeFileSync(
  join(dir, 'tsconfig.json'),
  JSON.stringify({
    extends: '../../tsconfig.json',
    compilerOptions: {
      noEmit: true,
      paths: {
        'burr-edge': ['../../src/index.ts'],
        'burr-edge/testing': ['../../src/testing/index.ts'],
        'burr-edge/mongodb': ['../../src/persisters/mongodb/node.ts'],
        'burr-edge/mongodb-gateway': ['../../src/gateway/mongodb.ts'],
        'burr-edge/redis': ['../../src/persisters/redis/index.ts'],
        'burr-edge/indexeddb': ['../../src/persisters/indexeddb/index.ts'],
        'burr-edge/*': ['../../src/persisters/*.ts'],
      },
    },
    include: ['*.ts'],
  }),
);

describe('README examples', () => {
  it(`all ${blocks.length} TypeScript blocks type-check against the package's exports`, () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    } catch (error) {
      throw new Error(`tsc found errors in README examples:\n${(error as { stdout?: string }).stdout ?? String(error)}`);
    }
  }, 60_000);

  it('the Sessions example runs on an embedded libSQL file: resume, save, fork, history, listings, prune, delete', () => {
    const index = blocks.findIndex((code) => code.includes('initializeFrom(persister') && code.includes("url: 'file:sessions.db'"));
    expect(index).toBeGreaterThanOrEqual(0);
    const cwd = mkdtempSync(join(tmpdir(), 'burr-readme-'));
    const output = execFileSync(join(root, 'node_modules/.bin/tsx'), ['--tsconfig', join(dir, 'tsconfig.json'), join(dir, files[index]!)], { cwd, encoding: 'utf8' });
    expect(output).toContain("{ partitionKey: 'user-1', appId: 'chat-1', sequenceId: 0 }");
    expect(output).toMatch(/forkedFrom: \{/);
    expect(output).toMatch(/^chat-1-retry 0 \d{4}-/m);
  }, 60_000);

  it('the SQLite example runs and writes burr-state.db', () => {
    const index = blocks.findIndex((code) => code.includes("SQLitePersister.fromValues({ url: 'file:burr-state.db' })"));
    expect(index).toBeGreaterThanOrEqual(0);
    const cwd = mkdtempSync(join(tmpdir(), 'burr-readme-'));
    execFileSync(join(root, 'node_modules/.bin/tsx'), ['--tsconfig', join(dir, 'tsconfig.json'), join(dir, files[index]!)], { cwd, encoding: 'utf8' });
    expect(readFileSync(join(cwd, 'burr-state.db')).subarray(0, 15).toString()).toBe('SQLite format 3');
  }, 60_000);
});

// The custom persister from the README, imported with its `burr-edge` import pointed at the sources.
const kvFile = join(root, '.tmp/readme-kv-persister.ts'); // outside the type-checked folder: it imports a .ts path
writeFileSync(kvFile, blocks[kvIndex]!.replace("from 'burr-edge'", `from ${JSON.stringify(join(root, 'src/index.ts'))}`));
const { KVPersister } = (await import(kvFile)) as { KVPersister: new () => import('../../src/testing/index.js').ConformanceSubject['persister'] };
// As the README says: the session API is optional for a custom persister, and KVPersister has none.
runConformanceSuite({ name: "README's KVPersister", create: async () => ({ persister: new KVPersister() }), capabilities: { sessions: false } }, { describe, it });

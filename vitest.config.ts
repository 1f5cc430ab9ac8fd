/**
 * One vitest run, five projects, one harness.
 *
 * - `node`     test/**\/*.test.ts: the full suite in Node (also run under Node 22, 24 and Bun by
 *              scripts/test.ts).
 * - `bundle`   test/bundle/**: what users ship — esbuild bundles of every subpath export evaluated
 *              in a strict EdgeVM, bundle isolation and size budgets, and the Worker example built
 *              by `wrangler deploy --dry-run` and run in Miniflare without `nodejs_compat`. It checks
 *              artifacts, not the runtime running vitest, so it runs once, in the main Node.
 * - `edge`     test/runtimes/edge/**: Vercel's edge-runtime (`@edge-runtime/vm`).
 * - `workerd`  test/runtimes/workerd/**: Cloudflare's workerd through @cloudflare/vitest-pool-workers,
 *              with the Worker example (`wrangler.toml`, playground/worker.ts) as `main`.
 * - `browser`  test/**\/*.browser.test.ts and test/runtimes/browser/**: real Chromium (Debian's
 *              package, never a downloaded browser) through the playwright provider.
 *
 * The root globalSetup starts the harness's servers once and hands their addresses to every
 * project (`inject('harness')`). The fetch-transport conformance targets are listed once, in
 * test/conformance/fetch-targets.ts; every runtime project runs that list.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

/** Chromium from Debian's `chromium` package (or BURR_CHROMIUM); playwright never downloads one here. */
const chromium = process.env.BURR_CHROMIUM ?? '/usr/bin/chromium';

/** Files that belong to a project other than `node` (test/runtimes/node/ is node's own). */
const notNode = ['test/runtimes/{edge,workerd,browser,deno}/**', 'test/bundle/**', 'test/**/*.browser.test.ts', 'node_modules/**'];

/**
 * BURR_TEST_PROBE=fail|pass (scripts/test.ts --probe): the node project runs the exit-status probe
 * and nothing else, through this very config and its globalSetup, so the probe sees what a real
 * run sees (an exit hook of a harness dependency once turned failed runs into exit 0).
 */
const probe = process.env.BURR_TEST_PROBE;
const nodeInclude = probe ? ['test/probe/exit-status.probe.ts'] : ['test/**/*.test.ts'];

// Flags that keep Chromium quiet on a machine without network (TESTING.md).
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Fails the browser project with a way out, instead of skipping it, when Chromium is missing. */
function requireChromium(): string {
  if (!existsSync(chromium)) {
    throw new Error(
      `The browser project needs Chromium at ${chromium}. Install Debian's package: ` +
        '`apt-get install -y chromium` (or run scripts/install-system-deps.sh), or point BURR_CHROMIUM at a Chromium binary.',
    );
  }
  return chromium;
}

/** Vitest's `--project` filter: only touch Chromium when the browser project is wanted. */
function wantsProject(name: string): boolean {
  const wanted: string[] = [];
  process.argv.forEach((arg, i) => {
    if (arg === '--project') wanted.push(process.argv[i + 1] ?? '');
    else if (arg.startsWith('--project=')) wanted.push(arg.slice('--project='.length));
  });
  return wanted.length === 0 || wanted.includes(name);
}

// Projects do not `extends: true` the root config: they would inherit its globalSetup and start
// one harness per project. The root's globalSetup runs once and what it provides reaches all.
const shared = { testTimeout: 30_000, hookTimeout: 60_000 };

// Vitest's default is one worker fewer than the cores: a single worker on 2 cores. These tests
// mostly wait on servers, fronts and child processes, so two files at a time shorten the node
// project's runs there (measured on 2 cores: Node 20 205 → 145 s, Node 22 131 → 108 s; the
// whole five-project run, where bundling and Chromium keep both cores busy, 252 → 242 s).
const maxWorkers = Math.max(2, availableParallelism() - 1);

export default defineConfig({
  test: {
    globalSetup: ['./test/harness/global-setup.ts'],
    maxWorkers,
    projects: [
      {
        test: {
          ...shared,
          name: 'node',
          environment: 'node',
          include: nodeInclude,
          exclude: notNode,
        },
      },
      {
        test: {
          ...shared,
          name: 'bundle',
          environment: 'node',
          include: ['test/bundle/**/*.test.ts'],
          // esbuild and wrangler builds are CPU-bound; on 2 cores one file at a time is fastest overall.
          fileParallelism: false,
          testTimeout: 120_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'edge',
          environment: 'edge-runtime',
          include: ['test/runtimes/edge/**/*.test.ts'],
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => {
            const harness = inject('harness');
            return {
              main: './playground/worker.ts',
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                // The Worker example's environment points at the harness's libSQL (Hrana) front.
                bindings: {
                  BURR_BACKEND: 'libsql',
                  LIBSQL_URL: harness.hranaUrl,
                  LIBSQL_AUTH_TOKEN: harness.hranaToken,
                  BURR_TABLE: 'worker_example_workerd',
                },
              },
            };
          }),
        ],
        test: {
          ...shared,
          name: 'workerd',
          include: ['test/runtimes/workerd/**/*.test.ts'],
        },
      },
      {
        test: {
          ...shared,
          name: 'browser',
          include: ['test/**/*.browser.test.ts', 'test/runtimes/browser/**/*.test.ts'],
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: wantsProject('browser') ? { executablePath: requireChromium(), args: chromiumArgs } : {},
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});

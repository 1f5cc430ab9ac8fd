/**
 * Every subpath export bundled by esbuild for the browser / edge conditions — drivers included,
 * as an app would ship it — and evaluated in a strict EdgeVM (`@edge-runtime/vm`), where
 * `process`, `Buffer`, `require` and `node:*` do not exist. The lenient environments (vitest's
 * edge-runtime project, the workers pool with `nodejs_compat`) let those through; this does not.
 * The core and the libSQL backend then save, load and list against the harness from inside the VM
 * (the other backends' scripts are evaluated there; their I/O runs in the workerd and edge projects).
 */
import { EdgeVM } from '@edge-runtime/vm';
import * as esbuild from 'esbuild';
import { describe, expect, inject, it } from 'vitest';
import { State, stringifyJson } from '../../src/index.js';
import { loadSizeModule, noteMissing, type SizeModule, type SubpathEntry } from './size-module.js';

const size: SizeModule = await loadSizeModule();
const entries = size.subpathEntries();
noteMissing(entries);
const harness = inject('harness');
const backendSources = entries.filter((e) => e.backend).map((e) => e.source);

interface EdgeBundle {
  code: string;
  inputs: string[];
}

/** The subpath as an app bundles it for the edge: one IIFE exposing the exports as `globalThis.__subject`. */
async function bundleForEdge(entry: SubpathEntry): Promise<EdgeBundle> {
  const result = await esbuild.build({
    entryPoints: [`${size.root}/${entry.source}`],
    bundle: true,
    format: 'iife',
    globalName: '__subject',
    platform: 'browser', // a `node:*` or Node builtin import fails the build here
    conditions: size.EDGE_CONDITIONS,
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

/** The packages a bundle contains, from esbuild's inputs (`node_modules/@scope/name/...`). */
function packagesOf(inputs: string[]): string[] {
  const names = new Set<string>();
  for (const input of inputs) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input.slice(input.lastIndexOf('node_modules/')));
    if (match) names.add(match[1]!);
  }
  return [...names].sort();
}

/** A fresh strict VM: what the Edge Runtime offers, nothing from Node. */
function strictVm(): EdgeVM {
  const vm = new EdgeVM();
  for (const name of ['process', 'Buffer', 'require', 'module', 'setImmediate', '__dirname']) {
    expect(vm.evaluate(`typeof globalThis.${name}`), `${name} must not exist in the strict VM`).toBe('undefined');
  }
  return vm;
}

/** Save, load and list from inside the VM, through `fromValues` (the driver imported lazily, as in an app). */
const SCENARIOS: Record<string, (table: string) => string> = {
  '.': () => `(async () => {
    const { InMemoryPersister, State, stringifyJson } = __subject;
    const persister = new InMemoryPersister();
    await persister.initialize();
    await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'start', state: new State({ n: 9007199254740993n, when: new Date(0) }), status: 'completed' });
    const loaded = await persister.load('p', 'a');
    return stringifyJson({ state: loaded.state, apps: await persister.listAppIds('p') });
  })()`,
  './libsql': (table) => `(async () => {
    const { SQLitePersister } = __subject;
    const persister = SQLitePersister.fromValues({ url: ${JSON.stringify(harness.hranaUrl)}, authToken: ${JSON.stringify(harness.hranaToken)}, tableName: ${JSON.stringify(table)} });
    await persister.initialize();
    await persister.save({ partitionKey: 'p', appId: 'a', sequenceId: 0, position: 'start', state: { n: 9007199254740993n }, status: 'completed' });
    const loaded = await persister.load('p', 'a');
    const apps = await persister.listAppIds('p');
    await persister.close();
    return JSON.stringify({ n: String(loaded.state.n), apps });
  })()`,
};

const EXPECTED: Record<string, string> = {
  // What Node makes of the same state: the VM must agree byte for byte.
  '.': stringifyJson({ state: new State({ n: 9007199254740993n, when: new Date(0) }).serialize(), apps: ['a'] }),
  './libsql': '{"n":"9007199254740993","apps":["a"]}',
};

describe('strict edge bundles (esbuild → EdgeVM)', () => {
  it('the check itself catches what lenient environments let through', async () => {
    // Negative controls: code reading `process.env` at load, or using Buffer, fails in the VM…
    expect(() => strictVm().evaluate('const level = process.env.LOG_LEVEL;')).toThrow(/process is not defined/);
    expect(() => strictVm().evaluate('Buffer.from("x")')).toThrow(/Buffer is not defined/);
    // …and a `node:` import fails the browser-platform build.
    await expect(
      esbuild.build({ stdin: { contents: "import { readFileSync } from 'node:fs'; export const read = readFileSync;", resolveDir: size.root }, bundle: true, platform: 'browser', write: false, logLevel: 'silent' }),
    ).rejects.toThrow(/node:fs/);
    // …and a bundle that pulls in a second backend is told apart by its inputs.
    const libsql = entries.find((e) => e.subpath === './libsql');
    const other = entries.find((e) => e.backend && e.exists && e.subpath !== './libsql');
    if (libsql?.exists && other) {
      const mixed = await esbuild.build({
        stdin: { contents: `export * from './${libsql.source}'; export * as other from './${other.source}';`, resolveDir: size.root, loader: 'ts' },
        bundle: true, platform: 'browser', conditions: size.EDGE_CONDITIONS, write: false, metafile: true, logLevel: 'silent',
      });
      const inputs = Object.keys(mixed.metafile.inputs);
      expect(inputs).toContain(other.source);
      expect(packagesOf(inputs).filter((name) => size.isDriverImport(name) && !size.isDriverImport(name, libsql.drivers)).length).toBeGreaterThan(0);
    }
  });

  it('leaves out only the subpaths declared Node-only', () => {
    expect(entries.filter((e) => e.nodeOnly).map((e) => e.subpath)).toEqual(Object.keys(size.NODE_ONLY_SUBPATHS).filter((s) => entries.some((e) => e.subpath === s)));
  });

  // A Node-only subpath (Burr's tracking logs on disk) imports `node:*` by design: not an edge bundle.
  for (const entry of entries.filter((e) => e.exists && !e.nodeOnly)) {
    describe(entry.subpath, () => {
      let built: EdgeBundle | undefined;
      const build = async (): Promise<EdgeBundle> => (built ??= await bundleForEdge(entry));

      it('bundles for the browser/edge conditions with no Node builtin', async () => {
        const { code } = await build();
        expect(code).not.toMatch(/\brequire\(["'](node:)?(fs|path|os|net|tls|crypto|stream|buffer|child_process|worker_threads)["']\)/);
        expect(code).not.toMatch(/["']node:[a-z_]+["']/);
      });

      it('contains only its own driver and no other backend’s code', async () => {
        const { inputs } = await build();
        const foreignDrivers = packagesOf(inputs).filter((name) => size.isDriverImport(name) && !size.isDriverImport(name, entry.drivers));
        expect(foreignDrivers).toEqual([]);
        const others = backendSources.filter((source) => source !== entry.source);
        expect(inputs.filter((input) => others.includes(input))).toEqual([]);
        if (!entry.backend) expect(packagesOf(inputs).filter((name) => size.isDriverImport(name))).toEqual([]);
      });

      it('evaluates in a strict EdgeVM and defines every export', async () => {
        const { code } = await build();
        const vm = strictVm();
        vm.evaluate(code);
        const names = vm.evaluate<string>('JSON.stringify(Object.keys(__subject).filter((k) => __subject[k] === undefined))');
        expect(JSON.parse(names)).toEqual([]);
        expect(vm.evaluate<number>('Object.keys(__subject).length')).toBeGreaterThan(0);
      });

      if (entry.subpath === './libsql') {
        it('reads delta rows Node compressed, where there is no DecompressionStream', async () => {
          const table = `edge_vm_delta_${Date.now().toString(36)}`;
          const { SQLitePersister } = await import('../../src/persisters/libsql.js');
          const writer = SQLitePersister.fromValues({ url: harness.hranaUrl, authToken: harness.hranaToken, tableName: table, storage: 'delta', delta: { compressAbove: 64 } });
          await writer.initialize();
          const states = [0, 1, 2].map((i) => ({ messages: Array.from({ length: i + 3 }, (_, m) => `message ${m}: ${'lorem ipsum '.repeat(6)}`), big: 9007199254740993n + BigInt(i) }));
          for (const [seq, state] of states.entries()) await writer.save({ partitionKey: 'p', appId: 'a', sequenceId: seq, position: 'step', state, status: 'completed' });
          await writer.close();
          const { createClient } = await import('@libsql/client/web');
          const raw = createClient({ url: harness.hranaUrl, authToken: harness.hranaToken });
          const compressed = await raw.execute(`SELECT count(*) AS n FROM "${table}" WHERE state LIKE '%"z":"deflate"%'`);
          raw.close();
          expect(Number(compressed.rows[0]!.n), 'rows stored compressed').toBeGreaterThan(0);
          const { code } = await build();
          const vm = strictVm();
          expect(vm.evaluate('typeof DecompressionStream')).toBe('undefined');
          vm.evaluate(code);
          const result = await vm.evaluate<Promise<string>>(`(async () => {
            const { SQLitePersister } = __subject;
            const reader = SQLitePersister.fromValues({ url: ${JSON.stringify(harness.hranaUrl)}, authToken: ${JSON.stringify(harness.hranaToken)}, tableName: ${JSON.stringify(table)} });
            const out = [];
            for (const seq of [0, 1, 2]) out.push((await reader.load('p', 'a', seq)).state);
            await reader.close();
            return __subject.stringifyJson ? __subject.stringifyJson(out) : JSON.stringify(out, (k, v) => typeof v === 'bigint' ? v.toString() : v);
          })()`);
          expect(result).toBe(JSON.stringify(states, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
        });
      }

      const scenario = SCENARIOS[entry.subpath];
      if (scenario) {
        it('saves, loads and lists from inside the strict VM', async () => {
          const { code } = await build();
          const vm = strictVm();
          vm.evaluate(code);
          const table = `edge_vm_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
          const result = await vm.evaluate<Promise<string>>(scenario(table));
          expect(result).toBe(EXPECTED[entry.subpath]);
        });
      }
    });
  }
});

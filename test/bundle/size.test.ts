/**
 * Bundle budgets and isolation, from the same measurements `npm run size` prints: each backend
 * adds at most 8 KB min+gzip on top of the shared core and its driver, and a bundle of one
 * subpath imports no driver but its own and contains no other backend's code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSizeModule, noteMissing, type SizeModule, type SizeRow } from './size-module.js';

const size: SizeModule = await loadSizeModule();
const entries = size.subpathEntries();
noteMissing(entries);
const present = entries.filter((e) => e.exists);
const backendSources = entries.filter((e) => e.backend).map((e) => e.source);

let rows: Map<string, SizeRow>;
beforeAll(async () => {
  const report = await size.measure();
  rows = new Map(report.rows.map((r) => [r.subpath, r]));
  console.log(report.rows.map((r) => `${r.subpath}: alone ${r.gzipBytes} B, adds ${r.addsGzipBytes} B (min+gzip)`).join('\n'));
});

describe('bundle budgets and isolation (npm run size)', () => {
  it('measures every subpath export whose source exists, the root included', () => {
    expect(present.map((e) => e.subpath)).toContain('.');
    expect([...rows.keys()].sort()).toEqual(present.map((e) => e.subpath).sort());
  });

  for (const entry of present) {
    describe(entry.subpath, () => {
      if (entry.backend) {
        it(`adds at most ${size.BACKEND_BUDGET_BYTES} B min+gzip over the core and its driver`, () => {
          const row = rows.get(entry.subpath)!;
          expect(row.addsGzipBytes).toBeGreaterThan(0);
          expect(row.addsGzipBytes).toBeLessThanOrEqual(size.BACKEND_BUDGET_BYTES);
        });
      }

      it(`imports no driver but its own (${entry.drivers.join(', ') || 'none'})${entry.nodeOnly ? ', and Node builtins' : ''}`, () => {
        const row = rows.get(entry.subpath)!;
        const foreign = row.externalImports.filter((path) => !size.isDriverImport(path, entry.drivers) && !(entry.nodeOnly && path.startsWith('node:')));
        expect(foreign).toEqual([]);
        if (entry.backend && !(entry.subpath in size.RUNTIME_LOADED_DRIVERS)) expect(row.externalImports.some((path) => size.isDriverImport(path, entry.drivers))).toBe(true);
        // A driver loaded at run time must leave no trace in the bundle at all.
        if (entry.subpath in size.RUNTIME_LOADED_DRIVERS) expect(row.inputs.filter((input) => entry.drivers.some((d) => input.includes(`node_modules/${d}/`)))).toEqual([]);
      });

      it('contains no other backend’s code', () => {
        const row = rows.get(entry.subpath)!;
        const others = backendSources.filter((source) => source !== entry.source);
        expect(row.inputs.filter((input) => others.includes(input))).toEqual([]);
        // The core's own dependencies only: lossless-json (big integers) and fflate's inflate (compressed delta rows).
        const own = ['node_modules/lossless-json/', 'node_modules/fflate/esm/browser.js'];
        expect(row.inputs.filter((input) => input.includes('node_modules/') && !own.some((path) => input.includes(path)))).toEqual([]);
      });
    });
  }

  it('the root export imports no driver at all', () => {
    expect(rows.get('.')!.externalImports).toEqual([]);
  });

  it('only the subpaths declared Node-only import Node builtins', () => {
    const withBuiltins = [...rows.values()].filter((r) => r.externalImports.some((path) => path.startsWith('node:'))).map((r) => r.subpath);
    expect(withBuiltins.sort()).toEqual(Object.keys(size.NODE_ONLY_SUBPATHS).filter((s) => rows.has(s)).sort());
  });
});

describe('the burr-edge bin stays out of the library', () => {
  const binOnly = (path: string) => size.BIN_ONLY_PACKAGES.some((name) => path === name || path.startsWith(`${name}/`) || path.includes(`node_modules/${name}/`));

  it(`no subpath bundle contains or imports the bin's code or its dependencies (${size.BIN_ONLY_PACKAGES.join(', ')})`, () => {
    for (const row of rows.values()) {
      expect(row.inputs.filter((input) => input.startsWith('src/cli/') || binOnly(input)), row.subpath).toEqual([]);
      expect(row.externalImports.filter(binOnly), row.subpath).toEqual([]);
    }
  });

  it('the check can fail: a bundle of the bin itself holds them', async () => {
    const bin = await size.bundle("export * from './src/cli/main.ts';", { nodeBuiltins: true });
    for (const name of size.BIN_ONLY_PACKAGES) expect(bin.inputs.some((input) => input.includes(`node_modules/${name}/`)), name).toBe(true);
    expect(bin.inputs.some((input) => input.startsWith('src/cli/'))).toBe(true);
  });
});

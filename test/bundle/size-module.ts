/**
 * Typed access to scripts/size.mjs, the one place that knows the subpath exports, their sources
 * and which driver belongs to which backend (the tests and `npm run size` share it).
 */
export interface SubpathEntry {
  subpath: string;
  source: string;
  exists: boolean;
  drivers: string[];
  backend: boolean;
  /** Runs only where files do (Node, Deno, Bun): may import `node:*`; no strict-edge check. */
  nodeOnly: boolean;
}

export interface SizeRow {
  subpath: string;
  source: string;
  backend: boolean;
  drivers: string[];
  minBytes: number;
  gzipBytes: number;
  addsMinBytes: number;
  addsGzipBytes: number;
  budgetBytes: number | null;
  inputs: string[];
  externalImports: string[];
}

export interface SizeModule {
  root: string;
  BACKEND_BUDGET_BYTES: number;
  ALL_DRIVERS: string[];
  EDGE_CONDITIONS: string[];
  NODE_ONLY_SUBPATHS: Record<string, string>;
  RUNTIME_LOADED_DRIVERS: Record<string, string>;
  BIN_ONLY_PACKAGES: string[];
  bundle(contents: string, options?: { nodeBuiltins?: boolean }): Promise<{ minBytes: number; gzipBytes: number; inputs: string[]; externalImports: string[] }>;
  subpathEntries(): SubpathEntry[];
  isDriverImport(path: string, drivers?: string[]): boolean;
  measure(): Promise<{ core: { minBytes: number; gzipBytes: number }; rows: SizeRow[]; skipped: { subpath: string; source: string; reason: string }[] }>;
}

/** Imports scripts/size.mjs (plain JavaScript, so typed here). */
export async function loadSizeModule(): Promise<SizeModule> {
  const url = new URL('../../scripts/size.mjs', import.meta.url).href;
  return (await import(/* @vite-ignore */ url)) as SizeModule;
}

/** Prints, never silently drops, an export whose source file is not written yet. */
export function noteMissing(entries: SubpathEntry[]): void {
  for (const entry of entries.filter((e) => !e.exists)) {
    console.warn(`note: ${entry.subpath} is in package.json exports but ${entry.source} does not exist yet; its bundle checks are skipped`);
  }
}

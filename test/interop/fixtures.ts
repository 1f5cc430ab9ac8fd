/**
 * Burr's Python fixtures (`../shared/fixtures/burr-python/`): the expected results of Burr's own
 * `load` and `list_app_ids`, read losslessly so 9007199254740993 stays exact.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { jsonEqual } from '../../src/core/compare.js';
import { parseJson, type JsonObject } from '../../src/core/json.js';
import type { PersistedStateData } from '../../src/core/types.js';
import { FIXTURES_DIR } from './fixtures-dir.js';

export { FIXTURES_DIR };

export interface ExpectedLoad {
  query: { partition_key: string | null; app_id: string; sequence_id: number | null };
  result: null | { partition_key: string; app_id: string; sequence_id: number; position: string; status: 'completed' | 'failed'; state: JsonObject };
}

export interface ExpectedBackend {
  loads: ExpectedLoad[];
  list_app_ids: Record<string, string[]>;
}

export function expectedFor(backend: 'sqlite' | 'postgresql' | 'redis' | 'mongodb'): ExpectedBackend {
  const text = readFileSync(`${FIXTURES_DIR}expected.json`, 'utf8');
  const all = parseJson(text) as unknown as { backends: Record<string, ExpectedBackend> };
  return all.backends[backend]!;
}

/** Burr writes `"None"` for Python's None partition key in `list_app_ids`. */
export function partitionArg(key: string): string | null {
  return key === 'None' ? null : key;
}

/**
 * Asserts that a burr-edge `load` gave what Burr's `load` gave: the same record (Burr echoes a
 * `None` partition key; the kit's contract says `''`) and a JSON-equal state, big integers exact.
 * Returns whether there was a record to compare further.
 */
export function expectSameAsBurr(loaded: PersistedStateData | null, result: ExpectedLoad['result']): loaded is PersistedStateData {
  if (result === null) {
    expect(loaded).toBeNull();
    return false;
  }
  expect(loaded).not.toBeNull();
  expect({ ...loaded, state: undefined, createdAt: undefined }).toEqual({
    partitionKey: result.partition_key ?? '',
    appId: result.app_id,
    sequenceId: result.sequence_id,
    position: result.position,
    status: result.status,
    state: undefined,
    createdAt: undefined,
  });
  expect(jsonEqual(loaded!.state, result.state)).toBe(true);
  expect(loaded!.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  return true;
}

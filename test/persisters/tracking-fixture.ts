/**
 * Burr's tracking fixture (`../shared/fixtures/burr-python/tracking/` and
 * `tracking-expected.json`), read losslessly, for the Node and the Deno tracking tests alike:
 * no test framework imported here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson, type JsonValue } from '../../src/core/json.js';
import { FIXTURES_DIR } from '../interop/fixtures-dir.js';

export interface TrackingExpected {
  project: string;
  partition_key: string;
  app_ids: string[];
  loads: { query: { partition_key: string; app_id: string; sequence_id: number | null }; result?: null | { app_id: string; sequence_id: number; position: string; status: string; state: Record<string, JsonValue> }; error?: string }[];
}

/** The tracking directory Burr's LocalTrackingClient wrote (read it in place, or copy it to write). */
export const TRACKING_DIR = join(FIXTURES_DIR, 'tracking');

export const trackingExpected = parseJson(readFileSync(join(FIXTURES_DIR, 'tracking-expected.json'), 'utf8')) as unknown as TrackingExpected;

/** `{"__BIG__": "digits"}` as the bigint it stands for. */
export function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '__BIG__') return BigInt((value as { __BIG__: string }).__BIG__);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

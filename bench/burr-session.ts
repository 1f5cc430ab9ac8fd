/** burr-edge's side of the workload: one Session over any persister. Browser-safe. */
import type { SessionPersister } from '../src/core/types.js';
import type { Session } from './runner.js';
import type { AgentState } from './workload.js';

const PARTITION = 'bench';

export type Extra = Pick<Session, 'requests' | 'bytesSent' | 'storedBytes'> & { dispose?: () => Promise<void> };

/** A Session over any burr-edge persister: the one API every backend shares. */
export function burrSession(persister: SessionPersister & { close(): Promise<void> }, extra: Extra): Session {
  const state = (row: { state: unknown } | null) => row?.state;
  // Listing pages walk the wide partition with its cursor, from the start again after the last page.
  let cursor: string | null = null;
  return {
    save: (app, step, s: AgentState) => persister.save({ partitionKey: PARTITION, appId: app, sequenceId: step, position: 'agent', state: s as unknown as Record<string, unknown>, status: 'completed' }),
    loadLatest: async (app) => state(await persister.load(PARTITION, app)),
    loadStep: async (app, step) => state(await persister.load(PARTITION, app, step)),
    list: async () => (await persister.listAppIds(PARTITION)).length,
    // One listHistory page: `size` steps, newest first, with their states (one round trip).
    async historyPage(app, newest, size) {
      const page = await persister.listHistory(PARTITION, app, { limit: size, before: newest + 1, withState: true });
      return page.steps.map((s) => s.state);
    },
    async listPage(size) {
      const page = await persister.listApps(PARTITION, { limit: size, cursor });
      cursor = page.nextCursor;
      return page.apps.length;
    },
    requests: extra.requests,
    bytesSent: extra.bytesSent,
    storedBytes: extra.storedBytes,
    async close() {
      await persister.close();
      await extra.dispose?.();
    },
  };
}


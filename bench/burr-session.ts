/** burr-edge's side of the workload: one Session over any persister. Browser-safe. */
import type { StatePersister } from '../src/core/types.js';
import type { Session } from './runner.js';
import type { AgentState } from './workload.js';

const PARTITION = 'bench';

export type Extra = Pick<Session, 'requests' | 'bytesSent' | 'storedBytes'> & { dispose?: () => Promise<void> };

/** A Session over any burr-edge persister: the one API every backend shares. */
export function burrSession(persister: StatePersister & { close(): Promise<void> }, extra: Extra): Session {
  const state = (row: { state: unknown } | null) => row?.state;
  return {
    save: (app, step, s: AgentState) => persister.save({ partitionKey: PARTITION, appId: app, sequenceId: step, position: 'agent', state: s as unknown as Record<string, unknown>, status: 'completed' }),
    loadLatest: async (app) => state(await persister.load(PARTITION, app)),
    loadStep: async (app, step) => state(await persister.load(PARTITION, app, step)),
    list: async () => (await persister.listAppIds(PARTITION)).length,
    // Until listHistory exists: one load per step of the page.
    async historyPage(app, newest, size) {
      const out: unknown[] = [];
      for (let s = newest; s > newest - size; s--) out.push(state(await persister.load(PARTITION, app, s)));
      return out;
    },
    listPage: async (size) => (await persister.listAppIds(PARTITION, { limit: size })).length,
    requests: extra.requests,
    bytesSent: extra.bytesSent,
    storedBytes: extra.storedBytes,
    async close() {
      await persister.close();
      await extra.dispose?.();
    },
  };
}


/**
 * LangGraph.js checkpointers driven through their public API as LangGraph's Pregel loop drives
 * them: one checkpoint per step of a one-node graph ("agent") that updated every channel.
 */
import type { RunnableConfig } from '@langchain/core/runnables';
import { emptyCheckpoint, uuid6, type ChannelVersions, type Checkpoint, type CheckpointMetadata, type CheckpointTuple } from '@langchain/langgraph-checkpoint';
import type { Session } from './runner.js';
import type { AgentState } from './workload.js';

/** The slice of `BaseCheckpointSaver` used (structural: SqliteSaver brings its own copy of the base package). */
export interface SaverLike {
  put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig>;
  getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined>;
  list(config: RunnableConfig, options?: { limit?: number; before?: RunnableConfig }): AsyncGenerator<CheckpointTuple>;
  getNextVersion(current: number | undefined, channel?: unknown): number;
}

const CHANNELS = ['messages', 'step', 'tokens', 'lastRole', 'done'] as const;

interface Thread {
  ids: string[];
  versions: ChannelVersions;
}

/**
 * A Session over a LangGraph saver. `put` writes checkpoint `uuid6(step)` with the channels'
 * versions bumped by the saver's own `getNextVersion`, `newVersions` = every channel (so each
 * channel's value is written, as the loop does for channels a step updated), metadata
 * `{ source: 'loop', step, parents: {} }` and the parent checkpoint's id in `config`. Thread
 * ids are prefixed by `label` so each run has fresh threads.
 */
export function langGraphSession(saver: SaverLike, label: string, extra: Pick<Session, 'requests' | 'bytesSent' | 'storedBytes' | 'close'>): Session {
  const threads = new Map<string, Thread>();
  const threadId = (app: string) => `${label}-${app}`;
  const values = (tuple: CheckpointTuple | undefined) => tuple?.checkpoint.channel_values;
  return {
    async save(app, step, state: AgentState) {
      const thread = threads.get(app) ?? { ids: [], versions: {} };
      const newVersions: ChannelVersions = {};
      for (const channel of CHANNELS) newVersions[channel] = saver.getNextVersion(thread.versions[channel] as number | undefined);
      const checkpoint: Checkpoint = {
        ...emptyCheckpoint(),
        id: uuid6(step),
        ts: new Date().toISOString(),
        channel_values: { ...state },
        channel_versions: { ...thread.versions, ...newVersions },
        versions_seen: { agent: { ...thread.versions } },
      };
      const metadata: CheckpointMetadata = { source: 'loop', step, parents: {} };
      await saver.put({ configurable: { thread_id: threadId(app), checkpoint_ns: '', checkpoint_id: thread.ids.at(-1) } }, checkpoint, metadata, newVersions);
      thread.ids.push(checkpoint.id);
      thread.versions = checkpoint.channel_versions;
      threads.set(app, thread);
    },
    loadLatest: async (app) => values(await saver.getTuple({ configurable: { thread_id: threadId(app), checkpoint_ns: '' } })),
    loadStep: async (app, step) => values(await saver.getTuple({ configurable: { thread_id: threadId(app), checkpoint_ns: '', checkpoint_id: threads.get(app)!.ids[step] } })),
    // LangGraph's own history page: one `list` call, newest first, `before` the step above.
    async historyPage(app, newest, size) {
      const ids = threads.get(app)!.ids;
      const before = ids[newest + 1];
      const out: unknown[] = [];
      for await (const tuple of saver.list({ configurable: { thread_id: threadId(app), checkpoint_ns: '' } }, { limit: size, ...(before ? { before: { configurable: { checkpoint_id: before } } } : {}) })) {
        out.push(values(tuple));
      }
      return out;
    },
    ...extra,
  };
}

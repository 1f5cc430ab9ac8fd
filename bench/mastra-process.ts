/**
 * Mastra's LibSQLStore workflow snapshots, run under Node 22 (Mastra declares node >= 22.13) by
 * bench/run.ts: `node22 --import tsx bench/mastra-process.ts '<json options>'`. Progress on
 * stderr (`progress: …`), the result as one JSON line on stdout.
 *
 * A Mastra run keeps one snapshot per run id, overwritten at every step (upsert): no history,
 * so no step loads or history pages. Listing is `listWorkflowRuns`, a page `perPage`/`page`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LibSQLStore } from '@mastra/libsql';
import { processCpuMs } from './counters.js';
import { measureSystem, type Session, type System } from './runner.js';
import type { AgentState, Scale } from './workload.js';

interface Options {
  scale: Scale;
  runs: number;
  dir: string;
}

const options = JSON.parse(process.argv[2]!) as Options;
const version = (pkg: string) => (JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
const WORKFLOW = 'agent';

interface WorkflowsLike {
  init(): Promise<void>;
  persistWorkflowSnapshot(args: { workflowName: string; runId: string; snapshot: unknown }): Promise<void>;
  loadWorkflowSnapshot(args: { workflowName: string; runId: string }): Promise<{ context?: { agent?: { output?: unknown } } } | null>;
  listWorkflowRuns(args: { workflowName: string; perPage?: number; page?: number }): Promise<{ runs: unknown[]; total: number }>;
}
type ClientLike = Record<'execute' | 'batch' | 'transaction' | 'executeMultiple', (...a: unknown[]) => Promise<unknown>> & { close(): void };

/** A workflow run's snapshot after its "agent" step produced `state`, shaped as Mastra's WorkflowRunState. */
function snapshot(runId: string, state: AgentState) {
  const now = Date.now();
  return {
    runId,
    status: 'running',
    value: {},
    context: { input: {}, agent: { status: 'success', payload: {}, output: state, startedAt: now, endedAt: now } },
    serializedStepGraph: [{ type: 'step', step: { id: 'agent' } }],
    activePaths: [],
    activeStepsPath: {},
    suspendedPaths: {},
    resumeLabels: {},
    waitingPaths: {},
    timestamp: now,
  };
}

const system: System = {
  name: 'Mastra · LibSQLStore workflow snapshots',
  library: 'Mastra',
  tags: ['mastra', 'libsql', 'sqlite', 'peers'],
  durability: 'SQLite file on ext4 via @libsql/client, journal_mode=WAL, synchronous=NORMAL (LibSQLStore sets both)',
  notes: [`runs under Node ${process.versions.node} (Mastra declares node >= 22.13)`, 'keeps no history: one snapshot per run, overwritten each step', `@mastra/libsql ${version('@mastra/libsql')}, @mastra/core ${version('@mastra/core')}`],
  storedMeasure: 'dbstat: pages of mastra_workflow_snapshot and its indexes (fresh file per run)',
  cpu: processCpuMs,
  async open(label) {
    const store = new LibSQLStore({ id: `bench-${label}`, url: `file:${join(options.dir, `mastra-${label}-${Date.now()}.db`)}` });
    await store.init();
    const workflows = (await store.getStore('workflows')) as unknown as WorkflowsLike;
    // Count every call on the one client all of Mastra's domains share.
    const client = (store as unknown as { client: ClientLike }).client;
    let requests = 0;
    for (const method of ['execute', 'batch', 'transaction', 'executeMultiple'] as const) {
      const original = client[method].bind(client);
      client[method] = (...args: unknown[]) => {
        requests++;
        return original(...args);
      };
    }
    const session: Session = {
      save: (app, _step, state) => workflows.persistWorkflowSnapshot({ workflowName: WORKFLOW, runId: `${label}-${app}`, snapshot: snapshot(`${label}-${app}`, state) }),
      loadLatest: async (app) => (await workflows.loadWorkflowSnapshot({ workflowName: WORKFLOW, runId: `${label}-${app}` }))?.context?.agent?.output,
      list: async () => (await workflows.listWorkflowRuns({ workflowName: WORKFLOW })).runs.length,
      listPage: async (size) => (await workflows.listWorkflowRuns({ workflowName: WORKFLOW, perPage: size, page: 0 })).runs.length,
      requests: () => requests,
      async storedBytes() {
        const before = requests;
        const settings = await client.execute('PRAGMA synchronous') as { rows: { synchronous: number }[] };
        const result = (await client.execute({ sql: "SELECT sum(pgsize) AS v FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'mastra_workflow_snapshot')", args: [] })) as { rows: { v: number }[] };
        requests = before;
        if (Number(settings.rows[0]?.synchronous) !== 1) throw new Error(`Mastra row ended with synchronous=${settings.rows[0]?.synchronous}`);
        return Number(result.rows[0]?.v);
      },
      close: async () => client.close(),
    };
    return session;
  },
};

const result = await measureSystem(system, { scale: options.scale, runs: options.runs, progress: (text) => process.stderr.write(`progress: ${text}\n`) });
process.stdout.write(`${JSON.stringify(result)}\n`);

/** The bench's tables (console and docs/benchmarks.md), the targets it tracks, and the chart. */
import type { PhaseName, SystemResult } from './runner.js';
import { bytes, ms, rate, rateSpread, ratio } from './stats.js';

const THROUGHPUT: [PhaseName, string][] = [
  ['save', 'saves/s'],
  ['latest', 'latest loads/s'],
  ['step', 'step loads/s'],
  ['list', 'lists/s'],
  ['history', 'history pages/s'],
  ['page', 'listing pages/s'],
];

const cell = (text: string) => text.replace(/\|/g, '\\|');
const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
const header = (cells: string[], numeric = cells.length - 1) => [row(cells), `|---|${'---:|'.repeat(numeric)}${'---|'.repeat(cells.length - 1 - numeric)}`];

function unsupported(result: SystemResult, p: PhaseName): string {
  if (result.skipped) return 'n/a';
  if (result.error) return 'failed';
  if (p === 'step' || p === 'history') return result.library === 'Mastra' ? 'no history' : 'n/a';
  if (p === 'list' || p === 'page') return result.library === 'LangGraph.js' ? 'no API' : 'n/a';
  return 'n/a';
}

export function throughputTable(results: SystemResult[]): string[] {
  const lines = header(['system', ...THROUGHPUT.map(([, label]) => label)]);
  for (const r of results) lines.push(row([r.name, ...THROUGHPUT.map(([p]) => (r.phases[p] ? rateSpread(r.phases[p]!.opsPerSecond) : unsupported(r, p)))]));
  return lines;
}

export function latencyTable(results: SystemResult[]): string[] {
  const lines = header(['system', ...THROUGHPUT.map(([p]) => `${p} p50 / p99 ms`)]);
  for (const r of results) {
    if (r.skipped) continue;
    lines.push(row([r.name, ...THROUGHPUT.map(([p]) => (r.phases[p] ? `${ms(r.phases[p]!.p50)} / ${ms(r.phases[p]!.p99)}` : '–'))]));
  }
  return lines;
}

const perOp = (n: number | undefined, digits = 2) => (n === undefined ? '–' : Number.isInteger(n) ? String(n) : n.toFixed(digits));

export function costTable(results: SystemResult[]): string[] {
  const lines = header(['system', 'requests/op: save · latest · step · list · history page · listing page', 'bytes sent/save', 'bytes stored', 'client CPU ms/op: save · latest · step']);
  for (const r of results) {
    if (r.skipped) continue;
    const p = r.phases;
    lines.push(
      row([
        r.name,
        THROUGHPUT.map(([k]) => perOp(p[k]?.requestsPerOp)).join(' · '),
        p.save?.bytesSentPerOp === undefined ? 'in process' : bytes(p.save.bytesSentPerOp),
        bytes(r.storedBytes),
        (['save', 'latest', 'step'] as PhaseName[]).map((k) => ms(p[k]?.cpuMsPerOp)).join(' · '),
      ]),
    );
  }
  return lines;
}

export interface Ratio {
  system: string;
  peer: string;
  saves?: number;
  latest?: number;
  step?: number;
  /** Peer's bytes stored over burr-edge's. */
  stored?: number;
}

export function ratios(results: SystemResult[]): Ratio[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  const out: Ratio[] = [];
  for (const r of results) {
    if (r.skipped || r.error) continue;
    for (const peerName of r.peers ?? []) {
      const peer = byName.get(peerName);
      const div = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? undefined : a / b);
      const m = (x: SystemResult | undefined, p: PhaseName) => x?.phases[p]?.opsPerSecond.median;
      out.push({ system: r.name, peer: peerName + (peer?.skipped ? ' (cannot run here)' : peer?.error ? ' (failed)' : peer ? '' : ' (not in this run)'), saves: div(m(r, 'save'), m(peer, 'save')), latest: div(m(r, 'latest'), m(peer, 'latest')), step: div(m(r, 'step'), m(peer, 'step')), stored: div(peer?.storedBytes, r.storedBytes) });
    }
  }
  return out;
}

export function ratioTable(list: Ratio[]): string[] {
  const lines = header(['burr-edge row', 'nearest peer (same engine)', 'saves/s ×', 'latest loads/s ×', 'step loads/s ×', 'peer stores ×'], 4);
  const x = (v: number | undefined) => ratio(v, v === undefined ? undefined : 1);
  for (const r of list) lines.push(row([r.system, r.peer, x(r.saves), x(r.latest), x(r.step), x(r.stored)]));
  return lines;
}

/** Each delta row against its full-row twin: what delta storage changes, backend by backend. */
export function deltaTable(results: SystemResult[]): string[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  const lines = header(['delta row', 'bytes stored: full → delta', 'stored ÷', 'bytes sent/save: full → delta', 'sent ÷', 'saves/s ×', 'latest loads/s ×', 'step loads/s ×', 'requests/op save · latest · step']);
  const m = (r: SystemResult | undefined, p: PhaseName) => r?.phases[p]?.opsPerSecond.median;
  const div = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b ? undefined : a / b);
  const x = (v: number | undefined) => ratio(v, v === undefined ? undefined : 1);
  for (const r of results) {
    if (!r.fullRow || r.skipped || r.error) continue;
    const full = byName.get(r.fullRow);
    const sent = (s: SystemResult | undefined) => s?.phases.save?.bytesSentPerOp;
    lines.push(
      row([
        r.name,
        `${bytes(full?.storedBytes)} → ${bytes(r.storedBytes)}`,
        x(div(full?.storedBytes, r.storedBytes)),
        sent(r) === undefined ? 'in process' : `${bytes(sent(full))} → ${bytes(sent(r))}`,
        x(div(sent(full), sent(r))),
        x(div(m(r, 'save'), m(full, 'save'))),
        x(div(m(r, 'latest'), m(full, 'latest'))),
        x(div(m(r, 'step'), m(full, 'step'))),
        (['save', 'latest', 'step'] as PhaseName[]).map((k) => perOp(r.phases[k]?.requestsPerOp)).join(' · '),
      ]),
    );
  }
  return lines;
}

export interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
}

/** The targets this bench tracks (issue 13). */
export function targets(results: SystemResult[], list: Ratio[]): Target[] {
  const out: Target[] = [];
  const pg = list.find((r) => r.system.startsWith('burr-edge · PostgreSQL (pg Pool'));
  const check = (what: string, goal: string, value: number | undefined, min: number, show: (v: number) => string) =>
    out.push({ what, goal, measured: value === undefined ? 'not measured' : show(value), met: value === undefined ? undefined : value >= min });
  check('PostgreSQL (pg) saves/s vs LangGraph PostgresSaver', '≥ 3×', pg?.saves, 3, (v) => ratio(v, 1));
  check('PostgreSQL (pg) latest loads/s vs LangGraph PostgresSaver', '≥ 20×', pg?.latest, 20, (v) => ratio(v, 1));
  for (const r of results.filter((x) => x.name.startsWith('burr-edge · libSQL file:'))) {
    const mode = /\((.*)\)/.exec(r.name)?.[1] ?? '';
    if (r.fullRow) {
      // Delta storage's goals (issue 14), on embedded libSQL.
      const full = results.find((x) => x.name === r.fullRow);
      const stored = r.storedBytes;
      out.push({ what: `delta rows: bytes stored for the whole workload (${mode})`, goal: '≤ 5 MB', measured: stored === undefined ? 'not measured' : bytes(stored), met: stored === undefined ? undefined : stored <= 5 * 1024 * 1024 });
      const peers = results.filter((x) => x.library !== 'burr-edge' && x.library !== 'Mastra' && x.storedBytes !== undefined && !x.error && !x.skipped);
      const least = peers.length ? Math.min(...peers.map((x) => x.storedBytes!)) : undefined;
      const leastName = peers.find((x) => x.storedBytes === least)?.name;
      const times = least === undefined || !stored ? undefined : least / stored;
      out.push({ what: `delta rows: less stored than any history-keeping peer (${mode}; least: ${leastName ?? '–'})`, goal: '≥ 40×', measured: times === undefined ? 'not measured' : ratio(times, 1), met: times === undefined ? undefined : times >= 40 });
      check(`delta rows: embedded libSQL saves/s (${mode})`, '≥ 5,000', r.phases.save?.opsPerSecond.median, 5000, rate);
      const latest = full?.phases.latest?.opsPerSecond.median && r.phases.latest ? r.phases.latest.opsPerSecond.median / full.phases.latest.opsPerSecond.median : undefined;
      out.push({ what: `delta rows: latest loads/s against full rows (${mode})`, goal: 'no slower (≥ 1×, within the noise)', measured: latest === undefined ? 'not measured' : ratio(latest, 1), met: latest === undefined ? undefined : latest >= 0.95 });
      continue;
    }
    check(`embedded libSQL saves/s (${mode}; all checks on)`, '≥ 2,000', r.phases.save?.opsPerSecond.median, 2000, rate);
    check(`embedded libSQL latest loads/s (${mode}; all checks on)`, '≥ 5,000', r.phases.latest?.opsPerSecond.median, 5000, rate);
    // The sessions issue's goal: a listApps page over a 4,000-app partition in under 5 ms (p50).
    const page = r.phases.page?.p50;
    out.push({
      what: `embedded libSQL listApps page, wide partition (${mode})`,
      goal: '< 5 ms (p50)',
      measured: page === undefined ? 'not measured' : `${page.toFixed(2)} ms`,
      met: page === undefined ? undefined : page < 5,
    });
  }
  return out;
}

export function targetTable(list: Target[]): string[] {
  const lines = header(['target', 'goal', 'measured', 'met'], 0);
  for (const t of list) lines.push(row([t.what, t.goal, t.measured, t.met === undefined ? '–' : t.met ? 'yes' : '**no**']));
  return lines;
}

export function notesTable(results: SystemResult[]): string[] {
  const lines = header(['system', 'durability', 'bytes stored is', 'notes'], 0);
  for (const r of results) lines.push(row([r.name, r.durability, r.storedMeasure ?? '–', [r.skipped ? `cannot run: ${r.skipped}` : '', r.error ? `failed: ${r.error}` : '', ...r.notes].filter(Boolean).join('; ') || '–']));
  return lines;
}

/**
 * A vega-lite spec: saves/s and latest loads/s per system (log scale), and bytes stored, each
 * bar coloured by library. Rendered to SVG in Node by vega's headless View (no browser).
 */
export function chartSpec(results: SystemResult[], title: string): Record<string, unknown> {
  const ran = results.filter((r) => !r.skipped && !r.error);
  const values = ran.flatMap((r) => [
    { system: r.name, library: r.library, metric: 'saves/s', value: r.phases.save?.opsPerSecond.median },
    { system: r.name, library: r.library, metric: 'latest loads/s', value: r.phases.latest?.opsPerSecond.median },
    { system: r.name, library: r.library, metric: 'bytes stored (MB)', value: r.storedBytes === undefined ? undefined : r.storedBytes / 1024 / 1024 },
  ]).filter((v) => v.value !== undefined && v.value > 0);
  const names = ran.map((r) => r.name);
  const panel = (metric: string, log: boolean, labels: boolean) => ({
    title: metric,
    transform: [{ filter: { field: 'metric', equal: metric } }],
    mark: { type: 'bar' },
    width: 200,
    height: { step: 17 },
    encoding: {
      y: { field: 'system', type: 'nominal', sort: names, scale: { domain: names }, title: null, axis: labels ? {} : null },
      // Log bars start at 10 (a log scale has no zero).
      x: { field: 'value', type: 'quantitative', title: log ? `${metric} (log scale)` : metric, scale: log ? { type: 'log', domainMin: 10 } : {} },
      ...(log ? { x2: { datum: 10 } } : {}),
      color: { field: 'library', type: 'nominal', title: 'library', scale: { domain: ['burr-edge', 'LangGraph.js', 'Mastra'], range: ['#1f6feb', '#d1242f', '#8250df'] } },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 13 },
    data: { values },
    hconcat: [panel('saves/s', true, true), panel('latest loads/s', true, false), panel('bytes stored (MB)', false, false)],
    resolve: { scale: { y: 'shared' } },
    config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: null }, background: 'white', axis: { labelFontSize: 11 }, axisY: { labelLimit: 0 } },
  };
}

export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vegaLite = await import('vega-lite');
  const vega = await import('vega');
  const compiled = vegaLite.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

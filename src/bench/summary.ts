import type { Measurement } from '../report/timer.js';
import { median } from './stats.js';

export const BENCH_STRATEGIES = ['baseline', 'bulk', 'copyfrom', 'copyfromfile', 'upsert', 'parallel', 'parallel-concurrent'] as const;
export type BenchStrategy = (typeof BENCH_STRATEGIES)[number];
export const BENCH_ACTIONS = ['create', 'update'] as const;
export type BenchAction = (typeof BENCH_ACTIONS)[number];

/** upsert exists only as an update; every other strategy does both. */
export function appliesTo(strategy: BenchStrategy, action: BenchAction): boolean {
  return action === 'update' || strategy !== 'upsert';
}

/** The parallel strategies run whole or not at all; the others can stop at a budget. */
export const budgeted = (strategy: BenchStrategy) => !strategy.startsWith('parallel');

export type RunStatus = 'complete' | 'projected' | 'stopped' | 'failed';

/** One run of one strategy: what the CLI measured, and what the bench saw around it. */
export interface RunRecord {
  action: BenchAction;
  strategy: BenchStrategy;
  genes: number;
  latencyMs: number;
  /** Share of the synthetic matrix's values left missing (0: complete). */
  missing: number;
  repeat: number;
  status: RunStatus;
  /** Seconds of the run as the CLI timed it (`_total`); for a stopped run, until it stopped. */
  seconds: number;
  /** For a run stopped at its budget: the full run's time projected from its measured rate. */
  projectedSeconds: number | null;
  /** Rows/s of the phase the budget stopped, measured. */
  measuredRate: number | null;
  /** Median seconds of each phase, without the strategy prefix. */
  phases: Record<string, number>;
  readerP50Ms: number | null;
  readerP95Ms: number | null;
  peakRssBytes: number | null;
  proxyCpuSeconds: number | null;
  note: string;
}

export interface FloorRecord {
  genes: number;
  repeat: number;
  copySeconds: number;
  constraintsSeconds: number;
  seconds: number;
  mode: string;
}

/** Phases that are not a step of the run: the total, counters, accumulated kernel time, stopped remnants. */
const NOT_A_STEP = /(_total|_degenerate_pairs|_peak_rss_bytes|_compute|_stopped|_changed_rows|_changed_genes)$/;

export function phasesOf(measurements: Measurement[], prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of measurements) {
    if (m.seconds === null || NOT_A_STEP.test(m.metric) || !m.metric.startsWith(`${prefix}_`)) continue;
    out[m.metric.slice(prefix.length + 1)] = m.seconds;
  }
  return out;
}

/**
 * Rows a create writes: the datasets and genes, the data values (N·D), the dataset
 * similarities (D²), the diagonal and both orderings of every pair (N²).
 */
export function createRowsTotal(genes: number, datasets: number): number {
  return datasets + genes + genes * datasets + datasets * datasets + genes * genes;
}

const ROW_PHASES = ['create_datasets', 'create_genes', 'create_data', 'create_dataset_sims', 'create_diagonal_sims', 'create_sims'];

/**
 * A create stopped at its budget left `<phase>_stopped` (rows sent, seconds) beside the row
 * phases it finished. The full run is projected as the time it ran plus every row not yet
 * written at the rate of the rows it did write (for the classic strategies a row costs the
 * same wherever it goes: a round trip, a share of a statement or of a COPY). The COMMIT, where
 * deferred foreign keys are checked, is not in the projection.
 */
export function projectCreate(measurements: Measurement[], prefix: string, genes: number, datasets: number): { seconds: number; rate: number } | null {
  const stopped = measurements.find((m) => m.metric.endsWith('_stopped') && m.metric.startsWith(`${prefix}_`));
  if (!stopped || stopped.seconds === null) return null;
  const rowPhases = measurements.filter((m) => ROW_PHASES.some((p) => m.metric === `${prefix}_${p}`));
  const written = stopped.count + rowPhases.reduce((a, m) => a + m.count, 0);
  const writing = stopped.seconds + rowPhases.reduce((a, m) => a + (m.seconds ?? 0), 0);
  if (written === 0 || writing <= 0) return null;
  const ran = stopped.seconds + Object.values(phasesOf(measurements, prefix)).reduce((a, b) => a + b, 0);
  const rate = written / writing;
  return { seconds: ran + Math.max(0, createRowsTotal(genes, datasets) - written) / rate, rate };
}

export interface SummaryRow {
  action: BenchAction;
  strategy: BenchStrategy;
  genes: number;
  latencyMs: number;
  missing: number;
  rows: number;
  runs: number;
  /** Median of measured seconds, or of projections where a run was stopped at its budget. */
  seconds: number | null;
  projected: boolean;
  /** No figure: every run was stopped (an update at its budget) or failed. */
  unfinished: string | null;
  phases: Record<string, number>;
  rowsPerSecond: number | null;
  measuredRate: number | null;
  floorRatio: number | null;
  speedUp: number | null;
  readerP50Ms: number | null;
  readerP95Ms: number | null;
  peakRssBytes: number | null;
}

const medianOrNull = (xs: (number | null)[]) => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
};

export function summarise(runs: RunRecord[], floors: FloorRecord[]): SummaryRow[] {
  const keys = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const k = `${r.action}|${r.strategy}|${r.genes}|${r.latencyMs}|${r.missing}`;
    keys.set(k, [...(keys.get(k) ?? []), r]);
  }
  const rows: SummaryRow[] = [];
  for (const group of keys.values()) {
    const first = group[0]!;
    const effective = group.map((r) => (r.status === 'complete' ? r.seconds : r.status === 'projected' ? r.projectedSeconds : null));
    const seconds = medianOrNull(effective);
    const phaseNames = [...new Set(group.filter((r) => r.status === 'complete').flatMap((r) => Object.keys(r.phases)))];
    const phases: Record<string, number> = {};
    for (const p of phaseNames) phases[p] = medianOrNull(group.filter((r) => r.status === 'complete').map((r) => r.phases[p] ?? null))!;
    const floor = medianOrNull(floors.filter((f) => f.genes === first.genes).map((f) => f.seconds));
    const rowsTotal = first.genes * first.genes;
    rows.push({
      action: first.action,
      strategy: first.strategy,
      genes: first.genes,
      latencyMs: first.latencyMs,
      missing: first.missing,
      rows: rowsTotal,
      runs: group.length,
      seconds,
      projected: group.some((r) => r.status === 'projected'),
      unfinished: seconds === null ? (group.find((r) => r.note)?.note ?? 'no run finished') : null,
      phases,
      rowsPerSecond: seconds === null ? null : rowsTotal / seconds,
      measuredRate: medianOrNull(group.map((r) => r.measuredRate)),
      floorRatio: seconds === null || floor === null ? null : seconds / floor,
      speedUp: null,
      readerP50Ms: medianOrNull(group.map((r) => r.readerP50Ms)),
      readerP95Ms: medianOrNull(group.map((r) => r.readerP95Ms)),
      peakRssBytes: medianOrNull(group.map((r) => r.peakRssBytes)),
    });
  }
  for (const row of rows) {
    const base = rows.find((b) => b.strategy === 'baseline' && b.action === row.action && b.genes === row.genes && b.latencyMs === row.latencyMs && b.missing === row.missing);
    if (base?.seconds && row.seconds) row.speedUp = base.seconds / row.seconds;
  }
  const order = (r: SummaryRow) => [BENCH_ACTIONS.indexOf(r.action), r.missing, r.latencyMs, r.genes, BENCH_STRATEGIES.indexOf(r.strategy)];
  return rows.sort((a, b) => {
    const x = order(a);
    const y = order(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return 0;
  });
}

import type { EngineEvent } from '../engine/events.js';
import type { Measurement } from './timer.js';

/** A timed phase that ran at the top level (not inside another), as the summary ranks them. */
export interface TopPhase {
  name: string;
  seconds: number;
}

/**
 * Follows phase events and keeps the top-level ones: nested phases (the small tables written
 * inside the swap) are part of their parent's time, and counting them too would add to more
 * than the run took.
 */
export function phaseTracker(): { see(e: EngineEvent): void; topLevel(): TopPhase[] } {
  const open: string[] = [];
  const top: TopPhase[] = [];
  return {
    see(e) {
      if (e.type !== 'phase') return;
      if (e.state === 'start') {
        open.push(e.name);
        return;
      }
      const at = open.lastIndexOf(e.name);
      if (at >= 0) open.splice(at, 1);
      if (open.length > 0) return;
      // A phase run twice (an update's diagonal, then its pairs) is one line with its whole time.
      const same = top.find((p) => p.name === e.name);
      if (same) same.seconds += e.seconds;
      else top.push({ name: e.name, seconds: e.seconds });
    },
    topLevel: () => [...top],
  };
}

/** What a finished create or update wrote, for the lines a person reads. */
export interface RunFacts {
  action: 'create' | 'update';
  strategy: string;
  metric: string;
  genes: number;
  datasets: number;
  /** Similarity rows the run wrote (a create: every row; an update: the rows it changed). */
  rowsWritten: number;
  /** Similarity rows the table holds now. */
  tableRows: number;
  /** The database, as `describeTarget` names it (no password). */
  database: string;
  tables: readonly string[];
  measurements: readonly Measurement[];
  phases: readonly TopPhase[];
  resultsFile: string;
  /** A gene of the matrix for the "look at it" line; null for an empty one. */
  exampleGene: string | null;
  /** Set for a run that stopped at its time budget and rolled back. */
  stoppedAtBudget?: boolean;
}

const int = (n: number) => n.toLocaleString('en-US');

function duration(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** How many phases the summary names: the rest are in the results CSV. */
const PHASES_SHOWN = 3;

/**
 * The few lines printed after a run: what was written, where, how long and how fast, the phases
 * that took the time, the longest wait a reader saw, where the full measurements are, and how to
 * look at the result. Pure: the CLI prints them, tests read them.
 */
export function summaryLines(f: RunFacts, o: { lookCommand?: string } = {}): string[] {
  const prefix = f.action === 'create' ? `${f.strategy}_` : `${f.strategy}_update_`;
  const find = (name: string) => f.measurements.find((m) => m.metric === `${prefix}${name}`);
  const total = find('total')?.seconds ?? null;
  const lines: string[] = [];
  if (f.stoppedAtBudget) {
    lines.push(`stopped at its time budget and rolled back: nothing was written (${f.strategy}, ${f.metric})`);
  } else if (f.action === 'create') {
    lines.push(`created the ${f.metric} similarity matrix of ${int(f.genes)} genes × ${int(f.datasets)} datasets: ${int(f.rowsWritten)} similarity rows (${f.strategy} strategy)`);
  } else {
    lines.push(
      `updated the ${f.metric} similarity matrix to ${int(f.genes)} genes × ${int(f.datasets)} datasets: ${int(f.rowsWritten)} similarity rows written, ${int(f.tableRows)} in the table (${f.strategy} strategy)`,
    );
  }
  lines.push(`  where:    ${f.database}; tables ${f.tables.join(', ')}`);
  if (total !== null) {
    const rate = total > 0 ? `, ${int(Math.round(f.rowsWritten / total))} similarity rows/s` : '';
    lines.push(`  time:     ${duration(total)}${rate}`);
  }
  const ranked = [...f.phases].sort((a, b) => b.seconds - a.seconds).slice(0, PHASES_SHOWN);
  if (ranked.length > 0) {
    const share = (s: number) => (total !== null && total > 0 ? ` (${Math.round((s / total) * 100)} %)` : '');
    lines.push(`  phases:   ${ranked.map((p) => `${p.name.startsWith(prefix) ? p.name.slice(prefix.length) : p.name} ${duration(p.seconds)}${share(p.seconds)}`).join(', ')}`);
  }
  const stall = find('reader_stall_max');
  if (stall && stall.seconds !== null) {
    lines.push(`  readers:  the application's ranked-similar query waited at most ${duration(stall.seconds)} during the swap (${int(stall.count)} queries timed)`);
  } else if (!f.stoppedAtBudget) {
    lines.push(`  readers:  not measured by the ${f.strategy} strategy (the parallel strategy times the application's query during its swap)`);
  }
  lines.push(`  measured: every phase in ${f.resultsFile} (--verbose prints the table)`);
  if (!f.stoppedAtBudget && f.exampleGene !== null) {
    lines.push(`  look:     ${o.lookCommand ?? `genesim similar ${f.exampleGene} --top 10`}`);
  }
  return lines;
}

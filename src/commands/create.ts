import path from 'node:path';
import { type Config, describeTarget } from '../config.js';
import { recordRun } from '../db/runLog.js';
import { migrate } from '../db/migrate.js';
import { type EngineEvent, Events, type Written } from '../engine/events.js';
import { saveResults } from '../report/results.js';
import { type Measurement, Timer } from '../report/timer.js';
import { strategyNamed } from '../strategies/index.js';
import { type ParallelRequest, runContext, type StrategyName } from '../strategies/types.js';
import type { Metric } from '../similarity/kernel.js';
import { checkTmpDir, diskFullError, isDiskFull, tempSpaceNeeded } from '../tempSpace.js';
import { describeSource, loadSource, type MatrixSource } from './source.js';
import { poolSizeFor, tuneParallel } from './tune.js';
import { asWriter, describeRun } from './writer.js';

export interface CreateOptions {
  strategy: StrategyName;
  source: MatrixSource;
  metric: Metric;
  replace: boolean;
  /** Results CSV path; default benchmarks/results/<strategy>.csv under the working directory. */
  results?: string;
  parallel: ParallelRequest;
  tmpDir?: string;
  /**
   * Stop the similarity load after this many seconds and roll back (the bench's time budget for
   * strategies too slow for a size); the results then carry `<strategy>_create_sims_stopped`.
   */
  budgetSeconds?: number;
  /** Seconds to wait for a running genesim writer (--wait-lock); 0 or absent refuses at once. */
  waitLockSeconds?: number;
  /** Parallel engine: seconds the swap may wait for its locks. */
  swapWaitSeconds?: number;
  /** The server's job this run is (`--job-id`, hidden); absent for a run from the command line. */
  jobId?: number;
}

export interface CreateOutcome {
  measurements: Measurement[];
  resultsFile: string;
  genes: number;
  degeneratePairs: number;
  /** True when the run was stopped at its budget and rolled back. */
  stoppedAtBudget: boolean;
  written: Written;
}

export function defaultResultsFile(strategy: string, operation = 'create'): string {
  return path.join('benchmarks', 'results', operation === 'create' ? `${strategy}.csv` : `${strategy}_${operation}.csv`);
}

/**
 * Reads and validates the whole input before touching the database, so bad input never
 * leaves anything behind; then, as the database's one writer, migrates if needed and runs the
 * strategy.
 */
export async function runCreate(config: Config, o: CreateOptions, onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<CreateOutcome> {
  const events = new Events(onEvent);
  const say = events.notice;
  checkTmpDir(o.tmpDir);
  const matrix = await loadSource(o.source);
  const n = matrix.genes.length;
  say(`${o.strategy}: ${describeSource(o.source)}: ${n} genes × ${matrix.datasets.length} datasets, ${(n * n).toLocaleString('en-US')} similarity rows (${o.metric})`);
  const writer = { command: describeRun('create', o.strategy, o.source), waitLockSeconds: o.waitLockSeconds ?? 0, connections: poolSizeFor(o.parallel), tmpDir: o.tmpDir };
  return asWriter(config, writer, say, signal, async (db, w) => {
    const client = await db.pool.connect();
    try {
      const { applied } = await migrate(client);
      if (applied.length > 0) say(`migrated: ${applied.join(', ')}`);
    } finally {
      client.release();
    }
    const parallel = await tuneParallel(db, o.parallel, say, o.strategy === 'parallel');
    const timer = new Timer(o.strategy, onEvent);
    // Before every phase: a run that lost its lock goes no further (a silent loss included).
    timer.gate = () => w.lock.assertHeld();
    const budget = o.budgetSeconds === undefined ? null : AbortSignal.timeout(o.budgetSeconds * 1000);
    const runSignal = budget ? AbortSignal.any([w.signal, budget]) : w.signal;
    const ctx = runContext({ db, matrix, metric: o.metric, replace: o.replace, timer, parallel, tmpDir: o.tmpDir, signal: runSignal, events, testFault: config.testFault, swapWaitSeconds: o.swapWaitSeconds, runId: w.lock.runId, writer: w.lock });
    const strategy = await strategyNamed(o.strategy);
    let stoppedAtBudget = false;
    try {
      await strategy.create(ctx);
    } catch (err) {
      timer.blame(err);
      if (isDiskFull(err)) throw diskFullError(o.tmpDir, tempSpaceNeeded(o.strategy, n, parallel));
      // Only the budget's own stop is an outcome; the user's Ctrl-C and every failure stay errors.
      if (!budget?.aborted || w.signal.aborted) throw err;
      stoppedAtBudget = true;
      say(`stopped at the ${o.budgetSeconds} s budget and rolled back: nothing was kept`);
    }
    timer.total(n * n);
    timer.record('degenerate_pairs', null, ctx.stats.degeneratePairs);
    if (ctx.stats.degeneratePairs > 0) {
      say(`${ctx.stats.degeneratePairs} pairs had fewer than 2 shared datasets or a zero norm and scored 0`);
    }
    const resultsFile = await saveResults(timer.measurements, { requested: o.results, defaultFile: defaultResultsFile(o.strategy), tmpDir: o.tmpDir }, say);
    const rows = stoppedAtBudget ? 0 : n * n;
    const written: Written = {
      genes: n,
      datasets: matrix.datasets.length,
      rowsWritten: rows,
      tableRows: rows,
      database: describeTarget(db.target),
      exampleGene: firstName(matrix.genes),
    };
    if (!stoppedAtBudget) {
      await noteRun(db.pool, say, { action: 'create', strategy: o.strategy, metric: o.metric, source: writer.command.replace(/^\S+ --strategy \S+ /, ''), genes: n, datasets: matrix.datasets.length, rowsWritten: rows, seconds: totalSeconds(timer.measurements), jobId: o.jobId ?? null });
    }
    return { measurements: timer.measurements, resultsFile, genes: n, degeneratePairs: ctx.stats.degeneratePairs, stoppedAtBudget, written };
  });
}

/** The first systematic name in sorted order: what the plan puts first, so the example is stable. */
export function firstName(genes: readonly string[]): string | null {
  let first: string | null = null;
  for (const g of genes) if (first === null || g < first) first = g;
  return first;
}

export function totalSeconds(measurements: readonly Measurement[]): number {
  return measurements.find((m) => m.metric.endsWith('_total'))?.seconds ?? 0;
}

/**
 * Records the finished run where the server's status page reads it. The matrix is written and
 * committed by now: a record that cannot be written (a role without CREATE) is a warning, not a
 * failed run.
 */
export async function noteRun(pool: Parameters<typeof recordRun>[0], say: (line: string) => void, r: Parameters<typeof recordRun>[1]): Promise<void> {
  await recordRun(pool, r).catch((err: Error) => say(`the run is not recorded in genesim_run (the status page will not show it): ${err.message}`));
}

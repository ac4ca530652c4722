import type pg from 'pg';
import { type Config, describeTarget } from '../config.js';
import { inTransaction, withClient } from '../db/connect.js';
import { migrate } from '../db/migrate.js';
import { citusParallel, citusSequential } from '../db/citus.js';
import { asCleanup } from '../db/runGuard.js';
import { RefusedError, tagCommitted } from '../errors.js';
import { saveResults } from '../report/results.js';
import { type Measurement, Stopwatch, Timer } from '../report/timer.js';
import { type EngineEvent, Events, type Written } from '../engine/events.js';
import { type Metric, prepare, scorePair, scoreRow } from '../similarity/kernel.js';
import { buildAndSwap } from '../strategies/parallel.js';
import { throwIfAborted } from '../strategies/classic.js';
import { SIM_TABLE } from '../strategies/sinks.js';
import { carryColumns, copyLiveRows, loadTableNames, planReplacement } from '../strategies/replacement.js';
import { type ParallelRequest, type RunContext, runContext } from '../strategies/types.js';
import { defaultResultsFile, firstName, noteRun, totalSeconds } from '../commands/create.js';
import { loadSource, type MatrixSource } from '../commands/source.js';
import { checkTmpDir, diskFullError, isDiskFull, tempSpaceNeeded } from '../tempSpace.js';
import { poolSizeFor, tuneParallel } from '../commands/tune.js';
import { asWriter, describeRun } from '../commands/writer.js';
import { type Fingerprint, readConsistently, requireUnchanged } from './fingerprint.js';
import { overlay, planUpdate, type UpdatePlan } from './plan.js';
import { assignIds, deleteRemoved, syncReferenceTables, type TargetIds } from './reference.js';
import { arraySink, emptyBatch, fileSink, perRowSink, type SinkOptions, stagedRowSink, type UpdateBatch, type UpdateSink, upsertSink } from './sims.js';
import { readStoredMatrix, storedMetrics } from './state.js';

export const UPDATE_STRATEGIES = ['baseline', 'bulk', 'copyfrom', 'copyfromfile', 'upsert', 'parallel'] as const;
export type UpdateStrategy = (typeof UPDATE_STRATEGIES)[number];

export interface UpdateOptions {
  strategy: UpdateStrategy;
  /** A matrix file or generator, or null to recompute from datasets_data (--from-db). */
  source: MatrixSource | null;
  metric: Metric;
  changedOnly: boolean;
  keepMissingGenes: boolean;
  results?: string;
  parallel: ParallelRequest;
  tmpDir?: string;
  /** Seconds to wait for a running genesim writer (--wait-lock); 0 or absent refuses at once. */
  waitLockSeconds?: number;
  /** Parallel engine: seconds the swap may wait for its locks. */
  swapWaitSeconds?: number;
  /** Parallel engine: reset the application's own columns instead of carrying their values over. */
  resetColumns?: boolean;
  /** The server's job this run is (`--job-id`, hidden); absent for a run from the command line. */
  jobId?: number;
}

export interface UpdateOutcome {
  measurements: Measurement[];
  resultsFile: string;
  changedRows: number;
  changedGenes: number;
  written: Written;
}

const SINKS: Record<Exclude<UpdateStrategy, 'parallel'>, (o: SinkOptions) => UpdateSink> = {
  baseline: perRowSink,
  bulk: arraySink,
  copyfrom: stagedRowSink,
  copyfromfile: fileSink,
  upsert: upsertSink,
};

/**
 * Brings every datasets_* table to what a fresh create from the target matrix would hold,
 * keeping the ids of genes and datasets that stay. One transaction for every strategy but
 * baseline, which runs in autocommit as Django's save() did.
 */
export async function runUpdate(config: Config, o: UpdateOptions, onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<UpdateOutcome> {
  const events = new Events(onEvent);
  const say = events.notice;
  checkTmpDir(o.tmpDir);
  const input = o.source === null ? null : await loadSource(o.source);
  const writer = { command: describeRun('update', o.strategy, o.source), waitLockSeconds: o.waitLockSeconds ?? 0, connections: poolSizeFor(o.parallel), tmpDir: o.tmpDir };
  return asWriter(config, writer, say, signal, async (db, w) => {
    const client = await db.pool.connect();
    let plan: UpdatePlan;
    let hasMatrix: boolean;
    // What was read, to be found unchanged where the update writes (--from-db, and the parallel engine).
    let source: Fingerprint | null = null;
    try {
      await migrate(client);
      const read = await readConsistently(client, () => readStoredMatrix(client));
      const stored = read.result;
      // The parallel engine rebuilds datasets, genes and values beside the live tables from a copy
      // taken before its load: an edit after that copy would be renamed away too.
      if (input === null || (o.strategy === 'parallel' && !o.changedOnly)) source = read.print;
      const metrics = await storedMetrics(client);
      const others = metrics.filter((m) => m !== o.metric);
      if (others.length > 0) {
        throw new RefusedError(`the similarity table holds ${others.join(', ')} scores; update keeps one metric (create --replace --metric ${o.metric} to switch)`);
      }
      hasMatrix = metrics.length > 0;
      const target = input === null ? stored : o.keepMissingGenes ? overlay(stored, input) : input;
      plan = planUpdate(stored, target);
      // The database keeps no record of which values its scores came from: with --from-db every
      // gene is a candidate, and --changed-only still writes only the rows whose score moved.
      if (input === null) {
        plan.changed.fill(1);
        plan.changedGenes = plan.changed.length;
      }
    } finally {
      client.release();
    }
    const n = plan.target.genes.length;
    say(
      `${o.strategy} update: ${n} genes (${plan.geneIds.filter((id) => id === 0).length} new, ${plan.removedGeneIds.length} removed, ` +
        `${plan.changedGenes} changed) × ${plan.target.datasets.length} datasets, ${o.metric}${o.changedOnly ? ', changed pairs only' : ''}`,
    );
    const engine = o.strategy === 'parallel' && !o.changedOnly ? 'parallel' : o.strategy === 'copyfromfile' ? 'copyfromfile' : 'none';
    const parallel = await tuneParallel(db, o.parallel, say, engine === 'parallel');
    const timer = new Timer(`${o.strategy}_update`, onEvent);
    // Before every phase: a run that lost its lock goes no further (a silent loss included).
    timer.gate = () => w.lock.assertHeld();
    const ctx = runContext({
      db, matrix: plan.target, metric: o.metric, replace: true, timer, parallel, tmpDir: o.tmpDir, signal: w.signal, events, runId: w.lock.runId, writer: w.lock,
      testFault: config.testFault, swapWaitSeconds: o.swapWaitSeconds, resetColumns: o.resetColumns,
    });
    // A check first thing in the transaction that writes, so the application's edit is never undone.
    const check = async (c: pg.ClientBase) => {
      if (source !== null) await requireUnchanged(c, source);
    };
    let changedRows: number;
    try {
      if (engine === 'parallel') {
        changedRows = await parallelUpdate(ctx, plan, check);
      } else {
        // --changed-only touches few rows: the parallel engine's full rebuild would be the wrong tool.
        const sink = SINKS[o.strategy === 'parallel' ? 'upsert' : o.strategy]({ metric: o.metric, onlyChanged: o.changedOnly, tmpDir: o.tmpDir });
        changedRows = await classicUpdate(ctx, plan, sink, {
          transactional: o.strategy !== 'baseline',
          changedOnly: o.changedOnly,
          hasMatrix,
          fileFirst: o.strategy === 'copyfromfile',
          check,
        });
      }
    } catch (err) {
      timer.blame(err);
      throw isDiskFull(err) ? diskFullError(o.tmpDir, tempSpaceNeeded(engine, n, parallel)) : err;
    }
    timer.total(n * n);
    timer.record('changed_rows', null, changedRows);
    timer.record('changed_genes', null, plan.changedGenes);
    const resultsFile = await saveResults(timer.measurements, { requested: o.results, defaultFile: defaultResultsFile(o.strategy, 'update'), tmpDir: o.tmpDir }, say);
    const written: Written = {
      genes: n,
      datasets: plan.target.datasets.length,
      rowsWritten: changedRows,
      tableRows: n * n,
      database: describeTarget(db.target),
      exampleGene: firstName(plan.target.genes),
    };
    const from = writer.command.replace(/^\S+ --strategy \S+ /, '');
    await noteRun(db.pool, say, { action: 'update', strategy: o.strategy, metric: o.metric, source: from, genes: n, datasets: written.datasets, rowsWritten: changedRows, seconds: totalSeconds(timer.measurements), jobId: o.jobId ?? null });
    return { measurements: timer.measurements, resultsFile, changedRows, changedGenes: plan.changedGenes, written };
  });
}

/** The reference tables a parallel update copies from the live ones and then brings to the target. */
const COPIED_TABLES = ['datasets_dataset', 'datasets_gene', 'datasets_data', 'datasets_datasetsimilarity'];

async function parallelUpdate(ctx: RunContext, plan: UpdatePlan, check: (client: pg.ClientBase) => Promise<void>): Promise<number> {
  const n = plan.target.genes.length;
  const replacement = await withClient(ctx.db.pool, (client) =>
    planReplacement(client, ctx.runId, {
      mode: 'update',
      genes: n,
      resetColumns: ctx.resetColumns,
      removedIds: { datasets_gene: plan.removedGeneIds, datasets_dataset: plan.removedDatasetIds },
    }),
  );
  for (const [table, columns] of replacement.carried) ctx.say(`carrying the application's values in ${columns.map((c) => `${table}.${c}`).join(', ')} over to the rows that remain`);
  // New genes' ids are drawn before the load (sequence values outlive a rollback: a failed run leaves a gap, nothing else).
  const ids = await withClient(ctx.db.pool, (client) => assignIds(client, plan));
  const tables = loadTableNames(replacement);
  await buildAndSwap(ctx, ids.geneIds, {
    plan: replacement,
    check,
    fill: async (main) => {
      // Rows that stay keep their ids and the application's own columns; then only the differences are applied.
      await ctx.timer.phase('copy_live', COPIED_TABLES.length, async () => {
        for (const t of COPIED_TABLES) await copyLiveRows(main, replacement, t);
      });
      await syncReferenceTables(main, plan, ids, ctx.metric, ctx.timer, tables);
      await deleteRemoved(main, plan, tables);
      await carryColumns(main, replacement, 'datasets_datasetsimilarity');
    },
    // Similarity ids are rewritten 1..N² by the pair rule; the other tables drew theirs from their sequences.
    sequenceValues: () => new Map([[SIM_TABLE, n * n]]),
  });
  return n * n;
}

interface ClassicUpdateOptions {
  transactional: boolean;
  changedOnly: boolean;
  /** The table already holds this metric's matrix: pairs of existing genes are UPDATEs. */
  hasMatrix: boolean;
  fileFirst: boolean;
  /** Runs first in the writing transaction (for baseline, in one of its own just before writing). */
  check: (client: pg.ClientBase) => Promise<void>;
}

async function classicUpdate(ctx: RunContext, plan: UpdatePlan, sink: UpdateSink, o: ClassicUpdateOptions): Promise<number> {
  const client = await ctx.db.pool.connect();
  // Similarity rows written so far: in autocommit (baseline) each is committed as it goes.
  // `sinkRows`: the part of `rows` the sink's finished batches account for.
  // `finish`: the progress's last unit, held back until the rows are committed.
  const progress: { rows: number; sinkRows: number; finish?: () => void } = { rows: 0, sinkRows: 0 };
  try {
    // Citus: reference tables written after multi-shard statements in one transaction (src/db/citus.ts).
    await citusSequential(client);
    const work = async () => {
      if (o.transactional) await o.check(client);
      const ids = await assignIds(client, plan);
      await syncReferenceTables(client, plan, ids, ctx.metric, ctx.timer);
      await ctx.timer.phase('delete_sims', plan.removedGeneIds.length, () => deleteSims(client, plan.removedGeneIds, !o.transactional, progress));
      await writeSims(ctx, client, plan, ids, sink, o, progress);
      await deleteRemoved(client, plan);
      throwIfAborted(ctx.signal);
      return progress.rows;
    };
    if (o.transactional) {
      const rows = await inTransaction(client, work, ctx.timer);
      progress.finish?.();
      return rows;
    }
    // Autocommit, as Django's save(): the check narrows the window but cannot close it.
    await inTransaction(client, () => o.check(client));
    try {
      const rows = await work();
      progress.finish?.();
      return rows;
    } catch (err) {
      // A batch cut short by the failure has committed rows of its own in autocommit.
      tagCommitted(err, progress.rows + Math.max(0, (sink.committed ?? 0) - progress.sinkRows));
      throw err;
    }
  } finally {
    await sink.dispose?.();
    await asCleanup(() => citusParallel(client)).then(
      () => client.release(),
      () => client.release(true),
    );
  }
}

/** Similarity rows of removed genes: one DELETE, or one per row as Django's delete() per object. */
async function deleteSims(client: pg.ClientBase, geneIds: number[], perRow: boolean, progress: { rows: number }): Promise<void> {
  if (geneIds.length === 0) return;
  if (!perRow) {
    const r = await client.query(`DELETE FROM ${SIM_TABLE} WHERE gene1_id = ANY($1) OR gene2_id = ANY($1)`, [geneIds]);
    progress.rows += r.rowCount ?? 0;
    return;
  }
  const { rows } = await client.query<{ id: number }>(`SELECT id FROM ${SIM_TABLE} WHERE gene1_id = ANY($1) OR gene2_id = ANY($1)`, [geneIds]);
  for (const { id } of rows) progress.rows += (await client.query(`DELETE FROM ${SIM_TABLE} WHERE id = $1`, [id])).rowCount ?? 0;
}

/**
 * Scores the pairs to write, one upper-triangle row at a time, and hands each row's batch to
 * the sink. With --changed-only only pairs with a changed gene are scored at all: a pair of
 * genes whose values did not change cannot change score.
 */
async function writeSims(
  ctx: RunContext,
  client: pg.ClientBase,
  plan: UpdatePlan,
  ids: TargetIds,
  sink: UpdateSink,
  o: ClassicUpdateOptions,
  progress: { rows: number; sinkRows: number; finish?: () => void },
): Promise<void> {
  const m = plan.target;
  const n = m.genes.length;
  const p = prepare(m.values, n, m.datasets.length, ctx.metric);
  const watch = new Stopwatch();
  const scores = new Int16Array(Math.max(n, 1));
  const isNewGene = (i: number) => !o.hasMatrix || plan.geneIds[i] === 0;
  const candidateRows = o.changedOnly ? plan.changedGenes * n : n * n;
  const bar = ctx.events.progress('updating', n);
  await sink.begin?.(client);
  await ctx.timer.phase(o.fileFirst ? 'write_file' : 'sims', candidateRows, async () => {
    for (let i = 0; i < n; i++) {
      throwIfAborted(ctx.signal);
      const b: UpdateBatch = emptyBatch();
      const add = (a: number, c: number, milli: number, isNew: boolean) => {
        b.gene1.push(ids.geneIds[a]!);
        b.gene2.push(ids.geneIds[c]!);
        b.milli.push(milli);
        b.isNew.push(isNew);
      };
      if (isNewGene(i)) add(i, i, 1000, true);
      if (!o.changedOnly || plan.changed[i]) {
        ctx.stats.degeneratePairs += watch.time(() => scoreRow(p, i, scores));
        for (let j = i + 1; j < n; j++) {
          const isNew = isNewGene(i) || isNewGene(j);
          add(i, j, scores[j - i - 1]!, isNew);
          add(j, i, scores[j - i - 1]!, isNew);
        }
      } else {
        for (let j = i + 1; j < n; j++) {
          if (!plan.changed[j]) continue;
          const s = watch.time(() => scorePair(p, i, j));
          if (Number.isNaN(s)) ctx.stats.degeneratePairs++;
          const milli = Number.isNaN(s) ? 0 : s;
          const isNew = isNewGene(i) || isNewGene(j);
          add(i, j, milli, isNew);
          add(j, i, milli, isNew);
        }
      }
      if (b.gene1.length > 0) {
        const written = await sink.write(client, b);
        progress.rows += written;
        progress.sinkRows += written;
      }
      // The last gene row counts once its rows are committed: a COPY of the file, its merge and
      // the COMMIT still follow, and a full bar then would say done while they run.
      if (i < n - 1) bar.tick(1);
      else progress.finish = () => bar.tick(1);
    }
  });
  bar.stop();
  if (sink.finish) progress.rows += await ctx.timer.phase('sims', candidateRows, () => sink.finish!(client));
  ctx.timer.record('compute', watch.seconds, o.changedOnly ? plan.changedGenes * n : (n * (n - 1)) / 2);
}


import type pg from 'pg';
import { type LastRun, lastRun } from '../db/runLog.js';

export interface MatrixSummary {
  genes: number;
  datasets: number;
  rows: number;
  /** True when `rows` is the planner's count after ANALYZE rather than count(*) (large tables). */
  rowsEstimated: boolean;
  metric: string | null;
  /** When the matrix was last written: by the last run in genesim_run, else the last job that succeeded. */
  updatedAt: string | null;
  /** The run that wrote it last, CLI runs and server jobs alike (jobId set for a job); null before any record. */
  lastWrite: LastRun | null;
}

/** Counting 42M rows on every poll of a status page would load the live database: past this the estimate is used. */
const EXACT_COUNT_LIMIT = 1_000_000;

/** What the database holds now; zeros before the first create. */
export async function matrixSummary(db: pg.Pool): Promise<MatrixSummary> {
  const exists = async (t: string) => (await db.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [t])).rows[0]!.t !== null;
  const count = async (t: string) => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n);
  const summary: MatrixSummary = { genes: 0, datasets: 0, rows: 0, rowsEstimated: false, metric: null, updatedAt: null, lastWrite: null };
  if (await exists('datasets_gene')) summary.genes = await count('datasets_gene');
  if (await exists('datasets_dataset')) summary.datasets = await count('datasets_dataset');
  if (await exists('datasets_genesimilarity')) {
    const { rows } = await db.query<{ n: number }>(`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'datasets_genesimilarity'::regclass`);
    const estimate = rows[0]!.n;
    summary.rowsEstimated = estimate > EXACT_COUNT_LIMIT;
    summary.rows = summary.rowsEstimated ? Math.round(estimate) : await count('datasets_genesimilarity');
    summary.metric = (await db.query<{ metric: string }>('SELECT metric FROM datasets_genesimilarity LIMIT 1')).rows[0]?.metric ?? null;
  }
  if (await exists('genesim_job')) {
    const { rows } = await db.query<{ at: Date | null }>(`SELECT max(finished_at) AS at FROM genesim_job WHERE state = 'succeeded'`);
    summary.updatedAt = rows[0]?.at?.toISOString() ?? null;
  }
  summary.lastWrite = await lastRun(db);
  if (summary.lastWrite && (summary.updatedAt === null || summary.lastWrite.finishedAt > summary.updatedAt)) summary.updatedAt = summary.lastWrite.finishedAt;
  return summary;
}

import type pg from 'pg';
import { inTransaction, withClient } from './connect.js';

/**
 * One row per create or update that finished, CLI runs and server jobs alike (a server job is
 * the CLI in a child process, so both write here): the status page's "last written by" comes
 * from this table, which the server can read whoever wrote the matrix.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS genesim_run (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  action text NOT NULL,
  strategy text NOT NULL,
  metric text NOT NULL,
  source text NOT NULL,
  genes integer NOT NULL,
  datasets integer NOT NULL,
  rows_written bigint NOT NULL,
  seconds double precision NOT NULL,
  job_id bigint,
  finished_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE genesim_run IS 'genesim: every create and update that finished (CLI runs and server jobs); job_id is set for server jobs';
`;
/** Serialises the DDL of runs starting at once (IF NOT EXISTS alone races on the catalog). */
const DDL_LOCK_KEY = 815_271_003;

export interface RunRecord {
  action: 'create' | 'update';
  strategy: string;
  metric: string;
  /** What the matrix was read from, as the lock holder names it: "--input yeast.tsv", "--from-db". */
  source: string;
  genes: number;
  datasets: number;
  rowsWritten: number;
  seconds: number;
  /** The server's job this run was; null for a run from the command line. */
  jobId: number | null;
}

export interface LastRun extends RunRecord {
  finishedAt: string;
}

/** Appends the record of a finished run, making the table on first use. */
export async function recordRun(pool: pg.Pool, r: RunRecord): Promise<void> {
  await withClient(pool, (client) => inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [DDL_LOCK_KEY]);
    await client.query(DDL);
    await client.query(
      `INSERT INTO genesim_run (action, strategy, metric, source, genes, datasets, rows_written, seconds, job_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [r.action, r.strategy, r.metric, r.source, r.genes, r.datasets, r.rowsWritten, r.seconds, r.jobId],
    );
  }));
}

/** The run that wrote the matrix last, or null before any (or in a database written before this table). */
export async function lastRun(db: pg.Pool | pg.ClientBase): Promise<LastRun | null> {
  const exists = (await db.query<{ t: string | null }>(`SELECT to_regclass('genesim_run') AS t`)).rows[0]!.t !== null;
  if (!exists) return null;
  const { rows } = await db.query<{
    action: 'create' | 'update'; strategy: string; metric: string; source: string; genes: number; datasets: number;
    rows_written: string; seconds: number; job_id: string | null; finished_at: Date;
  }>('SELECT * FROM genesim_run ORDER BY finished_at DESC, id DESC LIMIT 1');
  const r = rows[0];
  if (!r) return null;
  return {
    action: r.action, strategy: r.strategy, metric: r.metric, source: r.source, genes: r.genes, datasets: r.datasets,
    rowsWritten: Number(r.rows_written), seconds: r.seconds, jobId: r.job_id === null ? null : Number(r.job_id),
    finishedAt: r.finished_at.toISOString(),
  };
}

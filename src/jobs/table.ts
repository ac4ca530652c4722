import type pg from 'pg';
import { inTransaction, withClient } from '../db/connect.js';

/**
 * The job table, in the application's database so Django reads it too. A partial unique index
 * lets at most one job be queued or running across every server instance: the second insert
 * fails in the database itself, not in a check that two instances could pass at once.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS genesim_job (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  action text NOT NULL CHECK (action IN ('create', 'update')),
  parameters jsonb NOT NULL,
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  phase text,
  rows_done bigint,
  rows_total bigint,
  eta_seconds double precision,
  timings jsonb NOT NULL DEFAULT '[]',
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  heartbeat_at timestamptz,
  instance text,
  cancel_requested_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS genesim_job_one_active ON genesim_job ((true)) WHERE state IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS genesim_job_created_at ON genesim_job (created_at DESC);
-- Added after the first release: a table made by an older genesim gains it here.
ALTER TABLE genesim_job ADD COLUMN IF NOT EXISTS phase_started_at timestamptz;
-- What rows_done counts when it is not similarity rows (index builds); NULL means rows.
ALTER TABLE genesim_job ADD COLUMN IF NOT EXISTS progress_unit text;
COMMENT ON TABLE genesim_job IS 'genesim serve: create and update jobs (state queued/running/succeeded/failed/cancelled)';
`;
/** Serialises the DDL of instances starting at once (IF NOT EXISTS alone races on the catalog). */
const DDL_LOCK_KEY = 815_271_002;

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export type FinalState = Extract<JobState, 'succeeded' | 'failed' | 'cancelled'>;

export interface Timing {
  metric: string;
  seconds: number | null;
  count: number;
}

/** A job as the API returns it. */
export interface Job {
  id: number;
  action: 'create' | 'update';
  parameters: Record<string, unknown>;
  state: JobState;
  phase: string | null;
  /** When the current phase began (the status page draws it growing); null between phases. */
  phaseStartedAt: string | null;
  rowsDone: number | null;
  rowsTotal: number | null;
  /** What rowsDone and rowsTotal count: 'rows', or the steps of a phase ('index builds'). */
  progressUnit: string;
  etaSeconds: number | null;
  timings: Timing[];
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  heartbeatAt: string | null;
}

interface JobRow {
  id: string;
  action: 'create' | 'update';
  parameters: Record<string, unknown>;
  state: JobState;
  phase: string | null;
  phase_started_at: Date | null;
  rows_done: string | null;
  rows_total: string | null;
  progress_unit: string | null;
  eta_seconds: number | null;
  timings: Timing[];
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  heartbeat_at: Date | null;
}

const num = (v: string | null) => (v === null ? null : Number(v));
const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function toJob(r: JobRow): Job {
  return {
    id: Number(r.id),
    action: r.action,
    parameters: r.parameters,
    state: r.state,
    phase: r.phase,
    phaseStartedAt: iso(r.phase_started_at),
    rowsDone: num(r.rows_done),
    rowsTotal: num(r.rows_total),
    progressUnit: r.progress_unit ?? 'rows',
    etaSeconds: r.eta_seconds,
    // jsonb keeps keys in its own order; the API's is metric, seconds, count.
    timings: r.timings.map((t) => ({ metric: t.metric, seconds: t.seconds, count: t.count })),
    error: r.error,
    createdAt: r.created_at.toISOString(),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    heartbeatAt: iso(r.heartbeat_at),
  };
}

type Db = pg.Pool | pg.ClientBase;

export async function ensureJobTable(pool: pg.Pool): Promise<void> {
  await withClient(pool, (client) => inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [DDL_LOCK_KEY]);
    await client.query(DDL);
  }));
}

/** The job that is queued or running now, on any instance. */
export async function activeJob(db: Db): Promise<Job | null> {
  const { rows } = await db.query<JobRow>(`SELECT * FROM genesim_job WHERE state IN ('queued', 'running')`);
  return rows[0] ? toJob(rows[0]) : null;
}

/** Inserts a queued job, or returns null when another job is active (the unique index said so). */
export async function insertJob(db: Db, action: Job['action'], parameters: Record<string, unknown>, instance: string): Promise<Job | null> {
  try {
    const { rows } = await db.query<JobRow>(`INSERT INTO genesim_job (action, parameters, instance, heartbeat_at) VALUES ($1, $2, $3, now()) RETURNING *`, [action, parameters, instance]);
    return toJob(rows[0]!);
  } catch (err) {
    if ((err as { code?: string; constraint?: string }).constraint === 'genesim_job_one_active') return null;
    throw err;
  }
}

export async function getJob(db: Db, id: number): Promise<Job | null> {
  const { rows } = await db.query<JobRow>('SELECT * FROM genesim_job WHERE id = $1', [id]);
  return rows[0] ? toJob(rows[0]) : null;
}

export async function recentJobs(db: Db, limit = 50): Promise<Job[]> {
  const { rows } = await db.query<JobRow>('SELECT * FROM genesim_job ORDER BY created_at DESC, id DESC LIMIT $1', [limit]);
  return rows.map(toJob);
}

export async function markRunning(db: Db, id: number): Promise<void> {
  await db.query(`UPDATE genesim_job SET state = 'running', started_at = now(), heartbeat_at = now() WHERE id = $1`, [id]);
}

export interface JobProgress {
  phase: string | null;
  phaseStartedAt: string | null;
  rowsDone: number | null;
  rowsTotal: number | null;
  progressUnit: string;
  etaSeconds: number | null;
  timings: Timing[];
}

/** progress_unit holds only what is not rows, so rows stay the column's NULL as before it existed. */
const unitColumn = (p: JobProgress) => (p.progressUnit === 'rows' ? null : p.progressUnit);

/** Writes what the job reported and beats its heart; says whether someone asked to cancel it. */
export async function heartbeat(db: Db, id: number, p: JobProgress): Promise<{ cancelRequested: boolean }> {
  const { rows } = await db.query<{ cancel: boolean }>(
    `UPDATE genesim_job SET phase = $2, rows_done = $3, rows_total = $4, eta_seconds = $5, timings = $6, phase_started_at = $7, progress_unit = $8, heartbeat_at = now()
      WHERE id = $1 RETURNING cancel_requested_at IS NOT NULL AS cancel`,
    [id, p.phase, p.rowsDone, p.rowsTotal, p.etaSeconds, JSON.stringify(p.timings), p.phaseStartedAt, unitColumn(p)],
  );
  return { cancelRequested: rows[0]?.cancel ?? false };
}

export async function finishJob(db: Db, id: number, state: FinalState, error: string | null, p: JobProgress): Promise<Job> {
  const { rows } = await db.query<JobRow>(
    `UPDATE genesim_job SET state = $2, error = $3, phase = $4, rows_done = $5, rows_total = $6, eta_seconds = NULL, timings = $7,
            phase_started_at = NULL, progress_unit = $8, finished_at = now(), heartbeat_at = now()
      WHERE id = $1 RETURNING *`,
    [id, state, error, p.phase, p.rowsDone, p.rowsTotal, JSON.stringify(p.timings), unitColumn(p)],
  );
  return toJob(rows[0]!);
}

/**
 * Asks a job to stop. A queued one is cancelled at once; a running one is flagged, and the
 * instance running it (this one or another) signals its process at its next heartbeat.
 */
export async function requestCancel(db: Db, id: number): Promise<Job | null> {
  // Null for a job that is not active (the route tells an unknown job from an ended one).
  const { rows } = await db.query<JobRow>(
    `UPDATE genesim_job SET cancel_requested_at = coalesce(cancel_requested_at, now()) WHERE id = $1 AND state IN ('queued', 'running') RETURNING *`,
    [id],
  );
  return rows[0] ? toJob(rows[0]) : null;
}

/**
 * Jobs left queued or running by an instance that stopped beating (a crash, a killed VM) are
 * failed with the reason, so the one-active-job rule does not block every later job.
 */
export async function failStale(db: Db, staleSeconds: number): Promise<Job[]> {
  const { rows } = await db.query<JobRow>(
    `UPDATE genesim_job
        -- Timed to its last sign of life: the time until someone noticed is not how long it ran.
        SET state = 'failed', finished_at = coalesce(heartbeat_at, started_at, created_at), phase_started_at = NULL,
            error = 'no heartbeat since ' || to_char(coalesce(heartbeat_at, started_at, created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                    || ' (more than ' || $1::text || ' s): the server running it stopped'
      WHERE state IN ('queued', 'running') AND coalesce(heartbeat_at, started_at, created_at) < now() - make_interval(secs => $1)
      RETURNING *`,
    [staleSeconds],
  );
  return rows.map(toJob);
}

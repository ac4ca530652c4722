import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { clientConfig } from '../src/db/connect.js';
import { simChecksum, sql, startCli as startRunningCli, type TestDatabase } from './helpers.js';

/**
 * Fault injection against a real run: the CLI runs as a child process, its phases are found
 * on the server (pg_stat_activity), not in its output, so the tests hold whatever the engine's
 * messages or load-table names become.
 */

/** A statement of a phase, as pg_stat_activity shows it while it runs. */
export const PHASES = {
  /** The similarity rows' COPY: into the load table, a staging table or the live table (classic). */
  copy: /^\s*COPY\s+\S*genesim/i,
  /** The parallel engine's similarity COPY into its load table, the longest COPY of a run (by-hand measurements). */
  simcopy: /^\s*COPY\s+\S*datasets_genesimilarity__genesim/i,
  index: /^\s*CREATE (UNIQUE )?INDEX/i,
  analyze: /^\s*ANALYZE/i,
  /** The swap asking for its locks on the live tables; found while it waits for a reader's lock (see holdReader). */
  swap: /^\s*LOCK TABLE\b/i,
  upsert: /^\s*INSERT INTO datasets_genesimilarity\b[\s\S]*ON CONFLICT/i,
  insert: /^\s*INSERT INTO datasets_genesimilarity\b/i,
  commit: /^\s*COMMIT/i,
} as const;

export interface Run {
  child: ChildProcess;
  stderr: () => string;
  /** Resolves when the child exits: its code, and the time from `markStop()` to the exit. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stopMs: number | null }>;
  markStop(): void;
}

/** helpers.startCli, timed: from `markStop()` (the fault) to the process's exit. */
export function startCli(args: string[], env: NodeJS.ProcessEnv): Run {
  const { child, stderr } = startRunningCli(args, env);
  let stopAt: number | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stopMs: number | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stopMs: stopAt === null ? null : performance.now() - stopAt })),
  );
  return { child, stderr, exited, markStop: () => (stopAt = performance.now()) };
}

/**
 * Polls the server until a backend of the test database (other than ours) runs a statement
 * matching `pattern`; with `waitingForLock`, only one blocked on a lock; with `lastStatement`, also
 * an idle backend whose last statement matched (round trips too short to catch running). Fails if the run
 * ends first: the phase was never reached.
 */
export async function waitForStatement(
  t: TestDatabase,
  pattern: RegExp,
  run: Run,
  o: { waitingForLock?: boolean; lastStatement?: boolean; timeoutMs?: number } = {},
): Promise<{ pid: number; query: string }> {
  const c = new pg.Client(clientConfig(t.target));
  await c.connect();
  let ended = false;
  void run.exited.then(() => (ended = true));
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  try {
    for (;;) {
      const { rows } = await c.query<{ pid: number; query: string }>(
        `SELECT pid, query FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND ($2 OR state = 'active')
            AND ($1 = false OR wait_event_type = 'Lock')`,
        [o.waitingForLock ?? false, o.lastStatement ?? false],
      );
      const hit = rows.find((r) => pattern.test(r.query));
      if (hit) return hit;
      if (ended) assert.fail(`the run ended before a statement matching ${pattern} ran\n${run.stderr()}`);
      if (Date.now() > deadline) assert.fail(`no statement matching ${pattern} within ${o.timeoutMs ?? 120_000} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await c.end();
  }
}

/**
 * A reader of the live similarity table holding its ACCESS SHARE lock, as the application
 * does during a long query: the swap's LOCK TABLE waits for it (and retries), so the test can act
 * while the swap is in progress, whatever the engine does before it.
 */
export async function holdReader(t: TestDatabase): Promise<{ release(): Promise<void> }> {
  const c = new pg.Client(clientConfig(t.target));
  c.on('error', () => undefined);
  await c.connect();
  await c.query('BEGIN');
  await c.query('SELECT 1 FROM datasets_genesimilarity LIMIT 1');
  return {
    release: async () => {
      await c.query('ROLLBACK').catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}

export async function terminateBackend(t: TestDatabase, pid: number): Promise<void> {
  const [r] = await sql<{ ok: boolean }>(t, 'SELECT pg_terminate_backend($1) AS ok', [pid]);
  assert.equal(r!.ok, true, `backend ${pid} was not there to terminate`);
}

/**
 * Tables and sequences a run made and should have removed: the load table under its old
 * name and any name containing `genesim` that is not the live table, its sequence or the
 * migrations record (per-run load tables, staging tables).
 */
export async function leftoverRelations(t: TestDatabase): Promise<string[]> {
  const rows = await sql<{ relname: string }>(
    t,
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'S', 'u') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast%'
        AND (c.relname LIKE 'datasets_genesimilarity_load%' OR c.relname ~ 'genesim')
        -- genesim_run is the record of finished runs, kept on purpose.
        AND c.relname NOT IN ('datasets_genesimilarity', 'datasets_genesimilarity_id_seq', 'genesim_migrations', 'genesim_migrations_id_seq', 'genesim_run', 'genesim_run_id_seq')
      ORDER BY 1`,
  );
  return rows.map((r) => r.relname);
}

export function tempFilesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith('genesim-'));
}

/** What a failed or stopped run must leave: the matrix as before, nothing of its own. */
export async function assertNothingKept(t: TestDatabase, before: { rows: number; md5: string }, tmp: string, stderr: string): Promise<void> {
  assert.deepEqual(await simChecksum(t), before, `the matrix changed\n${stderr}`);
  assert.deepEqual(await leftoverRelations(t), [], `load or staging tables left\n${stderr}`);
  assert.deepEqual(tempFilesIn(tmp), [], `temp files left\n${stderr}`);
}

/** The run's last stderr line (its verdict), and that it printed no stack trace. */
export function verdict(stderr: string): string {
  assert.doesNotMatch(stderr, /^\s+at /m, `a stack trace was printed:\n${stderr}`);
  assert.doesNotMatch(stderr, /Unhandled|uncaught/i, stderr);
  const lines = stderr.trim().split('\n');
  return lines[lines.length - 1]!;
}

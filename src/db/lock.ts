import pg from 'pg';
import { LockLostError, RefusedError } from '../errors.js';
import { newRunId } from './loadNames.js';

/**
 * The one-writer lock: a session-level advisory lock on the database, held on a connection of
 * its own for a whole create or update. CLI runs and server jobs take the same key, so they
 * exclude each other across processes and instances.
 */
export const WRITER_LOCK_KEY = 815_271_001;
/**
 * First half of a run's own two-key advisory lock (the second is its run id), taken on the
 * writer lock's connection: while it is held the run is alive, whatever its tables look like.
 */
export const RUN_LOCK_CLASS = 815_271_002;

/** The run id's 8 hex digits as PostgreSQL's int4 (the lock functions) and as pg_locks' objid (an oid). */
const runKey = (runId: string) => ({ int4: Number.parseInt(runId, 16) | 0, oid: String(Number.parseInt(runId, 16)) });

const HELD_SQL = `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1 AND classid = 0 AND objid = $2 AND objsubid = 1
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS held`;

/** Whether the run `runId` is alive: its run lock is held (by its writer lock's connection). */
export async function runLockHeld(client: pg.ClientBase, runId: string): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2::oid AND objsubid = 2
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS held`,
    [RUN_LOCK_CLASS, runKey(runId).oid],
  );
  return rows[0]!.held;
}

/** application_name of the holding connection: how a refused run can name the running one. */
const TAG = 'genesim';

export interface LockHolder {
  /** The genesim process's pid (from its application_name), else the backend's. */
  pid: number;
  /** When the holder connected, which is when it took the lock. */
  since: Date;
  /** What the holder runs, as it described itself ("create --strategy parallel"). */
  command: string;
}

export interface WriterLock {
  /** The run's id: its load tables carry it, and a lock of its own (`runLockHeld`) says the run is alive. */
  runId: string;
  /** Aborted, with a LockLostError, when the lock's connection errs or ends. */
  lost: AbortSignal;
  /**
   * Throws the LockLostError unless the lock is provably still held: asked on the lock's own
   * connection, or on `via` (the swap's connection, inside its transaction, so the swap commits
   * only while the lock is held).
   */
  assertHeld(via?: pg.ClientBase): Promise<void>;
  /** From here on a loss is reported as one after the swap (the new tables are in place). */
  markSwapped(): void;
  release(): Promise<void>;
}

/** `genesim pid=123 create --strategy parallel`, cut to PostgreSQL's 63-byte limit. */
export function holderTag(command: string, pid = process.pid): string {
  return Buffer.from(`${TAG} pid=${pid} ${command}`).subarray(0, 63).toString().replace(/\uFFFD$/, '');
}

/** Who holds the writer lock on this database, or null. */
export async function lockHolder(client: pg.ClientBase): Promise<LockHolder | null> {
  const { rows } = await client.query<{ pid: number; since: Date; app: string }>(
    `SELECT a.pid, a.backend_start AS since, a.application_name AS app
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [WRITER_LOCK_KEY],
  );
  const r = rows[0];
  if (!r) return null;
  const m = /^genesim pid=(\d+) (.*)$/.exec(r.app);
  return { pid: m ? Number(m[1]) : r.pid, since: r.since, command: m ? m[2]! : r.app || '(another client)' };
}

export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid}, started ${h.since.toISOString()}, ${h.command}`;
}

/**
 * Takes the writer lock on a connection of its own. Refuses at once (exit 3), naming the
 * running writer, unless `waitSeconds` > 0, in which case it polls until then.
 */
export async function acquireWriterLock(
  config: pg.ClientConfig,
  command: string,
  o: { waitSeconds?: number; signal?: AbortSignal; say?: (line: string) => void } = {},
): Promise<WriterLock> {
  // keepAlive: a connection dropped silently (a NAT, a pooler) ends instead of seeming held forever.
  const client = new pg.Client({ ...config, application_name: holderTag(command), keepAlive: true });
  const lost = new AbortController();
  let releasing = false;
  let swapped = false;
  const lose = (why: string) => {
    if (!releasing && !lost.signal.aborted) lost.abort(new LockLostError(why, swapped));
  };
  // The lock dies with its connection: that is a loss to report, never a crash.
  client.on('error', (err) => lose(`its connection failed: ${err.message}`));
  client.on('end', () => lose('its connection ended'));
  await client.connect();
  let runId = '';
  try {
    const deadline = Date.now() + (o.waitSeconds ?? 0) * 1000;
    let told = false;
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [WRITER_LOCK_KEY]);
      if (rows[0]!.ok) break;
      const holder = await lockHolder(client);
      const who = holder ? describeHolder(holder) : 'a run that just ended';
      if (Date.now() >= deadline) {
        throw new RefusedError(`another genesim run holds the database (${who}); try again when it ends, or pass --wait-lock SECONDS`);
      }
      if (!told) o.say?.(`waiting for the running genesim to finish (${who})`);
      told = true;
      if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(50, deadline - Date.now()))));
    }
    // A run id no live run has (a clash is one in four billion, and then another is drawn).
    for (;;) {
      runId = newRunId();
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [RUN_LOCK_CLASS, runKey(runId).int4]);
      if (rows[0]!.ok) break;
    }
  } catch (err) {
    releasing = true;
    await client.end().catch(() => undefined);
    throw err;
  }
  const pid = (client as unknown as { processID: number }).processID;
  return {
    runId,
    lost: lost.signal,
    assertHeld: async (via) => {
      if (lost.signal.aborted) throw lost.signal.reason;
      let held: boolean;
      try {
        held = (await (via ?? client).query<{ held: boolean }>(HELD_SQL, [pid, WRITER_LOCK_KEY])).rows[0]!.held;
      } catch (err) {
        if (lost.signal.aborted) throw lost.signal.reason;
        // A failure of the swap's own connection is that connection's to report.
        if (via) throw err;
        lose(`its connection failed: ${(err as Error).message}`);
        throw lost.signal.reason;
      }
      if (!held) lose(`pg_locks no longer shows backend ${pid} holding it`);
      if (lost.signal.aborted) throw lost.signal.reason;
    },
    markSwapped: () => {
      swapped = true;
    },
    release: async () => {
      releasing = true;
      await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

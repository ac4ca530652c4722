import pg from 'pg';
import { RefusedError } from '../errors.js';

/**
 * The one-writer lock: a session-level advisory lock on the database, held on a connection of
 * its own for a whole create or update. CLI runs and server jobs take the same key, so they
 * exclude each other across processes and instances.
 */
export const WRITER_LOCK_KEY = 815_271_001;

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
  const client = new pg.Client({ ...config, application_name: holderTag(command) });
  // The lock dies with its connection; an error on it later must not crash the process.
  client.on('error', () => undefined);
  await client.connect();
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
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return {
    release: async () => {
      await client.query('SELECT pg_advisory_unlock($1)', [WRITER_LOCK_KEY]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

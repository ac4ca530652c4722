import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { type Config, describeTarget } from '../config.js';
import { UsageError } from '../errors.js';
import { connectionError } from './connectErrors.js';
import type { Timer } from '../report/timer.js';
import type { RunningServer, ServerTarget } from './embedded.js';
import { asCleanup, guardPool } from './runGuard.js';

export interface Database {
  pool: pg.Pool;
  /** Cancels the run's statements still running on the server (a failed run's siblings of the statement that failed). */
  cancelRunning(): Promise<void>;
  target: ServerTarget;
  close(): Promise<void>;
}

export function clientConfig(t: ServerTarget): pg.ClientConfig {
  return { host: t.host, port: t.port, user: t.user, password: t.password, database: t.database, ssl: tlsOptions(t) };
}

/**
 * libpq's sslmode in node-postgres terms. `allow` and `prefer` connect without TLS: node-postgres
 * cannot retry a refused TLS handshake in plain text as libpq does, and plain is what a server
 * without TLS (the common case on one machine) accepts.
 */
function tlsOptions(t: ServerTarget): false | ConnectionOptions {
  const mode = t.sslmode ?? 'disable';
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  let ca: string | undefined;
  if (t.sslrootcert !== undefined) {
    try {
      ca = readFileSync(t.sslrootcert, 'utf8');
    } catch (err) {
      throw new UsageError(`invalid configuration: sslrootcert ${t.sslrootcert}: ${(err as Error).message}`);
    }
  }
  if (mode === 'require' && ca === undefined) return { rejectUnauthorized: false };
  if (mode === 'verify-ca' && ca === undefined) throw new UsageError('invalid configuration: sslmode=verify-ca needs a root certificate (sslrootcert or PGSSLROOTCERT)');
  // verify-ca (and require with a root certificate, as libpq): the chain is checked, not the host name.
  return mode === 'verify-full' ? { ca } : { ca, checkServerIdentity: () => undefined };
}

export async function resolveServer(config: Config, say: (line: string) => void): Promise<RunningServer> {
  if (config.db.kind === 'server') return { target: config.db, stop: async () => undefined };
  say(`no database configured (DATABASE_URL / PG* unset): using ${describeTarget(config.db)}`);
  // Imported on demand: only a run on the embedded server needs its package.
  const { startEmbedded } = await import('./embedded.js');
  return startEmbedded(config.db, say);
}

/**
 * One pool for the whole run. `max` is the number of connections the strategy may hold at
 * once; the embedded server, if any, lives exactly as long as the pool. With the run's
 * `signal`, stopping the run cancels the statements running on every connection of the pool.
 */
export async function openDatabase(config: Config, say: (line: string) => void, max = 4, signal?: AbortSignal): Promise<Database> {
  const server = await resolveServer(config, say);
  const pool = new pg.Pool({ ...clientConfig(server.target), max });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const guard = guardPool(pool, clientConfig(server.target), signal ?? new AbortController().signal);
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end();
    await server.stop();
    throw connectionError(err, server.target);
  }
  return {
    pool,
    cancelRunning: guard.cancelRunning,
    target: server.target,
    close: async () => {
      await guard.settled();
      await pool.end();
      await server.stop();
    },
  };
}

/**
 * Runs `work` inside BEGIN/COMMIT on one client, rolling back on any error. With a timer the
 * COMMIT is a phase of its own: deferred foreign keys are checked there, row by row.
 */
export async function inTransaction<T>(client: pg.PoolClient | pg.Client, work: () => Promise<T>, timer?: Timer): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    if (timer) await timer.phase('commit', 1, () => client.query('COMMIT'));
    else await client.query('COMMIT');
    return result;
  } catch (err) {
    await asCleanup(() => client.query('ROLLBACK')).catch(() => undefined);
    throw err;
  }
}

/** Borrows a pooled connection for `work`, giving it back whatever happens. */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await work(client);
  } finally {
    client.release();
  }
}

/** Creates database `name` on the server unless it exists. */
export async function ensureDatabase(target: ServerTarget, name: string): Promise<void> {
  const admin = new pg.Client({ ...clientConfig(target), database: 'postgres' });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

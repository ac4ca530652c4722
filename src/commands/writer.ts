import path from 'node:path';
import type { Config } from '../config.js';
import { clientConfig, type Database, openDatabase, withClient } from '../db/connect.js';
import { dropLeftoverTables } from '../db/leftovers.js';
import { acquireWriterLock, type WriterLock } from '../db/lock.js';
import { removeDeadTempFiles } from '../tempFiles.js';
import type { MatrixSource } from './source.js';

export interface WriterOptions {
  /** How the run names itself to a run it makes wait or refuses: "create --strategy parallel --input x.tsv". */
  command: string;
  /** Wait this long for a running writer to finish; 0 refuses at once (exit 3). */
  waitLockSeconds: number;
  /** Pool size for the run. */
  connections: number;
  tmpDir?: string;
}

/** The lock holder's summary of a run, short enough for application_name's 63 bytes. */
export function describeRun(operation: 'create' | 'update', strategy: string, source: MatrixSource | null): string {
  const from = source === null ? '--from-db' : 'input' in source ? `--input ${path.basename(source.input)}` : `--genes ${source.genes}`;
  return `${operation} --strategy ${strategy} ${from}`;
}

/** What a writer's work runs with: the run's stop signal (the caller's, or the lock lost) and its lock. */
export interface WriterRun {
  signal: AbortSignal;
  lock: WriterLock;
}

/**
 * A create or update as the database's one writer: connect, take the writer lock before
 * reading or writing anything, clear what killed runs left, run `work`, release the lock on
 * every way out (an exit without `finally`, kill -9 included, ends the lock's connection and
 * with it the lock). Losing the lock stops `work` as the caller's signal does (the pool's
 * statements cancelled, rolled back, its own tables dropped) and the run fails with that loss.
 */
export async function asWriter<T>(
  config: Config,
  o: WriterOptions,
  say: (line: string) => void,
  signal: AbortSignal,
  work: (db: Database, run: WriterRun) => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  const follow = (s: AbortSignal) => (s.aborted ? stop.abort(s.reason) : s.addEventListener('abort', () => stop.abort(s.reason), { once: true }));
  follow(signal);
  const db = await openDatabase(config, say, o.connections, stop.signal);
  try {
    const lock = await acquireWriterLock(clientConfig(db.target), o.command, { waitSeconds: o.waitLockSeconds, signal, say });
    follow(lock.lost);
    try {
      await withClient(db.pool, (client) => dropLeftoverTables(client, say, lock.runId));
      await removeDeadTempFiles(o.tmpDir, say);
      await lock.assertHeld();
      return await work(db, { signal: stop.signal, lock });
    } catch (err) {
      // Whatever failed after the loss (a cancelled statement, a refused query) is the loss itself;
      // a Ctrl-C that came first stays the Ctrl-C.
      throw lock.lost.aborted && !signal.aborted ? lock.lost.reason : err;
    } finally {
      await lock.release();
    }
  } finally {
    await db.close();
  }
}

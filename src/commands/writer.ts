import path from 'node:path';
import type { Config } from '../config.js';
import { clientConfig, type Database, openDatabase, withClient } from '../db/connect.js';
import { dropLeftoverTables } from '../db/leftovers.js';
import { acquireWriterLock } from '../db/lock.js';
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

/**
 * A create or update as the database's one writer: connect, take the writer lock before
 * reading or writing anything, clear what killed runs left, run `work`, release the lock on
 * every way out (an exit without `finally`, kill -9 included, ends the lock's connection and
 * with it the lock).
 */
export async function asWriter<T>(
  config: Config,
  o: WriterOptions,
  say: (line: string) => void,
  signal: AbortSignal,
  work: (db: Database) => Promise<T>,
): Promise<T> {
  const db = await openDatabase(config, say, o.connections, signal);
  try {
    const lock = await acquireWriterLock(clientConfig(db.target), o.command, { waitSeconds: o.waitLockSeconds, signal, say });
    try {
      await withClient(db.pool, (client) => dropLeftoverTables(client, say));
      await removeDeadTempFiles(o.tmpDir, say);
      return await work(db);
    } finally {
      await lock.release();
    }
  } finally {
    await db.close();
  }
}

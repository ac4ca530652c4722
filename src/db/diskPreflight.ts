import { statfs } from 'node:fs/promises';
import type pg from 'pg';
import { databaseBytesNeeded, describeShortfall, STORED_BYTES_PER_ROW } from '../diskNeeds.js';
import { RefusedError } from '../errors.js';
import { isLocalHost } from './serverFacts.js';

/**
 * The server's data directory when genesim can see it: a server on this machine, and a role
 * allowed to read the setting (superuser or pg_read_all_settings). Elsewhere (Cloud SQL) the
 * server's disk is the provider's to grow, and no figure is there to check.
 */
async function dataDirectory(client: pg.ClientBase, host: string | undefined): Promise<string | null> {
  if (!isLocalHost(host)) return null;
  try {
    return (await client.query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0]!.d;
  } catch {
    return null;
  }
}

/**
 * Refuses (exit 3), before any work, a parallel run whose new tables the server's disk cannot
 * hold beside the live ones, with the figures. (Temp files are a few hundred MB at most, and a
 * temp disk that fills mid-run is reported and rolled back: tempSpace.ts.)
 */
export async function refuseIfDatabaseDiskShort(client: pg.ClientBase, host: string | undefined, n: number): Promise<void> {
  const dir = await dataDirectory(client, host);
  if (dir === null) return;
  let free: number;
  try {
    const s = await statfs(dir);
    free = s.bavail * s.bsize;
  } catch {
    return;
  }
  const needed = databaseBytesNeeded(n);
  if (free >= needed) return;
  throw new RefusedError(
    describeShortfall({ where: `the database's disk (${dir})`, freeBytes: free, neededBytes: needed, why: `the new tables beside the live ones, ${STORED_BYTES_PER_ROW} bytes a row, and an index build's sort` }),
  );
}

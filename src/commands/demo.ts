import path from 'node:path';
import pg from 'pg';
import { type Config, describeTarget } from '../config.js';
import { clientConfig } from '../db/connect.js';
import type { ServerTarget } from '../db/embedded.js';
import { RefusedError } from '../errors.js';
import { projectRoot } from '../paths.js';

/** demo's own database on the embedded server: the only place demo ever writes. */
export const DEMO_DATABASE = 'genesim_demo';
/** Left on the database by the first demo, so a later one knows the tables there are its own. */
export const DEMO_MARK = 'made by genesim demo, which replaces its tables on every run';

export const DEMO_INPUT = path.join(projectRoot, 'examples', 'eisen1998-yeast.tsv');

/**
 * Refuses a database that holds tables demo did not make (the embedded port answered by some
 * other server, or a database the user made under that name); marks a fresh one as demo's.
 */
async function claimDemoDatabase(target: ServerTarget): Promise<void> {
  const client = new pg.Client(clientConfig(target));
  await client.connect();
  try {
    const { rows } = await client.query<{ mark: string | null; tables: string[] }>(
      `SELECT shobj_description(d.oid, 'pg_database') AS mark,
              ARRAY(SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
                       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
                     ORDER BY 1) AS tables
         FROM pg_database d WHERE d.datname = current_database()`,
    );
    const { mark, tables } = rows[0]!;
    if (mark === DEMO_MARK) return;
    if (tables.length > 0) {
      const named = tables.length > 5 ? `${tables.slice(0, 5).join(', ')} and ${tables.length - 5} more` : tables.join(', ');
      throw new RefusedError(
        `demo: database ${DEMO_DATABASE} holds tables demo did not make (${named}) at ${describeTarget(target)}; demo replaces only its own: drop that database, or point GENESIM_EMBEDDED_DIR / GENESIM_EMBEDDED_PORT elsewhere`,
      );
    }
    await client.query(`COMMENT ON DATABASE ${DEMO_DATABASE} IS '${DEMO_MARK}'`);
  } finally {
    await client.end();
  }
}

/**
 * Runs `work` (demo's `create --replace` of the bundled matrix) against a database of demo's
 * own on the embedded server: DATABASE_URL and PG* are never used, so demo cannot replace an
 * application's tables.
 */
export async function inDemoDatabase<T>(config: Config, say: (line: string) => void, work: (demo: Config) => Promise<T>): Promise<T> {
  const embedded = { ...config.embedded, database: DEMO_DATABASE };
  const configured = config.db.kind === 'server' ? `; the configured database (${describeTarget(config.db)}) is not used` : '';
  say(`demo: writes only to ${describeTarget(embedded)}${configured}`);
  // Imported on demand: the package installs process exit hooks as soon as it is loaded.
  const { startEmbedded } = await import('../db/embedded.js');
  const server = await startEmbedded(embedded, say, 'demo');
  try {
    await claimDemoDatabase(server.target);
    return await work({ ...config, db: server.target });
  } finally {
    await server.stop();
  }
}

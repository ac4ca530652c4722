import type pg from 'pg';
import { RefusedError } from '../errors.js';

/** Children before parents, the order TRUNCATE and DELETE want them in. */
export const DATASET_TABLES = [
  'datasets_genesimilarity',
  'datasets_datasetsimilarity',
  'datasets_data',
  'datasets_gene',
  'datasets_dataset',
] as const;

export async function rowCounts(client: pg.ClientBase): Promise<Record<string, number>> {
  const selects = DATASET_TABLES.map((t) => `SELECT '${t}' AS name, EXISTS (SELECT 1 FROM ${t}) AS any`).join(' UNION ALL ');
  const { rows } = await client.query<{ name: string; any: boolean }>(selects);
  return Object.fromEntries(rows.map((r) => [r.name, r.any ? 1 : 0]));
}

/** The application's tables with a foreign key into genesim's (Django's GeneNote into datasets_gene), quoted. */
async function referencingTables(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT DISTINCT format('%I.%I', n.nspname, c.relname) AS name
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.contype = 'f' AND k.confrelid IN (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)
        AND k.conrelid NOT IN (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)
      ORDER BY 1`,
    [DATASET_TABLES],
  );
  return rows.map((r) => r.name);
}

/**
 * Empties genesim's tables and restarts their ids. TRUNCATE must name every table with a key
 * into the ones it empties: an application's such table goes in only when it is empty (checked
 * under a lock that keeps it so); one holding rows is refused, never emptied with them.
 */
export async function truncateAll(client: pg.ClientBase): Promise<void> {
  const others = await referencingTables(client);
  if (others.length === 0) {
    await client.query(`TRUNCATE ${DATASET_TABLES.join(', ')} RESTART IDENTITY`);
    return;
  }
  await client.query(`LOCK TABLE ${others.join(', ')} IN SHARE MODE`);
  const filled: string[] = [];
  for (const t of others) if ((await client.query(`SELECT 1 FROM ${t} LIMIT 1`)).rowCount) filled.push(t);
  if (filled.length > 0) {
    throw new RefusedError(`${filled.join(', ')} hold rows with foreign keys into genesim's tables; emptying those would leave them dangling (remove the rows first)`);
  }
  await client.query(`TRUNCATE ${[...DATASET_TABLES, ...others].join(', ')}`);
  // Only genesim's own ids restart (as RESTART IDENTITY would; transactional like it), not the application's.
  const { rows } = await client.query<{ seq: string }>(
    `SELECT s AS seq FROM unnest($1::text[]) AS t, pg_get_serial_sequence(t, 'id') AS s WHERE s IS NOT NULL`,
    [DATASET_TABLES],
  );
  for (const { seq } of rows) await client.query(`ALTER SEQUENCE ${seq} RESTART`);
}

/**
 * Each create starts from empty tables, as the original benchmarks did. Tables holding data
 * are only emptied when the user said --replace. Returns whether they hold data (to be emptied).
 *
 * Not binding on its own: the application may write right after. `requireEmpty` repeats it
 * where it counts; this one refuses early, before minutes of work.
 */
export async function refuseIfFilled(client: pg.ClientBase, replace: boolean): Promise<boolean> {
  const counts = await rowCounts(client);
  const filled = Object.entries(counts).filter(([, any]) => any > 0).map(([t]) => t);
  if (filled.length === 0) return false;
  if (!replace) {
    throw new RefusedError(`the tables already hold data (${filled.join(', ')}); pass --replace to empty them first`);
  }
  return true;
}

/**
 * The binding emptiness check: call it inside the transaction that writes (or truncates),
 * before anything else. The tables are locked against writers first (SHARE: readers go on), so
 * a row the application inserts cannot slip in between the check and the commit, and a
 * TRUNCATE or DROP that follows never removes data the user did not ask to replace.
 */
export async function requireEmpty(client: pg.ClientBase, replace: boolean): Promise<boolean> {
  await client.query(`LOCK TABLE ${DATASET_TABLES.join(', ')} IN SHARE MODE`);
  return refuseIfFilled(client, replace);
}

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

export async function truncateAll(client: pg.ClientBase): Promise<void> {
  await client.query(`TRUNCATE ${DATASET_TABLES.join(', ')} RESTART IDENTITY`);
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

import type pg from 'pg';
import { RefusedError } from '../errors.js';

/** What `update --from-db` reads, and so what the application must not change under it. */
const SOURCE_TABLES = {
  datasets_gene: 'id, systematic_name, common_name',
  datasets_dataset: 'id, name',
  datasets_data: 'id, gene_id, dataset_id, value',
} as const;

/** Row count and an order-free hash sum per table: one scan each, no sort. */
export type Fingerprint = Record<keyof typeof SOURCE_TABLES, { rows: number; hash: string }>;

/**
 * Call in the same snapshot as the read it vouches for (see `readConsistently`). A sum of
 * per-row 64-bit hashes: any edit, insert or delete changes it but for a 2^-64 chance.
 */
export async function fingerprint(client: pg.ClientBase): Promise<Fingerprint> {
  const parts = Object.entries(SOURCE_TABLES).map(
    ([table, columns]) =>
      `SELECT '${table}' AS name, count(*) AS rows, coalesce(sum(hashtextextended(concat_ws(',', ${columns}), 0)), 0)::text AS hash FROM ${table}`,
  );
  const { rows } = await client.query<{ name: keyof Fingerprint; rows: string; hash: string }>(parts.join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.name, { rows: Number(r.rows), hash: r.hash }])) as Fingerprint;
}

/** Runs `read` and takes the fingerprint in one snapshot, so the two describe the same state. */
export async function readConsistently<T>(client: pg.ClientBase, read: () => Promise<T>): Promise<{ result: T; print: Fingerprint }> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const result = await read();
    const print = await fingerprint(client);
    await client.query('COMMIT');
    return { result, print };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Inside the transaction that writes, before it writes: locks the source tables against writers
 * (SHARE: readers go on, and the application's writes wait until this transaction ends), then
 * compares. Nothing can change between this check and the commit. Refused (exit 3) if the
 * application changed what the update read: writing now would undo its edit.
 */
export async function requireUnchanged(client: pg.ClientBase, read: Fingerprint): Promise<void> {
  await client.query(`LOCK TABLE ${Object.keys(SOURCE_TABLES).join(', ')} IN SHARE MODE`);
  const now = await fingerprint(client);
  const changed = (Object.keys(SOURCE_TABLES) as (keyof Fingerprint)[]).filter((t) => now[t].rows !== read[t].rows || now[t].hash !== read[t].hash);
  if (changed.length > 0) {
    const what = changed.map((t) => (now[t].rows !== read[t].rows ? `${t}: ${read[t].rows} rows, now ${now[t].rows}` : `${t}: values edited`));
    throw new RefusedError(`${changed.join(', ')} changed while the update ran (${what.join('; ')}); nothing was written; run it again`);
  }
}

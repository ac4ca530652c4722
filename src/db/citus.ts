import type pg from 'pg';
import { RefusedError } from '../errors.js';
import { escapeIdentifier } from 'pg';

/**
 * Citus, decided once per table from the coordinator's metadata (pg_dist_partition) instead of
 * checks scattered through the code: where a live table's rows are, so the table built beside
 * it is placed the same way, and what the statements around it must do differently.
 */
export interface CitusPlacement {
  /** hash-distributed (with a column and shards), replicated to every node, or on the coordinator only. */
  kind: 'distributed' | 'reference' | 'local';
  column: string | null;
  shards: number;
  colocationId: number;
}

/** Whether the database has the citus extension (a coordinator, or a worker someone pointed genesim at). */
export async function hasCitus(client: pg.ClientBase): Promise<boolean> {
  const { rowCount } = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'citus'");
  return (rowCount ?? 0) > 0;
}

/** Each Citus table's placement by its oid; null without the extension. */
export async function citusPlacements(client: pg.ClientBase): Promise<Map<number, CitusPlacement> | null> {
  if (!(await hasCitus(client))) return null;
  const { rows } = await client.query<{ oid: number; method: string; repmodel: string; col: string | null; coloc: number; shards: string }>(
    `SELECT p.logicalrelid::oid::int AS oid, p.partmethod AS method, p.repmodel, column_to_column_name(p.logicalrelid, p.partkey) AS col,
            p.colocationid AS coloc, (SELECT count(*) FROM pg_dist_shard s WHERE s.logicalrelid = p.logicalrelid) AS shards
       FROM pg_dist_partition p`,
  );
  return new Map(
    rows.map((r) => [
      r.oid,
      {
        kind: r.method === 'h' ? 'distributed' : r.method === 'n' && r.repmodel === 't' ? 'reference' : 'local',
        column: r.method === 'h' ? r.col : null,
        shards: Number(r.shards),
        colocationId: r.coloc,
      } satisfies CitusPlacement,
    ]),
  );
}

/**
 * In this session, Citus runs multi-shard statements over one connection per node instead of
 * one per shard. A transaction that wrote a reference table after a parallel multi-shard
 * statement (a TRUNCATE of every table, then the datasets) otherwise fails with "cannot modify
 * table ... because there was a parallel operation on a distributed table"; sequential mode is
 * what Citus documents for that. No-op without the extension. `local`: for this transaction only.
 */
export async function citusSequential(client: pg.ClientBase, o: { local: boolean } = { local: false }): Promise<void> {
  await client.query(`SELECT set_config('citus.multi_shard_modify_mode', 'sequential', ${o.local}) FROM pg_extension WHERE extname = 'citus'`);
}

/** Back to Citus' default (a pooled connection goes on to other work). No-op without the extension. */
export async function citusParallel(client: pg.ClientBase): Promise<void> {
  await client.query("SELECT set_config('citus.multi_shard_modify_mode', 'parallel', false) FROM pg_extension WHERE extname = 'citus'");
}

/** Places `table` (just made, still local) as `like` is placed: colocated with it, or replicated. */
export async function placeLike(client: pg.ClientBase, table: string, like: string, p: CitusPlacement): Promise<void> {
  if (p.kind === 'distributed') {
    await client.query(`SELECT create_distributed_table($1, $2, colocate_with => $3)`, [table, p.column, like]);
  } else if (p.kind === 'reference') {
    await client.query('SELECT create_reference_table($1)', [table]);
  }
  // A local table stays on the coordinator, as the live one is.
}

/** The layout `genesim migrate --citus` makes: which table goes where, and by which column. */
export const CITUS_LAYOUT = {
  reference: ['datasets_dataset', 'datasets_gene', 'datasets_datasetsimilarity'],
  /**
   * By gene1_id: the application's read is "the similarities of gene X" (WHERE gene1_id = X),
   * which then goes to one shard on one worker; the pair rule writes both orderings, so that one
   * shard holds every partner of X. Data values by gene_id, colocated, so a gene's values and its
   * similarities sit on the same worker (their joins stay local).
   */
  distributed: [
    { table: 'datasets_genesimilarity', column: 'gene1_id' },
    { table: 'datasets_data', column: 'gene_id' },
  ],
} as const;

export const DEFAULT_CITUS_SHARDS = 32;

/**
 * Distributes the freshly made Django tables the way Citus requires: primary keys that include
 * the distribution column (Citus enforces uniqueness per shard only), the small tables as
 * reference tables (copied to every worker, so the foreign keys into them hold there), the two
 * big ones hash-distributed and colocated. One transaction: a failure leaves the plain tables.
 */
export async function distributeDjangoTables(client: pg.ClientBase, shards: number): Promise<'distributed' | 'adopted'> {
  if (!(await hasCitus(client))) throw new RefusedError('--citus: this database has no citus extension (CREATE EXTENSION citus on the coordinator first)');
  const placed = await citusPlacements(client);
  const { rows } = await client.query<{ oid: number }>('SELECT to_regclass($1)::oid::int AS oid', [CITUS_LAYOUT.distributed[0].table]);
  // Already distributed (by the application's own migrations, or an earlier --citus): adopted as it is.
  if (rows[0]?.oid && placed?.has(rows[0].oid)) return 'adopted';
  const { rowCount } = await client.query(`SELECT 1 FROM ${escapeIdentifier(CITUS_LAYOUT.distributed[0].table)} LIMIT 1`);
  if (rowCount) throw new RefusedError(`--citus: ${CITUS_LAYOUT.distributed[0].table} holds rows and is not distributed; genesim distributes only an empty schema (distribute the application's tables in its own migrations, then genesim keeps that layout)`);
  await client.query('BEGIN');
  try {
    await citusSequential(client, { local: true });
    for (const { table, column } of CITUS_LAYOUT.distributed) {
      const { rows: keys } = await client.query<{ name: string }>("SELECT conname AS name FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'", [table]);
      const pkey = escapeIdentifier(keys[0]?.name ?? `${table}_pkey`);
      const drop = keys.length > 0 ? `DROP CONSTRAINT ${pkey}, ` : '';
      await client.query(`ALTER TABLE ${escapeIdentifier(table)} ${drop}ADD CONSTRAINT ${pkey} PRIMARY KEY (${escapeIdentifier(column)}, id)`);
    }
    for (const table of CITUS_LAYOUT.reference) await client.query('SELECT create_reference_table($1)', [table]);
    const [first, ...rest] = CITUS_LAYOUT.distributed;
    await client.query('SELECT create_distributed_table($1, $2, shard_count => $3)', [first.table, first.column, shards]);
    for (const d of rest) await client.query('SELECT create_distributed_table($1, $2, colocate_with => $3)', [d.table, d.column, first.table]);
    await client.query('COMMIT');
    return 'distributed';
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

import type pg from 'pg';

export const SIM_TABLE = 'datasets_genesimilarity';
/** The table a parallel run loads; invisible to the application until the swap. */
export const LOAD_TABLE = 'datasets_genesimilarity_load';
/**
 * Every name a run gives the tables it makes for itself: the one place that knows them, so a
 * later run can tell a killed run's leftovers from the application's tables.
 */
export const RUN_TABLE_NAME = /^datasets_genesimilarity_load$/;

export async function createLoadTable(client: pg.ClientBase): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${LOAD_TABLE}`);
  // Bare: no primary key, no unique constraint, no index, no foreign key while rows stream in.
  // autovacuum off: it would wake on the fresh rows mid-load; ANALYZE runs explicitly instead.
  await client.query(`CREATE TABLE ${LOAD_TABLE} (
    id serial NOT NULL,
    gene1_id integer NOT NULL,
    gene2_id integer NOT NULL,
    metric varchar(50) NOT NULL,
    score numeric(10, 3) NOT NULL
  ) WITH (autovacuum_enabled = false)`);
}

export async function dropLoadTable(client: pg.ClientBase): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${LOAD_TABLE}`);
}

/**
 * Index builds of the load table; independent, so they run on separate connections at once.
 * Longest first (measured at 42M rows: unique 21 s, gene1 17 s, gene2 17 s, id 12 s), so
 * two connections end together instead of one waiting on the unique index alone.
 */
export const INDEX_BUILDS = [
  `CREATE UNIQUE INDEX ${LOAD_TABLE}_uniq ON ${LOAD_TABLE} (gene1_id, gene2_id, metric)`,
  `CREATE INDEX ${LOAD_TABLE}_gene1_id ON ${LOAD_TABLE} (gene1_id)`,
  `CREATE INDEX ${LOAD_TABLE}_gene2_id ON ${LOAD_TABLE} (gene2_id)`,
  `CREATE UNIQUE INDEX ${LOAD_TABLE}_pkey ON ${LOAD_TABLE} (id)`,
];

/**
 * Session settings for one index build. Memory: most of the sort stays in RAM (1 GB gave
 * 34.5 s for all four builds at 42M rows, 3 GB 33.0 s: not worth the risk on a small
 * server). No parallel workers: the builds already run side by side, and on 2 cores the
 * extra processes made the set slower (39.8 s against 34.5 s).
 */
export const INDEX_BUILD_SETTINGS = ["SET maintenance_work_mem = '1GB'", 'SET max_parallel_maintenance_workers = 0'];

/**
 * Inside the swap transaction, once the old table is dropped: the new table takes its name
 * and sequence, and the built indexes become the constraints Django made, with its names.
 */
export async function swapIn(client: pg.ClientBase, rows: number): Promise<void> {
  const t = LOAD_TABLE;
  await client.query(`ALTER TABLE ${t} RENAME TO ${SIM_TABLE}`);
  await client.query(`ALTER SEQUENCE ${t}_id_seq RENAME TO ${SIM_TABLE}_id_seq`);
  await client.query(`ALTER INDEX ${t}_pkey RENAME TO ${SIM_TABLE}_pkey`);
  await client.query(`ALTER INDEX ${t}_uniq RENAME TO ${SIM_TABLE}_gene1_id_gene2_id_metric_uniq`);
  await client.query(`ALTER INDEX ${t}_gene1_id RENAME TO ${SIM_TABLE}_gene1_id`);
  await client.query(`ALTER INDEX ${t}_gene2_id RENAME TO ${SIM_TABLE}_gene2_id`);
  await client.query(`ALTER TABLE ${SIM_TABLE}
    ADD CONSTRAINT ${SIM_TABLE}_pkey PRIMARY KEY USING INDEX ${SIM_TABLE}_pkey,
    ADD CONSTRAINT ${SIM_TABLE}_gene1_id_gene2_id_metric_uniq UNIQUE USING INDEX ${SIM_TABLE}_gene1_id_gene2_id_metric_uniq,
    ADD CONSTRAINT ${SIM_TABLE}_gene1_id_fk_datasets_gene_id FOREIGN KEY (gene1_id) REFERENCES datasets_gene (id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT ${SIM_TABLE}_gene2_id_fk_datasets_gene_id FOREIGN KEY (gene2_id) REFERENCES datasets_gene (id) DEFERRABLE INITIALLY DEFERRED,
    RESET (autovacuum_enabled)`);
  // Ids were written directly; the sequence continues after them as if it had handed them out.
  await client.query(`SELECT setval('${SIM_TABLE}_id_seq', $1, $2)`, [Math.max(rows, 1), rows > 0]);
}

/**
 * Runs `load` with the data table's foreign keys lifted; call inside a transaction only.
 * Deferred, they cost two index probes per row at COMMIT (650,000 rows: about 3 s); re-added
 * after the load, each is checked by one join instead. The keys are read from the catalog, so
 * a schema Django made itself (hashed constraint names) gets its own keys back unchanged.
 */
export async function withoutDataForeignKeys<T>(client: pg.ClientBase, load: () => Promise<T>): Promise<T> {
  const { rows } = await client.query<{ name: string; def: string }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
     WHERE conrelid = 'datasets_data'::regclass AND contype = 'f' ORDER BY conname`,
  );
  const keys = rows.map((r) => ({ name: `"${r.name.replace(/"/g, '""')}"`, def: r.def }));
  if (keys.length > 0) await client.query(`ALTER TABLE datasets_data ${keys.map((k) => `DROP CONSTRAINT ${k.name}`).join(', ')}`);
  const result = await load();
  if (keys.length > 0) await client.query(`ALTER TABLE datasets_data ${keys.map((k) => `ADD CONSTRAINT ${k.name} ${k.def}`).join(', ')}`);
  return result;
}

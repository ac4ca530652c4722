import type pg from 'pg';

export const SIM_TABLE = 'datasets_genesimilarity';
/** The table a parallel run loads; invisible to the application until the swap. */
export const LOAD_TABLE = 'datasets_genesimilarity_load';

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

/** Index builds of the load table; each is independent, so they may run on separate connections at once. */
export const INDEX_BUILDS = [
  `CREATE UNIQUE INDEX ${LOAD_TABLE}_pkey ON ${LOAD_TABLE} (id)`,
  `CREATE UNIQUE INDEX ${LOAD_TABLE}_uniq ON ${LOAD_TABLE} (gene1_id, gene2_id, metric)`,
  `CREATE INDEX ${LOAD_TABLE}_gene1_id ON ${LOAD_TABLE} (gene1_id)`,
  `CREATE INDEX ${LOAD_TABLE}_gene2_id ON ${LOAD_TABLE} (gene2_id)`,
];

/**
 * Memory for one index build: sorts that fit in memory skip temp files. Bounded so that
 * several concurrent builds stay well within a small server.
 */
export function maintenanceMemory(rows: number, concurrent: number): string {
  const bytesPerEntry = 48;
  const mb = Math.ceil((rows * bytesPerEntry) / 2 ** 20);
  return `${Math.max(64, Math.min(mb, Math.floor(2048 / Math.max(concurrent, 1))))}MB`;
}

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

import type pg from 'pg';
import { sharedValues } from '../input/matrix.js';
import type { StoredMatrix } from './plan.js';

/** The matrix the database holds: genes and datasets in id order, values from datasets_data. */
export async function readStoredMatrix(client: pg.ClientBase): Promise<StoredMatrix> {
  const genes = await client.query<[number, string, string | null]>({
    text: 'SELECT id, systematic_name, common_name FROM datasets_gene ORDER BY id',
    rowMode: 'array',
  });
  const datasets = await client.query<[number, string]>({ text: 'SELECT id, name FROM datasets_dataset ORDER BY id', rowMode: 'array' });
  const geneAt = new Map(genes.rows.map(([id], i) => [id, i]));
  const datasetAt = new Map(datasets.rows.map(([id], k) => [id, k]));
  const d = datasets.rows.length;
  const values = sharedValues(genes.rows.length * d).fill(Number.NaN);
  const data = await client.query<[number, number, number]>({ text: 'SELECT gene_id, dataset_id, value FROM datasets_data', rowMode: 'array' });
  for (const [gene, dataset, value] of data.rows) values[geneAt.get(gene)! * d + datasetAt.get(dataset)!] = value;
  return {
    genes: genes.rows.map((r) => r[1]),
    commonNames: genes.rows.map((r) => r[2]),
    geneIds: genes.rows.map((r) => r[0]),
    datasets: datasets.rows.map((r) => r[1]),
    datasetIds: datasets.rows.map((r) => r[0]),
    values,
  };
}

/**
 * The metrics the similarity table holds, read off one gene's diagonal row (every create
 * writes the diagonal for every gene), so the check costs one index probe, not a scan.
 */
export async function storedMetrics(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ metric: string }>(`SELECT DISTINCT metric FROM datasets_genesimilarity
    WHERE gene1_id = (SELECT min(id) FROM datasets_gene) AND gene2_id = gene1_id`);
  return rows.map((r) => r.metric);
}

/** Ids for rows about to be inserted, drawn from the table's sequence in the order given. */
export async function allocateIds(client: pg.ClientBase, table: string, count: number): Promise<number[]> {
  if (count === 0) return [];
  const { rows } = await client.query<{ id: string }>(
    `SELECT nextval(pg_get_serial_sequence('${table}', 'id')) AS id FROM generate_series(1, $1) ORDER BY 1`,
    [count],
  );
  return rows.map((r) => Number(r.id));
}

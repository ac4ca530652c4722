import type pg from 'pg';
import type { Timer } from '../report/timer.js';
import type { Metric } from '../similarity/kernel.js';
import { datasetSimilarityRows } from '../strategies/referenceTables.js';
import { copySink } from '../strategies/sinks.js';
import { sharedIds } from '../input/matrix.js';
import type { UpdatePlan } from './plan.js';
import { allocateIds } from './state.js';
import { citusPlacements, placeLike } from '../db/citus.js';
import { newRunId } from '../db/loadNames.js';
import { asCleanup } from '../db/runGuard.js';

/** Final ids of the target's genes and datasets: stored ones kept, new ones drawn from the sequences. */
export interface TargetIds {
  geneIds: Int32Array;
  datasetIds: Int32Array;
}

export async function assignIds(client: pg.ClientBase, plan: UpdatePlan): Promise<TargetIds> {
  const fill = async (ids: Int32Array, table: string) => {
    const out = Int32Array.from(ids);
    const fresh = await allocateIds(client, table, out.filter((id) => id === 0).length);
    // New rows take ids in name order, as a create would have given them.
    let next = 0;
    out.forEach((id, i) => {
      if (id === 0) out[i] = fresh[next++]!;
    });
    return out;
  };
  // The parallel engine hands gene ids to its workers: they live on shared memory.
  return { geneIds: sharedIds(await fill(plan.geneIds, 'datasets_gene')), datasetIds: await fill(plan.datasetIds, 'datasets_dataset') };
}

function changedGeneIds(plan: UpdatePlan, ids: TargetIds): number[] {
  return Array.from(ids.geneIds).filter((_, i) => plan.changed[i] === 1);
}

/**
 * Brings datasets, genes, data values and dataset similarities to the target, touching only
 * what differs: new rows inserted with their allocated ids, changed genes' values diffed
 * through a staging table. Rows of removed genes and datasets are deleted by
 * `deleteRemoved`, once nothing references them.
 */
export async function syncReferenceTables(client: pg.ClientBase, plan: UpdatePlan, ids: TargetIds, metric: Metric, timer: Timer, tables: Record<string, string> = {}): Promise<void> {
  const { target: m } = plan;
  const t = (name: string) => tables[name] ?? name;
  const d = m.datasets.length;
  await timer.phase('genes', plan.changedGenes, async () => {
    const newDatasets = m.datasets.flatMap((name, k) => (plan.datasetIds[k] === 0 ? [[ids.datasetIds[k], name]] : []));
    await copySink.rows(client, t('datasets_dataset'), ['id', 'name'], newDatasets);
    const newGenes = m.genes.flatMap((g, i) => (plan.geneIds[i] === 0 ? [[ids.geneIds[i], g, m.commonNames[i]]] : []));
    await copySink.rows(client, t('datasets_gene'), ['id', 'systematic_name', 'common_name'], newGenes);
    const renamed = m.genes.flatMap((_, i) => (plan.renamed[i] ? [i] : []));
    if (renamed.length > 0) {
      await client.query(
        `UPDATE ${t('datasets_gene')} g SET common_name = v.common_name FROM unnest($1::int[], $2::text[]) AS v(id, common_name) WHERE g.id = v.id`,
        [renamed.map((i) => ids.geneIds[i]), renamed.map((i) => m.commonNames[i])],
      );
    }
  });

  await timer.phase('data', plan.changedGenes * d, async () => {
    // Dropped explicitly rather than ON COMMIT: baseline runs in autocommit. On Citus a temp table
    // cannot take part in the correlated subqueries below (a local table beside a distributed one):
    // there the stage is a table of the run's own, colocated with the data values, so every
    // statement below runs shard by shard on the workers.
    const citus = await citusPlacements(client);
    const dataTable = t('datasets_data');
    const placement = citus?.get((await client.query<{ oid: number }>('SELECT to_regclass($1)::oid::int AS oid', [dataTable])).rows[0]?.oid ?? 0);
    const stage = placement?.kind === 'distributed' ? `genesim_${newRunId()}_data_stage` : 'genesim_data_stage';
    if (stage === 'genesim_data_stage') {
      await client.query('DROP TABLE IF EXISTS pg_temp.genesim_data_stage');
      await client.query('CREATE TEMP TABLE genesim_data_stage (gene_id integer, dataset_id integer, value double precision)');
    } else {
      await client.query(`CREATE TABLE ${stage} (gene_id integer, dataset_id integer, value double precision)`);
      await placeLike(client, stage, dataTable, placement!);
    }
    try {
      await stageData(client, plan, ids, dataTable, stage);
    } finally {
      // Clean-up (in autocommit nothing else would drop it); in a failed transaction the rollback does.
      await asCleanup(() => client.query(`DROP TABLE IF EXISTS ${stage}`)).catch(() => undefined);
    }
  });
  await syncDatasetSims(client, plan, ids, metric, timer, t);
}

async function stageData(client: pg.ClientBase, plan: UpdatePlan, ids: TargetIds, dataTable: string, stage: string): Promise<void> {
    const { target: m } = plan;
    const d = m.datasets.length;
    const t = (name: string) => (name === 'datasets_data' ? dataTable : name);
    const rows = function* () {
      for (let i = 0; i < m.genes.length; i++) {
        if (!plan.changed[i]) continue;
        for (let k = 0; k < d; k++) {
          const v = m.values[i * d + k]!;
          if (!Number.isNaN(v)) yield [ids.geneIds[i], ids.datasetIds[k], v];
        }
      }
    };
    await copySink.rows(client, stage, ['gene_id', 'dataset_id', 'value'], rows());
    const changed = changedGeneIds(plan, ids);
    await client.query(
      `DELETE FROM ${t('datasets_data')} t WHERE t.gene_id = ANY($1) AND NOT EXISTS
         (SELECT 1 FROM ${stage} s WHERE s.gene_id = t.gene_id AND s.dataset_id = t.dataset_id)`,
      [changed],
    );
    await client.query(`UPDATE ${t('datasets_data')} t SET value = s.value FROM ${stage} s
      WHERE s.gene_id = t.gene_id AND s.dataset_id = t.dataset_id AND s.value <> t.value`);
    await client.query(`INSERT INTO ${t('datasets_data')} (gene_id, dataset_id, value)
      SELECT s.gene_id, s.dataset_id, s.value FROM ${stage} s
      WHERE NOT EXISTS (SELECT 1 FROM ${t('datasets_data')} t WHERE t.gene_id = s.gene_id AND t.dataset_id = s.dataset_id)
      ORDER BY s.gene_id, s.dataset_id`);
}

async function syncDatasetSims(client: pg.ClientBase, plan: UpdatePlan, ids: TargetIds, metric: Metric, timer: Timer, t: (name: string) => string): Promise<void> {
  const { target: m } = plan;
  const datasetsChanged = plan.removedDatasetIds.length > 0 || plan.datasetIds.some((id) => id === 0);
  if (plan.changedGenes > 0 || plan.removedGeneIds.length > 0 || datasetsChanged) {
    const rows = datasetSimilarityRows(m, ids.datasetIds, metric);
    await timer.phase('dataset_sims', rows.length, async () => {
      await client.query(`DELETE FROM ${t('datasets_datasetsimilarity')} WHERE metric = $1 OR dataset1_id = ANY($2) OR dataset2_id = ANY($2)`, [
        metric,
        plan.removedDatasetIds,
      ]);
      await copySink.rows(client, t('datasets_datasetsimilarity'), ['dataset1_id', 'dataset2_id', 'metric', 'score'], rows);
    });
  }
}

/** Removed genes and datasets with their data values; their gene similarities must be gone already. */
export async function deleteRemoved(client: pg.ClientBase, plan: UpdatePlan, tables: Record<string, string> = {}): Promise<void> {
  const t = (name: string) => tables[name] ?? name;
  await client.query(`DELETE FROM ${t('datasets_data')} WHERE gene_id = ANY($1) OR dataset_id = ANY($2)`, [plan.removedGeneIds, plan.removedDatasetIds]);
  await client.query(`DELETE FROM ${t('datasets_gene')} WHERE id = ANY($1)`, [plan.removedGeneIds]);
  await client.query(`DELETE FROM ${t('datasets_dataset')} WHERE id = ANY($1)`, [plan.removedDatasetIds]);
}

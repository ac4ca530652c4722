import type pg from 'pg';
import { countMissing, type Matrix, transpose } from '../input/matrix.js';
import { milliText } from '../encode/sims.js';
import { prepare, scoreRow } from '../similarity/kernel.js';
import type { RunContext } from './types.js';
import type { RowSink } from './sinks.js';
import { abortable, counted, stoppable } from './stoppable.js';

export interface ReferenceIds {
  /** Database id of each gene, in name order. */
  geneIds: Int32Array;
  datasetIds: Int32Array;
}

async function idsInOrder(client: pg.ClientBase, table: string, column: string, names: string[]): Promise<Int32Array> {
  const { rows } = await client.query<{ id: number; name: string }>(`SELECT id, ${column} AS name FROM ${table}`);
  const byName = new Map(rows.map((r) => [r.name, r.id]));
  return Int32Array.from(names, (name) => {
    const id = byName.get(name);
    if (id === undefined) throw new Error(`${table}: row for "${name}" is missing after insert`);
    return id;
  });
}

/** Dataset × dataset similarities under the same pair rule as genes (small: D² rows). */
export function datasetSimilarityRows(m: Matrix, datasetIds: Int32Array, metric: RunContext['metric']): unknown[][] {
  const t = transpose(m);
  const d = t.genes.length;
  const p = prepare(t.values, d, t.datasets.length, metric);
  const rows: unknown[][] = [];
  for (let a = 0; a < d; a++) rows.push([datasetIds[a], datasetIds[a], metric, '1.000']);
  const scores = new Int16Array(d);
  for (let a = 0; a < d; a++) {
    scoreRow(p, a, scores);
    for (let b = a + 1; b < d; b++) {
      const s = milliText(scores[b - a - 1]!);
      rows.push([datasetIds[a], datasetIds[b], metric, s], [datasetIds[b], datasetIds[a], metric, s]);
    }
  }
  return rows;
}

/**
 * Data values as (gene_id, dataset_id, value) rows, made as they are consumed: N·D of them
 * would otherwise be the largest thing in memory. Missing values have no row.
 */
export function* dataRows(m: Matrix, ids: ReferenceIds): Generator<unknown[]> {
  const d = m.datasets.length;
  for (let i = 0; i < m.genes.length; i++) {
    for (let k = 0; k < d; k++) {
      const v = m.values[i * d + k]!;
      if (!Number.isNaN(v)) yield [ids.geneIds[i], ids.datasetIds[k], v];
    }
  }
}

/**
 * Datasets, genes, their values and the dataset similarities: every table but the big one,
 * written through the strategy's own sink and timed as their own phases. With `values: false`
 * the data values are left for `writeDataValues`.
 */
export async function writeReferenceTables(
  ctx: RunContext,
  client: pg.ClientBase,
  sink: RowSink,
  tables: Record<string, string> = {},
  o: { values: boolean } = { values: true },
): Promise<ReferenceIds> {
  const { matrix: m, timer } = ctx;
  const name = (t: string) => tables[t] ?? t;
  const datasets = { rows: 0 };
  await timer.phase('create_datasets', m.datasets.length, () =>
    stoppable(ctx, 'create_datasets', datasets, () => sink.rows(client, name('datasets_dataset'), ['name'], counted(abortable(m.datasets.map((name) => [name]), ctx.signal), datasets))),
  );
  const datasetIds = await idsInOrder(client, name('datasets_dataset'), 'name', m.datasets);
  const genes = { rows: 0 };
  await timer.phase('create_genes', m.genes.length, () =>
    stoppable(ctx, 'create_genes', genes, () =>
      sink.rows(client, name('datasets_gene'), ['systematic_name', 'common_name'], counted(abortable(m.genes.map((g, i) => [g, m.commonNames[i]]), ctx.signal), genes)),
    ),
  );
  const geneIds = await idsInOrder(client, name('datasets_gene'), 'systematic_name', m.genes);
  const ids = { geneIds, datasetIds };
  if (o.values) await writeDataValues(ctx, client, sink, ids, tables);
  const dsims = datasetSimilarityRows(m, datasetIds, ctx.metric);
  const dsimsSent = { rows: 0 };
  await timer.phase('create_dataset_sims', dsims.length, () =>
    stoppable(ctx, 'create_dataset_sims', dsimsSent, () =>
      sink.rows(client, name('datasets_datasetsimilarity'), ['dataset1_id', 'dataset2_id', 'metric', 'score'], counted(abortable(dsims, ctx.signal), dsimsSent)),
    ),
  );
  return ids;
}

/** The data values, timed as `create_data`. */
export async function writeDataValues(ctx: RunContext, client: pg.ClientBase, sink: RowSink, ids: ReferenceIds, tables: Record<string, string> = {}): Promise<void> {
  const m = ctx.matrix;
  // Every table is counted and can be stopped: with one round trip a row even the small ones
  // take seconds, and a stop (Ctrl-C, the bench's budget) must not wait for them.
  const data = { rows: 0 };
  await ctx.timer.phase('create_data', m.values.length - countMissing(m), () =>
    stoppable(ctx, 'create_data', data, () =>
      sink.rows(client, tables['datasets_data'] ?? 'datasets_data', ['gene_id', 'dataset_id', 'value'], counted(abortable(dataRows(m, ids), ctx.signal), data)),
    ),
  );
}

/**
 * A sink that numbers rows itself, 1, 2, ... per table, as a freshly restarted sequence would:
 * for tables built beside the live ones, whose defaults draw from the live sequences.
 */
export function numberingSink(inner: RowSink): RowSink & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  return {
    counts,
    rows(client, table, columns, rows) {
      const numbered = function* () {
        for (const row of rows) {
          const id = (counts.get(table) ?? 0) + 1;
          counts.set(table, id);
          yield [id, ...row];
        }
      };
      return inner.rows(client, table, ['id', ...columns], numbered());
    },
    sims: inner.sims,
  };
}

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { referenceScore } from '../src/similarity/reference.js';
import { sql, type TestDatabase } from './helpers.js';

/**
 * What the five tables must hold, worked out without genesim's reader, kernel, encoders or
 * id arithmetic: a TSV split by hand, the mathjs reference scores, the pair rule as loops.
 */

export interface Expression {
  genes: string[];
  commonNames: string[];
  datasets: string[];
  /** values[gene][dataset], NaN where missing. */
  values: number[][];
}

const MISSING = new Set(['', 'NA', 'NaN']);

export function readTsv(file: string): Expression {
  const [header, ...lines] = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const datasets = header!.split('\t').slice(2);
  const rows = lines.map((l) => l.split('\t')).sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
  return {
    genes: rows.map((r) => r[0]!),
    commonNames: rows.map((r) => r[1]!),
    datasets,
    values: rows.map((r) => r.slice(2).map((v) => (MISSING.has(v) ? Number.NaN : Number(v)))),
  };
}

/** Genes of `base` that `over` lacks, added with their values: what --keep-missing-genes keeps. */
export function overlay(over: Expression, base: Expression): Expression {
  assert.deepEqual(over.datasets, base.datasets, 'overlay is written for matrices with the same datasets');
  const kept = base.genes.map((_, i) => i).filter((i) => !over.genes.includes(base.genes[i]!));
  const rows = [
    ...over.genes.map((g, i) => [g, over.commonNames[i]!, over.values[i]!] as const),
    ...kept.map((i) => [base.genes[i]!, base.commonNames[i]!, base.values[i]!] as const),
  ].sort((x, y) => (x[0] < y[0] ? -1 : 1));
  return { genes: rows.map((r) => r[0]), commonNames: rows.map((r) => r[1]), datasets: over.datasets, values: rows.map((r) => [...r[2]]) };
}

/** `numeric(10,3)` text of a score; a degenerate pair scores 0. */
function milli(score: number): string {
  if (Number.isNaN(score)) return '0.000';
  const m = Math.round(score * 1000);
  return (m === 0 ? 0 : m / 1000).toFixed(3);
}

/** Rows of one table as text lines, optionally led by their ids. */
export type Contents = Record<string, string[]>;

/** Diagonal first, then (i, j) and (j, i) for every i < j: the pair rule, ids counted as rows arrive. */
function pairRows(names: string[], vectors: number[][], metric: string, withIds: boolean): string[] {
  const out: string[] = [];
  let id = 0;
  const push = (a: string, b: string, score: string) => out.push([...(withIds ? [++id] : []), a, b, metric, score].join(','));
  names.forEach((n) => push(n, n, '1.000'));
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const s = milli(referenceScore(vectors[i]!, vectors[j]!, metric as 'cosine' | 'pearson'));
      push(names[i]!, names[j]!, s);
      push(names[j]!, names[i]!, s);
    }
  }
  return out;
}

export function expectedContents(m: Expression, metric: string, withIds: boolean): Contents {
  const lead = (id: number) => (withIds ? [id] : []);
  const data: string[] = [];
  let dataId = 0;
  m.values.forEach((row, i) =>
    row.forEach((v, k) => {
      if (!Number.isNaN(v)) data.push([...lead(++dataId), m.genes[i], m.datasets[k], v].join(','));
    }),
  );
  const columns = m.datasets.map((_, k) => m.values.map((row) => row[k]!));
  return {
    datasets_dataset: m.datasets.map((d, k) => [...lead(k + 1), d].join(',')),
    datasets_gene: m.genes.map((g, i) => [...lead(i + 1), g, m.commonNames[i] ?? ''].join(',')),
    datasets_data: data,
    datasets_genesimilarity: pairRows(m.genes, m.values, metric, withIds),
    datasets_datasetsimilarity: pairRows(m.datasets, columns, metric, withIds),
  };
}

/** The same lines read back from the database, names in place of foreign keys. */
export async function databaseContents(t: TestDatabase, withIds: boolean): Promise<Contents> {
  const id = (alias: string) => (withIds ? `${alias}.id::text, ` : '');
  const lines = async (query: string) => (await sql<{ line: string }>(t, query)).map((r) => r.line);
  return {
    datasets_dataset: await lines(`SELECT concat_ws(',', ${id('d')}d.name) AS line FROM datasets_dataset d`),
    datasets_gene: await lines(`SELECT concat_ws(',', ${id('g')}g.systematic_name, coalesce(g.common_name, '')) AS line FROM datasets_gene g`),
    // Values go through JavaScript's number formatting, as the expectation's do.
    datasets_data: (
      await sql<{ lead: string; value: number }>(
        t,
        `SELECT concat_ws(',', ${id('v')}g.systematic_name, d.name) AS lead, v.value FROM datasets_data v
           JOIN datasets_gene g ON g.id = v.gene_id JOIN datasets_dataset d ON d.id = v.dataset_id`,
      )
    ).map((r) => `${r.lead},${r.value}`),
    datasets_genesimilarity: await lines(`SELECT concat_ws(',', ${id('s')}a.systematic_name, b.systematic_name, s.metric, s.score) AS line
      FROM datasets_genesimilarity s JOIN datasets_gene a ON a.id = s.gene1_id JOIN datasets_gene b ON b.id = s.gene2_id`),
    datasets_datasetsimilarity: await lines(`SELECT concat_ws(',', ${id('s')}a.name, b.name, s.metric, s.score) AS line
      FROM datasets_datasetsimilarity s JOIN datasets_dataset a ON a.id = s.dataset1_id JOIN datasets_dataset b ON b.id = s.dataset2_id`),
  };
}

/** Row count and sha256 of the sorted lines of each table. */
export function checksums(c: Contents): Record<string, { rows: number; sha256: string }> {
  return Object.fromEntries(
    Object.entries(c).map(([table, lines]) => [table, { rows: lines.length, sha256: createHash('sha256').update([...lines].sort().join('\n')).digest('hex') }]),
  );
}

/**
 * Row counts and checksums of all five tables equal the expectation's; on a mismatch the
 * message names the table and a few lines that differ, so a failure says what went wrong.
 */
export async function assertTablesHold(t: TestDatabase, expected: Contents, withIds: boolean, context = ''): Promise<void> {
  const actual = await databaseContents(t, withIds);
  const a = checksums(actual);
  const e = checksums(expected);
  for (const table of Object.keys(e)) {
    if (a[table]!.sha256 === e[table]!.sha256) continue;
    const have = new Set(actual[table]);
    const want = new Set(expected[table]);
    const missing = expected[table]!.filter((l) => !have.has(l)).slice(0, 3);
    const extra = actual[table]!.filter((l) => !want.has(l)).slice(0, 3);
    assert.fail(`${context}${table}: ${a[table]!.rows} rows, expected ${e[table]!.rows}; missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}`);
  }
  assert.deepEqual(a, e);
}

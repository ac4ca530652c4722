import assert from 'node:assert/strict';
import path from 'node:path';
import { generateMatrix } from '../src/input/generate.js';
import { Random } from '../src/input/random.js';
import { METRICS, type Metric, pairValue, prepare, scorePair, scoreRow } from '../src/similarity/kernel.js';
import { referenceScore } from '../src/similarity/reference.js';
import { runCli, sql, suiteDatabase, suiteTempDir } from './helpers.js';

const nan = Number.NaN;

function row(values: Float64Array, d: number, i: number): number[] {
  return Array.from(values.subarray(i * d, i * d + d));
}

/**
 * Every pair of the matrix through the kernel's own paths (scoreRow, scorePair and the exact
 * value they round) against the mathjs reference: degenerate exactly where the reference is,
 * else within 1e-9, and the stored thousandths its rounding.
 */
function checkAll(values: Float64Array, n: number, d: number, metric: Metric): { compared: number; degenerate: number } {
  const p = prepare(values, n, d, metric);
  const out = new Int16Array(n);
  let compared = 0;
  let degenerate = 0;
  for (let i = 0; i < n; i++) {
    const reported = scoreRow(p, i, out);
    let expected = 0;
    for (let j = i + 1; j < n; j++) {
      const ref = referenceScore(row(values, d, i), row(values, d, j), metric);
      const got = out[j - i - 1]!;
      if (Number.isNaN(ref)) {
        expected++;
        assert.equal(got, 0, `${metric} degenerate pair ${i},${j} scores 0`);
        assert.ok(Number.isNaN(pairValue(p, i, j)), `${metric} pair ${i},${j} is degenerate, got ${pairValue(p, i, j)}`);
        continue;
      }
      const exact = pairValue(p, i, j);
      assert.ok(Math.abs(exact - ref) < 1e-9, `${metric} pair ${i},${j}: ${exact} vs ${ref}`);
      assert.ok(Math.abs(got - ref * 1000) <= 0.5 + 1e-6, `${metric} pair ${i},${j}: ${got} vs ${ref}`);
      assert.equal(scorePair(p, i, j), got, `${metric} scorePair ${i},${j} is scoreRow's value`);
      compared++;
    }
    assert.equal(reported, expected, `${metric} degenerate count of row ${i}`);
    degenerate += expected;
  }
  return { compared, degenerate };
}

/** The generator's matrix (co-expressed groups) with `extra` rows appended. */
function withRows(values: Float64Array, d: number, extra: number[][]): Float64Array {
  const all = new Float64Array(values.length + extra.length * d);
  all.set(values);
  extra.forEach((r, i) => all.set(r, values.length + i * d));
  return all;
}

describe('similarity kernel on matrices with missing values', () => {
  const n = 45;
  const d = 128;
  for (const metric of METRICS) {
    for (const missing of [0, 0.02, 0.2, 0.6]) {
      it(`${metric} with ${missing * 100} % missing matches the mathjs reference`, () => {
        const m = generateMatrix({ genes: n, datasets: d, seed: 3, missing });
        const { compared } = checkAll(m.values, n, d, metric);
        assert.ok(compared > 900, `compared ${compared} pairs`);
      });
    }
  }

  it('rows sharing fewer than 2 datasets, all-missing, zero and constant rows are degenerate as the reference says', () => {
    const dd = 6;
    const base = generateMatrix({ genes: 8, datasets: dd, seed: 5, missing: 0.2 }).values;
    const values = withRows(base, dd, [
      [1, 2, nan, nan, nan, nan], // shares 1 dataset with the next
      [nan, 3, 4, 5, 6, 7],
      [nan, nan, nan, nan, nan, nan], // all missing
      [nan, nan, nan, 2.5, nan, nan], // one value
      [0, 0, nan, 0, 0, nan], // zero norm, with holes
      [0, 0, 0, 0, 0, 0], // zero norm, complete
      [0.1, 0.1, nan, 0.1, 0.1, 0.1], // constant with a hole: pearson has no norm
      [2, 2, 2, 2, 2, 2], // constant, complete
      [1, 1, 1, 1, 9, nan], // constant but for one value: constant over the shared datasets of rows missing dataset 4
      [nan, 1, 2, 3, nan, 4],
    ]);
    for (const metric of METRICS) {
      const { degenerate } = checkAll(values, 18, dd, metric);
      assert.ok(degenerate >= 17 * 3, `${metric}: ${degenerate} degenerate pairs`);
    }
  });

  it('stays exact where a row keeps most of its variance at the other row\'s holes, and at a large offset', () => {
    const r = new Random(11);
    const dd = 40;
    const noise = () => Array.from({ length: dd }, () => Math.round(r.normal() * 1000) / 1000);
    const spike = noise().map((v, k) => (k === 0 ? 1e6 : v));
    const offset = noise().map((v) => 1e9 + v);
    const hole = noise().map((v, k) => (k === 0 || k === 7 ? nan : v));
    const values = withRows(new Float64Array(0), dd, [spike, offset, hole, noise(), noise().map((v, k) => (k % 3 === 0 ? nan : v))]);
    for (const metric of METRICS) checkAll(values, 5, dd, metric);
  });
});

/** Pairwise-complete pearson the plain way, written here to share no code with genesim: NaN when degenerate. */
function plainPearson(a: Float64Array, b: Float64Array): number {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = 0; k < a.length; k++) {
    if (Number.isNaN(a[k]!) || Number.isNaN(b[k]!)) continue;
    xs.push(a[k]!);
    ys.push(b[k]!);
  }
  if (xs.length < 2) return nan;
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let k = 0; k < xs.length; k++) {
    sxy += (xs[k]! - mx) * (ys[k]! - my);
    sxx += (xs[k]! - mx) ** 2;
    syy += (ys[k]! - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? nan : sxy / Math.sqrt(sxx * syy);
}

describe('genesim create on 1,000 genes with 20 % missing', () => {
  const t = suiteDatabase();
  const dir = suiteTempDir('genesim-missing-');

  it('stores, for sampled pairs, the pairwise-complete pearson an independent computation gives', async () => {
    const o = { genes: 1000, datasets: 40, seed: 4, missing: 0.2 };
    const r = runCli(
      ['create', '--strategy', 'parallel', '--genes', String(o.genes), '--datasets', String(o.datasets), '--seed', String(o.seed), '--missing', String(o.missing), '--metric', 'pearson', '--results', path.join(dir, 'r.csv')],
      t.env,
    );
    assert.equal(r.status, 0, r.stderr);
    const m = generateMatrix(o);
    const rowOf = new Map(m.genes.map((g, i) => [g, m.values.subarray(i * o.datasets, (i + 1) * o.datasets)]));
    // Every 2,000th row by id: about 500 pairs spread over the whole table.
    const rows = await sql<{ a: string; b: string; score: string }>(
      t,
      `SELECT g1.systematic_name AS a, g2.systematic_name AS b, s.score
         FROM datasets_genesimilarity s JOIN datasets_gene g1 ON g1.id = s.gene1_id JOIN datasets_gene g2 ON g2.id = s.gene2_id
        WHERE s.id % 2000 = 1 AND s.gene1_id <> s.gene2_id AND s.metric = 'pearson'`,
    );
    assert.ok(rows.length > 400, `sampled ${rows.length} pairs`);
    let strong = 0;
    for (const row of rows) {
      const expected = plainPearson(rowOf.get(row.a)!, rowOf.get(row.b)!);
      const want = Number.isNaN(expected) ? 0 : expected;
      if (Math.abs(want) > 0.1) strong++;
      assert.ok(Math.abs(Number(row.score) - want) <= 0.0005 + 1e-9, `${row.a}/${row.b}: stored ${row.score}, computed ${want}`);
    }
    assert.ok(strong > rows.length / 4, `${strong} of ${rows.length} sampled pairs correlate: the check is not of zeros`);
  });
});

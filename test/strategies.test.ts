import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CreateOptions, runCreate } from '../src/commands/create.js';
import { RefusedError } from '../src/errors.js';
import { STRATEGIES, type StrategyName } from '../src/strategies/types.js';
import { createTestDatabase, migrated, simChecksum, sql, tableCounts, type TestDatabase } from './helpers.js';

const N = 40;
const D = 12;
const resultsDir = mkdtempSync(path.join(tmpdir(), 'genesim-results-'));

export function createOptions(strategy: StrategyName, extra: Partial<CreateOptions> = {}): CreateOptions {
  return {
    strategy,
    source: { genes: N, datasets: D, seed: 5, missing: 0.1 },
    metric: 'pearson',
    replace: false,
    results: path.join(resultsDir, `${strategy}.csv`),
    parallel: { threads: 2, connections: 2, via: 'file', format: 'text', load: 'clustered' as const },
    ...extra,
  };
}

export async function create(t: TestDatabase, strategy: StrategyName, extra: Partial<CreateOptions> = {}) {
  return runCreate(t.config, createOptions(strategy, extra), () => undefined, new AbortController().signal);
}

after(() => rmSync(resultsDir, { recursive: true, force: true }));

describe('create strategies', () => {
  let t: TestDatabase;
  const sums = new Map<StrategyName, { rows: number; md5: string }>();
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  for (const strategy of STRATEGIES) {
    it(`${strategy}: N² similarity rows by the pair rule, plus every other table`, async () => {
      const outcome = await create(t, strategy, { replace: true });
      const sum = await simChecksum(t);
      sums.set(strategy, sum);
      assert.equal(sum.rows, N * N);
      const counts = await tableCounts(t);
      assert.equal(counts.datasets_gene, N);
      assert.equal(counts.datasets_dataset, D);
      assert.equal(counts.datasets_datasetsimilarity, D * D);
      assert.ok(counts.datasets_data! > N * D * 0.8 && counts.datasets_data! < N * D, 'missing values have no data row');

      // Diagonal first with score 1, in name order.
      const diagonal = await sql<{ id: number; g: string; score: string }>(t, `SELECT s.id, g.systematic_name AS g, s.score::text AS score
        FROM datasets_genesimilarity s JOIN datasets_gene g ON g.id = s.gene1_id WHERE s.gene1_id = s.gene2_id ORDER BY s.id`);
      assert.deepEqual(diagonal.map((r) => r.id), Array.from({ length: N }, (_, i) => i + 1));
      assert.ok(diagonal.every((r) => r.score === '1.000'));
      const names = diagonal.map((r) => r.g);
      assert.deepEqual(names, [...names].sort());
      // Both orderings of every pair, the mirror right after, the same score, gene1 < gene2 by name first.
      const [mirror] = await sql<{ bad: string }>(t, `SELECT count(*) AS bad FROM datasets_genesimilarity a
        JOIN datasets_gene g1 ON g1.id = a.gene1_id JOIN datasets_gene g2 ON g2.id = a.gene2_id
        LEFT JOIN datasets_genesimilarity b ON b.id = a.id + 1 AND b.gene1_id = a.gene2_id AND b.gene2_id = a.gene1_id AND b.score = a.score
        WHERE a.id > ${N} AND (a.id - ${N}) % 2 = 1 AND (b.id IS NULL OR g1.systematic_name >= g2.systematic_name)`);
      assert.equal(Number(mirror!.bad), 0);

      const csv = readFileSync(outcome.resultsFile, 'utf8').trim().split('\n');
      assert.equal(csv[0], 'metric,seconds,count');
      const metrics = csv.slice(1).map((l) => l.split(',')[0]);
      // The clustered parallel load writes each diagonal row inside its gene's rows, not as a phase of its own.
      const phases = ['create_genes', 'create_sims', 'compute', 'total', ...(strategy === 'parallel' ? [] : ['create_diagonal_sims'])];
      for (const m of phases) assert.ok(metrics.includes(`${strategy}_${m}`), `${strategy}_${m} in results`);
      assert.equal(metrics.includes(`${strategy}_write_file`), strategy === 'copyfromfile');
      assert.ok(csv.includes(`${strategy}_total,${csv.find((l) => l.startsWith(`${strategy}_total,`))!.split(',')[1]},${N * N}`));
    });
  }

  it('every strategy gives identical table contents (ids, genes, metric, scores)', () => {
    const distinct = new Set([...sums.values()].map((s) => s.md5));
    assert.equal(sums.size, STRATEGIES.length);
    assert.equal(distinct.size, 1, JSON.stringify(Object.fromEntries(sums)));
  });

  it('refuses to create over tables that hold data unless --replace is given', async () => {
    const before = await simChecksum(t);
    await assert.rejects(create(t, 'copyfrom'), (err) => err instanceof RefusedError && /--replace/.test(err.message));
    assert.deepEqual(await simChecksum(t), before);
  });
});

/** The parallel engine loads a table of its own; its failure paths are tested in parallel.test. */
const CLASSIC = STRATEGIES.filter((s) => s !== 'parallel');

describe('a failed load leaves nothing behind', () => {
  let t: TestDatabase;
  let tmpDir: string;
  before(async () => {
    t = await createTestDatabase();
    await migrated(t);
    tmpDir = mkdtempSync(path.join(tmpdir(), 'genesim-tmp-'));
    // A real constraint violation deep in the load: some off-diagonal score is bound to exceed 0.5.
    await sql(t, 'ALTER TABLE datasets_genesimilarity ADD CONSTRAINT test_fail_midway CHECK (gene1_id = gene2_id OR score < 0.5)');
  });
  after(async () => {
    await t.drop();
    rmSync(tmpDir, { recursive: true, force: true });
  });

  for (const strategy of CLASSIC) {
    it(`${strategy}: on empty tables`, async () => {
      await assert.rejects(create(t, strategy, { tmpDir }), /test_fail_midway/);
      const counts = await tableCounts(t);
      assert.deepEqual(Object.values(counts), [0, 0, 0, 0, 0], JSON.stringify(counts));
      assert.deepEqual(readdirSync(tmpDir), [], 'temp files removed');
    });
  }

  for (const strategy of CLASSIC.filter((s) => s !== 'baseline')) {
    it(`${strategy}: with --replace, the previous matrix is untouched`, async () => {
      await sql(t, 'ALTER TABLE datasets_genesimilarity DROP CONSTRAINT test_fail_midway');
      await create(t, 'copyfrom', { replace: true, metric: 'cosine' });
      const previous = await simChecksum(t);
      await sql(t, 'ALTER TABLE datasets_genesimilarity ADD CONSTRAINT test_fail_midway CHECK (gene1_id = gene2_id OR score < 0.5) NOT VALID');
      await assert.rejects(create(t, strategy, { replace: true, tmpDir }), /test_fail_midway/);
      assert.deepEqual(await simChecksum(t), previous);
      assert.equal(existsSync(tmpDir) && readdirSync(tmpDir).length, 0);
      await sql(t, 'TRUNCATE datasets_genesimilarity, datasets_datasetsimilarity, datasets_data, datasets_gene, datasets_dataset RESTART IDENTITY');
    });
  }
});

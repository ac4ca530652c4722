import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCreate } from '../src/commands/create.js';
import { RefusedError } from '../src/errors.js';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import type { Matrix } from '../src/input/matrix.js';
import { Random } from '../src/input/random.js';
import { runUpdate, UPDATE_STRATEGIES, type UpdateOptions, type UpdateStrategy } from '../src/update/run.js';
import { createTestDatabase, sql, type TestDatabase } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'genesim-update-'));
const parallel = { threads: 2, connections: 2, via: 'file' as const, format: 'text' as const, load: 'clustered' as const };

/** Matrix A, and B: two genes' values changed, two genes added, one removed, one dataset added. */
function matrices(): { a: Matrix; b: Matrix } {
  const a = generateMatrix({ genes: 30, datasets: 8, seed: 11, missing: 0.1 });
  const r = new Random(99);
  const d = a.datasets.length + 1;
  const keep = a.genes.map((_, i) => i).filter((i) => i !== 3);
  const genes = [...keep.map((i) => a.genes[i]!), 'YAA000C', 'YZZ999W'];
  const values = new Float64Array(genes.length * d);
  genes.forEach((_, row) => {
    for (let k = 0; k < d; k++) {
      const from = keep[row];
      const old = from !== undefined && k < d - 1 ? a.values[from * (d - 1) + k]! : Number.NaN;
      const fresh = Math.round(r.normal() * 1000) / 1000;
      // New genes and the new dataset get fresh values; genes 5 and 7 get new ones throughout.
      values[row * d + k] = from === undefined || k === d - 1 || from === 5 || from === 7 ? (r.next() < 0.1 ? Number.NaN : fresh) : old;
    }
  });
  const commonNames = genes.map((_, row) => (keep[row] !== undefined ? a.commonNames[keep[row]!]! : 'NEW1'));
  return { a, b: { genes, commonNames, datasets: [...a.datasets, 'condition_new'], values } };
}

function save(name: string, m: Matrix): string {
  const file = path.join(dir, name);
  writeFileSync(file, formatTsv(m));
  return file;
}

/** Every table, by names and values only: surrogate ids of new rows may differ from a fresh create. */
async function contents(t: TestDatabase): Promise<Record<string, string>> {
  const q = async (text: string) => (await sql<{ v: string }>(t, `SELECT count(*) || ':' || coalesce(md5(string_agg(x, ';' ORDER BY x)), '') AS v FROM (${text}) q`))[0]!.v;
  return {
    genes: await q(`SELECT concat_ws(',', systematic_name, common_name) AS x FROM datasets_gene`),
    datasets: await q(`SELECT name AS x FROM datasets_dataset`),
    data: await q(`SELECT concat_ws(',', g.systematic_name, d.name, v.value) AS x FROM datasets_data v
      JOIN datasets_gene g ON g.id = v.gene_id JOIN datasets_dataset d ON d.id = v.dataset_id`),
    sims: await q(`SELECT concat_ws(',', a.systematic_name, b.systematic_name, s.metric, s.score) AS x FROM datasets_genesimilarity s
      JOIN datasets_gene a ON a.id = s.gene1_id JOIN datasets_gene b ON b.id = s.gene2_id`),
    datasetSims: await q(`SELECT concat_ws(',', a.name, b.name, s.metric, s.score) AS x FROM datasets_datasetsimilarity s
      JOIN datasets_dataset a ON a.id = s.dataset1_id JOIN datasets_dataset b ON b.id = s.dataset2_id`),
  };
}

const quiet = () => undefined;
const signal = new AbortController().signal;

function create(t: TestDatabase, input: string, replace = true) {
  return runCreate(t.config, { strategy: 'copyfrom', source: { input }, metric: 'cosine', replace, parallel, results: path.join(dir, 'c.csv') }, quiet, signal);
}

function update(t: TestDatabase, strategy: UpdateStrategy, extra: Partial<UpdateOptions> = {}) {
  return runUpdate(
    t.config,
    { strategy, source: { input: fileB }, metric: 'cosine', changedOnly: false, keepMissingGenes: false, parallel, tmpDir: dir, results: path.join(dir, `${strategy}.csv`), ...extra },
    quiet,
    signal,
  );
}

const { a, b } = matrices();
const fileA = save('a.tsv', a);
const fileB = save('b.tsv', b);

describe('update', () => {
  let t: TestDatabase;
  let fresh: TestDatabase;
  let expected: Record<string, string>;
  before(async () => {
    [t, fresh] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    await create(fresh, fileB);
    expected = await contents(fresh);
  });
  after(async () => {
    await Promise.all([t.drop(), fresh.drop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const strategy of UPDATE_STRATEGIES) {
    it(`${strategy}: A updated to B equals a fresh create from B; a repeated --changed-only update writes 0 rows`, async () => {
      await create(t, fileA);
      const first = await update(t, strategy);
      assert.ok(first.changedRows > 0);
      const d = b.datasets.length;
      const expectedChanged = b.genes.filter((g, i) => !a.genes.includes(g) || g === a.genes[5] || g === a.genes[7] || !Number.isNaN(b.values[i * d + d - 1]!)).length;
      assert.equal(first.changedGenes, expectedChanged, 'new genes, the two with new values, and every gene with a value on the new dataset');
      assert.deepEqual(await contents(t), expected);
      const metrics = first.measurements.map((m) => m.metric);
      for (const name of ['total', 'changed_rows', 'genes', 'data']) assert.ok(metrics.includes(`${strategy}_update_${name}`), name);
      const again = await update(t, strategy, { changedOnly: true });
      assert.equal(again.changedRows, 0);
      assert.equal(again.changedGenes, 0);
      assert.deepEqual(await contents(t), expected);
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('genesim-')), [], 'temp files removed');
    });
  }

  it('--changed-only after one gene changed writes only that gene\'s pairs', async () => {
    await create(t, fileB);
    const c = { ...b, values: Float64Array.from(b.values) };
    c.values[4 * c.datasets.length] = 9.5; // gene 4, first dataset
    const fileC = save('c.tsv', c);
    const outcome = await update(t, 'copyfrom', { changedOnly: true, source: { input: fileC } });
    assert.equal(outcome.changedGenes, 1);
    assert.ok(outcome.changedRows > 0 && outcome.changedRows <= 2 * (b.genes.length - 1), `${outcome.changedRows} rows`);
    await create(fresh, fileC);
    assert.deepEqual(await contents(t), await contents(fresh));
  });

  it('--from-db recomputes from the datasets_data table the application edited', async () => {
    await create(t, fileB);
    await sql(t, `UPDATE datasets_data SET value = -3.25 WHERE id = (SELECT min(id) FROM datasets_data)`);
    const outcome = await runUpdate(t.config, { strategy: 'upsert', source: null, metric: 'cosine', changedOnly: true, keepMissingGenes: false, parallel, results: path.join(dir, 'db.csv') }, quiet, signal);
    assert.equal(outcome.changedGenes, b.genes.length, 'from the database every gene is a candidate');
    assert.ok(outcome.changedRows > 0 && outcome.changedRows <= 2 * (b.genes.length - 1), `${outcome.changedRows} rows`);
    // The same edit made to the file and created fresh gives the same tables.
    const c = { ...b, values: Float64Array.from(b.values) };
    const first = (await sql<{ g: string; d: string }>(t, `SELECT g.systematic_name AS g, d.name AS d FROM datasets_data v
      JOIN datasets_gene g ON g.id = v.gene_id JOIN datasets_dataset d ON d.id = v.dataset_id WHERE v.value = -3.25`))[0]!;
    c.values[c.genes.indexOf(first.g) * c.datasets.length + c.datasets.indexOf(first.d)] = -3.25;
    await create(fresh, save('edited.tsv', c));
    assert.deepEqual(await contents(t), await contents(fresh));
  });

  it('--keep-missing-genes keeps genes absent from the input, with their values', async () => {
    await create(t, fileA);
    await update(t, 'bulk', { keepMissingGenes: true });
    const names = (await sql<{ n: string }>(t, 'SELECT systematic_name AS n FROM datasets_gene')).map((r) => r.n);
    assert.ok(names.includes(a.genes[3]!), 'the gene missing from B is still there');
    assert.equal(names.length, 32);
    const [sims] = await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM datasets_genesimilarity');
    assert.equal(Number(sims!.n), 32 * 32);
  });

  it('refuses to mix metrics, and a failed update leaves the previous matrix in place', async () => {
    await create(t, fileA);
    const before = await contents(t);
    await assert.rejects(update(t, 'upsert', { metric: 'pearson' }), (err) => err instanceof RefusedError);
    await sql(t, 'ALTER TABLE datasets_genesimilarity ADD CONSTRAINT test_fail CHECK (gene1_id = gene2_id OR score < 0.5) NOT VALID');
    try {
      for (const strategy of ['copyfromfile', 'bulk'] as const) {
        await assert.rejects(update(t, strategy), /test_fail/);
        assert.deepEqual(await contents(t), before, strategy);
      }
    } finally {
      await sql(t, 'ALTER TABLE datasets_genesimilarity DROP CONSTRAINT test_fail');
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('genesim-')), []);
  });
});

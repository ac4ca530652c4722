import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../src/errors.js';
import { loadMatrixFile } from '../src/input/load.js';
import type { Matrix } from '../src/input/matrix.js';
import { projectRoot } from '../src/paths.js';
import { runCli, sql, suiteDatabase, suiteTempDir } from './helpers.js';

/** The corpus: each file either loads as described or fails naming itself and a line. */
const BAD = path.join(projectRoot, 'test', 'fixtures', 'bad');
const fixture = (name: string) => path.join(BAD, name);

const THREE = {
  genes: ['YAL001C', 'YAL002W', 'YAL003W'],
  commonNames: ['TFC3', 'VPS8', 'EFB1'],
  datasets: ['cond_a', 'cond_b', 'cond_c'],
  values: [0.5, -0.25, 1, 0.1, 0.2, -0.3, -1.5, 0.75, 0.125],
};

function assertThree(m: Matrix): void {
  assert.deepEqual(m.genes, THREE.genes);
  assert.deepEqual(m.commonNames, THREE.commonNames);
  assert.deepEqual(m.datasets, THREE.datasets);
  assert.deepEqual(Array.from(m.values), THREE.values);
  assert.ok(m.values.buffer instanceof SharedArrayBuffer);
  assert.equal(m.values.buffer.byteLength, 9 * 8, 'the buffer is exactly N × D values, as the workers view it whole');
}

async function inputError(name: string): Promise<InputError> {
  try {
    await loadMatrixFile(fixture(name));
  } catch (err) {
    assert.ok(err instanceof InputError, `expected an InputError, got ${err}`);
    return err;
  }
  assert.fail(`${name} loaded without error`);
}

const isNaN = (v: number | undefined) => Number.isNaN(v);

describe('bad input corpus (test/fixtures/bad)', () => {
  for (const name of ['no-final-newline.tsv', 'crlf.tsv', 'bom.tsv', 'gzip.tsv.gz']) {
    it(`${name} loads`, async () => assertThree(await loadMatrixFile(fixture(name))));
  }

  for (const name of ['bom-crlf.pcl', 'gzip.pcl.gz']) {
    it(`${name} loads (PCL, weights skipped)`, async () => assertThree(await loadMatrixFile(fixture(name))));
  }

  const failures: [string, RegExp][] = [
    ['cut-mid-row.tsv', /cut-mid-row\.tsv:4:18: expected 5 tab-separated fields as in the header, found 3$/],
    ['name-with-tab.tsv', /name-with-tab\.tsv:3:23: expected 5 tab-separated fields as in the header, found 6$/],
    ['name-with-newline.tsv', /name-with-newline\.tsv:3:4: expected 5 tab-separated fields as in the header, found 1$/],
    ['infinite.tsv', /infinite\.tsv:3:18: column "cond_b": "Inf" is infinite/],
    ['beyond-double.tsv', /beyond-double\.tsv:4:19: column "cond_b": "1e999" is beyond the range of a double precision value$/],
    ['duplicate-datasets.tsv', /duplicate-datasets\.tsv:1:43: dataset column "cond_a" appears twice$/],
    ['truncated.tsv.gz', /truncated\.tsv\.gz:\d+: the gzip data ends early: the file is truncated$/],
    ['not-gzip.tsv.gz', /not-gzip\.tsv\.gz: not gzip data/],
  ];
  for (const [name, expected] of failures) {
    it(`${name} is rejected naming the file, line and column`, async () => {
      const err = await inputError(name);
      assert.match(err.message, expected);
      assert.equal(err.exitCode, 2);
    });
  }

  it('names with quotes and backslashes load literally (\\N is a name, not NULL)', async () => {
    const m = await loadMatrixFile(fixture('names-with-quotes-and-backslashes.tsv'));
    assert.deepEqual(m.genes, ['YAL001C', 'YAL\\002W', "YAL'003W", 'YAL004\\']);
    assert.deepEqual(m.commonNames, ['"TFC3"', 'VP\\S8', 'EF\\tB1', 'X\\N']);
    assert.deepEqual(m.datasets, ['cond "a"', 'cond\\b', "cond'c"]);
  });

  it('a row of only missing values loads as NaN', async () => {
    const m = await loadMatrixFile(fixture('all-missing-row.tsv'));
    assert.deepEqual(Array.from(m.values.subarray(3, 6)).map(isNaN), [true, true, true]);
  });

  it('10,000 dataset columns (gzip) load', async () => {
    const m = await loadMatrixFile(fixture('wide-10000-columns.tsv.gz'));
    assert.equal(m.datasets.length, 10_000);
    assert.equal(m.genes.length, 4);
    assert.equal(m.datasets[9999], 'c09999');
    assert.equal(m.values.length, 40_000);
    assert.ok(Array.from(m.values).every((v) => v >= -2 && v <= 2));
  });
});

describe('bad input corpus through the command line', () => {
  const t = suiteDatabase();
  const dir = suiteTempDir('genesim-bad-');

  const create = (name: string, ...more: string[]) =>
    runCli(['create', '--strategy', 'copyfrom', '--replace', '--input', fixture(name), '--results', path.join(dir, 'r.csv'), ...more], t.env);
  const measured = (metric: string): number => {
    const line = readFileSync(path.join(dir, 'r.csv'), 'utf8').split('\n').find((l) => l.startsWith(`${metric},`));
    assert.ok(line, `${metric} in the results`);
    return Number(line.split(',')[2]);
  };

  for (const [name, line] of [
    ['cut-mid-row.tsv', 4],
    ['infinite.tsv', 3],
    ['duplicate-datasets.tsv', 1],
    ['truncated.tsv.gz', null],
  ] as const) {
    it(`${name}: exit 2, one line naming the file${line === null ? '' : ` and line ${line}`}, nothing written`, async () => {
      const r = create(name);
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0]!.startsWith(`genesim: ${fixture(name)}:${line ?? ''}`), lines[0]);
      assert.deepEqual(await sql(t, "SELECT 1 FROM pg_tables WHERE tablename = 'datasets_gene'"), [], 'not even the schema was created');
    });
  }

  it('gzip input loads into the database', async () => {
    const r = create('gzip.tsv.gz');
    assert.equal(r.status, 0, r.stderr);
    const genes = await sql<{ systematic_name: string }>(t, 'SELECT systematic_name FROM datasets_gene ORDER BY id');
    assert.deepEqual(genes.map((g) => g.systematic_name), THREE.genes);
    assert.equal(Number((await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM datasets_genesimilarity'))[0]!.n), 9);
  });

  it('SQL-looking names are stored literally and the tables stay', async () => {
    const r = create('sql-names.tsv');
    assert.equal(r.status, 0, r.stderr);
    const genes = await sql<{ systematic_name: string; common_name: string | null }>(t, 'SELECT systematic_name, common_name FROM datasets_gene ORDER BY id');
    assert.deepEqual(genes[0], { systematic_name: "'; DROP TABLE datasets_gene; --", common_name: "Robert'); --" });
    const datasets = await sql<{ name: string }>(t, 'SELECT name FROM datasets_dataset ORDER BY id');
    assert.equal(datasets[0]!.name, "'); DROP TABLE datasets_dataset; --");
    assert.equal(Number((await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM datasets_genesimilarity'))[0]!.n), 9);
  });

  for (const strategy of ['copyfrom', 'parallel', 'bulk']) {
    it(`${strategy}: quotes and backslashes are stored literally (the COPY text encoder escapes them)`, async () => {
      const r = runCli(['create', '--strategy', strategy, '--replace', '--input', fixture('names-with-quotes-and-backslashes.tsv'), '--results', path.join(dir, 'r.csv')], t.env);
      assert.equal(r.status, 0, r.stderr);
      const genes = await sql<{ systematic_name: string; common_name: string | null }>(t, 'SELECT systematic_name, common_name FROM datasets_gene ORDER BY systematic_name COLLATE "C"');
      assert.deepEqual(
        genes.map((g) => [g.systematic_name, g.common_name]),
        [
          ["YAL'003W", 'EF\\tB1'],
          ['YAL001C', '"TFC3"'],
          ['YAL004\\', 'X\\N'],
          ['YAL\\002W', 'VP\\S8'],
        ],
      );
      const datasets = await sql<{ name: string }>(t, 'SELECT name FROM datasets_dataset ORDER BY id');
      assert.deepEqual(datasets.map((d) => d.name), ['cond "a"', 'cond\\b', "cond'c"]);
    });
  }

  it('a row of only missing values loads; its pairs score 0 and are counted as degenerate', async () => {
    const r = create('all-missing-row.tsv');
    assert.equal(r.status, 0, r.stderr);
    // YAL002W shares no dataset with anyone: its 2 pairs (and their mirrors) score 0; its diagonal stays 1.
    assert.equal(measured('copyfrom_degenerate_pairs'), 2);
    assert.match(r.stderr, /2 pairs had fewer than 2 shared datasets or a zero norm and scored 0/);
    const scores = await sql<{ score: string }>(
      t,
      `SELECT s.score FROM datasets_genesimilarity s JOIN datasets_gene g ON g.id = s.gene1_id
        WHERE g.systematic_name = 'YAL002W' ORDER BY s.gene2_id`,
    );
    assert.deepEqual(scores.map((s) => s.score), ['0.000', '1.000', '0.000']);
    assert.equal(Number((await sql<{ n: string }>(t, "SELECT count(*) AS n FROM datasets_data d JOIN datasets_gene g ON g.id = d.gene_id WHERE g.systematic_name = 'YAL002W'"))[0]!.n), 0);
  });

  it('pearson: an all-constant gene has zero norm once centred; its pairs score 0 and are counted', async () => {
    const r = create('constant-gene.tsv', '--metric', 'pearson');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(measured('copyfrom_degenerate_pairs'), 2);
    const scores = await sql<{ score: string }>(
      t,
      `SELECT s.score FROM datasets_genesimilarity s JOIN datasets_gene g ON g.id = s.gene1_id
        WHERE g.systematic_name = 'YAL002W' AND s.metric = 'pearson' ORDER BY s.gene2_id`,
    );
    assert.deepEqual(scores.map((s) => s.score), ['0.000', '1.000', '0.000']);
  });
});

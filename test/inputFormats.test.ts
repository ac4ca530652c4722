import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { projectRoot } from '../src/paths.js';
import { runCli, simChecksum, sql, suiteDatabase, suiteTempDir, type TestDatabase } from './helpers.js';

/**
 * Each layout labs have (test/fixtures/formats, written by R and pandas themselves or by hand
 * from the formats' descriptions) through the built bin into a real database. The expected
 * names and values come from csv-parse, a reader genesim does not use, told by the test how
 * each file is laid out (its delimiter, how a quote is escaped, whether it has a names column).
 */

const FORMATS = path.join(projectRoot, 'test', 'fixtures', 'formats');
const fixture = (name: string) => path.join(FORMATS, name);
const bad = (name: string) => path.join(FORMATS, 'bad', name);

interface Layout {
  delimiter: string;
  /** R's write.table writes a quote inside a quoted field as \" (qmethod = "escape"); the others double it. */
  escape?: '\\' | '"';
  /** The second column holds common names. */
  names: boolean;
  /** A GEO series matrix: only the lines between the table markers are the table. */
  geo?: boolean;
}

interface Expected {
  genes: [string, string | null][];
  datasets: string[];
  /** `gene<TAB>dataset` → value, missing values absent (datasets_data has no row for them). */
  values: Map<string, number>;
}

// What the files write for "no value": R NA, pandas an empty field, GEO null or empty.
const MISSING = new Set(['', 'NA', 'NaN', 'null']);

function tableText(file: string, geo: boolean): string {
  const bytes = readFileSync(file);
  const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
  if (!geo) return text;
  const lines = text.split('\n');
  return lines.slice(lines.indexOf('!series_matrix_table_begin') + 1, lines.indexOf('!series_matrix_table_end')).join('\n');
}

function expectedOf(file: string, layout: Layout): Expected {
  const records = parse(tableText(file, layout.geo ?? false), {
    delimiter: layout.delimiter,
    escape: layout.escape ?? '"',
    relax_column_count: true,
    skip_empty_lines: true,
  }) as string[][];
  const [header, ...rows] = records;
  const first = layout.names ? 2 : 1;
  // R's header has no field over the row names: its datasets start one field earlier.
  const shift = rows[0]!.length - header!.length;
  const datasets = header!.slice(first - shift);
  const values = new Map<string, number>();
  for (const row of rows) {
    assert.equal(row.length, first + datasets.length, `${file}: the fixture is rectangular`);
    datasets.forEach((d, k) => {
      const field = row[first + k]!;
      if (!MISSING.has(field)) values.set(`${row[0]}\t${d}`, Number(field));
    });
  }
  const common = (row: string[]) => (layout.names && !MISSING.has(row[1]!) ? row[1]! : null);
  return { genes: rows.map((r) => [r[0]!, common(r)]), datasets, values };
}

async function databaseHolds(t: TestDatabase, e: Expected): Promise<void> {
  const genes = await sql<{ systematic_name: string; common_name: string | null }>(t, 'SELECT systematic_name, common_name FROM datasets_gene ORDER BY systematic_name COLLATE "C"');
  const byName = (a: [string, string | null], b: [string, string | null]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  assert.deepEqual(genes.map((g) => [g.systematic_name, g.common_name]), [...e.genes].sort(byName));
  const datasets = await sql<{ name: string }>(t, 'SELECT name FROM datasets_dataset ORDER BY id');
  assert.deepEqual(datasets.map((d) => d.name), e.datasets);
  const data = await sql<{ g: string; d: string; value: number }>(
    t,
    `SELECT g.systematic_name AS g, d.name AS d, v.value FROM datasets_data v
       JOIN datasets_gene g ON g.id = v.gene_id JOIN datasets_dataset d ON d.id = v.dataset_id`,
  );
  assert.deepEqual(new Map(data.map((r) => [`${r.g}\t${r.d}`, r.value])), e.values);
  assert.equal((await simChecksum(t)).rows, e.genes.length ** 2, 'every gene pair scored');
}

const tablesAbsent = async (t: TestDatabase) => assert.deepEqual(await sql(t, "SELECT 1 FROM pg_tables WHERE tablename LIKE 'datasets\\_%'"), [], 'not even the schema was created');

/** Exit 2 and one line `genesim: FILE:LINE:COL: problem`. */
function assertOneLineError(r: { status: number | null; stderr: string }, file: string, line: number, problem: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  const m = /^genesim: (.+):(\d+):(\d+): (.+)$/.exec(lines[0]!);
  assert.ok(m, `file:line:col: in ${lines[0]}`);
  assert.equal(m[1], file);
  assert.equal(Number(m[2]), line, lines[0]);
  assert.match(m[4]!, problem);
}

const R: Layout = { delimiter: '\t', escape: '\\', names: false };
const PANDAS: Layout = { delimiter: ',', names: false };
const TAB: Layout = { delimiter: '\t', names: false };

describe('expression layouts labs have, through the built bin', function () {
  this.timeout(300_000);
  const dir = suiteTempDir('genesim-formats-');
  const create = (t: TestDatabase, file: string, ...more: string[]) =>
    runCli(['create', '--strategy', 'copyfrom', '--replace', '--input', file, '--results', path.join(dir, 'r.csv'), ...more], t.env);

  it('create --help states the detection rule and points to docs/input-formats.md, which exists', () => {
    const help = runCli(['create', '--help'], { PATH: process.env.PATH }).stdout.replace(/\s+/g, ' ');
    for (const said of ['a GEO series matrix by a first line starting "!"', 'PCL by NAME and GWEIGHT', "genesim's TSV by systematic_name", 'first column the gene ids whatever its header', "R's header one field short", 'docs/input-formats.md']) {
      assert.ok(help.includes(said), `--help says ${said}`);
    }
    assert.match(readFileSync(path.join(projectRoot, 'docs', 'input-formats.md'), 'utf8'), /the first column is the gene ids, whatever its header says/);
  });

  describe('each layout loads with its names and values', () => {
    const t = suiteDatabase();
    const gz = (name: string, as = `${name}.gz`) => {
      const out = path.join(dir, as);
      writeFileSync(out, gzipSync(readFileSync(fixture(name))));
      return out;
    };
    const cases: [string, () => string, Layout][] = [
      ['R write.table, tab (header one field short, \\" inside quotes, NA)', () => fixture('r-write-table.tsv'), R],
      ["R write.table with R's default space separator", () => fixture('r-write-table-space.txt'), { ...R, delimiter: ' ' }],
      ['R write.table, comma, one quote inside a name (the quotes do not pair up)', () => fixture('r-odd-quote.csv'), { ...R, delimiter: ',' }],
      ['R write.csv (full header, first field "", quotes doubled)', () => fixture('r-write-csv.csv'), PANDAS],
      ['R write.table of a data frame with a symbol column (one NA)', () => fixture('r-write-table-symbol.tsv'), { ...R, names: true }],
      ['pandas to_csv (empty index header, quoted only where needed, NaN empty)', () => fixture('pandas.csv'), PANDAS],
      ['pandas to_csv, QUOTE_NONNUMERIC', () => fixture('pandas-nonnumeric.csv'), PANDAS],
      ['pandas to_csv, tab, index named ORF and a symbol column', () => fixture('pandas-symbol.tsv'), { ...TAB, names: true }],
      ['Stanford ORF and NAME', () => fixture('stanford-orf.tsv'), { ...TAB, names: true }],
      ['Stanford UID, no names', () => fixture('stanford-uid.tsv'), TAB],
      ['ID_REF and GSM columns (null missing)', () => fixture('id-ref.tsv'), TAB],
      ['Gene and a names column told by its values, not its header', () => fixture('gene-alias.tsv'), { ...TAB, names: true }],
      ['GEO series matrix', () => fixture('GSE00000_series_matrix.txt'), { ...TAB, geo: true }],
      ['GEO series matrix, gzipped', () => gz('GSE00000_series_matrix.txt'), { ...TAB, geo: true }],
      ['GEO series matrix, gzipped under a name without .gz (told by its bytes)', () => gz('GSE00000_series_matrix.txt', 'download'), { ...TAB, geo: true }],
      ['R write.table, gzipped', () => gz('r-write-table.tsv'), R],
    ];
    for (const [what, file, layout] of cases) {
      it(what, async () => {
        const f = file();
        const r = create(t, f);
        assert.equal(r.status, 0, r.stderr);
        await databaseHolds(t, expectedOf(f, layout));
      });
    }

    it('--input-format forces a reader the content agrees with (csv, tsv, geo)', async () => {
      for (const [format, f, layout] of [
        ['csv', fixture('pandas.csv'), PANDAS],
        ['tsv', fixture('r-write-table.tsv'), R],
        ['geo', gz('GSE00000_series_matrix.txt'), { ...TAB, geo: true }],
      ] as const) {
        const r = create(t, f, '--input-format', format);
        assert.equal(r.status, 0, `${format}: ${r.stderr}`);
        await databaseHolds(t, expectedOf(f, layout));
      }
    });

    it('a bad file after a good one: exit 2 and the tables unchanged', async () => {
      assert.equal(create(t, fixture('stanford-orf.tsv')).status, 0);
      const before = await simChecksum(t);
      const genes = await sql(t, 'SELECT * FROM datasets_gene ORDER BY id');
      assertOneLineError(create(t, bad('stanford-short-row.tsv')), bad('stanford-short-row.tsv'), 3, /expected 4 tab-separated fields/);
      assert.deepEqual(await simChecksum(t), before);
      assert.deepEqual(await sql(t, 'SELECT * FROM datasets_gene ORDER BY id'), genes);
    });
  });

  describe('a wrong-shape or header-only file in each layout: exit 2, one line file:line:col:, nothing written', () => {
    const t = suiteDatabase();
    const failures: [string, number, RegExp][] = [
      ['r-short-row.tsv', 3, /^expected 3 tab-separated fields \(a row name and the header's 2\), found 2$/],
      ['r-header-only.tsv', 1, /^the header is followed by no data rows$/],
      ['r-unclosed-quote.tsv', 3, /^a quoted field is not closed on its line$/],
      ['pandas-long-row.csv', 3, /^expected 3 comma-separated fields as in the header, found 4$/],
      ['pandas-not-a-number.csv', 3, /^column "cold, 4h": "abc" is not a number$/],
      ['pandas-header-only.csv', 1, /^the header is followed by no data rows$/],
      ['stanford-short-row.tsv', 3, /^expected 4 tab-separated fields as in the header, found 3$/],
      ['stanford-header-only.tsv', 1, /^the header is followed by no data rows$/],
      ['geo-short-row.txt', 5, /^expected 3 tab-separated fields as in the header, found 2$/],
      ['geo-header-only.txt', 3, /^the header is followed by no data rows$/],
      ['geo-cut-short.txt', 4, /^the table has no !series_matrix_table_end line: the file is cut short$/],
    ];
    for (const [name, line, problem] of failures) {
      it(`${name}: line ${line}`, async () => {
        assertOneLineError(create(t, bad(name)), bad(name), line, problem);
        await tablesAbsent(t);
      });
    }

    it('a gzipped bad file is named and placed the same way', async () => {
      const f = path.join(dir, 'geo-short-row.txt.gz');
      writeFileSync(f, gzipSync(readFileSync(bad('geo-short-row.txt'))));
      assertOneLineError(create(t, f), f, 5, /^expected 3 tab-separated fields/);
      await tablesAbsent(t);
    });

    const mismatches: [string, string, RegExp][] = [
      ['csv', fixture('stanford-orf.tsv'), /^--input-format csv, but the header and first row hold no comma \(it is tab-separated\): use --input-format auto$/],
      ['tsv', fixture('pandas.csv'), /^--input-format tsv, but the header and first row hold no tab \(it is comma-separated\)/],
      ['tsv', fixture('GSE00000_series_matrix.txt'), /^--input-format tsv, but the file starts with "!", as a GEO series matrix does: use --input-format geo or auto$/],
      ['genesim', fixture('stanford-orf.tsv'), /^the first header column must be "systematic_name", found "ORF"$/],
      ['pcl', fixture('stanford-orf.tsv'), /^a PCL header reads "YORF<TAB>NAME<TAB>GWEIGHT<TAB>dataset\.\.\."$/],
    ];
    for (const [format, f, problem] of mismatches) {
      it(`--input-format ${format} on ${path.basename(f)}: the mismatch is said`, async () => {
        assertOneLineError(create(t, f, '--input-format', format), f, 1, problem);
        await tablesAbsent(t);
      });
    }

    it('--input-format geo on a file that is not one: said at its end', async () => {
      const f = fixture('pandas.csv');
      const lines = readFileSync(f, 'utf8').trimEnd().split('\n').length;
      assertOneLineError(create(t, f, '--input-format', 'geo'), f, lines, /^no !series_matrix_table_begin line: this is not a GEO series matrix/);
      await tablesAbsent(t);
    });

    it('a .gz name whose bytes are not gzip', async () => {
      const f = path.join(dir, 'plain.csv.gz');
      copyFileSync(fixture('pandas.csv'), f);
      const r = create(t, f);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr.trim(), new RegExp(`^genesim: ${f.replace(/[.]/g, '\\.')}: not gzip data`));
      await tablesAbsent(t);
    });
  });
});

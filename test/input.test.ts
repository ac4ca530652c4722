import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InputError } from '../src/errors.js';
import { splitLine } from '../src/input/fields.js';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import { loadMatrixFile } from '../src/input/load.js';
import { sortBySystematicName } from '../src/input/matrix.js';
import { prepare, scoreRow } from '../src/similarity/kernel.js';
import { EISEN } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'genesim-input-'));
function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

async function inputError(f: string): Promise<InputError> {
  try {
    await loadMatrixFile(f);
  } catch (err) {
    assert.ok(err instanceof InputError, `expected an InputError, got ${err}`);
    return err;
  }
  assert.fail(`${f} loaded without error`);
}

// Root-level: the temp files serve every suite in this file.
after(() => rmSync(dir, { recursive: true, force: true }));

describe('TSV reader', () => {
  it('loads the Eisen 1998 yeast data: 2,467 genes × 79 conditions', async () => {
    const m = await loadMatrixFile(EISEN);
    assert.equal(m.genes.length, 2467);
    assert.equal(m.datasets.length, 79);
    assert.equal(m.genes[0], 'EISEN0001');
    assert.equal(m.commonNames[0], 'TYR1');
    assert.equal(m.values[0], 0.33);
    assert.equal(m.values[1], -0.17);
    assert.ok(m.values.buffer instanceof SharedArrayBuffer, 'values live in shared memory for the workers');
  });

  it('reads missing values written empty, NA or NaN, without a common_name column, with CRLF', async () => {
    const m = await loadMatrixFile(file('missing.tsv', 'systematic_name\ta\tb\tc\r\nYAL001C\t1\t\t2\r\nYAL002W\tNA\tNaN\t-1.5e1\r\n\r\n'));
    assert.deepEqual(m.genes, ['YAL001C', 'YAL002W']);
    assert.deepEqual(m.commonNames, [null, null]);
    assert.equal(Number.isNaN(m.values[1]!), true);
    assert.equal(Number.isNaN(m.values[3]!), true);
    assert.equal(Number.isNaN(m.values[4]!), true);
    assert.equal(m.values[5], -15);
  });

  const bad: [string, string, RegExp][] = [
    ['ragged.tsv', 'systematic_name\tcommon_name\ta\tb\nYAL001C\tX\t1\t2\nYAL002W\tY\t1\n', /ragged\.tsv:3:12: expected 4 tab-separated fields as in the header, found 3/],
    ['nonnumeric.tsv', 'systematic_name\ta\tb\nYAL001C\t1\t2\nYAL002W\t1\tabc\n', /nonnumeric\.tsv:3:11: column "b": "abc" is not a number/],
    ['empty.tsv', '', /empty\.tsv: the file is empty/],
    ['blank.tsv', '\n\n', /blank\.tsv: the file is empty/],
    ['header.tsv', 'systematic_name\ta\tb\n', /header\.tsv:1:20: the header is followed by no data rows$/],
    ['long.tsv', `systematic_name\ta\nYAL001C\t1\n${'Y'.repeat(51)}\t2\n`, /long\.tsv:3:1: systematic name "Y+" is 51 characters, more than 50/],
    ['nodatasets.tsv', 'systematic_name\tcommon_name\nYAL001C\tX\n', /nodatasets\.tsv:1: the header names no dataset columns/],
  ];
  for (const [name, text, expected] of bad) {
    it(`rejects ${name} naming the file, line and problem`, async () => {
      const err = await inputError(file(name, text));
      assert.match(err.message, expected);
      assert.equal(err.exitCode, 2);
    });
  }

  it('reads a table whose first header column is not systematic_name (here "gene") as genes in that column', async () => {
    const m = await loadMatrixFile(file('gene-header.tsv', 'gene\ta\nYAL001C\t1\n'));
    assert.deepEqual(m.genes, ['YAL001C']);
    assert.deepEqual(m.datasets, ['a']);
    assert.equal(m.values[0], 1);
  });

  it('rejects duplicate systematic names, naming the first few and their lines', async () => {
    const lines = ['systematic_name\ta'];
    for (let k = 0; k < 8; k++) lines.push(`YDUP${k}\t1`, `YDUP${k}\t2`);
    const err = await inputError(file('dups.tsv', lines.join('\n')));
    assert.match(err.message, /dups\.tsv: duplicate systematic names: "YDUP0" \(lines 2 and 3\), "YDUP1" \(lines 4 and 5\)/);
    assert.match(err.message, /and 3 more$/);
  });

  it('rejects a file that does not exist', async () => {
    const err = await inputError(path.join(dir, 'nope.tsv'));
    assert.match(err.message, /nope\.tsv: cannot read: no such file/);
  });
});

describe('PCL reader', () => {
  it('reads YORF, NAME and values, skipping GWEIGHT and the EWEIGHT row', async () => {
    const m = await loadMatrixFile(
      file('small.pcl', 'YORF\tNAME\tGWEIGHT\tt0\tt1\nEWEIGHT\t\t\t1\t1\nYAL001C\tTFC3\t1\t0.5\t-0.25\nYAL002W\t\t1\t\t1\n'),
    );
    assert.deepEqual(m.genes, ['YAL001C', 'YAL002W']);
    assert.deepEqual(m.commonNames, ['TFC3', null]);
    assert.deepEqual(m.datasets, ['t0', 't1']);
    assert.deepEqual(Array.from(m.values).map((v) => (Number.isNaN(v) ? 'NaN' : v)), [0.5, -0.25, 'NaN', 1]);
  });

  it('rejects a PCL file without the NAME and GWEIGHT columns', async () => {
    const err = await inputError(file('bad.pcl', 'YORF\tt0\nYAL001C\t1\n'));
    assert.match(err.message, /bad\.pcl:1:6: a PCL header reads/);
  });
});

describe('quoted fields (R, pandas, GEO)', () => {
  const tab = { delimiter: '\t', quoted: true } as const;

  it('reads a quote doubled (pandas, RFC 4180) and backslash-escaped (R write.table\'s qmethod = "escape")', () => {
    assert.deepEqual(splitLine('"GSM ""x"""\t"b"', tab), ['GSM "x"', 'b']);
    assert.deepEqual(splitLine(String.raw`"GSM \"x\""` + '\t"b"', tab), ['GSM "x"', 'b']);
  });

  it('keeps a name ending in a backslash as R writes it (R leaves a backslash bare)', () => {
    assert.deepEqual(splitLine(String.raw`"a\"` + '\t1', tab), ['a\\', '1']);
  });

  it('reports a line neither way reads, with its line and column', async () => {
    const err = await inputError(file('stray.tsv', 'g\ta\n' + String.raw`"YAL\"x"y"` + '\t1\n'));
    assert.match(err.message, /stray\.tsv:2:\d+: a quoted field must be followed by a tab or the end of the line/);
  });
});

describe('synthetic generator', () => {
  const options = { genes: 400, datasets: 30, seed: 42, missing: 0.05 };

  it('gives byte-identical files for the same arguments and different ones for another seed', () => {
    assert.equal(formatTsv(generateMatrix(options)), formatTsv(generateMatrix(options)));
    assert.notEqual(formatTsv(generateMatrix(options)), formatTsv(generateMatrix({ ...options, seed: 43 })));
  });

  it('makes unique yeast-style systematic names and about the asked fraction of missing values', () => {
    const m = generateMatrix(options);
    assert.equal(new Set(m.genes).size, 400);
    for (const g of m.genes) assert.match(g, /^Y[A-P][LR]\d{3}[WC](-[AB])?$/);
    const missing = Array.from(m.values).filter(Number.isNaN).length / m.values.length;
    assert.ok(missing > 0.03 && missing < 0.07, `missing fraction ${missing}`);
  });

  it('reads back from its own file as the same matrix', async () => {
    const m = generateMatrix(options);
    const back = await loadMatrixFile(file('gen.tsv', formatTsv(m)));
    assert.deepEqual(back.genes, m.genes);
    assert.deepEqual(back.commonNames, m.commonNames);
    assert.deepEqual(Array.from(back.values), Array.from(m.values));
  });

  it('spreads similarities over [-1, 1] instead of bunching them near 0', () => {
    const m = sortBySystematicName(generateMatrix({ ...options, missing: 0 }));
    const p = prepare(m.values, 400, 30, 'cosine');
    const out = new Int16Array(400);
    let high = 0;
    let low = 0;
    let pairs = 0;
    for (let i = 0; i < 400; i++) {
      scoreRow(p, i, out);
      for (let j = 0; j < 400 - i - 1; j++, pairs++) {
        if (out[j]! > 500) high++;
        if (out[j]! < -500) low++;
      }
    }
    assert.ok(high / pairs > 0.05, `${high} of ${pairs} pairs above 0.5`);
    assert.ok(low / pairs > 0.05, `${low} of ${pairs} pairs below -0.5`);
  });
});

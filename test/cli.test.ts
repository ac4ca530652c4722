import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import { createTestDatabase, runCli, runCliAsync, tableCounts, type TestDatabase, suiteDatabase, suiteTempDir } from './helpers.js';

describe('command line', () => {
  const t = suiteDatabase();
  const dir = suiteTempDir('genesim-cli-');

  it('--help lists every command', () => {
    const r = runCli(['--help'], t.env);
    assert.equal(r.status, 0);
    for (const command of ['migrate', 'generate', 'create', 'demo']) assert.match(r.stdout, new RegExp(`genesim ${command}\\b`));
  });

  it('generate writes the same bytes for the same arguments, the generator\'s own TSV', () => {
    const args = ['generate', '--genes', '50', '--datasets', '8', '--seed', '3', '--missing', '0.1'];
    const a = path.join(dir, 'a.tsv');
    const b = path.join(dir, 'b.tsv');
    assert.equal(runCli([...args, '--out', a], t.env).status, 0);
    assert.equal(runCli([...args, '--out', b], t.env).status, 0);
    assert.equal(readFileSync(a, 'utf8'), readFileSync(b, 'utf8'));
    assert.equal(readFileSync(a, 'utf8'), formatTsv(generateMatrix({ genes: 50, datasets: 8, seed: 3, missing: 0.1 })));
  });

  it('bad input: one line naming file, line and column, exit 2, nothing written to the database', async () => {
    const bad = path.join(dir, 'bad.tsv');
    writeFileSync(bad, 'systematic_name\ta\tb\nYAL001C\t1\t2\nYAL002W\t1\toops\n');
    const r = runCli(['create', '--strategy', 'copyfrom', '--input', bad], t.env);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), `genesim: ${bad}:3:11: column "b": "oops" is not a number`);
    await assert.rejects(tableCounts(t), /does not exist/, 'not even the schema was created');
  });

  it('invalid configuration: one line, exit 2', () => {
    const r = runCli(['migrate'], { ...t.env, PGPORT: 'none' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /invalid configuration: PGPORT="none"/);
  });

  it('unknown flags and bad values are usage errors, exit 2', () => {
    assert.equal(runCli(['create', '--strategy', 'copyfrom', '--genes', '10', '--bogus'], t.env).status, 2);
    assert.equal(runCli(['create', '--strategy', 'fast', '--genes', '10'], t.env).status, 2);
    assert.equal(runCli(['create', '--strategy', 'bulk', '--genes', '-3'], t.env).status, 2);
    assert.equal(runCli(['create', '--strategy', 'bulk'], t.env).status, 2);
  });

  it('create prints its summary; a second create without --replace is refused with exit 3', async () => {
    const results = path.join(dir, 'r.csv');
    const r = runCli(['create', '--strategy', 'copyfromfile', '--genes', '30', '--datasets', '5', '--results', results], t.env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^created the cosine similarity matrix of 30 genes × 5 datasets: 900 similarity rows \(copyfromfile strategy\)$/m);
    assert.match(readFileSync(results, 'utf8'), /^metric,seconds,count\n/);
    assert.equal((await tableCounts(t)).datasets_genesimilarity, 900);
    const again = runCli(['create', '--strategy', 'copyfromfile', '--genes', '30', '--datasets', '5', '--results', results], t.env);
    assert.equal(again.status, 3);
    assert.match(again.stderr, /pass --replace/);
  });
});

describe('Ctrl-C', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  it('rolls back, removes temp files and exits 130', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'genesim-int-'));
    // Big enough to be mid-load for seconds; the signal goes once the load has begun.
    const args = ['create', '--strategy', 'copyfromfile', '--genes', '3000', '--tmp-dir', tmp, '--results', path.join(tmp, 'r.csv')];
    const { code, stderr } = await runCliAsync(args, t.env, { interruptAfter: 'migrated', delayMs: 500 });
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted: nothing was kept/);
    assert.deepEqual(Object.values(await tableCounts(t)), [0, 0, 0, 0, 0]);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('genesim-')), []);
    rmSync(tmp, { recursive: true, force: true });
  });
});

describe('embedded PostgreSQL (no database configured)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'genesim-embedded-'));
  // The server runs as the postgres user when we are root; it must be able to reach its directory.
  chmodSync(root, 0o755);
  after(() => rmSync(root, { recursive: true, force: true }));

  it('starts, says so on stderr, migrates and creates a matrix', function () {
    // initdb and a first start of a second server: 6 s alone, over 120 s on a machine shared
    // with other suites (a full embedded run under nice, 2026-12-06).
    this.timeout(300_000);
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GENESIM_EMBEDDED_DIR: path.join(root, 'pgdata'),
      GENESIM_EMBEDDED_PORT: String(55000 + (process.pid % 5000)),
    };
    const r = runCli(['create', '--strategy', 'copyfrom', '--genes', '20', '--datasets', '4', '--results', path.join(root, 'r.csv')], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /no database configured .*: using embedded PostgreSQL/);
    assert.match(r.stdout, /: 400 similarity rows \(copyfrom strategy\)$/m);
    assert.match(r.stdout, /^  where: +embedded PostgreSQL|^  where: +postgres@127\.0\.0\.1:\d+\/genesim;/m);
    const again = runCli(['migrate'], env);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /nothing to apply/);
  });
});

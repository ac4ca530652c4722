import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { clientConfig } from '../src/db/connect.js';
import { projectRoot } from '../src/paths.js';
import { CLI, createTestDatabase, loadTables, runCli, sql, type TestDatabase } from './helpers.js';

const FIXTURES = path.join(projectRoot, 'test', 'fixtures', 'django');
const PG_DUMP = '/usr/lib/postgresql/15/bin/pg_dump';
const TABLES = ['datasets_dataset', 'datasets_gene', 'datasets_data', 'datasets_datasetsimilarity', 'datasets_genesimilarity'];
/** What an application adds around genesim's tables: a table with a key into genes and a view. */
const APP_OBJECTS = ['datasets_genenote', 'datasets_strong_similarity'];

/** Django's DDL for the datasets app with the production extras, an application table and a view. */
export async function djangoSchema(t: TestDatabase, autoField: 'autofield' | 'bigautofield'): Promise<void> {
  for (const file of [`0001_${autoField}.sql`, '0002_extras.sql', `0003_genenote_${autoField}.sql`, 'view.sql']) {
    await sql(t, readFileSync(path.join(FIXTURES, file), 'utf8'));
  }
  // Owner, grants and comments must survive too.
  await sql(t, `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'genesim_test_reader') THEN CREATE ROLE genesim_test_reader; END IF; END $$`);
  await sql(t, 'GRANT SELECT ON datasets_genesimilarity, datasets_strong_similarity TO genesim_test_reader');
  await sql(t, 'GRANT SELECT (common_name) ON datasets_gene TO genesim_test_reader');
  await sql(t, "COMMENT ON TABLE datasets_genesimilarity IS 'gene pairs'");
  await sql(t, "COMMENT ON COLUMN datasets_genesimilarity.pvalue IS 'set by the app'");
  await sql(t, 'ALTER TABLE datasets_genesimilarity SET (fillfactor = 90)');
}

/** The schema as pg_dump prints it, for the replaced tables and the application's objects around them. */
export function schemaDump(t: TestDatabase): string {
  const args = ['--schema-only', ...[...TABLES, ...APP_OBJECTS].flatMap((name) => ['-t', name])];
  const r = spawnSync(PG_DUMP, args, { env: t.env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // pg_dump 15.14+ brackets its output with a random \restrict key: not part of the schema.
  return r.stdout.replace(/^\\(un)?restrict .*$/gm, '');
}

const inputDir = mkdtempSync(path.join(tmpdir(), 'genesim-django-inputs-'));
after(() => rmSync(inputDir, { recursive: true, force: true }));

/** A synthetic matrix file (the same gene names for the same gene count, whatever the datasets). */
function matrixFile(genes: number, datasets: number): string {
  const file = path.join(inputDir, `g${genes}d${datasets}.tsv`);
  const r = runCli(['generate', '--genes', String(genes), '--datasets', String(datasets), '--out', file], { PATH: process.env.PATH });
  assert.equal(r.status, 0, r.stderr);
  return file;
}

function cli(t: TestDatabase, args: string[]) {
  const r = runCli(args, t.env);
  return r;
}

function ok(r: { status: number | null; stderr: string }) {
  assert.equal(r.status, 0, r.stderr);
}

async function viewMatchesTables(t: TestDatabase): Promise<number> {
  const [v] = await sql<{ n: string; md5: string }>(t, `SELECT count(*) AS n, md5(string_agg(concat_ws(',', gene1_id, partner, score), ';' ORDER BY gene1_id, partner)) AS md5
    FROM datasets_strong_similarity`);
  const [d] = await sql<{ n: string; md5: string }>(t, `SELECT count(*) AS n, md5(string_agg(concat_ws(',', s.gene1_id, g.systematic_name, s.score), ';' ORDER BY s.gene1_id, g.systematic_name)) AS md5
    FROM datasets_genesimilarity s JOIN datasets_gene g ON g.id = s.gene2_id WHERE s.gene1_id <> s.gene2_id AND s.score >= 0.5`);
  assert.deepEqual(v, d, 'the view reads the new tables');
  return Number(v!.n);
}


for (const autoField of ['autofield', 'bigautofield'] as const) {
  describe(`parallel engine on Django's own schema (${autoField}, pvalue column, partial index, CHECK, view, app table)`, () => {
    let t: TestDatabase;
    let dump: string;
    const tmpDir = mkdtempSync(path.join(tmpdir(), 'genesim-django-'));
    const idType = autoField === 'bigautofield' ? 'bigint' : 'integer';
    before(async () => {
      t = await createTestDatabase();
      await djangoSchema(t, autoField);
      dump = schemaDump(t);
    });
    after(async () => {
      await t.drop();
      rmSync(tmpDir, { recursive: true, force: true });
    });

    const run = (args: string[]) => cli(t, [...args, '--tmp-dir', tmpDir, '--results', path.join(tmpDir, 'r.csv')]);
    const afterRun = async () => {
      assert.equal(schemaDump(t), dump, 'pg_dump --schema-only prints the same DDL as before');
      assert.deepEqual(await loadTables(t), [], 'no load or retired table left');
      assert.deepEqual(readdirSync(tmpDir).filter((f) => f !== 'r.csv'), [], 'no temp file left');
      const [fk] = await sql<{ v: boolean }>(t, "SELECT convalidated AS v FROM pg_constraint WHERE conname = 'datasets_genenote_gene_id_cb8ea5ae_fk_datasets_gene_id'");
      assert.equal(fk!.v, true, "the application table's key into genes is validated again");
    };

    it('create: same DDL, ids keep their type, the extra column defaulted, the view reads the new rows', async () => {
      ok(run(['create', '--strategy', 'parallel', '--genes', '30', '--datasets', '6', '--threads', '2', '--connections', '2']));
      await afterRun();
      const [r] = await sql<{ n: string; nulls: string; t: string }>(t, `SELECT count(*) AS n, count(*) FILTER (WHERE pvalue IS NULL) AS nulls,
        (SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'datasets_genesimilarity'::regclass AND attname = 'id') AS t
        FROM datasets_genesimilarity`);
      assert.deepEqual(r, { n: '900', nulls: '900', t: idType });
      assert.ok((await viewMatchesTables(t)) > 0);
      const [seq] = await sql<{ v: string }>(t, "SELECT nextval(pg_get_serial_sequence('datasets_genesimilarity', 'id')) AS v");
      assert.equal(Number(seq!.v), 901, 'the sequence continues after the ids written directly');
    });

    it('update (binary COPY): the pvalues the application stored are carried over to the pairs that remain', async () => {
      await sql(t, "UPDATE datasets_genesimilarity SET pvalue = 0.000123 WHERE gene1_id IN (2, 5) AND gene2_id <> 7");
      await sql(t, "INSERT INTO datasets_genenote (text, gene_id) VALUES ('keep me', 3)");
      const before = await sql<{ k: string }>(t, `SELECT g1.systematic_name || ' ' || g2.systematic_name || ' ' || s.pvalue AS k
        FROM datasets_genesimilarity s JOIN datasets_gene g1 ON g1.id = s.gene1_id JOIN datasets_gene g2 ON g2.id = s.gene2_id WHERE s.pvalue IS NOT NULL ORDER BY 1`);
      // One more dataset: every score may change, every pair remains.
      const r = run(['update', '--strategy', 'parallel', '--input', matrixFile(30, 7), '--threads', '2', '--format', 'binary']);
      ok(r);
      assert.match(r.stderr, /carrying the application's values in datasets_genesimilarity\.pvalue/);
      await afterRun();
      const after = await sql<{ k: string }>(t, `SELECT g1.systematic_name || ' ' || g2.systematic_name || ' ' || s.pvalue AS k
        FROM datasets_genesimilarity s JOIN datasets_gene g1 ON g1.id = s.gene1_id JOIN datasets_gene g2 ON g2.id = s.gene2_id WHERE s.pvalue IS NOT NULL ORDER BY 1`);
      assert.equal(before.length, 2 * 29, 'genes 2 and 5 with every partner but gene 7');
      assert.deepEqual(after, before);
      assert.equal((await sql(t, 'SELECT 1 FROM datasets_dataset')).length, 7);
      assert.equal((await sql(t, "SELECT 1 FROM datasets_genenote WHERE gene_id = 3 AND text = 'keep me'")).length, 1);
      await viewMatchesTables(t);
    });

    it('update --reset-columns resets them to their default instead', async () => {
      ok(run(['update', '--strategy', 'parallel', '--input', matrixFile(30, 6), '--threads', '2', '--reset-columns']));
      await afterRun();
      assert.equal((await sql(t, 'SELECT 1 FROM datasets_genesimilarity WHERE pvalue IS NOT NULL')).length, 0);
    });

    it('in-place update (upsert) keeps the application\'s columns as they are', async () => {
      await sql(t, 'UPDATE datasets_genesimilarity SET pvalue = 0.5 WHERE gene2_id = 4');
      const stored = await sql(t, 'SELECT id, pvalue::text FROM datasets_genesimilarity WHERE pvalue IS NOT NULL ORDER BY id');
      ok(run(['update', '--strategy', 'upsert', '--input', matrixFile(30, 7)]));
      assert.equal(schemaDump(t), dump);
      assert.equal(stored.length, 30);
      assert.deepEqual(await sql(t, 'SELECT id, pvalue::text FROM datasets_genesimilarity WHERE pvalue IS NOT NULL ORDER BY id'), stored);
    });

    it('create --replace refuses up front while an application table references the genes, naming it', async () => {
      const r = run(['create', '--strategy', 'parallel', '--genes', '30', '--datasets', '6', '--replace']);
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, /datasets_genenote rows reference datasets_gene rows through foreign key datasets_genenote_gene_id_cb8ea5ae_fk_datasets_gene_id/);
      assert.match(r.stderr, /^genesim: refusing before any work: [^\n]*$/m, 'one line');
      await afterRun();
      await sql(t, 'DELETE FROM datasets_genenote');
      ok(run(['create', '--strategy', 'parallel', '--genes', '25', '--datasets', '6', '--replace', '--format', 'binary', '--load', 'concurrent']));
      await afterRun();
      assert.equal((await sql(t, 'SELECT 1 FROM datasets_genesimilarity')).length, 625);
    });

    it('refuses, before any work, what a rename cannot carry: a materialized view, a trigger', async () => {
      await sql(t, 'CREATE MATERIALIZED VIEW test_mv AS SELECT gene1_id FROM datasets_genesimilarity');
      await sql(t, `CREATE FUNCTION test_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`);
      await sql(t, 'CREATE TRIGGER test_noop BEFORE INSERT ON datasets_gene FOR EACH ROW EXECUTE FUNCTION test_noop()');
      try {
        const r = run(['create', '--strategy', 'parallel', '--genes', '25', '--datasets', '6', '--replace']);
        assert.equal(r.status, 3, r.stderr);
        assert.match(r.stderr, /materialized view test_mv/);
        assert.match(r.stderr, /trigger test_noop on public\.datasets_gene/);
      } finally {
        await sql(t, 'DROP MATERIALIZED VIEW test_mv; DROP TRIGGER test_noop ON datasets_gene; DROP FUNCTION test_noop()');
      }
      await afterRun();
    });

    if (autoField === 'autofield') {
      it('integer ids refuse, up front and in one line, a matrix of more than 2,147,483,647 rows', async () => {
        const r = run(['create', '--strategy', 'parallel', '--genes', '46341', '--datasets', '2', '--replace']);
        assert.equal(r.status, 3, r.stderr);
        assert.match(r.stderr, /46,341 genes make 2,147,488,281 similarity rows, more than datasets_genesimilarity\.id \(integer\) can number/);
        await afterRun();
      });
    }
  });
}

describe('swap waits for the application with a short lock timeout', () => {
  let t: TestDatabase;
  const tmpDir = mkdtempSync(path.join(tmpdir(), 'genesim-swapwait-'));
  before(async () => {
    t = await createTestDatabase();
    await djangoSchema(t, 'bigautofield');
    ok(cli(t, ['create', '--strategy', 'parallel', '--genes', '20', '--datasets', '5', '--tmp-dir', tmpDir, '--results', path.join(tmpDir, 'r.csv')]));
  });
  after(async () => {
    await t.drop();
    rmSync(tmpDir, { recursive: true, force: true });
  });

  /** A reader of the application holding a transaction open on the view's tables. */
  async function openReader(): Promise<pg.Client> {
    const c = new pg.Client({ ...clientConfig(t.target), application_name: 'test long reader' });
    await c.connect();
    await c.query('BEGIN');
    await c.query('SELECT count(*) FROM datasets_strong_similarity');
    return c;
  }

  it('gives up after --swap-wait, naming the blocker; the previous tables stay, nothing is left behind', async () => {
    const before = await sql<{ md5: string }>(t, "SELECT md5(string_agg(concat_ws(',', id, gene1_id, gene2_id, score), ';' ORDER BY id)) AS md5 FROM datasets_genesimilarity");
    const dump = schemaDump(t);
    const reader = await openReader();
    try {
      const r = cli(t, ['update', '--strategy', 'parallel', '--input', matrixFile(20, 6), '--swap-wait', '1', '--tmp-dir', tmpDir, '--results', path.join(tmpDir, 'r.csv')]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /swap waits for locks held by pid \d+ \(test long reader/);
      assert.match(r.stderr, /could not get its locks within --swap-wait 1 s/);
    } finally {
      await reader.end();
    }
    assert.deepEqual(await sql(t, "SELECT md5(string_agg(concat_ws(',', id, gene1_id, gene2_id, score), ';' ORDER BY id)) AS md5 FROM datasets_genesimilarity"), before);
    assert.equal(schemaDump(t), dump);
    assert.deepEqual(await loadTables(t), []);
  });

  it('swaps once the reader is done; other readers go on meanwhile', async () => {
    const reader = await openReader();
    const child = spawn(process.execPath, [CLI, 'update', '--strategy', 'parallel', '--input', matrixFile(20, 7), '--tmp-dir', tmpDir, '--results', path.join(tmpDir, 'r.csv')], {
      env: t.env,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Wait until the swap is waiting, then measure how long a new reader takes meanwhile.
    while (!stderr.includes('swap waits for locks')) await new Promise((r) => setTimeout(r, 50));
    // Readers are not queued behind the waiting swap for good: it lets go after each lock timeout.
    const probe = new pg.Client(clientConfig(t.target));
    await probe.connect();
    for (let k = 0; k < 10; k++) assert.equal((await probe.query('SELECT 1 FROM datasets_genesimilarity WHERE gene1_id = 1')).rowCount, 20);
    await probe.end();
    await reader.end();
    assert.equal(await exited, 0, stderr);
    assert.equal((await sql(t, 'SELECT 1 FROM datasets_dataset')).length, 7);
  });
});

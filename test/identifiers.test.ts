import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../src/paths.js';
import { createTestDatabase, loadTables, runCli, sql, type TestDatabase } from './helpers.js';

/**
 * The application's own columns, indexes, constraints, a table and a view named with SQL
 * keywords (`order`, `group`, `user`, `select`, `where`, `check`), mixed case with a space, a
 * double quote, a dot and non-ASCII letters (test/fixtures/django/keywords.sql, over Django's
 * BigAutoField DDL): every strategy's create and update, run through the real bin, leaves the
 * schema as pg_dump prints it and the application's values where they were.
 */
const FIXTURES = path.join(projectRoot, 'test', 'fixtures', 'django');
const CREATE_STRATEGIES = ['baseline', 'bulk', 'copyfrom', 'copyfromfile', 'parallel'] as const;
const UPDATE_STRATEGIES = ['baseline', 'bulk', 'copyfrom', 'copyfromfile', 'upsert', 'parallel'] as const;
const GENES = 20;

/** The whole database's schema as pg_dump prints it (its random \restrict key aside). */
function schemaDump(t: TestDatabase): string {
  const r = spawnSync('pg_dump', ['--schema-only'], { env: t.env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.replace(/^\\(un)?restrict .*$/gm, '');
}

/** The application's values in its own columns, each row named by its natural key (ids may change). */
async function appValues(t: TestDatabase): Promise<Record<string, string[]>> {
  const rows = async (q: string) => (await sql<{ k: string }>(t, q)).map((r) => r.k);
  return {
    sims: await rows(`SELECT concat_ws('|', g1.systematic_name, g2.systematic_name, s."order", s."group", s."user", s."Rank Score", s."say ""hi""", s."p.value", s."größe") AS k
      FROM datasets_genesimilarity s JOIN datasets_gene g1 ON g1.id = s.gene1_id JOIN datasets_gene g2 ON g2.id = s.gene2_id
     WHERE s."order" <> 0 OR s."group" IS NOT NULL OR s."Rank Score" IS NOT NULL ORDER BY 1`),
    genes: await rows(`SELECT systematic_name || '|' || "select" AS k FROM datasets_gene WHERE "select" IS NOT NULL ORDER BY 1`),
    datasets: await rows(`SELECT name || '|' || "Owner Name" AS k FROM datasets_dataset WHERE "Owner Name" IS NOT NULL ORDER BY 1`),
    data: await rows(`SELECT g.systematic_name || '|' || d.name AS k FROM datasets_data v JOIN datasets_gene g ON g.id = v.gene_id
      JOIN datasets_dataset d ON d.id = v.dataset_id WHERE v."where" ORDER BY 1`),
    users: await rows(`SELECT g.systematic_name AS k FROM "user" u JOIN datasets_gene g ON g.id = u."Favourite Gene" ORDER BY 1`),
  };
}

describe('identifiers: keyword, mixed-case, quoted, dotted and non-ASCII names of the application, every strategy', function () {
  this.timeout(300_000);
  let t: TestDatabase;
  let dump: string;
  const tmp = mkdtempSync(path.join(tmpdir(), 'genesim-identifiers-'));
  const matrix = (datasets: number) => path.join(tmp, `g${GENES}d${datasets}.tsv`);
  const run = (args: string[]) => {
    const r = runCli([...args, '--tmp-dir', tmp, '--results', path.join(tmp, 'r.csv')], t.env);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /syntax error/);
    return r;
  };
  const unchanged = async () => {
    assert.equal(schemaDump(t), dump, 'pg_dump --schema-only prints the same DDL as before');
    assert.deepEqual(await loadTables(t), [], 'no load or retired table left');
    assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('genesim-')), [], 'no temp file left');
  };

  before(async () => {
    t = await createTestDatabase();
    for (const file of ['0001_bigautofield.sql', 'keywords.sql']) await sql(t, readFileSync(path.join(FIXTURES, file), 'utf8'));
    for (const datasets of [5, 6]) {
      const r = runCli(['generate', '--genes', String(GENES), '--datasets', String(datasets), '--out', matrix(datasets)], { PATH: process.env.PATH });
      assert.equal(r.status, 0, r.stderr);
    }
    // The first run adopts Django's tables (genesim_migrations is its own): the schema from then on is the reference.
    run(['create', '--strategy', 'parallel', '--input', matrix(5), '--threads', '2']);
    dump = schemaDump(t);
    for (const name of ['"order"', '"Rank Score"', '"say ""hi"""', '"p.value"', '"größe"', '"Strong ""Pairs"".view"', '"user.gene fk"', '"Unique ""Select"""']) {
      assert.ok(dump.includes(name), `the fixture has ${name}`);
    }
  });
  after(async () => {
    await t?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const strategy of CREATE_STRATEGIES) {
    it(`create --replace --strategy ${strategy}: the same DDL, every row, the application's columns at their defaults`, async () => {
      await sql(t, `UPDATE datasets_genesimilarity SET "order" = 3, "group" = 'x'`);
      const extra = strategy === 'parallel' ? ['--threads', '2', '--load', 'concurrent', '--format', 'binary'] : [];
      run(['create', '--strategy', strategy, '--replace', '--input', matrix(5), ...extra]);
      await unchanged();
      const [r] = await sql<{ n: string; ids: string; defaults: string }>(t, `SELECT count(*) AS n, max(id) AS ids,
        count(*) FILTER (WHERE "order" = 0 AND "group" IS NULL AND "Rank Score" IS NULL) AS defaults FROM datasets_genesimilarity`);
      assert.deepEqual(r, { n: String(GENES * GENES), ids: String(GENES * GENES), defaults: String(GENES * GENES) });
      // The view over the odd names reads the new rows.
      const [v] = await sql<{ n: string }>(t, `SELECT count(*) AS n FROM "Strong ""Pairs"".view" WHERE "order" = 0`);
      const [d] = await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM datasets_genesimilarity WHERE score >= 0.5');
      assert.equal(v!.n, d!.n);
    });
  }

  it('sets the application values the updates must keep', async () => {
    await sql(t, `UPDATE datasets_genesimilarity SET "order" = gene1_id + gene2_id, "group" = 'g' || gene1_id, "user" = 'u' || gene2_id,
      "Rank Score" = gene2_id / 100.0, "say ""hi""" = 'it''s "quoted"', "p.value" = 0.01, "größe" = 7 WHERE gene1_id IN (2, 5)`);
    await sql(t, `UPDATE datasets_gene SET "select" = 'sel.' || systematic_name`);
    await sql(t, `UPDATE datasets_dataset SET "Owner Name" = 'Öwner ' || name`);
    await sql(t, `UPDATE datasets_data SET "where" = true WHERE gene_id IN (3, 4)`);
    await sql(t, `INSERT INTO "user" ("Favourite Gene") VALUES (4), (9)`);
    const v = await appValues(t);
    assert.equal(v.sims!.length, 2 * GENES);
    assert.equal(v.genes!.length, GENES);
    assert.equal(v.data!.length, 2 * 5);
    assert.equal(v.users!.length, 2);
  });

  UPDATE_STRATEGIES.forEach((strategy, k) => {
    it(`update --strategy ${strategy}: the same DDL, the application's values in every row that remains`, async () => {
      const before = await appValues(t);
      // Alternately one dataset more and one fewer: every score may move, every gene stays.
      const datasets = k % 2 === 0 ? 6 : 5;
      const r = run(['update', '--strategy', strategy, '--input', matrix(datasets), ...(strategy === 'parallel' ? ['--threads', '2'] : [])]);
      if (strategy === 'parallel') assert.match(r.stderr, /carrying the application's values in datasets_genesimilarity\.order, datasets_genesimilarity\.group/);
      await unchanged();
      const after = await appValues(t);
      // A dataset removed takes its data rows (and its owner) with it; every row that remains keeps its values.
      const names = new Set((await sql<{ name: string }>(t, 'SELECT name FROM datasets_dataset')).map((d) => d.name));
      assert.deepEqual(after.datasets, before.datasets!.filter((row) => names.has(row.split('|')[0]!)));
      assert.deepEqual(after.data, before.data!.filter((row) => names.has(row.split('|')[1]!)));
      assert.ok(after.data!.length > 0);
      assert.deepEqual(after.sims, before.sims);
      assert.deepEqual(after.genes, before.genes);
      assert.deepEqual(after.users, before.users);
      assert.equal((await sql(t, 'SELECT 1 FROM datasets_genesimilarity')).length, GENES * GENES);
      assert.equal((await sql(t, 'SELECT 1 FROM datasets_dataset')).length, datasets);
    });
  });
});

import assert from 'node:assert/strict';
import path from 'node:path';
import { runMigrate } from '../src/commands/migrate.js';
import { migrate, MIGRATIONS_DIR } from '../src/db/migrate.js';
import { create } from './strategies.test.js';
import { connect, createTestDatabase, runCli, runCliAsync, simChecksum, sql, suiteDatabase, type TestDatabase } from './helpers.js';

describe('migrate', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());

  it('creates the Django-compatible tables, then a second run changes nothing and says so', async () => {
    const first = await runMigrate(t.config, () => undefined);
    assert.deepEqual(first.applied, ['0001_datasets']);
    const schemaBefore = await sql(t, `SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
      FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`);
    const cli = runCli(['migrate'], t.env);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stderr, /schema up to date: nothing to apply/);
    assert.deepEqual(await sql(t, `SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
      FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`), schemaBefore);
    assert.deepEqual((await sql<{ name: string }>(t, 'SELECT name FROM genesim_migrations')).map((r) => r.name), ['0001_datasets']);
  });

  it('has the columns, unique constraints, foreign keys and indexes Django creates', async () => {
    const cols = await sql<{ c: string }>(t, `SELECT table_name || '.' || column_name || ':' || data_type ||
        coalesce('(' || character_maximum_length || ')', '') || coalesce('(' || numeric_precision || ',' || numeric_scale || ')', '') AS c
      FROM information_schema.columns WHERE table_name = 'datasets_genesimilarity' ORDER BY ordinal_position`);
    assert.deepEqual(cols.map((r) => r.c), [
      'datasets_genesimilarity.id:integer(32,0)',
      'datasets_genesimilarity.gene1_id:integer(32,0)',
      'datasets_genesimilarity.gene2_id:integer(32,0)',
      'datasets_genesimilarity.metric:character varying(50)',
      'datasets_genesimilarity.score:numeric(10,3)',
    ]);
    const constraints = await sql<{ t: string; kind: string; def: string; deferrable: boolean }>(t, `
      SELECT conrelid::regclass::text AS t, contype AS kind, pg_get_constraintdef(oid) AS def, condeferrable AS deferrable
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text LIKE 'datasets_%' ORDER BY 1, 2, 3`);
    const sims = constraints.filter((c) => c.t === 'datasets_genesimilarity').map((c) => `${c.kind} ${c.def}${c.deferrable ? ' deferrable' : ''}`);
    assert.deepEqual(sims, [
      'f FOREIGN KEY (gene1_id) REFERENCES datasets_gene(id) DEFERRABLE INITIALLY DEFERRED deferrable',
      'f FOREIGN KEY (gene2_id) REFERENCES datasets_gene(id) DEFERRABLE INITIALLY DEFERRED deferrable',
      'p PRIMARY KEY (id)',
      'u UNIQUE (gene1_id, gene2_id, metric)',
    ]);
    assert.equal(constraints.filter((c) => c.kind === 'f').length, 6, 'two FKs each on data, gene and dataset similarities');
    const indexes = await sql<{ indexname: string }>(t, `SELECT indexname FROM pg_indexes WHERE tablename = 'datasets_genesimilarity' ORDER BY 1`);
    assert.deepEqual(indexes.map((r) => r.indexname), [
      'datasets_genesimilarity_gene1_id',
      'datasets_genesimilarity_gene1_id_gene2_id_metric_uniq',
      'datasets_genesimilarity_gene2_id',
      'datasets_genesimilarity_pkey',
    ]);
  });
});

describe('migrate on tables Django made itself', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
    // Django's own names carry hash suffixes; make the schema that way, without genesim.
    const sql0 = (await import('node:fs')).readFileSync(path.join(MIGRATIONS_DIR, '0001_datasets.sql'), 'utf8');
    await sql(t, sql0.replace(/(_uniq|_key|_fk_datasets_gene_id|_fk_datasets_dataset_id)\b/g, '_3f1ff5a8$1'));
  });
  after(() => t.drop());

  it('records the migration without running it, and the parallel engine keeps the data table\'s own keys', async () => {
    const result = await runMigrate(t.config, () => undefined);
    assert.deepEqual(result.adopted, ['0001_datasets']);
    assert.deepEqual(result.applied, []);
    const keys = async () =>
      (await sql<{ c: string }>(t, `SELECT conname || ' ' || pg_get_constraintdef(oid) AS c FROM pg_constraint
        WHERE conrelid = 'datasets_data'::regclass ORDER BY 1`)).map((r) => r.c);
    const before = await keys();
    assert.ok(before.some((k) => k.includes('_3f1ff5a8_fk_')));
    await create(t, 'parallel');
    assert.deepEqual(await keys(), before);
    assert.equal((await simChecksum(t)).rows, 40 * 40);
  });
});

describe('migrate: first runs at once', () => {
  const t = suiteDatabase();

  it('eight sessions migrating an empty database at the same moment, five times over: none fails, one records each migration', async () => {
    // The bookkeeping table is made under the migration lock: made before it, two first runs
    // race on CREATE TABLE IF NOT EXISTS and the slower fails on pg_type's unique index.
    const clients = await Promise.all(Array.from({ length: 8 }, () => connect(t)));
    try {
      for (let round = 0; round < 5; round++) {
        // From the second round on the tables are there and the migration is adopted: the race is the bookkeeping table's.
        await sql(t, 'DROP TABLE IF EXISTS genesim_migrations');
        const results = await Promise.allSettled(clients.map((c) => migrate(c)));
        const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
        assert.deepEqual(failed, [], `round ${round}`);
        const done = results.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof migrate>>>).value);
        assert.equal(done.filter((d) => d.applied.length + d.adopted.length === 1).length, 1, `round ${round}: one session records 0001`);
        assert.deepEqual((await sql<{ name: string }>(t, 'SELECT name FROM genesim_migrations')).map((r) => r.name), ['0001_datasets']);
      }
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('the bin on a fresh database, several at once: all exit 0, one applies', async () => {
    await sql(t, 'DROP TABLE IF EXISTS genesim_migrations, datasets_datasetsimilarity, datasets_genesimilarity, datasets_data, datasets_gene, datasets_dataset CASCADE');
    const runs = await Promise.all(Array.from({ length: 4 }, () => runCliAsync(['migrate'], t.env)));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.equal(runs.filter((r) => /applied 0001_datasets/.test(r.stderr)).length, 1, runs.map((r) => r.stderr).join('\n'));
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { COPY_FORMATS } from '../src/encode/sims.js';
import { RefusedError } from '../src/errors.js';
import { LOADS, VIAS } from '../src/strategies/types.js';
import { createTestDatabase, loadTables, migrated, simChecksum, sql, tableCounts, type TestDatabase } from './helpers.js';
import { create } from './strategies.test.js';

async function constraintsOf(t: TestDatabase): Promise<string[]> {
  const rows = await sql<{ c: string }>(t, `SELECT conname || ' ' || pg_get_constraintdef(oid) AS c FROM pg_constraint
    WHERE conrelid = 'datasets_genesimilarity'::regclass ORDER BY 1`);
  const indexes = await sql<{ c: string }>(t, `SELECT indexdef AS c FROM pg_indexes WHERE tablename = 'datasets_genesimilarity' ORDER BY 1`);
  return [...rows, ...indexes].map((r) => r.c);
}

async function dataChecksum(t: TestDatabase): Promise<string> {
  const [r] = await sql<{ md5: string }>(t, "SELECT md5(string_agg(concat_ws(',', id, gene_id, dataset_id, value), ';' ORDER BY id)) AS md5 FROM datasets_data");
  return r!.md5;
}

describe('parallel strategy', () => {
  let t: TestDatabase;
  let reference: { rows: number; md5: string };
  let dataReference: string;
  let djangoConstraints: string[];
  const tmpDir = mkdtempSync(path.join(tmpdir(), 'genesim-parallel-'));
  before(async () => {
    t = await createTestDatabase();
    await create(t, 'copyfrom');
    reference = await simChecksum(t);
    dataReference = await dataChecksum(t);
    djangoConstraints = await constraintsOf(t);
  });
  after(async () => {
    await t.drop();
    rmSync(tmpDir, { recursive: true, force: true });
  });

  for (const load of LOADS) {
  for (const via of VIAS) {
    for (const format of COPY_FORMATS) {
      for (const threads of [1, 3]) {
        it(`--load ${load} --via ${via} --format ${format} --threads ${threads}: the same table as the classic strategies`, async () => {
          const outcome = await create(t, 'parallel', { replace: true, tmpDir, parallel: { threads, connections: 2, via, format, load } });
          assert.deepEqual(await simChecksum(t), reference);
          assert.deepEqual(await constraintsOf(t), djangoConstraints, 'the constraints and indexes Django made, by their names');
          assert.deepEqual(readdirSync(tmpDir), [], 'no temp file left');
          const [seq] = await sql<{ v: string }>(t, "SELECT nextval('datasets_genesimilarity_id_seq') AS v");
          assert.equal(Number(seq!.v), reference.rows + 1, 'the sequence continues after the ids written directly');
          const metrics = new Map(outcome.measurements.map((m) => [m.metric, m]));
          for (const name of ['compute_write', 'copy', 'constraints', 'foreign_keys', 'swap', 'swap_locks_held', 'validate_fks', 'drop_old', 'total', 'peak_rss_bytes']) assert.ok(metrics.has(`parallel_${name}`), name);
          assert.equal(metrics.get('parallel_threads')!.count, threads);
          assert.equal(metrics.get(`parallel_via_${via}`)!.count, 1);
          assert.ok(metrics.get('parallel_peak_rss_bytes')!.count > 10 * 2 ** 20);
          if (load === 'clustered') {
            // Stored in (gene1_id, gene2_id) order: the physical order is the unique index's order.
            const [order] = await sql<{ c: string }>(t, `SELECT correlation::text AS c FROM pg_stats
              WHERE tablename = 'datasets_genesimilarity' AND attname = 'gene1_id'`);
            assert.equal(Number(order!.c), 1);
            // Written by COPY FREEZE in the transaction that emptied the load table: every row frozen, every page all-visible.
            await sql(t, 'CREATE EXTENSION IF NOT EXISTS pg_visibility');
            const [frozen] = await sql<{ pages: number; visible: number; frozen: string }>(t, `SELECT relpages AS pages, relallvisible AS visible,
              (SELECT all_frozen::text FROM pg_visibility_map_summary('datasets_genesimilarity')) AS frozen
              FROM pg_class WHERE oid = 'datasets_genesimilarity'::regclass`);
            assert.ok(frozen!.pages > 0);
            assert.equal(Number(frozen!.frozen), frozen!.pages, 'pages not all-frozen');
            assert.equal(frozen!.visible, frozen!.pages, 'pages not all-visible');
          }
          for (const name of ['datasets_genesimilarity_pkey', 'datasets_genesimilarity_gene1_id']) {
            assert.ok(metrics.has(`parallel_index:${name}`), `the build of ${name} is timed`);
          }
        });
      }
    }
  }
  }

  // A worker failing to write its file mid-load (a full disk) is in tempSpace.test.ts, on a real tmpfs.
  it('a --tmp-dir that does not exist is refused before any work: previous matrix, no load table, no files', async () => {
    const missingDir = path.join(tmpDir, 'does-not-exist');
    await assert.rejects(create(t, 'parallel', { replace: true, tmpDir: missingDir, metric: 'cosine' }), /--tmp-dir .*does-not-exist: no such directory/);
    assert.deepEqual(await simChecksum(t), reference);
    assert.deepEqual(await loadTables(t), [], 'no load table left');
    assert.deepEqual(readdirSync(tmpDir), []);
  });

  it('a failure inside the swap transaction rolls it all back', async () => {
    const before = await tableCounts(t);
    // An event trigger fires on the swap's renames only: nothing else in a run renames an index.
    await sql(t, `CREATE FUNCTION test_refuse() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'test_refuse_swap'; END $$`);
    await sql(t, "CREATE EVENT TRIGGER test_refuse ON ddl_command_end WHEN TAG IN ('ALTER INDEX') EXECUTE FUNCTION test_refuse()");
    try {
      await assert.rejects(create(t, 'parallel', { replace: true, tmpDir, metric: 'cosine' }), /test_refuse_swap/);
    } finally {
      await sql(t, 'DROP EVENT TRIGGER test_refuse; DROP FUNCTION test_refuse()');
    }
    assert.deepEqual(await simChecksum(t), reference);
    assert.deepEqual(await tableCounts(t), before);
    assert.deepEqual(await constraintsOf(t), djangoConstraints);
    assert.deepEqual(await loadTables(t), [], 'no load table left');
    assert.deepEqual(readdirSync(tmpDir), []);
  });

  it('a failure while building constraints beside (the application\'s CHECK rejects the new rows) leaves everything as it was', async () => {
    // The stored matrix is pearson: the constraint holds for it and fails for a cosine one.
    await sql(t, "ALTER TABLE datasets_genesimilarity ADD CONSTRAINT test_pearson_only CHECK (metric = 'pearson')");
    try {
      await assert.rejects(create(t, 'parallel', { replace: true, tmpDir, metric: 'cosine' }), /test_pearson_only/);
      assert.deepEqual(await simChecksum(t), reference);
      assert.deepEqual(await loadTables(t), [], 'no load table left');
      assert.deepEqual(readdirSync(tmpDir), []);
    } finally {
      await sql(t, 'ALTER TABLE datasets_genesimilarity DROP CONSTRAINT test_pearson_only');
    }
  });

  it('refuses up front a column of the application\'s that is NOT NULL without a default, naming it', async () => {
    await sql(t, 'ALTER TABLE datasets_gene ADD COLUMN test_required text');
    await sql(t, "UPDATE datasets_gene SET test_required = 'x'");
    await sql(t, 'ALTER TABLE datasets_gene ALTER COLUMN test_required SET NOT NULL');
    try {
      await assert.rejects(create(t, 'parallel', { replace: true, tmpDir }), (err: Error) => err instanceof RefusedError && /column datasets_gene\.test_required is NOT NULL without a default/.test(err.message));
    } finally {
      await sql(t, 'ALTER TABLE datasets_gene DROP COLUMN test_required');
    }
    assert.deepEqual(await simChecksum(t), reference);
    assert.deepEqual(await loadTables(t), []);
  });

  it('refuses up front, naming it, a trigger the swap could not carry over', async () => {
    await sql(t, `CREATE FUNCTION test_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`);
    await sql(t, 'CREATE TRIGGER test_noop BEFORE INSERT ON datasets_gene FOR EACH ROW EXECUTE FUNCTION test_noop()');
    try {
      await assert.rejects(create(t, 'parallel', { replace: true, tmpDir }), (err: Error) => err instanceof RefusedError && /trigger test_noop on public\.datasets_gene/.test(err.message));
    } finally {
      await sql(t, 'DROP TRIGGER test_noop ON datasets_gene; DROP FUNCTION test_noop()');
    }
    assert.deepEqual(await simChecksum(t), reference);
    assert.deepEqual(await loadTables(t), []);
  });

  it('a rebuilt table with a key into the data values (an application\'s own) has them filled before its keys are checked', async () => {
    const counts = await tableCounts(t);
    await sql(t, 'ALTER TABLE datasets_datasetsimilarity ADD COLUMN test_data_id integer REFERENCES datasets_data (id)');
    try {
      await create(t, 'parallel', { replace: true, tmpDir });
      assert.deepEqual(await tableCounts(t), counts);
      assert.deepEqual(await simChecksum(t), reference);
      const [fk] = await sql<{ valid: boolean }>(t, "SELECT convalidated AS valid FROM pg_constraint WHERE conrelid = 'datasets_datasetsimilarity'::regclass AND contype = 'f' AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = 'datasets_datasetsimilarity'::regclass AND attname = 'test_data_id')]");
      assert.equal(fk?.valid, true);
    } finally {
      await sql(t, 'ALTER TABLE datasets_datasetsimilarity DROP COLUMN test_data_id');
    }
  });

  it('creates into empty tables and refuses tables with data without --replace', async () => {
    await sql(t, 'TRUNCATE datasets_genesimilarity, datasets_datasetsimilarity, datasets_data, datasets_gene, datasets_dataset RESTART IDENTITY');
    await create(t, 'parallel', { tmpDir });
    assert.deepEqual(await simChecksum(t), reference);
    // The data values, written late (while the similarity keys are checked), are the classic strategy's to the id.
    assert.equal(await dataChecksum(t), dataReference);
    await assert.rejects(create(t, 'parallel', { tmpDir }), /--replace/);
  });
});

describe('parallel strategy on a fresh database', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
    await migrated(t);
  });
  after(() => t.drop());

  it('loads the Eisen yeast data (2,467 genes) with the diagonal once and both orderings', async () => {
    const { EISEN } = await import('./helpers.js');
    await create(t, 'parallel', { source: { input: EISEN }, metric: 'cosine', parallel: { threads: 2, connections: 2, via: 'stream', format: 'text', load: 'clustered' as const } });
    const [r] = await sql<{ rows: string; diag: string; asym: string }>(t, `SELECT count(*) AS rows,
      count(*) FILTER (WHERE gene1_id = gene2_id) AS diag,
      (SELECT count(*) FROM datasets_genesimilarity a JOIN datasets_genesimilarity b
         ON b.gene1_id = a.gene2_id AND b.gene2_id = a.gene1_id AND b.metric = a.metric WHERE a.score <> b.score) AS asym
      FROM datasets_genesimilarity`);
    assert.equal(Number(r!.rows), 2467 * 2467);
    assert.equal(Number(r!.diag), 2467);
    assert.equal(Number(r!.asym), 0);
  });
});

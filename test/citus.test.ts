import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { clientConfig } from '../src/db/connect.js';
import { STRATEGIES } from '../src/strategies/types.js';
import { UPDATE_STRATEGIES } from '../src/update/run.js';
import { CITUS_PORTS, type CitusCluster, clusterOrSkip } from '../bench/citusCluster.js';
import { checksums, databaseContents } from './expected.js';
import { startCli, waitForStatement } from './faults.js';
import { runCli, sql, type TestDatabase } from './helpers.js';
import { call, startServer } from './serverHelpers.js';

/**
 * Every suite here is named "citus ..." so CI can run them in one suite run only
 * (mocha --grep '^citus'): they share one local cluster, started here and stopped after.
 */
let cluster: CitusCluster | undefined;
let counter = 0;
const dbName = (what: string) => `genesim_citus_${process.pid}_${++counter}_${what}`;

/** The Citus layout of the five tables, as citus_tables reports it (colocation ids compared as groups). */
async function layout(t: TestDatabase): Promise<string[]> {
  const rows = await sql<{ line: string }>(
    t,
    `SELECT concat_ws(' ', table_name::text, citus_table_type, distribution_column, shard_count,
            dense_rank() OVER (ORDER BY colocation_id)) AS line FROM citus_tables ORDER BY table_name::text`,
  );
  return rows.map((r) => r.line);
}

/** Columns, defaults, constraints and indexes of the five tables by their names: what pg_dump would print of them. */
async function schema(t: TestDatabase): Promise<string[]> {
  const rows = await sql<{ line: string }>(
    t,
    `SELECT c.relname || ' ' || string_agg(x.line, '; ' ORDER BY x.line) AS line FROM pg_class c CROSS JOIN LATERAL (
        SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') AS line
          FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = c.oid
        UNION ALL SELECT indexdef FROM pg_indexes WHERE tablename = c.relname) x
      WHERE c.relname LIKE 'datasets\\_%' AND c.relkind = 'r' GROUP BY c.relname ORDER BY 1`,
  );
  return rows.map((r) => r.line);
}

/** Whatever a run made on any node: tables, sequences and shards named for a run. */
async function leftovers(t: TestDatabase): Promise<string[]> {
  const found: string[] = [];
  for (const port of CITUS_PORTS) {
    const c = new pg.Client({ ...clientConfig(t.target), port });
    await c.connect();
    try {
      const { rows } = await c.query<{ relname: string }>(
        "SELECT relname FROM pg_class WHERE relname ~ 'genesim_[0-9a-f]{8}' OR relname ~ '__genesim_' ORDER BY 1",
      );
      found.push(...rows.map((r) => `${port}: ${r.relname}`));
    } finally {
      await c.end();
    }
  }
  const meta = await sql<{ t: string }>(t, "SELECT logicalrelid::text AS t FROM pg_dist_partition WHERE logicalrelid::text ~ 'genesim_[0-9a-f]{8}|__genesim_'");
  return [...found, ...meta.map((m) => `pg_dist_partition: ${m.t}`)];
}

/** Databases `genesim bench` made (genesim_bench_<pid>_<n>) still present on any node. */
async function benchDatabasesLeft(t: TestDatabase): Promise<string[]> {
  const found: string[] = [];
  for (const port of CITUS_PORTS) {
    const c = new pg.Client({ ...clientConfig(t.target), port, database: 'postgres' });
    await c.connect();
    try {
      const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'genesim\\_bench\\_%'");
      found.push(...rows.map((r) => `${port}: ${r.datname}`));
    } finally {
      await c.end();
    }
  }
  return found;
}

const TOKEN = 'citus-test-token-0123456789abcdef';

/** `genesim serve` on `t` (node on the built bin): each job posted with ?wait=true, in order, must succeed. */
async function serveJobs(t: TestDatabase, jobs: Record<string, unknown>[]): Promise<void> {
  const server = await startServer({ ...t.env, GENESIM_TOKEN: TOKEN });
  try {
    for (const job of jobs) {
      const r = await call(server.url, 'POST', '/jobs?wait=true', { token: TOKEN, body: job });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.state, 'succeeded', `${JSON.stringify(job)}: ${JSON.stringify(r.body)}`);
    }
  } finally {
    server.proc.kill('SIGTERM');
    await server.exited;
  }
}

function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.status, 0, `${what} failed:\n${r.stderr}`);
}

describe('citus: a local cluster (coordinator and 2 workers)', function () {
  this.timeout(600_000);
  before(async function () {
    cluster = await clusterOrSkip(this);
  });
  after(() => cluster?.stop());

  describe('citus migrate', () => {
    it('--citus --shards 4 distributes the similarities by gene1_id and the data values by gene_id, colocated; the small tables are reference tables', async () => {
      const t = await cluster!.database(dbName('migrate'));
      try {
        ok(runCli(['migrate', '--citus', '--shards', '4'], t.env), 'migrate --citus');
        assert.deepEqual(await layout(t), [
          'datasets_data distributed gene_id 4 2',
          'datasets_dataset reference <none> 1 1',
          'datasets_datasetsimilarity reference <none> 1 1',
          'datasets_gene reference <none> 1 1',
          'datasets_genesimilarity distributed gene1_id 4 2',
        ]);
        const keys = await sql<{ def: string }>(t, "SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'p' ORDER BY 1");
        assert.deepEqual(
          keys.map((k) => k.def).filter((d) => d.startsWith('datasets_data ') || d.startsWith('datasets_genesimilarity ')),
          ['datasets_data PRIMARY KEY (gene_id, id)', 'datasets_genesimilarity PRIMARY KEY (gene1_id, id)'],
        );
        // Again: the layout is found and kept.
        const again = runCli(['migrate', '--citus', '--shards', '8'], t.env);
        ok(again, 'migrate --citus again');
        assert.match(again.stderr, /already distributed/);
        assert.equal((await layout(t))[4], 'datasets_genesimilarity distributed gene1_id 4 2');
      } finally {
        await t.drop();
      }
    });

    it('an application\'s own layout (8 shards, its own key names) is adopted as it is', async () => {
      const t = await cluster!.database(dbName('adopt'));
      const tmp = mkdtempSync(path.join(tmpdir(), 'genesim-citus-test-'));
      try {
        ok(runCli(['migrate'], t.env), 'migrate');
        // What a Django project's migrations do on Citus, with a key name of its own.
        await sql(t, `ALTER TABLE datasets_genesimilarity DROP CONSTRAINT datasets_genesimilarity_pkey, ADD CONSTRAINT "GeneSim pk" PRIMARY KEY (gene1_id, id)`);
        await sql(t, `ALTER TABLE datasets_data DROP CONSTRAINT datasets_data_pkey, ADD CONSTRAINT datasets_data_pkey PRIMARY KEY (gene_id, id)`);
        for (const table of ['datasets_dataset', 'datasets_gene', 'datasets_datasetsimilarity']) await sql(t, 'SELECT create_reference_table($1)', [table]);
        await sql(t, "SELECT create_distributed_table('datasets_genesimilarity', 'gene1_id', shard_count => 8)");
        await sql(t, "SELECT create_distributed_table('datasets_data', 'gene_id', colocate_with => 'datasets_genesimilarity')");
        const before = { layout: await layout(t), schema: await schema(t) };
        ok(runCli(['migrate', '--citus'], t.env), 'migrate --citus');
        for (const strategy of ['copyfrom', 'parallel']) {
          ok(runCli(['create', '--strategy', strategy, '--genes', '40', '--datasets', '6', '--replace', '--results', path.join(tmp, 'r.csv')], t.env), strategy);
          assert.deepEqual({ layout: await layout(t), schema: await schema(t) }, before, `${strategy} kept the application's layout`);
        }
        assert.equal(Number((await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM datasets_genesimilarity'))[0]!.n), 1600);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
        await t.drop();
      }
    });
  });

  /**
   * A Citus database laid out by `migrate --citus` (4 shards) and, beside it, plain PostgreSQL
   * with the same settings (a database on the coordinator's server without the extension), with
   * a temp directory and the Citus layout and schema as they were made.
   */
  async function migratedPair(citusName: string, plainName: string) {
    const tmp = mkdtempSync(path.join(tmpdir(), 'genesim-citus-test-'));
    const citus = await cluster!.database(dbName(citusName));
    const plain = await cluster!.database(dbName(plainName), { citus: false });
    ok(runCli(['migrate', '--citus', '--shards', '4'], citus.env), 'migrate --citus');
    ok(runCli(['migrate'], plain.env), 'migrate');
    return { citus, plain, tmp, shape: { layout: await layout(citus), schema: await schema(citus) } };
  }
  async function dropPair(citus: TestDatabase | undefined, plain: TestDatabase | undefined, tmp: string | undefined) {
    await citus?.drop();
    await plain?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }

  describe('citus create and update: every strategy, the same tables as on plain PostgreSQL', () => {
    let citus: TestDatabase;
    let plain: TestDatabase;
    let tmp: string;
    let shape: { layout: string[]; schema: string[] };
    const results = () => path.join(tmp, 'results.csv');
    const both = async (args: string[]) => {
      for (const t of [plain, citus]) ok(runCli([...args, '--results', results(), '--tmp-dir', tmp], t.env), `${args.join(' ')} on ${t === citus ? 'Citus' : 'plain'}`);
    };
    const sameAsPlain = async (what: string) => {
      assert.deepEqual(checksums(await databaseContents(citus, true)), checksums(await databaseContents(plain, true)), `${what}: the five tables, ids included`);
      assert.deepEqual({ layout: await layout(citus), schema: await schema(citus) }, shape, `${what}: the Citus layout and the schema are kept`);
      assert.deepEqual(await leftovers(citus), [], `${what}: nothing of the run left on any node`);
      assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('genesim-')), [], `${what}: no temp file left`);
    };
    before(async () => void ({ citus, plain, tmp, shape } = await migratedPair('cluster', 'plain')));
    after(() => dropPair(citus, plain, tmp));

    for (const strategy of STRATEGIES) {
      it(`create --strategy ${strategy}`, async () => {
        await both(['create', '--strategy', strategy, '--genes', strategy === 'baseline' ? '25' : '60', '--datasets', '8', '--missing', '0.05', '--replace']);
        await sameAsPlain(`create --strategy ${strategy}`);
      });
    }
    for (const args of [['--load', 'concurrent', '--via', 'stream', '--format', 'text'], ['--load', 'clustered', '--via', 'file', '--threads', '1']]) {
      it(`create --strategy parallel ${args.join(' ')}`, async () => {
        await both(['create', '--strategy', 'parallel', ...args, '--genes', '70', '--datasets', '8', '--replace']);
        await sameAsPlain(`create --strategy parallel ${args.join(' ')}`);
      });
    }
    for (const strategy of UPDATE_STRATEGIES) {
      it(`update --strategy ${strategy}: genes added, removed and changed, values gone missing`, async () => {
        await both(['create', '--strategy', 'copyfrom', '--genes', '40', '--datasets', '8', '--replace']);
        await both(['update', '--strategy', strategy, '--genes', '48', '--datasets', '8', '--seed', '3', '--missing', '0.1']);
        await sameAsPlain(`update --strategy ${strategy}`);
      });
    }
    for (const flags of [['--from-db'], ['--from-db', '--changed-only']]) {
      for (const strategy of ['copyfrom', 'parallel']) {
        it(`update --strategy ${strategy} ${flags.join(' ')}`, async () => {
          await both(['create', '--strategy', 'copyfrom', '--genes', '40', '--datasets', '8', '--replace']);
          // A value edited by the application: the recomputation from the stored values must pick it up.
          for (const t of [plain, citus]) await sql(t, 'UPDATE datasets_data SET value = value + 1 WHERE gene_id IN (2, 7)');
          await both(['update', '--strategy', strategy, ...flags]);
          await sameAsPlain(`update ${strategy} ${flags.join(' ')}`);
        });
      }
    }
  });

  describe('citus bench and serve', () => {
    let citus: TestDatabase;
    let plain: TestDatabase;
    let tmp: string;
    let shape: { layout: string[]; schema: string[] };
    const kept = async (what: string) => {
      assert.deepEqual({ layout: await layout(citus), schema: await schema(citus) }, shape, `${what}: the Citus layout and the schema are kept`);
      assert.deepEqual(await leftovers(citus), [], `${what}: nothing of a run left on any node`);
    };
    before(async () => void ({ citus, plain, tmp, shape } = await migratedPair('serve', 'serveplain')));
    after(() => dropPair(citus, plain, tmp));

    it('genesim bench on the coordinator runs every run in Citus databases, writes its results, leaves the database and the nodes as they were', async () => {
      const out = path.join(tmp, 'bench');
      const r = runCli(['bench', '--genes', '40', '--datasets', '8', '--strategies', 'copyfrom,parallel', '--actions', 'create,update', '--repeat', '1', '--readers', '5', '--missing', '0', '--out', out], citus.env);
      ok(r, 'bench');
      assert.match(r.stderr, /Citus coordinator: fresh databases on it and 2 workers, 4 shards/);
      const runs = readFileSync(path.join(out, 'runs.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 7).join(' '));
      // action, strategy, genes, latency_ms, missing, repeat, status: complete matrices only (--missing 0), as bench.test.ts runs them.
      assert.deepEqual(runs.sort(), ['create copyfrom 40 0 0 1 complete', 'create parallel 40 0 0 1 complete', 'update copyfrom 40 0 0 1 complete', 'update parallel 40 0 0 1 complete']);
      assert.match(readFileSync(path.join(out, 'report.md'), 'utf8'), /\| create \| parallel \| 40 \|/);
      await kept('bench');
      assert.deepEqual(await benchDatabasesLeft(citus), [], 'no bench database left on any node');
    });

    it("serve's create and update jobs (parallel and classic) give the tables plain PostgreSQL's jobs give, the layout kept", async () => {
      const jobs = [
        { action: 'create', strategy: 'parallel', genes: 50, threads: 2 },
        { action: 'update', strategy: 'upsert', genes: 56, threads: 1 },
        { action: 'create', strategy: 'copyfrom', genes: 44, threads: 1 },
        { action: 'update', strategy: 'parallel', genes: 52, threads: 2 },
      ];
      for (const [k, job] of jobs.entries()) {
        for (const t of [plain, citus]) await serveJobs(t, [job]);
        assert.deepEqual(checksums(await databaseContents(citus, true)), checksums(await databaseContents(plain, true)), `after job ${k + 1} ${JSON.stringify(job)}: the five tables, ids included`);
        await kept(`job ${k + 1}`);
      }
    });
  });

  describe('citus sequence grants', () => {
    let t: TestDatabase;
    const role = `genesim_citus_app_${process.pid}`;
    before(async () => {
      t = await cluster!.database(dbName('grants'));
      ok(runCli(['migrate', '--citus', '--shards', '4'], t.env), 'migrate --citus');
      // Citus propagates CREATE ROLE and the GRANTs to the workers.
      await sql(t, `CREATE ROLE ${role}`);
    });
    after(async () => {
      await t?.drop();
      // Roles are per server: Citus propagates the DROP to the workers.
      const c = new pg.Client({ ...clientConfig(cluster!.coordinator), database: 'postgres' });
      await c.connect();
      await c.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await c.end();
    });

    it("a parallel create keeps the application role's grants on the tables and on their id sequences (the load table's sequence is new there)", async () => {
      const sequences = ['datasets_genesimilarity_id_seq', 'datasets_data_id_seq'];
      const privileges = async () =>
        sql<{ p: string }>(
          t,
          `SELECT concat_ws(' ', x.name, has_table_privilege($1, x.name, 'SELECT'), has_table_privilege($1, x.name, 'INSERT'),
                  CASE WHEN x.name LIKE '%_seq' THEN concat_ws(' ', has_sequence_privilege($1, x.name, 'USAGE'), has_sequence_privilege($1, x.name, 'UPDATE')) END) AS p
             FROM unnest($2::text[]) AS x(name) ORDER BY 1`,
          [role, ['datasets_genesimilarity', 'datasets_data', ...sequences]],
        );
      for (const s of sequences) await sql(t, `GRANT SELECT, USAGE ON SEQUENCE ${s} TO ${role}`);
      await sql(t, `GRANT SELECT, INSERT ON datasets_genesimilarity, datasets_data TO ${role}`);
      const before = await privileges();
      assert.deepEqual(before.map((r) => r.p), [
        'datasets_data t t',
        'datasets_data_id_seq t f t f',
        'datasets_genesimilarity t t',
        'datasets_genesimilarity_id_seq t f t f',
      ]);
      ok(runCli(['create', '--strategy', 'parallel', '--genes', '40', '--datasets', '6', '--replace', '--results', path.join(tmpdir(), `genesim-citus-grants-${process.pid}.csv`)], t.env), 'parallel create');
      assert.deepEqual(await privileges(), before, 'the same grants after the swap');
      // Not only the catalog: the role can draw an id as the application's inserts do.
      const c = new pg.Client(clientConfig(t.target));
      await c.connect();
      try {
        await c.query(`SET ROLE ${role}`);
        const { rows } = await c.query<{ next: boolean }>("SELECT nextval('datasets_genesimilarity_id_seq') > 1600 AS next");
        assert.equal(rows[0]!.next, true);
      } finally {
        await c.end();
      }
    });
  });

  describe('citus parallel engine: readers and stops', () => {
    let t: TestDatabase;
    let tmp: string;
    before(async () => {
      tmp = mkdtempSync(path.join(tmpdir(), 'genesim-citus-test-'));
      t = await cluster!.database(dbName('swap'));
      ok(runCli(['migrate', '--citus', '--shards', '4'], t.env), 'migrate --citus');
    });
    after(async () => {
      await t?.drop();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('a reader loop on the coordinator across the swap sees the old matrix or the new one, never an error or a mix', async () => {
      ok(runCli(['create', '--strategy', 'parallel', '--genes', '150', '--datasets', '8', '--replace', '--results', path.join(tmp, 'r.csv')], t.env), 'first create');
      const reader = new pg.Client(clientConfig(t.target));
      await reader.connect();
      const seen = new Map<string, number>();
      const errors: string[] = [];
      const run = startCli(['create', '--strategy', 'parallel', '--genes', '220', '--datasets', '8', '--seed', '5', '--replace', '--results', path.join(tmp, 'r.csv')], t.env);
      let done = false;
      void run.exited.then(() => (done = true));
      try {
        while (!done) {
          // The whole matrix and one gene's row in one statement: one snapshot across every shard.
          try {
            const { rows } = await reader.query<{ rows: string; genes: string; row: string }>(
              `SELECT count(*) AS rows, count(DISTINCT gene1_id) AS genes, count(*) FILTER (WHERE gene1_id = 1) AS row FROM datasets_genesimilarity`,
            );
            const key = `${rows[0]!.rows}/${rows[0]!.genes}/${rows[0]!.row}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
          } catch (err) {
            errors.push((err as Error).message);
          }
        }
      } finally {
        await reader.end();
      }
      const { code } = await run.exited;
      assert.equal(code, 0, run.stderr());
      assert.deepEqual(errors, []);
      assert.deepEqual([...seen.keys()].filter((k) => k !== '22500/150/150' && k !== '48400/220/220'), [], `only whole matrices: ${JSON.stringify([...seen])}`);
      assert.ok(seen.has('22500/150/150') && seen.has('48400/220/220'), `the reader saw both sides of the swap: ${JSON.stringify([...seen])}`);
      assert.deepEqual(await leftovers(t), []);
    });

    it('SIGINT during the index builds on the workers: the old matrix stays, nothing of the run is left on any node', async () => {
      ok(runCli(['create', '--strategy', 'copyfrom', '--genes', '120', '--datasets', '8', '--replace'], t.env), 'first create');
      const before = checksums(await databaseContents(t, true));
      const run = startCli(['create', '--strategy', 'parallel', '--genes', '900', '--datasets', '8', '--replace', '--index-memory', '64', '--results', path.join(tmp, 'r.csv'), '--tmp-dir', tmp], t.env);
      await waitForStatement(t, /^CREATE (UNIQUE )?INDEX/, run, { timeoutMs: 300_000 });
      run.markStop();
      run.child.kill('SIGINT');
      const { code } = await run.exited;
      assert.equal(code, 130, run.stderr());
      assert.deepEqual(checksums(await databaseContents(t, true)), before, 'the matrix as before');
      assert.deepEqual(await leftovers(t), [], 'nothing of the run on any node');
      assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('genesim-')), []);
    });
  });
});

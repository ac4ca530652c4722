import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { clientConfig } from '../src/db/connect.js';
import { type RunningServer, startEmbedded } from '../src/db/embedded.js';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import { projectRoot } from '../src/paths.js';
import { STRATEGIES } from '../src/strategies/types.js';
import { UPDATE_STRATEGIES } from '../src/update/run.js';
import { assertTablesHold, checksums, type Contents, databaseContents, type Expression, expectedContents, overlay, readTsv } from './expected.js';
import { createTestDatabase, EISEN, runCli, runCliAsync, sql, type TestDatabase } from './helpers.js';

/**
 * Every command and flag the README documents, run through the built bin as a user would,
 * each followed by a look at all five tables against an expectation worked out apart from
 * genesim (test/expected.ts).
 */

const FIXTURES = path.join(projectRoot, 'test', 'fixtures');
const fixture = (name: string) => path.join(FIXTURES, name);
const A = fixture('eisen-a.tsv');
const B = fixture('eisen-b.tsv');
const C = fixture('eisen-c.tsv');
const D = fixture('eisen-d.tsv');

const dir = mkdtempSync(path.join(tmpdir(), 'genesim-commands-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the bin in the temp dir (default results files land there) and insists on the exit code. */
function genesim(t: TestDatabase, args: string[], status = 0): { stdout: string; stderr: string } {
  const r = runCli(args, t.env, dir);
  assert.equal(r.status, status, `genesim ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r;
}

function expectFile(file: string, metric = 'cosine', withIds = true): Contents {
  return expectedContents(readTsv(file), metric, withIds);
}

/** The synthetic matrix of `--genes N --datasets D --seed S --missing F`, as the expectation reads it. */
function synthetic(genes: number, datasets: number, seed: number, missing: number): string {
  const file = path.join(dir, `synthetic-${genes}-${datasets}-${seed}-${missing}.tsv`);
  writeFileSync(file, formatTsv(generateMatrix({ genes, datasets, seed, missing })));
  return file;
}

function resultsOf(file: string): Map<string, { seconds: string; count: string }> {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(header, 'metric,seconds,count');
  return new Map(lines.map((l) => l.split(',')).map(([m, seconds, count]) => [m!, { seconds: seconds!, count: count! }]));
}

/** The count in the summary's first line (stdout): "updated the … matrix to …: N similarity rows written, …". */
function rowsWritten(stdout: string): number {
  const m = /([\d,]+) similarity rows written/.exec(stdout);
  assert.ok(m, stdout);
  return Number(m[1]!.replace(/,/g, ''));
}

/**
 * A test database whose commits skip the WAL flush: the baseline strategy commits every row on
 * its own, and on a busy disk the flushes, not genesim, would be most of this suite's time.
 * Only durability after a server crash differs, which no test here looks at.
 */
async function freshDatabase(): Promise<TestDatabase> {
  const t = await createTestDatabase();
  await sql(t, `ALTER DATABASE ${t.name} SET synchronous_commit = off`);
  return t;
}

// The application's own edits to datasets_data, which --from-db must pick up.
const edited = (): Expression => {
  const m = readTsv(B);
  m.values[m.genes.indexOf('EISEN0005')]![m.datasets.indexOf('cond02')] = 3.5;
  m.values[m.genes.indexOf('EISEN0006')]![m.datasets.indexOf('cond03')] = Number.NaN;
  return m;
};
const editInDatabase = (t: TestDatabase) =>
  sql(
    t,
    `WITH v AS (SELECT v.id, g.systematic_name AS g, d.name AS d FROM datasets_data v
                  JOIN datasets_gene g ON g.id = v.gene_id JOIN datasets_dataset d ON d.id = v.dataset_id),
          u AS (UPDATE datasets_data SET value = 3.5 WHERE id = (SELECT id FROM v WHERE g = 'EISEN0005' AND d = 'cond02'))
     DELETE FROM datasets_data WHERE id = (SELECT id FROM v WHERE g = 'EISEN0006' AND d = 'cond03')`,
  );

/** A fresh database for the enclosing suite, filled in before its first test and dropped after its last. */
function databasePerSuite(): TestDatabase {
  const t = {} as TestDatabase;
  before(async () => void Object.assign(t, await freshDatabase()));
  after(() => t.drop());
  return t;
}

describe('README commands through the built bin', function () {
  this.timeout(300_000);

  describe('--version, --help and the README', () => {
    const t = databasePerSuite();

    it('--version prints package.json\'s version', () => {
      const { version } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
      assert.equal(genesim(t, ['--version']).stdout.trim(), version);
    });

    it('every command\'s --help lists every flag the README gives it; --help lists every README command', () => {
      const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
      const commands = readme.split('\n## Commands')[1]!.split('\n## ')[0]!;
      const documented = new Map<string, Set<string>>();
      for (const [, command, rest] of commands.matchAll(/^\| `genesim (\w+)([^`]*)`/gm)) {
        documented.set(command!, new Set([...rest!.matchAll(/--[a-z-]+/g)].map((m) => m[0])));
      }
      assert.deepEqual([...documented.keys()].sort(), ['bench', 'create', 'demo', 'generate', 'migrate', 'serve', 'similar', 'update']);
      const engine = commands.split('Parallel-engine options')[1]!.split('\n\n')[0]!;
      const engineFlags = [...engine.matchAll(/--[a-z-]+/g)].map((m) => m[0]);
      assert.deepEqual(engineFlags, ['--threads', '--connections', '--index-memory', '--via', '--format', '--load', '--tmp-dir', '--swap-wait']);
      for (const c of ['create', 'update']) for (const f of [...engineFlags, '--progress']) documented.get(c)!.add(f);

      const top = genesim(t, ['--help']).stdout;
      const help = new Map<string, string>();
      for (const [command, flags] of documented) {
        assert.match(top, new RegExp(`genesim ${command}\\b`));
        help.set(command, genesim(t, [command, '--help']).stdout);
        assert.match(help.get(command)!, new RegExp(`^genesim ${command}`));
        for (const flag of flags) assert.match(help.get(command)!, new RegExp(`${flag}\\b`), `${command} --help lacks ${flag}`);
      }
      assert.match(help.get('create')!, /--strategy[^\n]*\n[^\n]*\[default: "parallel"\]/, 'create defaults to parallel');
      assert.match(help.get('demo')!, /genesim_demo/, 'demo says where it writes');
    });

    it('the README\'s examples run as printed (matrix sizes scaled down) and leave the tables they promise', async () => {
      const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
      const block = readme.split('\nExamples:\n\n```sh\n')[1]!.split('```')[0]!;
      const lines = block.trim().split('\n');
      assert.ok(lines.length >= 4, block);
      const cwd = mkdtempSync(path.join(dir, 'examples-'));
      const scaled = (line: string) => line.replace('--genes 6500', '--genes 40').replace('--datasets 100', '--datasets 8');
      for (const line of lines) {
        assert.match(line, /^npx genesim /);
        const args = scaled(line).replace(/^npx genesim /, '').split(/\s+/);
        const input = args[args.indexOf('--input') + 1];
        if (args.includes('--input') && !readdirSync(cwd).includes(input!)) {
          // The README's "yeast with a new dataset": the generated matrix plus one column.
          const [header, ...rows] = readFileSync(path.join(cwd, 'yeast.tsv'), 'utf8').trim().split('\n');
          writeFileSync(path.join(cwd, input!), [`${header}\tcondition_new`, ...rows.map((r, i) => `${r}\t${((i * 37) % 19) / 7 - 1.3}`)].join('\n') + '\n');
        }
        const r = runCli(args, t.env, cwd);
        assert.equal(r.status, 0, `${line}\n${r.stderr}`);
        if (args[0] === 'generate') continue;
        const target = args.includes('--input') ? path.join(cwd, input!) : undefined;
        if (target) await assertTablesHold(t, expectFile(target, 'cosine', args[0] === 'create'), args[0] === 'create', `${line}: `);
        else await assertTablesHold(t, expectFile(path.join(cwd, 'yeast-with-a-new-dataset.tsv'), 'cosine', false), false, `${line}: `);
      }
    });
  });

  describe('migrate', () => {
    const t = databasePerSuite();

    it('creates the five tables empty, records the migration, and a second run applies nothing', async () => {
      assert.match(genesim(t, ['migrate']).stderr, /applied 0001_datasets/);
      await assertTablesHold(t, expectedContents({ genes: [], commonNames: [], datasets: [], values: [] }, 'cosine', true), true);
      assert.deepEqual((await sql<{ name: string }>(t, 'SELECT name FROM genesim_migrations')).map((r) => r.name), ['0001_datasets']);
      assert.match(genesim(t, ['migrate']).stderr, /nothing to apply/);
    });
  });

  describe('generate', () => {
    const t = databasePerSuite();

    // Pinned bytes: a change to the generator, its random numbers or its formatting fails here.
    const golden: [string[], string][] = [
      [['--genes', '50', '--datasets', '8', '--seed', '3', '--missing', '0.1'], 'def3dedf3095918289bfbecc1b315d869fa7256e3a342e87abfcf91024bd341b'],
      [['--genes', '200', '--datasets', '20', '--seed', '42'], 'c94dbddfca7c600f62e3c963a49cdd2f1990bb23288b6f197b0aee34d4ab5d9e'],
    ];
    for (const [args, sha256] of golden) {
      it(`generate ${args.join(' ')} writes the pinned bytes`, () => {
        const out = path.join(dir, `golden-${args.join('')}.tsv`);
        assert.match(genesim(t, ['generate', ...args, '--out', out]).stderr, /wrote \d+ genes/);
        assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), sha256);
      });
    }
  });

  describe('create', () => {
    for (const strategy of STRATEGIES) {
      describe(`--strategy ${strategy}`, () => {
        const t = databasePerSuite();

        it('--input: the fixture\'s matrix, ids by the pair rule', async () => {
          genesim(t, ['create', '--strategy', strategy, '--input', A]);
          await assertTablesHold(t, expectFile(A), true);
        });

        it('--genes --datasets --seed --missing --replace: the synthetic matrix replaces it', async () => {
          genesim(t, ['create', '--strategy', strategy, '--genes', '30', '--datasets', '6', '--seed', '7', '--missing', '0.1', '--replace']);
          await assertTablesHold(t, expectFile(synthetic(30, 6, 7, 0.1)), true);
        });
      });
    }

    describe('options', () => {
      const t = databasePerSuite();

      it('without --strategy: parallel; without --replace on full tables: refused, exit 3, nothing changed', async () => {
        const results = path.join(dir, 'default-strategy.csv');
        const r = genesim(t, ['create', '--input', A, '--results', results]);
        assert.match(r.stdout, /: 1,600 similarity rows \(parallel strategy\)$/m);
        assert.equal(resultsOf(results).get('parallel_total')!.count, '1600');
        await assertTablesHold(t, expectFile(A), true);
        const refused = genesim(t, ['create', '--strategy', 'bulk', '--input', B], 3);
        assert.match(refused.stderr, /pass --replace/);
        await assertTablesHold(t, expectFile(A), true);
      });

      it('--progress json: one JSON event a line on stdout, the last the result', async () => {
        const r = genesim(t, ['create', '--strategy', 'bulk', '--input', B, '--replace', '--progress', 'json']);
        const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; action?: string; measurements?: { metric: string; count: number }[] });
        assert.ok(events.some((e) => e.type === 'phase'));
        const last = events.at(-1)!;
        assert.equal(last.type, 'result');
        assert.equal(last.measurements!.find((m) => m.metric === 'bulk_total')?.count, 1600);
        await assertTablesHold(t, expectFile(B), true);
      });

      it('--progress json: the phases in order, and each row count\'s 100 % only after the COMMIT (copyfrom, copyfromfile)', async () => {
        type Line = { type: string; name?: string; state?: string; label?: string; done?: number; total?: number };
        for (const strategy of ['copyfrom', 'copyfromfile']) {
          const r = genesim(t, ['create', '--strategy', strategy, '--genes', '120', '--datasets', '6', '--replace', '--progress', 'json']);
          const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
          const at = (name: string, state: string) => events.findIndex((e) => e.type === 'phase' && e.name === `${strategy}_${name}` && e.state === state);
          const order = ['create_sims', 'commit'].flatMap((name) => [at(name, 'start'), at(name, 'end')]);
          assert.ok(order.every((i) => i >= 0), `${strategy}: phases ${JSON.stringify(order)}`);
          assert.deepEqual([...order].sort((a, b) => a - b), order, `${strategy}: create_sims, then commit`);
          const labels = strategy === 'copyfromfile' ? ['writing file', 'loading file'] : ['loading'];
          for (const label of labels) {
            const steps = events.map((e, i) => ({ ...e, i })).filter((e) => e.type === 'progress' && e.label === label);
            assert.ok(steps.length > 0, `${strategy}: progress of ${label}`);
            const full = steps.filter((e) => e.done === e.total);
            if (label === 'writing file') continue; // the file is whole before its COPY starts
            assert.equal(full.length, 1, `${strategy} ${label}: one 100 %`);
            assert.ok(full[0]!.i > at('commit', 'end'), `${strategy} ${label}: 100 % at line ${full[0]!.i}, the COMMIT ends at line ${at('commit', 'end')}`);
          }
          if (strategy === 'copyfromfile') {
            // The COPY of the file shows as running: its progress lines fall inside create_sims.
            const loading = events.map((e, i) => ({ ...e, i })).filter((e) => e.type === 'progress' && e.label === 'loading file' && e.done! < e.total!);
            assert.ok(loading.every((e) => e.i > at('create_sims', 'start') && e.i < at('create_sims', 'end')));
          }
          await assertTablesHold(t, expectFile(synthetic(120, 6, 1, 0)), true, `${strategy}: `);
        }
      });

      it('update --progress json: the gene rows\' 100 % only after the COMMIT (copyfromfile, copyfrom, bulk)', async () => {
        type Line = { type: string; name?: string; state?: string; label?: string; done?: number; total?: number };
        genesim(t, ['create', '--strategy', 'copyfrom', '--input', A, '--replace']);
        for (const strategy of ['copyfromfile', 'copyfrom', 'bulk']) {
          const r = genesim(t, ['update', '--strategy', strategy, '--input', strategy === 'copyfrom' ? A : B, '--progress', 'json']);
          const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
          const commitEnd = events.findIndex((e) => e.type === 'phase' && e.name === `${strategy}_update_commit` && e.state === 'end');
          const anyCommitEnd = commitEnd >= 0 ? commitEnd : events.findIndex((e) => e.type === 'phase' && /_commit$/.test(e.name!) && e.state === 'end');
          assert.ok(anyCommitEnd >= 0, `${strategy}: a commit phase: ${events.filter((e) => e.type === 'phase').map((e) => e.name).join(' ')}`);
          const full = events.map((e, i) => ({ ...e, i })).filter((e) => e.type === 'progress' && e.label === 'updating' && e.done === e.total);
          assert.equal(full.length, 1, `${strategy}: one 100 %`);
          assert.ok(full[0]!.i > anyCommitEnd, `${strategy}: 100 % at line ${full[0]!.i}, the COMMIT ends at line ${anyCommitEnd}`);
        }
      });

      it('--metric pearson, with a classic and the parallel strategy', async () => {
        for (const strategy of ['copyfrom', 'parallel']) {
          genesim(t, ['create', '--strategy', strategy, '--input', B, '--metric', 'pearson', '--replace']);
          await assertTablesHold(t, expectFile(B, 'pearson'), true, `${strategy}: `);
        }
      });

      const engine: string[][] = [
        ['--threads', '1', '--connections', '1', '--via', 'stream', '--format', 'binary', '--load', 'clustered'],
        ['--threads', '2', '--connections', '3', '--via', 'file', '--format', 'binary', '--load', 'concurrent'],
        ['--threads', '3', '--connections', '2', '--via', 'stream', '--format', 'text', '--load', 'concurrent'],
      ];
      for (const flags of engine) {
        it(`parallel ${flags.join(' ')} --results: the same tables, the settings in the results`, async () => {
          const results = path.join(dir, `engine-${flags.join('')}.csv`);
          genesim(t, ['create', '--strategy', 'parallel', '--input', A, '--replace', ...flags, '--results', results]);
          await assertTablesHold(t, expectFile(A), true);
          const r = resultsOf(results);
          const flag = (name: string) => flags[flags.indexOf(name) + 1]!;
          assert.equal(r.get('parallel_threads')!.count, flag('--threads'));
          assert.equal(r.get('parallel_connections')!.count, flag('--connections'));
          for (const name of ['via', 'format', 'load']) assert.equal(r.get(`parallel_${name}_${flag(`--${name}`)}`)?.count, '1', name);
        });
      }

      for (const strategy of ['copyfromfile', 'parallel']) {
        it(`${strategy} --tmp-dir: temp files go there and are gone afterwards`, async () => {
          const tmp = mkdtempSync(path.join(dir, 'tmp-dir-'));
          const seen = new Set<string>();
          const watcher = watch(tmp, (_, name) => name && seen.add(name));
          try {
            const { code, stderr } = await runCliAsync(['create', '--strategy', strategy, '--input', A, '--replace', '--tmp-dir', tmp], t.env, { cwd: dir });
            assert.equal(code, 0, stderr);
          } finally {
            watcher.close();
          }
          assert.ok([...seen].some((f) => f.startsWith('genesim-')), `no temp file seen in --tmp-dir: ${[...seen].join(', ')}`);
          assert.deepEqual(readdirSync(tmp), []);
          await assertTablesHold(t, expectFile(A), true);
        });
      }
    });
  });

  describe('update', () => {
    for (const strategy of UPDATE_STRATEGIES) {
      describe(`--strategy ${strategy}`, () => {
        const t = databasePerSuite();
        before(() => void genesim(t, ['create', '--strategy', 'copyfrom', '--input', A]));

        it('--input: genes and a dataset added, genes removed, values changed', async () => {
          const results = path.join(dir, `update-${strategy}.csv`);
          const r = genesim(t, ['update', '--strategy', strategy, '--input', B, '--results', results]);
          assert.ok(rowsWritten(r.stdout) > 0);
          assert.ok(resultsOf(results).has(`${strategy}_update_total`));
          await assertTablesHold(t, expectFile(B, 'cosine', false), false);
        });

        it('--from-db: the application\'s edits to datasets_data', async () => {
          await editInDatabase(t);
          genesim(t, ['update', '--strategy', strategy, '--from-db']);
          await assertTablesHold(t, expectedContents(edited(), 'cosine', false), false);
        });

        it('--changed-only: one changed value and the edits undone, only their pairs written', async () => {
          const r = genesim(t, ['update', '--strategy', strategy, '--input', C, '--changed-only']);
          const written = rowsWritten(r.stdout);
          // Three genes differ from the database (EISEN0005, 0006, 0020): at most their rows.
          assert.ok(written > 0 && written <= 3 * 2 * 39, `${written} rows written`);
          await assertTablesHold(t, expectFile(C, 'cosine', false), false);
        });

        it('--keep-missing-genes: a gene absent from the input stays', async () => {
          genesim(t, ['update', '--strategy', strategy, '--input', D, '--keep-missing-genes']);
          await assertTablesHold(t, expectedContents(overlay(readTsv(D), readTsv(C)), 'cosine', false), false);
        });
      });
    }

    describe('options', () => {
      const t = databasePerSuite();

      it('parallel with every engine flag, --tmp-dir and --results', async () => {
        genesim(t, ['create', '--input', A]);
        const tmp = mkdtempSync(path.join(dir, 'update-tmp-'));
        const results = path.join(dir, 'update-engine.csv');
        genesim(t, ['update', '--strategy', 'parallel', '--input', B, '--threads', '2', '--connections', '3', '--via', 'stream', '--format', 'binary', '--load', 'concurrent', '--tmp-dir', tmp, '--results', results]);
        await assertTablesHold(t, expectFile(B, 'cosine', false), false);
        const r = resultsOf(results);
        for (const [metric, count] of [['threads', '2'], ['connections', '3'], ['via_stream', '1'], ['format_binary', '1'], ['load_concurrent', '1']]) {
          assert.equal(r.get(`parallel_update_${metric}`)?.count, count, metric);
        }
        assert.deepEqual(readdirSync(tmp), []);
      });

      it('--metric pearson on a pearson matrix; cosine asked of it is refused, exit 3', async () => {
        genesim(t, ['create', '--strategy', 'bulk', '--input', A, '--metric', 'pearson', '--replace']);
        genesim(t, ['update', '--strategy', 'bulk', '--input', B, '--metric', 'pearson']);
        await assertTablesHold(t, expectFile(B, 'pearson', false), false);
        genesim(t, ['update', '--strategy', 'upsert', '--input', C], 3);
        await assertTablesHold(t, expectFile(B, 'pearson', false), false);
      });

      it('--from-db with --input or --genes, or no source at all: usage errors, exit 2', () => {
        assert.match(genesim(t, ['update', '--strategy', 'upsert', '--from-db', '--input', B], 2).stderr, /from-db and input are mutually exclusive/);
        assert.match(genesim(t, ['update', '--strategy', 'upsert', '--from-db', '--genes', '5'], 2).stderr, /mutually exclusive/);
        assert.match(genesim(t, ['update', '--strategy', 'upsert'], 2).stderr, /give --input FILE, --from-db or --genes N/);
      });
    });
  });

  describe('on the application\'s own schema (Django\'s DDL, BigAutoField, its extras and a view)', () => {
    const t = databasePerSuite();
    before(async () => {
      const django = (name: string) => readFileSync(fixture(path.join('django', name)), 'utf8');
      await sql(t, ['0001_bigautofield.sql', '0002_extras.sql', 'view.sql'].map(django).join('\n'));
    });
    const strong = async () => (await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM datasets_strong_similarity'))[0]!.n;

    // The parallel engine's rebuild of the application's table is tested with item 1 of issue 7.
    it('migrate adopts the tables; classic create and updates keep its column and view working', async () => {
      assert.match(genesim(t, ['migrate']).stderr, /tables already there \(made by the application\): recorded 0001_datasets/);
      genesim(t, ['create', '--strategy', 'copyfromfile', '--input', A]);
      await assertTablesHold(t, expectFile(A), true);
      genesim(t, ['update', '--strategy', 'upsert', '--input', B]);
      await assertTablesHold(t, expectFile(B, 'cosine', false), false);
      await editInDatabase(t);
      genesim(t, ['update', '--strategy', 'bulk', '--from-db', '--changed-only']);
      await assertTablesHold(t, expectedContents(edited(), 'cosine', false), false);
      const [pvalue] = await sql<{ type: string }>(t, `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = 'datasets_genesimilarity'::regclass AND attname = 'pvalue'`);
      assert.equal(pvalue?.type, 'numeric(10,6)');
      const expectedStrong = expectedContents(edited(), 'cosine', false).datasets_genesimilarity.filter((l) => {
        const [g1, g2, , score] = l.split(',');
        return g1 !== g2 && Number(score) >= 0.5;
      }).length;
      assert.equal(await strong(), String(expectedStrong));
    });
  });

  describe('demo', () => {
    let configured: TestDatabase;
    let server: RunningServer;
    let demo: TestDatabase;
    const root = mkdtempSync(path.join(tmpdir(), 'genesim-demo-'));
    // The server runs as the postgres user when we are root; it must be able to reach its directory.
    chmodSync(root, 0o755);
    const embedded = { kind: 'embedded' as const, dir: path.join(root, 'pgdata'), port: 50000 + (process.pid % 5000), database: 'postgres' };
    let env: NodeJS.ProcessEnv;
    let before_: Contents;

    before(async () => {
      configured = await freshDatabase();
      // The configured database holds an application's matrix that demo must leave alone.
      genesim(configured, ['create', '--strategy', 'copyfrom', '--input', A]);
      before_ = await databaseContents(configured, true);
      env = { ...configured.env, GENESIM_EMBEDDED_DIR: embedded.dir, GENESIM_EMBEDDED_PORT: String(embedded.port) };
      // Held by the test for the whole suite, so it can look inside; demo finds it running and uses it.
      server = await startEmbedded(embedded, () => undefined);
      const target = { ...server.target, database: 'genesim_demo' };
      // Only looked into (sql); never dropped through this handle.
      demo = { name: 'genesim_demo', target, config: { ...configured.config, db: target }, env, drop: async () => undefined };
    });
    after(async () => {
      await configured.drop();
      await server?.stop();
      rmSync(root, { recursive: true, force: true });
    });

    const admin = async (text: string) => {
      const c = new pg.Client(clientConfig(server.target));
      await c.connect();
      try {
        return (await c.query(text)).rows;
      } finally {
        await c.end();
      }
    };

    it('refuses a genesim_demo database holding tables it did not make, exit 3', async () => {
      await admin('CREATE DATABASE genesim_demo');
      await sql(demo, 'CREATE TABLE lab_notes (note text); INSERT INTO lab_notes VALUES (\'keep me\')');
      const r = runCli(['demo'], env, dir);
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, /database genesim_demo holds tables demo did not make \(public\.lab_notes\)/);
      assert.deepEqual(await sql(demo, 'SELECT note FROM lab_notes'), [{ note: 'keep me' }]);
      await admin('DROP DATABASE genesim_demo');
    });

    /**
     * The configured server's own genesim_demo: none, or (a newcomer's `npm start` before
     * `npm test`, when the suite runs on the default embedded server) one this suite never touches.
     */
    const demoOnConfigured = async () => {
      const [db] = await sql<{ oid: string }>(configured, `SELECT oid::text FROM pg_database WHERE datname = 'genesim_demo'`);
      if (!db) return null;
      const c = new pg.Client({ ...clientConfig(configured.target), database: 'genesim_demo' });
      await c.connect();
      try {
        const { rows } = await c.query<{ t: string | null }>(`SELECT to_regclass('datasets_genesimilarity')::text AS t`);
        const sims = rows[0]!.t === null ? null : (await c.query<{ n: string }>('SELECT count(*) AS n FROM datasets_genesimilarity')).rows[0]!.n;
        return { oid: db.oid, sims };
      } finally {
        await c.end();
      }
    };

    it('writes the bundled matrix into genesim_demo on the embedded server, and not one row of the configured database', async () => {
      const demoBefore = await demoOnConfigured();
      const r = runCli(['demo'], env, dir);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`demo: writes only to embedded PostgreSQL in ${embedded.dir} \\(port ${embedded.port}\\), database genesim_demo; the configured database \\(.*/${configured.name}\\) is not used`));
      assert.match(r.stdout, /: 6,086,089 similarity rows \(parallel strategy\)$/m);
      // It ends with how to look: the command and a psql line, both of which answer.
      const look = /^  look: +genesim (similar EISEN0001 --demo --top 10)$/m.exec(r.stdout);
      assert.ok(look, r.stdout);
      const similar = runCli(look[1]!.split(' '), env, dir);
      assert.equal(similar.status, 0, similar.stderr);
      const ranked = similar.stdout.trim().split('\n').slice(2).map((l) => l.trim().split(/\s+/)[1]);
      assert.equal(ranked.length, 10);
      const psql = /^  psql: +(PGPASSWORD=\S* psql .*)$/m.exec(r.stdout);
      assert.ok(psql, r.stdout);
      const viaPsql = spawnSync('sh', ['-c', `${psql[1]!.replace(/^(PGPASSWORD=\S*) psql /, '$1 psql -At -F, ')}`], { encoding: 'utf8' });
      assert.equal(viaPsql.status, 0, viaPsql.stderr);
      assert.deepEqual(viaPsql.stdout.trim().split('\n').map((l) => l.split(',')[0]), ranked, 'psql gives the same ranking');

      assert.deepEqual(checksums(await databaseContents(configured, true)), checksums(before_), 'the configured database is as it was');
      assert.deepEqual(await demoOnConfigured(), demoBefore, 'genesim_demo on the configured server (absent, or a demo the user ran there before the suite) is as it was');

      // All of it counted; the scores of the first 40 genes (4 % of the matrix) against the reference.
      const m = readTsv(EISEN);
      const [counts] = await sql<Record<string, string>>(
        demo,
        `SELECT (SELECT count(*) FROM datasets_dataset) AS datasets, (SELECT count(*) FROM datasets_gene) AS genes,
                (SELECT count(*) FROM datasets_data) AS data, (SELECT count(*) FROM datasets_genesimilarity) AS sims,
                (SELECT count(*) FROM datasets_datasetsimilarity) AS dataset_sims`,
      );
      const values = m.values.flat().filter((v) => !Number.isNaN(v)).length;
      assert.deepEqual(counts, { datasets: '79', genes: '2467', data: String(values), sims: String(2467 ** 2), dataset_sims: String(79 ** 2) });
      const head = { ...m, genes: m.genes.slice(0, 40), commonNames: m.commonNames.slice(0, 40), values: m.values.slice(0, 40) };
      const want = expectedContents(head, 'cosine', false).datasets_genesimilarity;
      const have = (
        await sql<{ line: string }>(
          demo,
          `SELECT concat_ws(',', a.systematic_name, b.systematic_name, s.metric, s.score) AS line FROM datasets_genesimilarity s
             JOIN datasets_gene a ON a.id = s.gene1_id JOIN datasets_gene b ON b.id = s.gene2_id
            WHERE a.systematic_name <= 'EISEN0040' AND b.systematic_name <= 'EISEN0040'`,
        )
      ).map((r) => r.line);
      assert.deepEqual(checksums({ head: have }), checksums({ head: want }));
    });

    it('a second demo passes its own mark; Ctrl-C there keeps the first one\'s matrix', async () => {
      const sims = async () => (await sql<{ n: string }>(demo, 'SELECT count(*) AS n FROM datasets_genesimilarity'))[0]!.n;
      assert.equal(await sims(), String(2467 ** 2));
      // Said once the input is read, after the database was claimed.
      const { code, stderr } = await runCliAsync(['demo'], env, { cwd: dir, interruptAfter: 'similarity rows (cosine)', delayMs: 300 });
      assert.equal(code, 130, stderr);
      assert.equal(await sims(), String(2467 ** 2));
    });

    it('npm start runs demo', () => {
      const { scripts } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
      assert.match(scripts.start!, /node dist\/src\/cli\.js demo$/);
    });
  });

  describe('the packed package', () => {
    const t = databasePerSuite();

    it('npm pack holds an executable bin with a shebang that runs from the unpacked package', async () => {
      const pack = mkdtempSync(path.join(dir, 'pack-'));
      const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', pack], { cwd: projectRoot, encoding: 'utf8' });
      assert.equal(packed.status, 0, packed.stderr);
      const tarball = path.join(pack, packed.stdout.trim().split('\n').at(-1)!);
      assert.equal(spawnSync('tar', ['xzf', tarball, '-C', pack]).status, 0);
      const pkg = path.join(pack, 'package');
      const { bin } = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { bin: Record<string, string> };
      const binFile = path.join(pkg, bin.genesim!);
      assert.match(readFileSync(binFile, 'utf8'), /^#!\/usr\/bin\/env node\n/);
      assert.ok(statSync(binFile).mode & 0o111, 'executable');
      // npm would install the dependencies beside it; the project's own stand in for them.
      symlinkSync(path.join(projectRoot, 'node_modules'), path.join(pkg, 'node_modules'));
      const cwd = path.join(pack, 'work');
      mkdirSync(cwd);
      const created = spawnSync(binFile, ['create', '--input', A], { env: t.env, cwd, encoding: 'utf8' });
      assert.equal(created.status, 0, created.stderr);
      await assertTablesHold(t, expectFile(A), true);
    });
  });
});

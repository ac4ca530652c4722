import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { isGenesimLoadTable } from '../src/db/loadNames.js';
import {
  connect,
  createTestDatabase,
  loadTables,
  lockWaiters,
  runCli,
  type RunningCli,
  simChecksum,
  sql,
  startCli,
  tableCounts,
  type TestDatabase,
  until,
  writeDuringRun,
} from './helpers.js';

const N = 300;
const createArgs = (results: string) => ['create', '--strategy', 'parallel', '--genes', String(N), '--datasets', '12', '--threads', '2', '--results', results];

async function holdsWriterLock(t: TestDatabase, pid: number): Promise<boolean> {
  const rows = await sql(t, `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1`, [`genesim pid=${pid} %`]);
  return rows.length > 0;
}

/**
 * A reader of the application's holding the similarity table in an open transaction: a
 * parallel run gets through its load and index builds, then waits at the swap until `end()`.
 * That keeps a real run holding the writer lock for as long as a test needs it.
 */
async function heldReader(t: TestDatabase): Promise<{ client: pg.Client; end(): Promise<void> }> {
  const client = await connect(t);
  await client.query('BEGIN');
  await client.query('SELECT count(*) FROM datasets_genesimilarity');
  return {
    client,
    end: async () => {
      await client.query('COMMIT');
      await client.end();
    },
  };
}

describe('one writer at a time', () => {
  let t: TestDatabase;
  let reference: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'genesim-writer-'));
  const results = (name: string) => path.join(dir, `${name}.csv`);
  before(async () => {
    t = await createTestDatabase();
    reference = await createTestDatabase();
    const r = runCli(createArgs(results('reference')), reference.env);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await t.drop();
    await reference.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    assert.equal(runCli(['migrate'], t.env).status, 0);
    await sql(t, 'TRUNCATE datasets_genesimilarity, datasets_datasetsimilarity, datasets_data, datasets_gene, datasets_dataset');
  });

  it('a second create refuses at once, exit 3, naming the running one; the first completes the whole matrix', async () => {
    const reader = await heldReader(t);
    const first = startCli(createArgs(results('first')), t.env);
    try {
      await until('the first run to hold the writer lock and wait at its swap', async () => (await holdsWriterLock(t, first.child.pid!)) && (await lockWaiters(t)) > 0);
      const second = runCli(createArgs(results('second')), t.env);
      assert.equal(second.status, 3, second.stderr);
      const lines = second.stderr.trim().split('\n');
      assert.match(
        lines[lines.length - 1]!,
        new RegExp(`^genesim: another genesim run holds the database \\(pid ${first.child.pid}, started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, create --strategy parallel --genes ${N}\\); .*--wait-lock`),
      );
      assert.equal(first.child.exitCode, null, 'the first run was still running when the second was refused');
      assert.doesNotMatch(second.stderr, /migrated|dropped/, 'the refused run read and wrote nothing');
    } finally {
      await reader.end();
    }
    const done = await first.exited;
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(await simChecksum(t), await simChecksum(reference));
    assert.equal((await simChecksum(t)).rows, N * N);
  });

  it('--wait-lock waits for the running one, then runs', async () => {
    const reader = await heldReader(t);
    const first = startCli(createArgs(results('first')), t.env);
    let second: RunningCli | undefined;
    try {
      await until('the first run to wait at its swap', async () => (await holdsWriterLock(t, first.child.pid!)) && (await lockWaiters(t)) > 0);
      second = startCli([...createArgs(results('second')), '--replace', '--wait-lock', '300', '--metric', 'pearson'], t.env);
      await second.said(new RegExp(`waiting for the running genesim to finish \\(pid ${first.child.pid}, `));
      assert.equal(first.child.exitCode, null);
    } finally {
      await reader.end();
    }
    assert.equal((await first.exited).code, 0);
    const done = await second!.exited;
    assert.equal(done.code, 0, done.stderr);
    const [m] = await sql<{ metric: string; n: string }>(t, 'SELECT min(metric) AS metric, count(*) AS n FROM datasets_genesimilarity');
    assert.deepEqual(m, { metric: 'pearson', n: String(N * N) }, 'the waiting run replaced the first one\'s matrix');
  });

  it('Ctrl-C while waiting for the lock exits 130 and leaves the running one alone', async () => {
    const reader = await heldReader(t);
    const first = startCli(createArgs(results('first')), t.env);
    try {
      await until('the first run to wait at its swap', async () => (await holdsWriterLock(t, first.child.pid!)) && (await lockWaiters(t)) > 0);
      const second = startCli(['update', '--strategy', 'upsert', '--from-db', '--wait-lock', '300', '--results', results('second')], t.env);
      await second.said(/waiting for the running genesim to finish/);
      second.child.kill('SIGINT');
      const done = await second.exited;
      assert.equal(done.code, 130, done.stderr);
      assert.equal(first.child.exitCode, null);
    } finally {
      await reader.end();
    }
    assert.equal((await first.exited).code, 0);
    assert.equal((await simChecksum(t)).rows, N * N);
  });

  it('update takes the same lock: refused while a create runs', async () => {
    const reader = await heldReader(t);
    const first = startCli(createArgs(results('first')), t.env);
    try {
      await until('the first run to wait at its swap', async () => (await holdsWriterLock(t, first.child.pid!)) && (await lockWaiters(t)) > 0);
      const update = runCli(['update', '--strategy', 'parallel', '--genes', '20', '--results', results('update')], t.env);
      assert.equal(update.status, 3, update.stderr);
      assert.match(update.stderr, new RegExp(`holds the database \\(pid ${first.child.pid}, .*create --strategy parallel --genes ${N}\\)`));
    } finally {
      await reader.end();
    }
    assert.equal((await first.exited).code, 0);
  });

  it('the application writes after the first emptiness check: the swap checks again and refuses, its row kept', async () => {
    // The run's first check cannot see the row; the swap's check waits for its COMMIT and must see it.
    const run = await writeDuringRun(t, `INSERT INTO datasets_dataset (name) VALUES ('written by the application')`, [], () => startCli(createArgs(results('run')), t.env), 'LOCK TABLE datasets_genesimilarity');
    const done = await run.exited;
    assert.equal(done.code, 3, done.stderr);
    assert.match(done.stderr, /the tables already hold data \(datasets_dataset\); pass --replace/);
    assert.deepEqual(await tableCounts(t), { datasets_dataset: 1, datasets_gene: 0, datasets_data: 0, datasets_genesimilarity: 0, datasets_datasetsimilarity: 0 });
    assert.deepEqual(await sql(t, `SELECT name FROM datasets_dataset`), [{ name: 'written by the application' }]);
    assert.deepEqual(await loadTables(t), [], 'the run dropped its load tables');
  });

  it('a run killed mid-load (kill -9) leaves its load table and temp files; the next run drops them and says so', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'genesim-killed-'));
    // A file of a process that is alive (this one) must be left alone.
    const alive = path.join(tmp, `genesim-${process.pid}-mine.tsv`);
    writeFileSync(alive, 'x');
    const killed = startCli(['create', '--strategy', 'parallel', '--genes', '2500', '--datasets', '20', '--threads', '2', '--tmp-dir', tmp, '--results', results('killed')], t.env);
    const theirs = () => readdirSync(tmp).filter((f) => f.startsWith(`genesim-${killed.child.pid}-`));
    // Tables only, not their indexes: what the next run must name.
    const leftTables = async () => (await loadTables(t)).filter((name) => isGenesimLoadTable(name));
    // From the server's progress view: the load's transaction holds its table (TRUNCATE, then COPY FREEZE), so counting its rows would wait for the load to end.
    await until('the run to be mid-load, rows streaming into its similarity load table and temp files on disk', async () => {
      if (theirs().length === 0) return false;
      const copying = await sql<{ n: string }>(t, `SELECT p.tuples_processed::text AS n FROM pg_stat_progress_copy p
        WHERE p.datname = current_database() AND p.relid::regclass::text LIKE 'datasets\\_genesimilarity\\_\\_genesim\\_%'`);
      return copying.some((r) => Number(r.n) > 0);
    });
    killed.child.kill('SIGKILL');
    assert.equal((await killed.exited).signal, 'SIGKILL');
    const left = theirs();
    assert.ok(left.length > 0);
    const leftover = await leftTables();
    assert.ok(leftover.some((name) => name.startsWith('datasets_genesimilarity__genesim_')), 'the load tables outlived the run');

    const next = runCli([...createArgs(results('next')), '--tmp-dir', tmp], t.env);
    assert.equal(next.status, 0, next.stderr);
    for (const table of leftover) assert.match(next.stderr, new RegExp(`genesim: dropped ${table} left by an earlier run that did not finish\\n`));
    assert.match(next.stderr, new RegExp(`genesim: removed ${left.length} temp files? \\(genesim-${killed.child.pid}-\\*\\) from ${tmp} left by an earlier run \\(pid ${killed.child.pid}\\) that did not finish\\n`));
    assert.deepEqual(theirs(), []);
    assert.ok(existsSync(alive), 'a running process\'s temp file is kept');
    assert.deepEqual(await simChecksum(t), await simChecksum(reference));
    assert.deepEqual(await loadTables(t), []);
    rmSync(tmp, { recursive: true, force: true });
  });
});

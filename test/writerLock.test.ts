import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { clientConfig } from '../src/db/connect.js';
import { RUN_LOCK_CLASS } from '../src/db/lock.js';
import { assertNothingKept, holdReader, PHASES, type Run, startCli, terminateBackend, verdict, waitForStatement } from './faults.js';
import { createTestDatabase, runCli, simChecksum, sql, type TestDatabase, until } from './helpers.js';

/**
 * The writer lock's connection terminated by an administrator (pg_terminate_backend from a
 * second connection) while a run works: the run stops as Ctrl-C stops it, says so in one line,
 * exits 1 and leaves the database as it was; a run started next succeeds; two runs never both do.
 */
const GENES = Number(process.env.GENESIM_FAULT_GENES ?? 1000);
const HANG_MS = 30_000;
const LOST = /^genesim: lost the writer lock \(its connection failed: terminating connection due to administrator command\); stopped, nothing swapped$/;

/** The backend holding the writer lock on the test database (its application_name names genesim). */
async function lockBackend(t: TestDatabase): Promise<number> {
  const rows = await sql<{ pid: number }>(t, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'genesim pid=%'`);
  assert.equal(rows.length, 1, 'one lock holder');
  return rows[0]!.pid;
}

async function exitOf(run: Run) {
  const timeout = setTimeout(() => run.child.kill('SIGKILL'), HANG_MS);
  const outcome = await run.exited;
  clearTimeout(timeout);
  assert.notEqual(outcome.signal, 'SIGKILL', `no exit within ${HANG_MS} ms of losing the lock\n${run.stderr()}`);
  return outcome;
}

function suite(name: string, genes = GENES) {
  let t: TestDatabase;
  const tmp = mkdtempSync(path.join(tmpdir(), `genesim-lock-${name}-`));
  before(async () => {
    t = await createTestDatabase();
    const r = runCli(['create', '--strategy', 'parallel', '--genes', String(genes), '--seed', '1', '--threads', '2', '--tmp-dir', tmp, '--results', path.join(tmp, 'r.csv')], t.env);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await t.drop();
    rmSync(tmp, { recursive: true, force: true });
  });
  return { t: () => t, tmp, results: path.join(tmp, 'r.csv') };
}

/**
 * Starts `args`, waits for a statement of `phase` on the server, terminates the lock's backend
 * (not the statement's): the run must notice on its own. Then checks the one line and the database.
 */
async function loseLockDuring(t: TestDatabase, tmp: string, args: string[], phase: keyof typeof PHASES, o: { lastStatement?: boolean } = {}): Promise<void> {
  const before = await simChecksum(t);
  const reader = phase === 'swap' ? await holdReader(t) : null;
  const run = startCli(args, t.env);
  try {
    await waitForStatement(t, PHASES[phase], run, { waitingForLock: phase === 'swap', lastStatement: o.lastStatement });
    await terminateBackend(t, await lockBackend(t));
    const outcome = await exitOf(run);
    assert.equal(outcome.code, 1, run.stderr());
  } finally {
    await reader?.release();
  }
  assert.match(verdict(run.stderr()), LOST);
  await assertNothingKept(t, before, tmp, run.stderr());
}

describe('writer lock lost: parallel create', function () {
  this.timeout(600_000);
  const s = suite('pcreate');
  const args = (seed: number) => ['create', '--strategy', 'parallel', '--replace', '--genes', String(GENES), '--seed', String(seed), '--threads', '2', '--tmp-dir', s.tmp, '--results', s.results];
  for (const phase of ['simcopy', 'index', 'analyze', 'swap'] as const) {
    it(`lock's backend terminated during ${phase}: one line, exit 1, nothing swapped or left; the next run succeeds`, async () => {
      await loseLockDuring(s.t(), s.tmp, args(2), phase);
      const next = runCli(args(3), s.t().env);
      assert.equal(next.status, 0, next.stderr);
    });
  }

  for (const phase of ['simcopy', 'index', 'swap'] as const) {
    it(`a second run started the moment the first lost its lock (${phase}): exactly one of the two succeeds, the second's matrix is in place`, async () => {
      const t = s.t();
      const reader = phase === 'swap' ? await holdReader(t) : null;
      const first = startCli(args(4), t.env);
      let second: Run;
      try {
        await waitForStatement(t, PHASES[phase], first, { waitingForLock: phase === 'swap' });
        await terminateBackend(t, await lockBackend(t));
        // Right away, not after the first ended: it may still be cancelling and dropping its tables.
        second = startCli([...args(5), '--wait-lock', '60'], t.env);
        await reader?.release();
      } catch (err) {
        await reader?.release();
        throw err;
      }
      const [a, b] = await Promise.all([exitOf(first), exitOf(second)]);
      assert.ok(!(a.code === 0 && b.code === 0), 'never both');
      assert.equal(a.code, 1, first.stderr());
      assert.match(verdict(first.stderr()), LOST);
      assert.equal(b.code, 0, second.stderr());
      assert.doesNotMatch(second.stderr(), /does not exist/);
      // What the second wrote is what a run of its own alone writes.
      const mine = await simChecksum(t);
      const alone = runCli(args(5), t.env);
      assert.equal(alone.status, 0, alone.stderr);
      assert.deepEqual(await simChecksum(t), mine);
      await assertNothingKept(t, mine, s.tmp, `${first.stderr()}\n${second.stderr()}`);
    });
  }
});

describe('writer lock lost: classic update (one transaction)', function () {
  this.timeout(600_000);
  // Fewer genes: the classic strategies write row by row; a phase still lasts seconds, and the next run (a whole update) a minute less.
  const genes = Math.min(GENES, 600);
  const s = suite('cupdate', genes);
  const args = (strategy: string, seed: number) => ['update', '--strategy', strategy, '--genes', String(genes), '--seed', String(seed), '--tmp-dir', s.tmp, '--results', s.results];
  const cases: [string, keyof typeof PHASES][] = [
    ['copyfrom', 'copy'],
    ['copyfromfile', 'copy'],
    ['upsert', 'upsert'],
  ];
  for (const [strategy, phase] of cases) {
    it(`${strategy}: lock's backend terminated during ${phase}: one line, exit 1, rolled back; the next run succeeds`, async () => {
      await loseLockDuring(s.t(), s.tmp, args(strategy, 2), phase);
      const next = runCli(args(strategy, 3), s.t().env);
      assert.equal(next.status, 0, next.stderr);
    });
  }
});

describe("leftover clean-up leaves a run's load table alone while that run is alive", function () {
  this.timeout(120_000);
  let t: TestDatabase;
  const tmp = mkdtempSync(path.join(tmpdir(), 'genesim-lock-leftover-'));
  const table = 'datasets_genesimilarity__genesim_deadbeef';
  const create = () => runCli(['create', '--strategy', 'parallel', '--replace', '--genes', '30', '--datasets', '5', '--threads', '2', '--tmp-dir', tmp, '--results', path.join(tmp, 'r.csv')], t.env);
  let other: pg.Client;
  before(async () => {
    t = await createTestDatabase();
    assert.equal(create().status, 0);
    await sql(t, `CREATE TABLE ${table} (LIKE datasets_genesimilarity)`);
    other = new pg.Client(clientConfig(t.target));
    await other.connect();
  });
  after(async () => {
    await other.end();
    await t.drop();
    rmSync(tmp, { recursive: true, force: true });
  });
  const exists = async () => (await sql(t, 'SELECT 1 FROM pg_class WHERE relname = $1', [table])).length === 1;

  it("kept while its run's own lock is held (the run lost the writer lock but lives)", async () => {
    await other.query('SELECT pg_advisory_lock($1, $2)', [RUN_LOCK_CLASS, 0xdeadbeef | 0]);
    const r = create();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`genesim: left ${table} alone: the run that made it \\(run deadbeef\\) is still alive\\n`));
    assert.ok(await exists());
    await other.query('SELECT pg_advisory_unlock($1, $2)', [RUN_LOCK_CLASS, 0xdeadbeef | 0]);
  });

  it('kept while a backend still works on it (holds a lock on it), naming the backend', async () => {
    await other.query('BEGIN');
    await other.query(`SELECT count(*) FROM ${table}`);
    const pid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const r = create();
    await other.query('ROLLBACK');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`genesim: left ${table} alone: backend ${pid} still works on it; a later run removes it\\n`));
    assert.ok(await exists());
  });

  it('dropped once its run is provably gone and nobody works on it', async () => {
    const r = create();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`genesim: dropped ${table} left by an earlier run that did not finish\\n`));
    assert.equal(await exists(), false);
  });
});

describe('migrate creates its table only under its lock', function () {
  this.timeout(120_000);
  it('while another migrate holds the lock, no genesim_migrations appears; then it completes', async () => {
    const t = await createTestDatabase();
    const holder = new pg.Client(clientConfig(t.target));
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [0x6e5e51]);
      const run = startCli(['migrate'], t.env);
      await until('migrate to wait for the lock', async () => (await sql(t, `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%pg_advisory_lock%'`)).length === 1);
      assert.deepEqual(await sql(t, "SELECT to_regclass('genesim_migrations') AS t"), [{ t: null }]);
      await holder.query('SELECT pg_advisory_unlock($1)', [0x6e5e51]);
      const outcome = await run.exited;
      assert.equal(outcome.code, 0, run.stderr());
      assert.deepEqual(await sql(t, "SELECT to_regclass('genesim_migrations')::text AS t"), [{ t: 'genesim_migrations' }]);
    } finally {
      await holder.end();
      await t.drop();
    }
  });
});

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT } from '../src/errors.js';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import { CLI, createTestDatabase, runCli, simChecksum, sql, type TestDatabase, suiteDatabase, suiteTempDir, skipBecause } from './helpers.js';
import { writeFileSync } from 'node:fs';

const isRoot = process.getuid?.() === 0;
const oneLine = (stderr: string) => {
  const lines = stderr.trim().split('\n').filter((l) => !/^genesim: (copyfromfile|parallel|copyfrom|baseline|tuning)( update)?: /.test(l) && !/interrupted: rolling back/.test(l));
  assert.equal(lines.length, 1, stderr);
  assert.doesNotMatch(stderr, /\n\s+at |Unhandled/);
  return lines[0]!;
};
const genesimFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('genesim-'));

describe('temp files: a bad --tmp-dir and a full disk', () => {
  let t: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'genesim-space-'));
  const small = path.join(dir, 'small');
  let previous: { rows: number; md5: string };
  let mounted = false;

  before(async () => {
    t = await createTestDatabase();
    const r = runCli(['create', '--strategy', 'copyfrom', '--genes', '30', '--datasets', '5', '--results', path.join(dir, 'r.csv')], t.env);
    assert.equal(r.status, 0, r.stderr);
    previous = await simChecksum(t);
  });
  after(async () => {
    if (mounted) spawnSync('umount', [small]);
    await t.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  const create = (...args: string[]) => runCli(['create', '--replace', '--results', path.join(dir, 'r.csv'), ...args], t.env);

  it('a --tmp-dir that does not exist or is a file: exit 2, one line, before any work', async () => {
    for (const [bad, why] of [
      [path.join(dir, 'missing'), 'no such directory'],
      [path.join(dir, 'r.csv'), 'not a directory'],
    ]) {
      for (const args of [
        ['create', '--strategy', 'copyfromfile', '--genes', '40', '--replace'],
        ['update', '--strategy', 'copyfromfile', '--genes', '40'],
      ]) {
        const r = runCli([...args, '--tmp-dir', bad!, '--results', path.join(dir, 'r.csv')], t.env);
        assert.equal(r.status, EXIT.usage, r.stderr);
        assert.equal(oneLine(r.stderr), `genesim: --tmp-dir ${bad}: ${why}`);
      }
    }
    assert.deepEqual(await simChecksum(t), previous);
  });

  describe('on a 1 MB tmpfs', () => {
    before(function (this: Mocha.Context) {
      if (!isRoot) skipBecause(this, 'mounting a 1 MB tmpfs needs root');
      rmSync(small, { recursive: true, force: true });
      spawnSync('mkdir', [small]);
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
      if (m.status !== 0) skipBecause(this, 'mount -t tmpfs refused here (a container without CAP_SYS_ADMIN?)');
      mounted = true;
    });

    it('copyfromfile: exit 1, one line naming the directory and the space needed; previous matrix kept, no file left', async () => {
      const r = create('--strategy', 'copyfromfile', '--genes', '400', '--datasets', '5', '--tmp-dir', small);
      assert.equal(r.status, EXIT.failure, r.stderr);
      assert.match(oneLine(r.stderr), new RegExp(`^genesim: no space left in ${small} for temp files \\(this run needs about 5\\.1 MB there at its peak\\): .*--strategy copyfrom, which writes no file; nothing was kept$`));
      assert.deepEqual(await simChecksum(t), previous);
      assert.deepEqual(genesimFiles(small), []);
    });

    it('parallel with temp files: the same, naming --via stream; --via stream --load concurrent then loads on the same disk', async () => {
      const r = create('--strategy', 'parallel', '--genes', '800', '--datasets', '5', '--threads', '1', '--tmp-dir', small);
      assert.equal(r.status, EXIT.failure, r.stderr);
      assert.match(oneLine(r.stderr), new RegExp(`^genesim: no space left in ${small} for temp files \\(this run needs about [\\d.]+ MB there at its peak\\): .*--via stream`));
      assert.deepEqual(await simChecksum(t), previous);
      assert.deepEqual(genesimFiles(small), []);
      assert.deepEqual(await sql(t, "SELECT 1 FROM pg_tables WHERE tablename LIKE '%\\_\\_genesim\\_%'"), []);

      const streamed = create('--strategy', 'parallel', '--genes', '800', '--datasets', '5', '--threads', '1', '--tmp-dir', small, '--via', 'stream', '--load', 'concurrent');
      assert.equal(streamed.status, 0, streamed.stderr);
      assert.equal((await simChecksum(t)).rows, 640_000);
      // Back to the matrix the other tests compare with.
      assert.equal(create('--strategy', 'copyfrom', '--genes', '30', '--datasets', '5').status, 0);
      assert.deepEqual(await simChecksum(t), previous);
    });

    it('update through a file (copyfromfile): the file sink reports the full disk instead of crashing', async () => {
      const input = path.join(dir, 'update.tsv');
      writeFileSync(input, formatTsv(generateMatrix({ genes: 400, datasets: 5, seed: 7, missing: 0 })));
      const r = runCli(['update', '--strategy', 'copyfromfile', '--input', input, '--tmp-dir', small, '--results', path.join(dir, 'r.csv')], t.env);
      assert.equal(r.status, EXIT.failure, r.stderr);
      assert.match(oneLine(r.stderr), new RegExp(`^genesim: no space left in ${small} for temp files \\(this run needs about`));
      assert.deepEqual(await simChecksum(t), previous);
      assert.deepEqual(genesimFiles(small), []);
    });
  });
});

describe('--via stream: a COPY that dies while a worker streams into it', () => {
  const t = suiteDatabase();
  const dir = suiteTempDir('genesim-stream-');

  for (const load of ['clustered', 'concurrent']) {
    it(`--load ${load}: its backend terminated mid-COPY: exit 1, one line, no hang, previous matrix kept, no load table`, async () => {
      assert.equal(runCli(['create', '--strategy', 'copyfrom', '--replace', '--genes', '30', '--datasets', '5', '--results', path.join(dir, 'r.csv')], t.env).status, 0);
      const before = await simChecksum(t);
      const child = spawn(process.execPath, [CLI, 'create', '--strategy', 'parallel', '--replace', '--via', 'stream', '--load', load, '--genes', '2500', '--threads', '1', '--tmp-dir', dir, '--results', path.join(dir, 'r.csv')], { env: t.env });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = once(child, 'exit');
      let killed = 0;
      for (let i = 0; i < 1200 && killed === 0; i++) {
        const rows = await sql<{ killed: boolean }>(
          t,
          // A worker's stream, not the diagonal's COPY on the run's main connection (2,500 rows; --load concurrent):
          // a terminated main connection is another fault, tested with the other phases.
          `SELECT pg_terminate_backend(a.pid) AS killed FROM pg_stat_activity a JOIN pg_stat_progress_copy p ON p.pid = a.pid
            WHERE a.datname = current_database() AND a.query LIKE 'COPY %datasets_genesimilarity\\_\\_genesim\\_%' AND a.state = 'active'
              AND p.tuples_processed > 2500`,
        );
        killed = rows.filter((r) => r.killed).length;
        if (killed === 0) await sleep(100);
      }
      assert.ok(killed > 0, `no COPY to terminate: ${stderr}`);
      const [code] = (await Promise.race([exited, sleep(120_000).then(() => [null])])) as [number | null];
      if (code === null) child.kill('SIGKILL');
      assert.notEqual(code, null, 'the run ended instead of waiting for credit');
      assert.equal(code, EXIT.failure, stderr);
      assert.match(oneLine(stderr), /terminating connection due to administrator command|Connection terminated|the database connection of a COPY was lost/);
      assert.deepEqual(await simChecksum(t), before);
      assert.deepEqual(await sql(t, "SELECT 1 FROM pg_tables WHERE tablename LIKE '%\\_\\_genesim\\_%'"), []);
      assert.deepEqual(genesimFiles(dir), []);
      // The next run needs no manual step.
      const again = runCli(['create', '--strategy', 'parallel', '--replace', '--via', 'stream', '--load', load, '--genes', '60', '--datasets', '5', '--threads', '1', '--results', path.join(dir, 'r.csv')], t.env);
      assert.equal(again.status, 0, again.stderr);
    });
  }
});

describe('baseline update interrupted', () => {
  const t = suiteDatabase();
  const dir = suiteTempDir('genesim-baseline-');

  it('says how many similarity rows it had committed, and the table holds exactly those', async () => {
    const input = path.join(dir, 'in.tsv');
    writeFileSync(input, formatTsv(generateMatrix({ genes: 120, datasets: 5, seed: 3, missing: 0 })));
    const child = spawn(process.execPath, [CLI, 'update', '--strategy', 'baseline', '--input', input, '--results', path.join(dir, 'r.csv')], { env: t.env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit');
    for (let i = 0; i < 600; i++) {
      const rows = await sql<{ n: string }>(t, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'datasets_genesimilarity'");
      if (rows[0]!.n === '1' && Number((await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM datasets_genesimilarity'))[0]!.n) > 100) break;
      await sleep(100);
    }
    child.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    assert.equal(code, EXIT.interrupted, stderr);
    const said = /interrupted: ([\d,]+) rows were already committed \(baseline runs in autocommit\)/.exec(stderr);
    assert.ok(said, stderr);
    const committed = Number(said[1]!.replace(/,/g, ''));
    assert.ok(committed > 100 && committed < 120 * 120, `${committed}`);
    assert.equal((await simChecksum(t)).rows, committed);
  });
});

import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { clientConfig } from '../src/db/connect.js';
import { isLocalHost, readServerFacts } from '../src/db/serverFacts.js';
import { RefusedError } from '../src/errors.js';
import { applicationReserve, chooseTuning, type ServerFacts } from '../src/tuning.js';
import { runCli, suiteDatabase } from './helpers.js';

/** PostgreSQL 15's defaults, on a server of `cores`. */
const defaults = (cores: number | null, o: Partial<ServerFacts> = {}): ServerFacts => ({
  maxConnections: 100,
  superuserReserved: 3,
  inUse: 5,
  maxWorkerProcesses: 8,
  maxParallelWorkers: 8,
  maxParallelMaintenanceWorkers: 2,
  cores,
  ...o,
});

describe('tuning from the machine and the server', () => {
  it('2 cores, a local server: 2 threads, 2 connections, builds without parallel workers (as measured best there)', () => {
    const t = chooseTuning(2, defaults(2));
    assert.deepEqual([t.threads, t.connections, t.indexWorkers], [2, 2, 0]);
    assert.match(t.summary, /^tuning: 2 worker threads \(2 cores\), 2 connections \(90 free of max_connections 100, 10 kept for the application\), index builds without parallel workers/);
    assert.match(t.summary, /, 256 MB maintenance_work_mem per build \(default; 2 at once\)$/);
    assert.match(chooseTuning(2, defaults(2), { indexMemoryMb: 4096 }).summary, /, 4096 MB maintenance_work_mem per build \(--index-memory; 2 at once\)$/);
  });

  it('64 cores, a local server with its settings raised: 4 connections, the spare cores as workers inside each build', () => {
    const t = chooseTuning(64, defaults(64, { maxWorkerProcesses: 64, maxParallelWorkers: 64, maxParallelMaintenanceWorkers: 8 }));
    assert.deepEqual([t.threads, t.connections, t.indexWorkers], [64, 4, 15]);
  });

  it('64 cores against PostgreSQL defaults: the server-wide worker pool (8) is shared by the 4 builds', () => {
    assert.equal(chooseTuning(64, defaults(64)).indexWorkers, 2);
  });

  it("a remote server (cores unknown): its own max_parallel_maintenance_workers, within the shared pool", () => {
    assert.equal(chooseTuning(16, defaults(null)).indexWorkers, 2);
    assert.equal(chooseTuning(16, defaults(null, { maxParallelWorkers: 4 })).indexWorkers, 1);
    assert.match(chooseTuning(16, defaults(null)).summary, /the server's max_parallel_maintenance_workers 2/);
  });

  it('a busy server: connections stop where the application would run short; none free is refused', () => {
    // 25 - 3 reserved - 12 in use - 2 of genesim's own = 8 free; 5 stay with the application.
    assert.equal(chooseTuning(8, defaults(8, { maxConnections: 25, inUse: 12 })).connections, 3);
    assert.equal(chooseTuning(8, defaults(8, { maxConnections: 25, inUse: 19 })).connections, 1);
    assert.throws(() => chooseTuning(8, defaults(8, { maxConnections: 25, inUse: 21 })), (e) => e instanceof RefusedError && /no connection to spare/.test(e.message));
    assert.equal(applicationReserve(500), 50);
  });

  it('what the user asked for is kept, and the line says so', () => {
    const t = chooseTuning(2, defaults(2), { threads: 6, connections: 3 });
    assert.deepEqual([t.threads, t.connections], [6, 3]);
    assert.match(t.summary, /6 worker threads \(--threads\), 3 connections \(--connections\)/);
  });

  it('a local server is one reached by socket, loopback or localhost; a Cloud SQL socket is not', () => {
    for (const host of [undefined, '/var/run/postgresql', '127.0.0.1', 'localhost', '::1']) assert.equal(isLocalHost(host), true, String(host));
    for (const host of ['10.0.0.3', 'db.example', '/cloudsql/proj:region:inst']) assert.equal(isLocalHost(host), false, host);
  });

  describe('against the real server', () => {
    const t = suiteDatabase();

    it("reads the server's settings and connections in use", async () => {
      const c = new pg.Client(clientConfig(t.target));
      await c.connect();
      try {
        const f = await readServerFacts(c, t.target.host);
        const setting = async (name: string) => Number((await c.query<{ s: string }>('SELECT current_setting($1) AS s', [name])).rows[0]!.s);
        assert.equal(f.maxConnections, await setting('max_connections'));
        assert.equal(f.maxParallelMaintenanceWorkers, await setting('max_parallel_maintenance_workers'));
        assert.ok(f.inUse >= 1, 'this connection counts');
        assert.equal(f.cores, availableParallelism());
      } finally {
        await c.end();
      }
    });

    it('create --strategy parallel prints what it chose before any work, and the classic strategies do not', () => {
      const r = runCli(['create', '--strategy', 'parallel', '--genes', '30', '--results', '/dev/null'], t.env);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`tuning: ${availableParallelism()} worker threads \\(${availableParallelism()} cores\\), \\d+ connections`));
      const c = runCli(['create', '--strategy', 'copyfrom', '--replace', '--genes', '30', '--results', '/dev/null'], t.env);
      assert.equal(c.status, 0, c.stderr);
      assert.doesNotMatch(c.stderr, /tuning:/);
    });

    it('--index-memory sets each index build\'s sort memory: at 64 MB the 1.4M-row builds spill to temp files, at the default 256 MB they do not', async () => {
      const tempFiles = async () => {
        const c = new pg.Client(clientConfig(t.target));
        await c.connect();
        try {
          return Number((await c.query<{ n: string }>('SELECT temp_files::text AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.n);
        } finally {
          await c.end();
        }
      };
      // The server publishes a backend's counts when it goes idle: wait until they stop moving.
      const settled = async () => {
        let last = await tempFiles();
        for (let i = 0; i < 20; i++) {
          await new Promise((r) => setTimeout(r, 250));
          const now = await tempFiles();
          if (now === last && i >= 3) return now;
          last = now;
        }
        return last;
      };
      const run = (extra: string[]) => runCli(['create', '--strategy', 'parallel', '--replace', '--genes', '1200', '--datasets', '10', '--results', '/dev/null', ...extra], t.env);
      const before = await settled();
      const byDefault = run([]);
      assert.equal(byDefault.status, 0, byDefault.stderr);
      assert.match(byDefault.stderr, /256 MB maintenance_work_mem per build \(default; \d+ at once\)/);
      const afterDefault = await settled();
      assert.equal(afterDefault, before, 'no sort spilled with 256 MB');
      const small = run(['--index-memory', '64']);
      assert.equal(small.status, 0, small.stderr);
      assert.match(small.stderr, /64 MB maintenance_work_mem per build \(--index-memory; \d+ at once\)/);
      assert.ok((await settled()) > afterDefault, 'a sort spilled with 64 MB');
    });

    it('--index-memory out of range is a usage error before any work', () => {
      const r = runCli(['create', '--strategy', 'parallel', '--genes', '30', '--index-memory', '10', '--results', '/dev/null'], t.env);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--index-memory must be a whole number from 64 to 1,048,576/);
    });
  });
});

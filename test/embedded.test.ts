import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { EXIT } from '../src/errors.js';
import { CLI, runCli, skipBecause } from './helpers.js';

/** A running CLI whose stderr is collected, with a way to wait for a line. */
function start(args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], { env });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    exited,
    out: () => ({ stderr, stdout }),
    async waitFor(pattern: RegExp, seconds = 120): Promise<void> {
      for (let i = 0; i < seconds * 10; i++) {
        if (pattern.test(stderr)) return;
        await sleep(100);
      }
      assert.fail(`no ${pattern} within ${seconds} s: ${stderr}`);
    },
  };
}

const isRoot = process.getuid?.() === 0;

describe('embedded PostgreSQL faults (no database configured)', function () {
  const root = mkdtempSync(path.join(tmpdir(), 'genesim-embedded-faults-'));
  // The server runs as the postgres user when we are root; it must be able to reach its directory.
  chmodSync(root, 0o755);
  const port = 56000 + (process.pid % 4000);
  const dataDir = path.join(root, 'pgdata');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, GENESIM_EMBEDDED_DIR: dataDir, GENESIM_EMBEDDED_PORT: String(port) };
  const target = { host: '127.0.0.1', port, user: 'postgres', password: 'postgres', database: 'postgres' };
  const pidFile = path.join(dataDir, 'postmaster.pid');

  async function serverGone(): Promise<boolean> {
    for (let i = 0; i < 100 && existsSync(pidFile); i++) await sleep(100);
    return !existsSync(pidFile);
  }

  after(async () => {
    // Whatever a failed test left running: stop it, then remove the directory.
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGINT');
      } catch {
        // already gone
      }
      await serverGone();
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('Ctrl-C on a run that started the server: exit 130, no crash, and a second run using it is not broken', async () => {
    const first = start(['create', '--strategy', 'parallel', '--genes', '2500', '--threads', '1', '--results', path.join(root, 'a.csv')], env);
    await first.waitFor(/migrated: 0001_datasets/);
    // The second run joins the server the first one started and waits for the writer lock the first holds.
    const second = start(['create', '--strategy', 'copyfrom', '--genes', '600', '--datasets', '20', '--wait-lock', '300', '--results', path.join(root, 'b.csv')], env);
    await second.waitFor(/copyfrom: synthetic/);
    await sleep(1500);
    first.child.kill('SIGINT');
    const code = await first.exited;
    const a = first.out();
    assert.equal(code, EXIT.interrupted, a.stderr);
    assert.match(a.stderr, /interrupted/);
    assert.doesNotMatch(a.stderr, /Unhandled|terminating connection|\n\s+at /, 'no crash, no stack');
    assert.ok(existsSync(pidFile), 'the server keeps running for the second run');

    const secondCode = await second.exited;
    const b = second.out();
    assert.equal(secondCode, 0, b.stderr);
    assert.match(b.stdout, /: 360,000 similarity rows \(copyfrom strategy\)$/m);
    assert.ok(await serverGone(), 'the last run out stopped the server');
  });

  it('SIGINT to a lone run on the embedded server: exit 130, rolled back, server stopped', async () => {
    const run = start(['create', '--strategy', 'parallel', '--genes', '2500', '--threads', '1', '--replace', '--results', path.join(root, 'c.csv')], env);
    await run.waitFor(/using embedded PostgreSQL/);
    await sleep(4000);
    run.child.kill('SIGINT');
    const code = await run.exited;
    const out = run.out();
    assert.equal(code, EXIT.interrupted, out.stderr);
    assert.doesNotMatch(out.stderr, /Unhandled|terminating connection|\n\s+at /);
    assert.ok(await serverGone());
    // Nothing of the interrupted run was kept: the next run sees the first test's 600-gene matrix.
    const check = runCli(['create', '--strategy', 'copyfrom', '--genes', '10', '--results', path.join(root, 'd.csv')], env);
    assert.equal(check.status, EXIT.refused, check.stderr);
    assert.match(check.stderr, /pass --replace/);
  });

  describe('connection refusals against a server with password and TLS rules', () => {
    let holder: pg.Client;
    before(async function () {
      if (!isRoot) skipBecause(this, 'the embedded server with password and TLS rules is set up as root (it runs as the postgres user)');
      // Keep the server up between runs by holding the users lock as a genesim run does.
      const run = start(['migrate'], env);
      const opener = (async () => {
        for (let i = 0; i < 600; i++) {
          const c = new pg.Client(target);
          c.on('error', () => undefined);
          try {
            await c.connect();
            await c.query('SELECT pg_advisory_lock_shared($1)', [0x67656e75]);
            return c;
          } catch {
            await c.end().catch(() => undefined);
            await sleep(100);
          }
        }
        throw new Error('the embedded server never answered');
      })();
      holder = await opener;
      assert.equal(await run.exited, 0);
      // A role that may connect only over TLS, with a self-signed certificate on the server.
      const key = path.join(dataDir, 'server.key');
      const crt = path.join(dataDir, 'server.crt');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', crt], { stdio: 'ignore' });
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
      for (const f of [key, crt]) chownSync(f, uid, gid);
      chmodSync(key, 0o600);
      const hba = path.join(dataDir, 'pg_hba.conf');
      writeFileSync(hba, `hostnossl all tls_only 127.0.0.1/32 reject\nhostssl all tls_only 127.0.0.1/32 password\n${readFileSync(hba, 'utf8')}`);
      await holder.query("CREATE ROLE tls_only LOGIN PASSWORD 'tls' SUPERUSER");
      await holder.query('ALTER SYSTEM SET ssl = on');
      await holder.query('SELECT pg_reload_conf()');
      await sleep(500);
    });
    after(async () => {
      if (!holder) return;
      await holder.end();
      // Last one out: this run stops the server.
      assert.equal(runCli(['migrate'], env).status, 0);
      assert.ok(await serverGone());
    });
    const as = (user: string, password: string, more: Record<string, string> = {}) => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PGHOST: '127.0.0.1',
      PGPORT: String(port),
      PGUSER: user,
      PGPASSWORD: password,
      PGDATABASE: 'genesim',
      ...more,
    });
    const oneLine = (r: { status: number | null; stderr: string }, exitCode: number, pattern: RegExp) => {
      assert.equal(r.status, exitCode, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    };

    it('wrong password: exit 11, one line', () => {
      oneLine(runCli(['migrate'], as('postgres', 'wrong')), EXIT.authentication, /password authentication failed for user "postgres"/);
    });

    it('a role the server lets in only over TLS: sslmode=disable fails with exit 13 saying so; sslmode=require connects', () => {
      oneLine(runCli(['migrate'], as('tls_only', 'tls', { PGSSLMODE: 'disable' })), EXIT.tls, /no encryption: the server requires TLS; set sslmode=require/);
      const ok = runCli(['migrate'], as('tls_only', 'tls', { PGSSLMODE: 'require' }));
      assert.equal(ok.status, 0, ok.stderr);
      const url = runCli(['migrate'], { PATH: process.env.PATH, DATABASE_URL: `postgresql://tls_only:tls@127.0.0.1:${port}/genesim?sslmode=require` });
      assert.equal(url.status, 0, url.stderr);
    });

    it('sslmode=verify-full against a self-signed certificate: exit 13, one line', () => {
      oneLine(runCli(['migrate'], as('tls_only', 'tls', { PGSSLMODE: 'verify-full' })), EXIT.tls, /TLS: self[- ]signed certificate/);
    });
  });

  it('a data directory the server user cannot reach: exit 2, one line saying which directory and why', function () {
    if (!isRoot) skipBecause(this, 'a directory the server user cannot reach exists only when genesim runs as root');
    const closed = path.join(root, 'root-only');
    mkdirSync(closed, { mode: 0o700 });
    chmodSync(closed, 0o700);
    const r = runCli(['migrate'], { ...env, GENESIM_EMBEDDED_DIR: path.join(closed, 'pgdata'), GENESIM_EMBEDDED_PORT: String(port + 1) });
    assert.equal(r.status, EXIT.usage, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines.at(-1)!, new RegExp(`runs as user "postgres", which cannot enter ${closed} \\(mode 700\\)`));
    assert.doesNotMatch(r.stderr, /Permission denied|\n\s+at /);
  });
});

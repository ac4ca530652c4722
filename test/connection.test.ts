import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { EXIT } from '../src/errors.js';
import { createTestDatabase, runCli, type TestDatabase } from './helpers.js';

/** A port nothing listens on: bound by us, then closed. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One line on stderr, no stack trace, the exit code given. */
function assertOneLine(r: { status: number | null; stderr: string }, exitCode: number, pattern: RegExp): void {
  assert.equal(r.status, exitCode, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

describe('connection problems at start', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.drop());
  const server = () => ({ PATH: process.env.PATH, HOME: process.env.HOME, PGUSER: t.target.user });
  // With the password the test server has (the embedded one has one; a trust server none).
  const credentials = () => (t.target.password ? `${t.target.user}:${encodeURIComponent(t.target.password)}` : t.target.user);
  const url = (query = '') => `postgresql://${credentials()}@${t.target.host}:${t.target.port ?? 5432}/${t.name}${query}`;

  it('server down: exit 10, one line', async () => {
    const r = runCli(['migrate'], { ...server(), PGHOST: '127.0.0.1', PGPORT: String(await freePort()) });
    assertOneLine(r, EXIT.serverUnreachable, /^genesim: cannot connect to .*: connection refused \(is the server running/);
  });

  it('no such socket directory: exit 10', () => {
    assertOneLine(runCli(['migrate'], { ...server(), PGHOST: '/nonexistent-genesim' }), EXIT.serverUnreachable, /no server socket in \/nonexistent-genesim/);
  });

  it('missing database: exit 12, one line naming it', () => {
    const r = runCli(['migrate'], { ...t.env, PGDATABASE: 'genesim_no_such_database' });
    assertOneLine(r, EXIT.noDatabase, /database "genesim_no_such_database" does not exist/);
  });

  it('malformed DATABASE_URL: exit 2, one line', () => {
    assertOneLine(runCli(['migrate'], { ...server(), DATABASE_URL: 'postgresql://u@127.0.0.1:99999/db' }), EXIT.usage, /invalid configuration: DATABASE_URL/);
    assertOneLine(runCli(['migrate'], { ...server(), DATABASE_URL: 'mysql://u@host/db' }), EXIT.usage, /must start with postgres/);
    assertOneLine(runCli(['migrate'], { ...server(), DATABASE_URL: `${url()}?sslmode=sometimes` }), EXIT.usage, /sslmode "sometimes" must be one of/);
    assertOneLine(runCli(['migrate'], { ...server(), PGHOST: '127.0.0.1', PGSSLMODE: 'sometimes' }), EXIT.usage, /PGSSLMODE="sometimes"/);
  });

  it('sslmode=require (in DATABASE_URL or PGSSLMODE) against a server without TLS: exit 13, one line', () => {
    assertOneLine(runCli(['migrate'], { ...server(), DATABASE_URL: url('?sslmode=require') }), EXIT.tls, /TLS was required \(sslmode=require\) but the server does not offer it/);
    assertOneLine(runCli(['migrate'], { ...t.env, PGSSLMODE: 'verify-full' }), EXIT.tls, /TLS was required \(sslmode=verify-full\)/);
  });

  it('sslmode=disable (URL or PGSSLMODE) connects in plain text', () => {
    const r = runCli(['migrate'], { ...server(), DATABASE_URL: url('?sslmode=disable') });
    assert.equal(r.status, 0, r.stderr);
    const again = runCli(['migrate'], { ...t.env, PGSSLMODE: 'disable' });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /nothing to apply/);
  });

  it('--verbose adds the stack trace and its cause', async () => {
    const r = runCli(['migrate', '--verbose'], { ...server(), PGHOST: '127.0.0.1', PGPORT: String(await freePort()) });
    assert.equal(r.status, EXIT.serverUnreachable);
    assert.match(r.stderr, /\n\s+at /);
    assert.match(r.stderr, /caused by: Error: connect ECONNREFUSED/);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, readEnv } from '../src/config.js';
import { UsageError } from '../src/errors.js';

describe('configuration', () => {
  it('uses the embedded server when no connection variable is set', () => {
    const c = loadConfig({ HOME: '/root', PATH: '/bin' });
    assert.equal(c.db.kind, 'embedded');
  });

  it('reads libpq variables', () => {
    const c = loadConfig({ PGHOST: 'db.example', PGPORT: '6543', PGUSER: 'lab', PGPASSWORD: 'pw', PGDATABASE: 'genes' });
    assert.deepEqual(c.db, { kind: 'server', host: 'db.example', port: 6543, user: 'lab', password: 'pw', database: 'genes' });
  });

  it('takes DATABASE_URL parts over the separate variables, including a Cloud SQL socket directory', () => {
    const c = loadConfig({ DATABASE_URL: 'postgresql://app:secret@/genesim?host=/cloudsql/proj:region:inst', PGUSER: 'other', PGPORT: '5433' });
    assert.deepEqual(c.db, { kind: 'server', host: '/cloudsql/proj:region:inst', port: 5433, user: 'app', password: 'secret', database: 'genesim' });
  });

  for (const [vars, expected] of [
    [{ PGPORT: 'abc' }, /PGPORT="abc": must be a port number/],
    [{ PGPORT: '70000' }, /PGPORT="70000": must be a port number/],
    [{ DATABASE_URL: 'mysql://x@y/z' }, /DATABASE_URL=.*must start with postgres:\/\//],
    [{ DATABASE_URL: 'postgres://u@h:99999/d' }, /DATABASE_URL: /],
  ] as const) {
    it(`rejects ${JSON.stringify(vars)} in one line`, () => {
      assert.throws(() => loadConfig(vars), (err: unknown) => err instanceof UsageError && expected.test(err.message) && !err.message.includes('\n'));
    });
  }

  it('reads a .env file, with the real environment taking precedence', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'genesim-env-'));
    writeFileSync(path.join(dir, '.env'), 'PGHOST=from-file\nPGDATABASE=filedb\n');
    const vars = readEnv({ PGDATABASE: 'realdb' }, dir);
    assert.equal(vars.PGHOST, 'from-file');
    assert.equal(vars.PGDATABASE, 'realdb');
    rmSync(dir, { recursive: true, force: true });
  });
});

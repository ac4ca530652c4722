import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { databaseBytesNeeded } from '../src/diskNeeds.js';
import { EXIT } from '../src/errors.js';
import { runCli, skipBecause } from './helpers.js';

const isRoot = process.getuid?.() === 0;

describe("the database's disk, checked before a parallel run", function () {
  this.timeout(180_000);
  const root = mkdtempSync(path.join(tmpdir(), 'genesim-disk-'));
  const small = path.join(root, 'small');
  const port = 60000 + (process.pid % 4000);
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, GENESIM_EMBEDDED_DIR: path.join(small, 'pgdata'), GENESIM_EMBEDDED_PORT: String(port) };
  let mounted = false;

  before(function (this: Mocha.Context) {
    if (!isRoot) skipBecause(this, 'mounting a small tmpfs needs root');
    chmodSync(root, 0o755);
    mkdirSync(small);
    // Room for the embedded server's own files and a small matrix, not for 1,000 genes' 153 MB.
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=96m,mode=0777', 'tmpfs', small]).status !== 0) skipBecause(this, 'mount -t tmpfs refused here (a container without CAP_SYS_ADMIN?)');
    mounted = true;
  });
  after(() => {
    if (mounted) spawnSync('umount', ['-l', small]);
    rmSync(root, { recursive: true, force: true });
  });

  it('a run the disk cannot hold is refused up front, exit 3, with the figures; a run that fits then goes through', () => {
    const r = runCli(['create', '--strategy', 'parallel', '--genes', '1000', '--results', path.join(root, 'r.csv')], env);
    assert.equal(r.status, EXIT.refused, r.stderr);
    const last = r.stderr.trim().split('\n').pop()!;
    const needed = Math.round(databaseBytesNeeded(1000) / 1e6);
    assert.match(last, new RegExp(`^genesim: the database's disk \\(${small}/pgdata\\) has \\d+ MB free; this run needs about ${needed} MB there \\(.+\\): .*nothing was written$`));

    const fits = runCli(['create', '--strategy', 'parallel', '--genes', '40', '--results', path.join(root, 'r.csv')], env);
    assert.equal(fits.status, 0, fits.stderr);
  });
});

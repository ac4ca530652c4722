import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/paths.js';
import { CLI, tableCounts, suiteDatabase, suiteTempDir, skipBecause } from './helpers.js';

// App Engine's filesystem is read-only except /tmp. Here the command runs in a mount namespace
// of its own where the whole root filesystem is mounted read-only (EROFS, for root too) except
// one temp directory: any write anywhere else fails, so a run that succeeds wrote only there.

/** Runs `argv` with the root filesystem read-only except `writable`; cwd is the project. */
function inReadOnlyRoot(writable: string, argv: string[], env?: NodeJS.ProcessEnv) {
  // As root a plain mount namespace; otherwise a user namespace grants the mounts.
  const unshare = process.getuid?.() === 0 ? ['-m'] : ['-r', '-m'];
  const script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro / && shift && exec "$@"';
  return spawnSync('unshare', [...unshare, '--propagation', 'private', 'sh', '-c', script, 'sh', writable, ...argv], {
    cwd: projectRoot,
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
}

const runReadOnly = (writable: string, args: string[], env: NodeJS.ProcessEnv) => inReadOnlyRoot(writable, [process.execPath, CLI, ...args], env);

describe('read-only filesystem (App Engine)', () => {
  const t = suiteDatabase();
  const writable = suiteTempDir('genesim-rw-');

  // A mount namespace needs CAP_SYS_ADMIN (root outside a container that drops it) or
  // unprivileged user namespaces, which some systems turn off (Ubuntu's AppArmor default, a
  // container's seccomp profile). Without one this suite cannot make a read-only root: it says
  // so and skips, rather than failing for a setup it cannot test on.
  before(function () {
    const probe = inReadOnlyRoot(writable, ['true']);
    if (probe.status !== 0) {
      const why = (probe.error?.message ?? probe.stderr).trim().split('\n')[0];
      skipBecause(this, `no mount namespace for a read-only root here: unshare said "${why}"`);
    }
  });

  it('the mount namespace really refuses writes outside the one directory', () => {
    const probe = inReadOnlyRoot(writable, ['sh', '-c', 'touch "$0/ok" && touch "$1/nope"', writable, projectRoot]);
    assert.equal(probe.status, 1, probe.stderr);
    assert.match(probe.stderr, /Read-only file system/);
    assert.deepEqual(readdirSync(writable), ['ok']);
    rmSync(path.join(writable, 'ok'));
  });

  it('a parallel create with temp files succeeds and writes its results and temp files only under GENESIM_TMP_DIR', async () => {
    // TMPDIR points into the read-only tree: only GENESIM_TMP_DIR can make this run work.
    const env = { ...t.env, TMPDIR: path.join(projectRoot, 'dist'), GENESIM_TMP_DIR: writable, HOME: '/nonexistent' };
    const r = runReadOnly(writable, ['create', '--strategy', 'parallel', '--genes', '120', '--datasets', '10', '--threads', '2', '--via', 'file'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await tableCounts(t)).datasets_genesimilarity, 120 * 120);
    const results = path.join(writable, 'genesim-results', 'parallel.csv');
    // Whichever part of the read-only tree refused it first (the project, its committed benchmarks/, or benchmarks/results/).
    assert.match(r.stderr, new RegExp(`${projectRoot}(/benchmarks(/results)?)? cannot be written \\(EROFS\\): results written to ${results} instead`), r.stderr);
    assert.match(readFileSync(results, 'utf8'), /^metric,seconds,count\nparallel_/);
    // The temp files went here, and went: only the results directory is left.
    assert.deepEqual(readdirSync(writable), ['genesim-results']);
  });

  it('an update from the database, as the Cloud Run job runs it, succeeds the same way', async () => {
    const env = { ...t.env, TMPDIR: path.join(projectRoot, 'dist'), GENESIM_TMP_DIR: writable, HOME: '/nonexistent' };
    const r = runReadOnly(writable, ['update', '--strategy', 'parallel', '--from-db', '--threads', '2'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(path.join(writable, 'genesim-results', 'parallel_update.csv'), 'utf8').startsWith('metric,seconds,count\n'));
    assert.deepEqual(readdirSync(writable).sort(), ['genesim-results']);
  });

  it('--results in a read-only place is refused before any work, exit 2', async () => {
    const before = await tableCounts(t);
    const target = path.join(projectRoot, 'results', 'r.csv');
    const r = runReadOnly(writable, ['create', '--strategy', 'copyfrom', '--genes', '10', '--datasets', '3', '--replace', '--results', target], { ...t.env, GENESIM_TMP_DIR: writable });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim(), `genesim: results file ${target}: ${projectRoot} cannot be written (EROFS)`);
    assert.deepEqual(await tableCounts(t), before);
  });
});

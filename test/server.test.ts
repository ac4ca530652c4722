import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { clientConfig } from '../src/db/connect.js';
import { acquireWriterLock } from '../src/db/lock.js';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import { createTestDatabase, simChecksum, sql, type TestDatabase } from './helpers.js';
import { call, type RunningServer, startServer, until } from './serverHelpers.js';

const TOKEN = 'test-token-0123456789';

/** A job slow enough to catch mid-run on a busy machine: 1M rows through COPY in one transaction. */
const SLOW_JOB = { action: 'create', strategy: 'copyfrom', genes: 1000, threads: 1 };

describe('genesim serve', function () {
  this.timeout(300_000);
  let t: TestDatabase;
  let server: RunningServer;
  const dir = mkdtempSync(path.join(tmpdir(), 'genesim-serve-'));
  const dataDir = path.join(dir, 'data');
  const jobTmp = path.join(dir, 'tmp');
  let https: Server;
  let httpsPort: number;
  let env: NodeJS.ProcessEnv;

  const api = (method: string, route: string, o: Parameters<typeof call>[3] = {}) => call(server.url, method, route, { token: TOKEN, ...o });
  const jobNow = async (id: number) => (await api('GET', `/jobs/${id}`)).body;
  const ended = (id: number) => until(async () => {
    const j = await jobNow(id);
    return ['succeeded', 'failed', 'cancelled'].includes(j.state) && j;
  }, 240_000, `job ${id} to end`);
  /** Waits until the job is writing similarity rows, then returns it. */
  const midRun = (id: number) => until(async () => {
    const j = await jobNow(id);
    assert.ok(!['succeeded', 'failed', 'cancelled'].includes(j.state), `job ${id} ended before it could be caught mid-run: ${JSON.stringify(j)}`);
    return j.state === 'running' && j.rowsDone > 0 && j.rowsDone < j.rowsTotal && j;
  }, 240_000, `job ${id} to load rows`);

  before(async () => {
    t = await createTestDatabase();
    mkdirSync(dataDir);
    mkdirSync(jobTmp);
    writeFileSync(path.join(dataDir, 'small.tsv'), formatTsv(generateMatrix({ genes: 50, datasets: 10, seed: 2, missing: 0 })));
    writeFileSync(path.join(dir, 'secret.tsv'), formatTsv(generateMatrix({ genes: 5, datasets: 3, seed: 2, missing: 0 })));
    symlinkSync(path.join(dir, 'secret.tsv'), path.join(dataDir, 'link.tsv'));
    // A local HTTPS server standing in for Cloud Storage, with a certificate made for this test.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const gz = gzipSync(formatTsv(generateMatrix({ genes: 70, datasets: 12, seed: 3, missing: 0.05 })));
    https = createHttpsServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (req, res) => {
      if (req.url?.startsWith('/bucket/matrix.tsv.gz')) res.writeHead(200, { 'content-type': 'application/gzip' }).end(gz);
      else if (req.url?.startsWith('/bucket/big.tsv')) res.writeHead(200).end(Buffer.alloc(300_000, 'x'));
      // A source that answers, sends a first part, then nothing more (a hung upstream).
      else if (req.url?.startsWith('/bucket/stall.tsv')) res.writeHead(200).write('gene\tcond01\n');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    httpsPort = (https.address() as { port: number }).port;
    env = {
      ...t.env,
      GENESIM_TOKEN: TOKEN,
      GENESIM_DATA_DIR: dataDir,
      GENESIM_TMP_DIR: jobTmp,
      GENESIM_URL_HOSTS: '127.0.0.1',
      GENESIM_MAX_DOWNLOAD_BYTES: '200000',
      GENESIM_DOWNLOAD_STALL_SECONDS: '2',
      GENESIM_HEARTBEAT_SECONDS: '1',
      GENESIM_JOB_STALE_SECONDS: '5',
      NODE_EXTRA_CA_CERTS: path.join(dir, 'cert.pem'),
    };
    server = await startServer(env);
  });

  after(async () => {
    if (server?.proc.exitCode === null) {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
    https?.close();
    await t?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start without a token unless --insecure-local', async () => {
    const { GENESIM_TOKEN: _, ...open } = env;
    await assert.rejects(startServer(open), /GENESIM_TOKEN is not set/);
    const local = await startServer(open, ['--insecure-local']);
    try {
      assert.equal((await call(local.url, 'GET', '/jobs')).status, 200);
    } finally {
      local.proc.kill('SIGTERM');
      assert.equal((await local.exited).code, 0);
    }
  });

  it('GET /healthz is open; every /jobs and /matrix route needs the bearer token', async () => {
    assert.deepEqual(await call(server.url, 'GET', '/healthz'), { status: 200, body: { ok: true } });
    const routes: [string, string][] = [['GET', '/jobs'], ['POST', '/jobs'], ['GET', '/jobs/1'], ['POST', '/jobs/1/cancel'], ['GET', '/matrix']];
    for (const [method, route] of routes) {
      for (const token of [undefined, 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
        const r = await call(server.url, method, route, { token, body: method === 'POST' ? { action: 'update' } : undefined });
        assert.equal(r.status, 401, `${method} ${route} with token ${token}`);
        assert.deepEqual(r.body, { error: 'missing or wrong bearer token' });
      }
    }
    assert.equal((await call(server.url, 'GET', '/jobs', { headers: { authorization: TOKEN } })).status, 401, 'the Bearer scheme is required');
    assert.equal((await api('GET', '/jobs')).status, 200);
  });

  it('bad bodies get 400 with one line saying what is wrong; over 64 KB gets 413', async () => {
    const bad = async (body: unknown, pattern: RegExp) => {
      const r = await api('POST', '/jobs', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error, pattern);
    };
    await bad({ action: 'create', strategy: 'fast', genes: 10 }, /^strategy must be one of: baseline, bulk, copyfrom, copyfromfile, parallel$/);
    await bad({ action: 'update', strategy: 'fast' }, /^strategy must be one of: baseline, bulk, copyfrom, copyfromfile, upsert, parallel$/);
    await bad({ action: 'delete' }, /^action must be one of: create, update$/);
    await bad({ strategy: 'bulk' }, /^action is required$/);
    await bad({ action: 'update', dropTables: true }, /^unknown field dropTables/);
    await bad({ action: 'create', genes: 'many' }, /genes must be integer/);
    await bad({ action: 'create', threads: 0, genes: 10 }, /threads must be >= 1/);
    await bad({ action: 'create' }, /create needs a source/);
    await bad({ action: 'create', source: 'database' }, /create cannot read the database/);
    await bad({ action: 'create', genes: 10, changedOnly: true }, /changedOnly applies to update only/);
    await bad({ action: 'update', source: '../secret.tsv' }, /outside the data directory/);
    await bad({ action: 'update', source: path.join(dir, 'secret.tsv') }, /outside the data directory/);
    await bad({ action: 'update', source: 'link.tsv' }, /outside the data directory/);
    await bad({ action: 'update', source: 'missing.tsv' }, /no such file in the data directory/);
    await bad({ action: 'update', source: 'https://example.com/m.tsv' }, /host example\.com is not allowed \(allowed: 127\.0\.0\.1/);
    await bad({ action: 'update', source: `http://127.0.0.1:${httpsPort}/bucket/matrix.tsv.gz` }, /must use https/);
    const malformed = await api('POST', '/jobs', { raw: '{"action":' });
    assert.equal(malformed.status, 400);
    const big = await api('POST', '/jobs', { raw: JSON.stringify({ action: 'update', source: 'x'.repeat(70 * 1024) }) });
    assert.equal(big.status, 413);
    assert.match(big.body.error, /64 KB/);
    assert.deepEqual((await api('GET', '/jobs')).body, { jobs: [] }, 'no bad request made a job');
  });

  it('a create job runs to success: N² rows in the table, phases and timings in the job', async () => {
    const r = await api('POST', '/jobs', { body: { action: 'create', strategy: 'copyfrom', genes: 60, threads: 1 } });
    assert.equal(r.status, 202);
    assert.deepEqual(Object.keys(r.body).sort(), ['id', 'state']);
    const job = await ended(r.body.id);
    assert.equal(job.state, 'succeeded', job.error);
    assert.deepEqual(Object.keys(job).sort(), ['action', 'createdAt', 'error', 'etaSeconds', 'finishedAt', 'heartbeatAt', 'id', 'parameters', 'phase', 'phaseStartedAt', 'progressUnit', 'rowsDone', 'rowsTotal', 'startedAt', 'state', 'timings'].sort());
    assert.deepEqual(job.parameters, { strategy: 'copyfrom', metric: 'cosine', threads: 1, changedOnly: false, genes: 60 });
    assert.equal(job.rowsDone, job.rowsTotal);
    assert.equal(job.progressUnit, 'rows', 'a classic create counts rows to the end');
    const total = job.timings.find((m: { metric: string }) => m.metric === 'copyfrom_total');
    assert.equal(total.count, 3600);
    assert.ok(total.seconds > 0);
    assert.ok(job.timings.some((m: { metric: string }) => m.metric === 'copyfrom_create_sims'));
    assert.deepEqual((await sql(t, 'SELECT count(*)::int AS n FROM datasets_genesimilarity'))[0], { n: 3600 });
    const matrix = (await api('GET', '/matrix')).body;
    assert.deepEqual({ ...matrix, updatedAt: undefined, lastWrite: undefined }, { genes: 60, datasets: 100, rows: 3600, rowsEstimated: false, metric: 'cosine', updatedAt: undefined, lastWrite: undefined });
    // Written by the job's own process, which names the job.
    assert.deepEqual({ ...matrix.lastWrite, seconds: undefined, finishedAt: undefined }, { action: 'create', strategy: 'copyfrom', metric: 'cosine', source: '--genes 60', genes: 60, datasets: 100, rowsWritten: 3600, jobId: job.id, seconds: undefined, finishedAt: undefined });
    assert.ok(matrix.lastWrite.seconds > 0 && matrix.lastWrite.finishedAt <= job.finishedAt);
    assert.equal(matrix.updatedAt, job.finishedAt);
    // Every log line of the job carries its id, with Cloud Logging's severity and message.
    const lines = server.logs.filter((l) => l.jobId === job.id);
    assert.ok(lines.some((l) => /phase copyfrom_create_sims took/.test(String(l.message))));
    assert.ok(lines.every((l) => typeof l.severity === 'string' && typeof l.message === 'string'));
    assert.ok(server.logs.some((l) => l.message === `job ${job.id} succeeded` && l.jobId === job.id));
    // The job table is the application's to read too.
    const [row] = await sql(t, 'SELECT state, rows_done::int AS rows_done, jsonb_array_length(timings) > 0 AS timed FROM genesim_job WHERE id = $1', [job.id]);
    assert.deepEqual(row, { state: 'succeeded', rows_done: job.rowsDone, timed: true });
    assert.deepEqual(readdirNames(jobTmp), [], 'no results file or temp file left');
  });

  it('?wait=true answers with the finished job; a file of the data directory is a source', async () => {
    const r = await api('POST', '/jobs?wait=true', { body: { action: 'create', strategy: 'parallel', source: 'small.tsv', threads: 2 } });
    assert.equal(r.status, 200);
    assert.equal(r.body.state, 'succeeded', r.body.error);
    assert.equal(r.body.parameters.source, 'small.tsv');
    assert.deepEqual((await sql(t, 'SELECT count(*)::int AS n FROM datasets_genesimilarity'))[0], { n: 2500 });
  });

  it('an https URL on the allow-list is streamed to disk, .gz decompressed; its query is never stored', async () => {
    const url = `https://127.0.0.1:${httpsPort}/bucket/matrix.tsv.gz?X-Goog-Signature=secret`;
    const r = await api('POST', '/jobs?wait=true', { body: { action: 'update', strategy: 'upsert', source: url } });
    assert.equal(r.body.state, 'succeeded', r.body.error);
    assert.equal(r.body.parameters.source, `https://127.0.0.1:${httpsPort}/bucket/matrix.tsv.gz`);
    assert.deepEqual((await sql(t, 'SELECT count(*)::int AS n FROM datasets_genesimilarity'))[0], { n: 4900 });
    assert.ok(!JSON.stringify(server.logs).includes('X-Goog-Signature'), 'the signature stays out of the logs');
    const tooBig = await api('POST', '/jobs?wait=true', { body: { action: 'update', source: `https://127.0.0.1:${httpsPort}/bucket/big.tsv` } });
    assert.equal(tooBig.body.state, 'failed');
    assert.match(tooBig.body.error, /larger than the limit of 200,000 bytes/);
    assert.deepEqual(readdirNames(jobTmp), []);
    const stalled = await api('POST', '/jobs?wait=true', { body: { action: 'update', source: `https://127.0.0.1:${httpsPort}/bucket/stall.tsv` } });
    assert.equal(stalled.body.state, 'failed');
    assert.match(stalled.body.error, /download of https:\/\/127\.0\.0\.1:\d+\/bucket\/stall\.tsv stalled: nothing received for 2 s/);
    assert.deepEqual(readdirNames(jobTmp), [], 'the partial download is removed');
  });

  it('one job at a time: 409 naming the running job; cancel mid-run keeps the previous matrix', async () => {
    const before = await simChecksum(t);
    const first = await api('POST', '/jobs', { body: SLOW_JOB });
    assert.equal(first.status, 202);
    const second = await api('POST', '/jobs', { body: { action: 'update' } });
    assert.equal(second.status, 409);
    assert.equal(second.body.runningJobId, first.body.id);
    assert.match(second.body.error, new RegExp(`job ${first.body.id} is (queued|running)`));
    assert.equal((await call(server.url, 'GET', '/cron/update', { token: TOKEN })).status, 409);
    const running = await midRun(first.body.id);
    assert.ok(running.etaSeconds === null || running.etaSeconds >= 0);
    assert.ok(running.heartbeatAt >= running.startedAt);
    const c = await api('POST', `/jobs/${first.body.id}/cancel`);
    assert.equal(c.status, 202);
    assert.equal(c.body.id, first.body.id);
    const job = await ended(first.body.id);
    assert.equal(job.state, 'cancelled');
    assert.equal(job.error, 'cancelled by request');
    assert.deepEqual(await simChecksum(t), before, 'the previous matrix stays');
    const again = await api('POST', `/jobs/${first.body.id}/cancel`);
    assert.equal(again.status, 409);
    assert.match(again.body.error, /already ended \(cancelled\)/);
    assert.equal((await api('POST', '/jobs/999999/cancel')).status, 404);
    assert.equal((await api('GET', '/jobs/999999')).status, 404);
    const list = (await api('GET', '/jobs')).body.jobs;
    assert.equal(list[0].id, first.body.id, 'newest first');
    assert.ok(list.every((j: { id: number }, i: number) => i === 0 || j.id < list[i - 1].id));
  });

  it('cancel takes an empty body with or without a JSON content type; the request log holds no query value and no Authorization', async () => {
    const first = await api('POST', '/jobs', { body: SLOW_JOB });
    assert.equal(first.status, 202);
    await midRun(first.body.id);
    // What most HTTP clients configured for a JSON API send: the header, no body.
    const c = await api('POST', `/jobs/${first.body.id}/cancel`, { headers: { 'content-type': 'application/json' } });
    assert.equal(c.status, 202, JSON.stringify(c.body));
    assert.equal((await ended(first.body.id)).state, 'cancelled');
    assert.equal((await api('POST', `/jobs/${first.body.id}/cancel`, { raw: '' })).status, 409, 'an empty body with the header, ended job');
    assert.equal((await api('POST', `/jobs/${first.body.id}/cancel`)).status, 409, 'no header, no body');
    assert.equal((await api('POST', '/jobs', { raw: '' })).status, 400, 'a job still needs its body');
    assert.equal((await api('POST', '/jobs', { raw: '{"action":' })).status, 400, 'bad JSON is still refused');

    const secret = 'query-secret-5d1f';
    assert.equal((await api('GET', `/jobs?token=${secret}&${secret}x`)).status, 200);
    assert.equal((await call(server.url, 'GET', `/matrix?sig=${secret}`, { token: `${secret}-bearer` })).status, 401);
    await until(async () => server.logs.some((l) => JSON.stringify(l).includes('/matrix?sig=[redacted]')), 10_000, 'the request to be logged');
    const logged = server.logs.map((l) => JSON.stringify(l));
    assert.deepEqual(logged.filter((l) => l.includes(secret) || l.includes(TOKEN)), [], 'no query value and no bearer token in any log line');
    assert.ok(logged.some((l) => l.includes('/jobs?token=[redacted]&[redacted]')), 'the query names stay, the values go');
  });

  it('409 while a CLI run holds the writer lock', async () => {
    const lock = await acquireWriterLock(clientConfig(t.target), 'create --strategy parallel');
    try {
      const r = await api('POST', '/jobs', { body: { action: 'update' } });
      assert.equal(r.status, 409);
      assert.equal(r.body.runningJobId, null);
      assert.match(r.body.error, /another genesim run holds the database \(pid \d+, started .*, create --strategy parallel\)/);
    } finally {
      await lock.release();
    }
  });

  it('the cron route: the token, or App Engine\'s header only on App Engine', async () => {
    const noHeader = await call(server.url, 'GET', '/cron/update');
    assert.equal(noHeader.status, 401);
    const headerOffAppEngine = await call(server.url, 'GET', '/cron/update', { headers: { 'x-appengine-cron': 'true' } });
    assert.equal(headerOffAppEngine.status, 401, 'anyone can send the header where App Engine does not strip it');
    const r = await call(server.url, 'GET', '/cron/update', { token: TOKEN });
    assert.equal(r.status, 200);
    assert.equal(r.body.state, 'succeeded', r.body.error);
    assert.deepEqual(r.body.parameters, { strategy: 'parallel', metric: 'cosine', threads: r.body.parameters.threads, changedOnly: false, source: 'database' });
    assert.ok(r.body.timings.some((m: { metric: string }) => m.metric === 'parallel_update_total'));
  });

  it('a killed job process fails its job; the server stays up and the next job runs', async () => {
    const before = await simChecksum(t);
    const { body } = await api('POST', '/jobs', { body: SLOW_JOB });
    await midRun(body.id);
    const [child] = server.children();
    assert.ok(child, 'the job runs in a child process');
    process.kill(child!, 'SIGKILL');
    const job = await ended(body.id);
    assert.equal(job.state, 'failed');
    assert.match(job.error, /^job process killed by SIGKILL/);
    assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
    assert.deepEqual(await simChecksum(t), before);
    const next = await api('POST', '/jobs?wait=true', { body: { action: 'update', strategy: 'bulk', changedOnly: true } });
    assert.equal(next.body.state, 'succeeded', next.body.error);
  });

  it('a cancel another instance recorded in the row stops the job at its next heartbeat', async () => {
    const before = await simChecksum(t);
    const { body } = await api('POST', '/jobs', { body: SLOW_JOB });
    await midRun(body.id);
    await sql(t, 'UPDATE genesim_job SET cancel_requested_at = now() WHERE id = $1', [body.id]);
    const job = await ended(body.id);
    assert.equal(job.state, 'cancelled');
    assert.deepEqual(await simChecksum(t), before);
  });

  it('SIGTERM mid-job: the job is cancelled and recorded, the server exits 0', async () => {
    const before = await simChecksum(t);
    const { body } = await api('POST', '/jobs', { body: SLOW_JOB });
    await midRun(body.id);
    server.proc.kill('SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    const [row] = await sql<{ state: string; error: string }>(t, 'SELECT state, error FROM genesim_job WHERE id = $1', [body.id]);
    assert.deepEqual(row, { state: 'cancelled', error: 'cancelled: the server shut down' });
    assert.deepEqual(await simChecksum(t), before);
    assert.ok(server.logs.some((l) => l.message === 'stopped'));
  });

  it('at start-up a job left running with a stale heartbeat is failed with the reason; on App Engine the cron header is enough', async () => {
    const [left] = await sql<{ id: string }>(
      t,
      `INSERT INTO genesim_job (action, parameters, state, started_at, heartbeat_at)
       VALUES ('update', '{}', 'running', now() - interval '1 hour', now() - interval '1 hour') RETURNING id`,
    );
    server = await startServer({ ...env, GAE_SERVICE: 'genesim' });
    const job = (await api('GET', `/jobs/${left!.id}`)).body;
    assert.equal(job.state, 'failed');
    assert.match(job.error, /^no heartbeat since \d{4}-\d\d-\d\dT[\d:]+Z \(more than 5 s\): the server running it stopped$/);
    assert.equal(job.finishedAt, job.heartbeatAt, 'it ran until its last heartbeat, not until it was found');
    const cron = await call(server.url, 'GET', '/cron/update', { headers: { 'x-appengine-cron': 'true' } });
    assert.equal(cron.status, 200);
    assert.equal(cron.body.state, 'succeeded', cron.body.error);
    assert.equal((await call(server.url, 'GET', '/cron/update', { headers: { 'x-appengine-cron': 'false' } })).status, 401);
  });

  it('a job another instance left running is failed by this one once its heartbeat is stale', async () => {
    const [left] = await sql<{ id: string }>(t, `INSERT INTO genesim_job (action, parameters, state, started_at, heartbeat_at) VALUES ('update', '{}', 'running', now(), now()) RETURNING id`);
    assert.equal((await api('POST', '/jobs', { body: { action: 'update' } })).status, 409, 'its heartbeat is fresh: it counts as running');
    const job = await until(async () => {
      const j = await jobNow(Number(left!.id));
      return j.state === 'failed' && j;
    }, 30_000, 'the stale job to be failed');
    assert.match(job.error, /no heartbeat since/);
  });
});

function readdirNames(dir: string): string[] {
  return execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).split('\n').filter((l) => l !== '');
}

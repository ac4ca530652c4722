import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { CLI, createTestDatabase, runCli, sql, type TestDatabase } from './helpers.js';

// The status page in a real browser (Debian's chromium, driven by playwright-core) against the
// real server, which runs real jobs on a database of the test's own.

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const GENES = 60;

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  s.close();
  await once(s, 'close');
  return port;
}

/** Submits the job form and returns the id the server gave the new job. */
async function submitJob(page: Page): Promise<string> {
  await page.click('#submit');
  // The line is cleared on submit, so an id read here is the new job's, not the previous one's.
  const result = page.locator('#form-result', { hasText: /^Job #\d+ (queued|running)\.$/ });
  await result.waitFor();
  return /#(\d+)/.exec((await result.textContent())!)![1]!;
}

async function waitForHealth(base: string, server: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}:\n${output()}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server did not answer /healthz within 30 s:\n${output()}`);
}

describe('status page in a browser', function () {
  this.timeout(180_000);
  let t: TestDatabase;
  let server: ChildProcess;
  let browser: BrowserContext;
  let page: Page;
  let base: string;
  let logs = '';
  const token = randomBytes(18).toString('base64url');
  const dir = mkdtempSync(path.join(tmpdir(), 'genesim-browser-'));
  const pageErrors: string[] = [];

  before(async function () {
    // CI installs chromium and must run this; a machine without it skips, saying why.
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === 'true') assert.fail(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
      console.log(`      skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
      return this.skip();
    }
    t = await createTestDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [CLI, 'serve', '--port', String(port)], {
      // Heartbeats every second: the sweep that fails a dead job runs at that pace too.
      env: { ...t.env, GENESIM_TOKEN: token, GENESIM_TMP_DIR: dir, GENESIM_HEARTBEAT_SECONDS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    await waitForHealth(base, server, () => logs);
    // A fresh profile of the test's own: nothing of another run (or of the user's) is read.
    browser = await chromium.launchPersistentContext(mkdtempSync(path.join(dir, 'profile-')), { executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true, viewport: { width: 1280, height: 1000 } });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    await t?.drop();
    // GENESIM_KEEP_SCREENSHOTS=1 keeps the directory (and its screenshots) to look at.
    if (process.env.GENESIM_KEEP_SCREENSHOTS) console.log(`      screenshots kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it('asks for the token, and says so when the server refuses one', async () => {
    await page.goto(`${base}/`);
    await page.locator('#notice', { hasText: 'Type the service token' }).waitFor();
    await page.locator('#health', { hasText: 'server up' }).waitFor();
    await page.fill('#token', 'not-the-token');
    await page.click('#token-save');
    await page.locator('#notice', { hasText: 'refused the token' }).waitFor();
    assert.equal(await page.evaluate(`sessionStorage.getItem('genesim.token')`), null, 'a refused token is not kept');
  });

  it('starts a create from the form, follows it to "succeeded", and shows the matrix and the phase timings', async () => {
    await page.fill('#token', token);
    await page.click('#token-save');
    assert.equal(await page.evaluate(`sessionStorage.getItem('genesim.token')`), token, 'kept in the tab');
    assert.deepEqual(await page.locator('#strategy option').allTextContents(), ['parallel', 'copyfromfile', 'copyfrom', 'bulk', 'baseline']);

    await page.check('input[name="action"][value="create"]');
    await page.selectOption('#strategy', 'parallel');
    await page.selectOption('#source-kind', 'synthetic');
    await page.fill('#genes', String(GENES));
    await page.fill('#threads', '2');
    const id = await submitJob(page);

    const job = page.locator(`li[data-job-id="${id}"]`);
    await job.locator('.job-title', { hasText: `${GENES} synthetic genes` }).waitFor();
    await page.locator(`li[data-job-id="${id}"][data-state="succeeded"]`).waitFor({ timeout: 120_000 });
    assert.equal(await job.locator('[role="progressbar"]').getAttribute('aria-valuenow'), '100');
    const bars = await job.locator('figure.timings g.phase-bar').count();
    assert.ok(bars >= 2, `${bars} phase bars`);
    assert.match((await job.locator('figure.timings figcaption').textContent())!, new RegExp(`total [\\d.]+ s for ${(GENES * GENES).toLocaleString('en-US')} rows`));

    const rows = (GENES * GENES).toLocaleString('en-US');
    await page.locator('#matrix [data-field="rows"]', { hasText: rows }).waitFor();
    assert.equal(await page.textContent('#matrix [data-field="genes"]'), String(GENES));
    assert.equal(await page.textContent('#matrix [data-field="metric"]'), 'cosine');
    const [n] = await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM datasets_genesimilarity');
    assert.equal(Number(n!.n), GENES * GENES);

    const shot = path.join(dir, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'a screenshot with something in it');
    assert.deepEqual(pageErrors, []);
  });

  it('cancels a running job from its button; the matrix stays', async () => {
    await page.selectOption('#source-kind', 'synthetic');
    await page.fill('#genes', '4000');
    const id = await submitJob(page);
    const job = page.locator(`li[data-job-id="${id}"]`);
    await job.locator('button.cancel').click();
    await page.locator(`li[data-job-id="${id}"][data-state="cancelled"]`).waitFor({ timeout: 60_000 });
    const [n] = await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM datasets_genesimilarity');
    assert.equal(Number(n!.n), GENES * GENES, 'the previous matrix is still there');
    await page.locator('#matrix [data-field="genes"]', { hasText: String(GENES) }).waitFor();
  });

  it('the matrix card names the job that wrote the matrix, then a CLI run', async () => {
    const [job] = await sql<{ id: string }>(t, `SELECT id FROM genesim_job WHERE state = 'succeeded' ORDER BY id DESC LIMIT 1`);
    const by = page.locator('#matrix [data-field="writtenBy"]');
    await by.filter({ hasText: `job #${job!.id} (create parallel --genes ${GENES})` }).waitFor();
    assert.match((await by.textContent())!, new RegExp(`, ${(GENES * GENES).toLocaleString('en-US')} rows in [\\d.]+ s$`));

    const cli = runCli(['create', '--strategy', 'copyfrom', '--genes', '45', '--datasets', '5', '--replace', '--results', path.join(dir, 'cli.csv')], t.env);
    assert.equal(cli.status, 0, cli.stderr);
    await by.filter({ hasText: 'a CLI run (create copyfrom --genes 45)' }).waitFor({ timeout: 30_000 });
    await page.locator('#matrix [data-field="genes"]', { hasText: '45' }).waitFor();
    const [last] = await sql<{ at: Date }>(t, 'SELECT finished_at AS at FROM genesim_run ORDER BY id DESC LIMIT 1');
    assert.equal(await page.textContent('#matrix [data-field="updatedAt"]'), await page.evaluate((iso) => new Date(iso).toLocaleTimeString(), last!.at.toISOString()));
  });

  it('the search box shows the genes most similar to one, and suggests names for an unknown one', async () => {
    const [{ name }] = (await sql<{ name: string }>(t, 'SELECT systematic_name AS name FROM datasets_gene ORDER BY id LIMIT 1 OFFSET 7')) as [{ name: string }];
    const want = JSON.parse(runCli(['similar', name, '--top', '5', '--json'], t.env).stdout) as { similar: { systematicName: string; score: number }[] };
    // The ranking from the table itself, as the application would ask it.
    const bySql = await sql<{ name: string; score: string }>(t, `SELECT g2.systematic_name AS name, s.score::text AS score FROM datasets_genesimilarity s
        JOIN datasets_gene g1 ON g1.id = s.gene1_id JOIN datasets_gene g2 ON g2.id = s.gene2_id
       WHERE g1.systematic_name = $1 AND g2.id <> g1.id ORDER BY s.score DESC, g2.systematic_name COLLATE "C" LIMIT 5`, [name]);
    assert.deepEqual(want.similar.map((s) => [s.systematicName, s.score.toFixed(3)]), bySql.map((r) => [r.name, r.score]));

    await page.fill('#gene-name', name);
    await page.fill('#gene-top', '5');
    await page.click('#gene-go');
    const table = page.locator(`#similar-result table.similar[data-gene="${name}"]`);
    await table.waitFor();
    assert.match((await table.locator('caption').textContent())!, new RegExp(`^5 genes most similar to ${name.replace(/-/g, '\\-')}`));
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(rows.map((r) => [r[1], r[3]]), bySql.map((r) => [r.name, r.score]));

    await page.fill('#gene-name', `${name}Q`);
    await page.click('#gene-go');
    await page.locator('#similar-result p.error', { hasText: `no gene "${name}Q"` }).waitFor();
    await page.locator('#similar-result button.suggestion', { hasText: name }).first().click();
    await table.waitFor();
    await page.screenshot({ path: path.join(dir, 'status-page-similar.png'), fullPage: true });
  });

  it("a running job's phase timings are drawn, the current phase growing", async () => {
    await page.selectOption('#source-kind', 'synthetic');
    await page.fill('#genes', '4000');
    const id = await submitJob(page);
    const current = page.locator(`li[data-job-id="${id}"] figure.timings g.phase-bar.current`);
    await current.waitFor({ timeout: 60_000 });
    const grown = async () => {
      const metric = await current.getAttribute('data-metric');
      const title = (await current.locator('title').textContent())!;
      return { metric, seconds: Number(/running for ([\d.]+) s/.exec(title)![1]) };
    };
    const a = await grown();
    assert.equal(a.metric, await page.locator(`li[data-job-id="${id}"] b.phase`).textContent(), 'the bar is the phase the job is in');
    await page.waitForTimeout(2500);
    const b = await grown();
    assert.ok(b.metric !== a.metric || b.seconds > a.seconds, `the current phase grows: ${JSON.stringify([a, b])}`);
    assert.match((await page.locator(`li[data-job-id="${id}"] figure.timings figcaption`).textContent())!, /^phase timings so far: .+ running for [\d.]+ s$/);
    await page.screenshot({ path: path.join(dir, 'status-page-running.png'), fullPage: true });
    await page.locator(`li[data-job-id="${id}"] button.cancel`).click();
    await page.locator(`li[data-job-id="${id}"][data-state="cancelled"]`).waitFor({ timeout: 60_000 });
  });

  it('a job whose server died is timed to its last heartbeat', async () => {
    // Started 40 min ago by a server that beat for 30 s and then went away.
    const [row] = await sql<{ id: string }>(t, `INSERT INTO genesim_job (action, parameters, state, created_at, started_at, heartbeat_at, phase)
        VALUES ('create', '{"strategy":"parallel","metric":"cosine","genes":500}', 'running', now() - interval '40 min', now() - interval '40 min', now() - interval '39 min 30 s', 'parallel_create_sims')
        RETURNING id`);
    const job = page.locator(`li[data-job-id="${row!.id}"][data-state="failed"]`);
    await job.waitFor({ timeout: 30_000 });
    assert.equal(await job.locator('.took').textContent(), 'ran 30.0 s until its last heartbeat');
    const [{ ran }] = (await sql<{ ran: number }>(t, 'SELECT extract(epoch FROM finished_at - started_at)::float8 AS ran FROM genesim_job WHERE id = $1', [row!.id])) as [{ ran: number }];
    assert.equal(ran, 30, 'recorded as ended at its last heartbeat');
    assert.deepEqual(pageErrors, []);
  });

  it('shows job errors and parameters as text, never as markup', async () => {
    const markup = '<img src=x onerror="window.__pwned=1"><b id="injected">bold</b>';
    await sql(t, `INSERT INTO genesim_job (action, parameters, state, error, created_at, started_at, finished_at)
                  VALUES ('update', $1, 'failed', $2, now(), now(), now())`, [JSON.stringify({ strategy: markup, metric: 'cosine', source: markup }), markup]);
    const failed = page.locator('li[data-state="failed"]', { hasText: '<img src=x' });
    await failed.locator('pre.error', { hasText: markup }).waitFor();
    assert.match((await failed.locator('.job-title').textContent())!, /<img src=x/);
    assert.equal(await page.locator('#injected').count(), 0);
    assert.equal(await page.locator('li.job img').count(), 0);
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    await page.screenshot({ path: path.join(dir, 'status-page-errors.png'), fullPage: true });
  });
});

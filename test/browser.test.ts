import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CLI, createTestDatabase, sql, type TestDatabase } from './helpers.js';

// The status page in a real browser (Debian's chromium, driven by playwright-core) against the
// real server, which runs real jobs on a database of the test's own.

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
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
  let browser: Browser;
  let page: Page;
  let base: string;
  let logs = '';
  const token = randomBytes(18).toString('base64url');
  const dir = mkdtempSync(path.join(tmpdir(), 'genesim-browser-'));
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    t = await createTestDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [CLI, 'serve', '--port', String(port)], {
      env: { ...t.env, GENESIM_TOKEN: token, GENESIM_TMP_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    await waitForHealth(base, server, () => logs);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
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

  it('shows job errors and parameters as text, never as markup', async () => {
    const markup = '<img src=x onerror="window.__pwned=1"><b id="injected">bold</b>';
    await sql(t, `INSERT INTO genesim_job (action, parameters, state, error, created_at, started_at, finished_at)
                  VALUES ('update', $1, 'failed', $2, now(), now(), now())`, [JSON.stringify({ strategy: markup, metric: 'cosine', source: markup }), markup]);
    const failed = page.locator('li[data-state="failed"]');
    await failed.locator('pre.error', { hasText: markup }).waitFor();
    assert.match((await failed.locator('.job-title').textContent())!, /<img src=x/);
    assert.equal(await page.locator('#injected').count(), 0);
    assert.equal(await page.locator('li.job img').count(), 0);
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    await page.screenshot({ path: path.join(dir, 'status-page-errors.png'), fullPage: true });
  });
});

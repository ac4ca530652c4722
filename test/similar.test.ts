import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import { referenceScore } from '../src/similarity/reference.js';
import { runCli, suiteDatabase, suiteTempDir } from './helpers.js';
import { call, type RunningServer, startServer } from './serverHelpers.js';

// `genesim similar` and GET /genes/:name/similar against a ranking worked out here from the
// input file with the mathjs reference, not from genesim's kernel or tables.

const TOKEN = 'similar-test-token-0123456789';

interface Ranked {
  systematicName: string;
  score: number;
}

/** The K genes most like gene i by the reference: scores rounded as numeric(10,3) stores them, ties by name. */
function expectedRanking(names: string[], values: number[][], i: number, k: number, metric: 'cosine' | 'pearson'): Ranked[] {
  const milli = (s: number) => (Number.isNaN(s) ? 0 : Math.round(s * 1000) / 1000 || 0);
  return names
    .map((name, j) => ({ systematicName: name, score: milli(referenceScore(values[i]!, values[j]!, metric)) }))
    .filter((_, j) => j !== i)
    .sort((a, b) => b.score - a.score || (a.systematicName < b.systematicName ? -1 : 1))
    .slice(0, k);
}

describe('the genes most similar to one', () => {
  const t = suiteDatabase();
  const dir = suiteTempDir('genesim-similar-');
  const file = path.join(dir, 'm.tsv');
  const m = generateMatrix({ genes: 60, datasets: 8, seed: 9, missing: 0.1 });
  const values = m.genes.map((_, i) => Array.from(m.values.subarray(i * m.datasets.length, (i + 1) * m.datasets.length)));
  // A gene with a common name, to be asked for by it.
  const i = m.commonNames.findIndex((c) => c !== null);
  const gene = m.genes[i]!;
  const common = m.commonNames[i]!;
  let server: RunningServer | undefined;

  before(() => {
    writeFileSync(file, formatTsv(m));
    const r = runCli(['create', '--strategy', 'copyfrom', '--input', file, '--metric', 'pearson', '--results', path.join(dir, 'r.csv')], t.env);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    if (server?.proc.exitCode === null) {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
  });

  it('similar GENE --top K --json: the reference ranking, the metric the table holds', () => {
    const r = runCli(['similar', gene, '--top', '7', '--json'], t.env);
    assert.equal(r.status, 0, r.stderr);
    const answer = JSON.parse(r.stdout) as { gene: { systematicName: string; commonName: string }; metric: string; top: number; similar: (Ranked & { rank: number })[] };
    assert.deepEqual(answer.gene, { systematicName: gene, commonName: common });
    assert.equal(answer.metric, 'pearson');
    assert.deepEqual(answer.similar.map((s) => ({ systematicName: s.systematicName, score: s.score })), expectedRanking(m.genes, values, i, 7, 'pearson'));
    assert.deepEqual(answer.similar.map((s) => s.rank), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('by common name in any case, as a table', () => {
    const r = runCli(['similar', common.toLowerCase(), '--top', '3'], t.env);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], `3 genes most similar to ${gene} (${common}) by pearson`);
    assert.match(lines[1]!, /^rank\s+gene\s+common name\s+score$/);
    const want = expectedRanking(m.genes, values, i, 3, 'pearson');
    assert.deepEqual(lines.slice(2).map((l) => { const cells = l.trim().split(/\s+/); return [cells[1], Number(cells.at(-1))]; }), want.map((w) => [w.systematicName, w.score]));
  });

  it('an unknown gene: one line naming the closest, exit 2', () => {
    const typo = `${gene.slice(0, -1)}#`;
    const r = runCli(['similar', typo], t.env);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^genesim: no gene "${typo.replace(/[-#]/g, '\\$&')}" in datasets_gene; closest: .*\\b${gene.replace(/-/g, '\\-')}\\b`));
    assert.equal(r.stdout, '');
  });

  it('a metric the table does not hold, and a bad --top: exit 2', () => {
    const cos = runCli(['similar', gene, '--metric', 'cosine'], t.env);
    assert.equal(cos.status, 2);
    assert.match(cos.stderr, /holds no cosine scores \(it holds pearson\)/);
    const top = runCli(['similar', gene, '--top', '0'], t.env);
    assert.equal(top.status, 2);
    assert.match(top.stderr, /--top must be a whole number from 1 to 1000/);
  });

  it('GET /genes/:name/similar?top=K: the same answer, the token required, an unknown name a 404 with suggestions', async () => {
    server = await startServer({ ...t.env, GENESIM_TOKEN: TOKEN, GENESIM_TMP_DIR: dir });
    const cli = JSON.parse(runCli(['similar', gene, '--top', '5', '--json'], t.env).stdout) as unknown;
    const ok = await call(server.url, 'GET', `/genes/${encodeURIComponent(gene)}/similar?top=5`, { token: TOKEN });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body, cli);
    assert.equal((await call(server.url, 'GET', `/genes/${encodeURIComponent(gene)}/similar`)).status, 401);
    assert.equal((await call(server.url, 'GET', `/genes/${encodeURIComponent(gene)}/similar`, { token: 'wrong' })).status, 401);
    const byDefault = await call(server.url, 'GET', `/genes/${encodeURIComponent(common)}/similar`, { token: TOKEN });
    assert.equal(byDefault.body.similar.length, 10);
    const unknown = await call(server.url, 'GET', `/genes/${encodeURIComponent(`${gene}Z`)}/similar`, { token: TOKEN });
    assert.equal(unknown.status, 404);
    assert.ok(unknown.body.suggestions.includes(gene), JSON.stringify(unknown.body));
    assert.equal((await call(server.url, 'GET', `/genes/${encodeURIComponent(gene)}/similar?top=abc`, { token: TOKEN })).status, 400);
    assert.equal((await call(server.url, 'GET', `/genes/${encodeURIComponent(gene)}/similar?top=5000`, { token: TOKEN })).status, 400);
  });
});

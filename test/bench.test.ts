import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CLI, createTestDatabase, sql, type TestDatabase } from './helpers.js';

const N = 40;
const STRATEGIES = ['baseline', 'copyfromfile', 'parallel', 'parallel-concurrent'];
const LATENCIES = [0, 2];

interface Row {
  action: string;
  strategy: string;
  genes: number;
  latency: number;
  rows: number;
  seconds: string;
  rowsPerSecond: string;
  floorRatio: string;
  speedUp: string;
  p50: string;
  p95: string;
  runs: number;
}

const num = (cell: string) => Number(cell.replace(/[,×]|\(projected\)/g, '').trim());

/** The results table of report.md, read back cell by cell. */
function resultsRows(md: string): Row[] {
  return md
    .split('\n')
    .filter((l) => /^\| (create|update) \|/.test(l))
    .map((l) => {
      const c = l.split('|').slice(1, -1).map((x) => x.trim());
      return { action: c[0]!, strategy: c[1]!, genes: num(c[2]!), latency: num(c[3]!), rows: num(c[4]!), seconds: c[5]!, rowsPerSecond: c[7]!, floorRatio: c[8]!, speedUp: c[9]!, p50: c[10]!, p95: c[11]!, runs: num(c[13]!) };
    });
}

function floorMedian(md: string): number {
  const line = md.split('\n').find((l) => l.startsWith(`| ${N} | ${(N * N).toLocaleString('en-US')} |`));
  assert.ok(line, 'the floor table has a line for the size');
  return num(line.split('|')[3]!);
}

/** Every element named `name` anywhere under `node`, as fast-xml-parser lays the document out. */
function elements(node: unknown, name: string, out: Record<string, string>[] = []): Record<string, string>[] {
  if (Array.isArray(node)) for (const n of node) elements(n, name, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === name) for (const e of Array.isArray(v) ? v : [v]) out.push(e as Record<string, string>);
      elements(v, name, out);
    }
  }
  return out;
}

describe('genesim bench', function () {
  // Two repeats of the floor and four strategies at two latencies, each in a database of its own;
  // complete matrices only (--missing 0): a second row set would double the run.
  this.timeout(600_000);
  let t: TestDatabase;
  const out = mkdtempSync(path.join(tmpdir(), 'genesim-bench-test-'));
  let md = '';
  let svg = '';
  let pid = 0;

  before(async () => {
    t = await createTestDatabase();
    const r = spawnSync(
      process.execPath,
      [CLI, 'bench', '--genes', String(N), '--repeat', '2', '--budget-seconds', '2', '--latency-ms', LATENCIES.join(','), '--actions', 'create', '--strategies', STRATEGIES.join(','), '--readers', '50', '--missing', '0', '--out', out],
      { env: t.env, encoding: 'utf8', timeout: 590_000 },
    );
    pid = r.pid ?? 0;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /\[1\/\d+\] floor N=40 repeat 1\/2: [\d.]+ s \(elapsed \d+m\d\ds, projected end \d\d:\d\d UTC\)/, 'a progress line per run');
    for (const s of STRATEGIES) assert.match(r.stdout, new RegExp(`^create ${s} N=40 0 ms: `, 'm'), 'a summary line per strategy');
    md = readFileSync(path.join(out, 'report.md'), 'utf8');
    svg = readFileSync(path.join(out, 'report.svg'), 'utf8');
  });
  after(async () => {
    await t.drop();
    rmSync(out, { recursive: true, force: true });
  });

  it('leaves no database behind', async () => {
    const left = await sql<{ datname: string }>(t, 'SELECT datname FROM pg_database WHERE datname LIKE $1', [`genesim_bench_${pid}_%`]);
    assert.deepEqual(left, []);
  });

  it('reports every strategy at every latency, N² rows each, with consistent figures', () => {
    const rows = resultsRows(md);
    assert.equal(rows.length, STRATEGIES.length * LATENCIES.length);
    const floor = floorMedian(md);
    for (const latency of LATENCIES) {
      const base = rows.find((r) => r.strategy === 'baseline' && r.latency === latency)!;
      for (const s of STRATEGIES) {
        const r = rows.find((x) => x.strategy === s && x.latency === latency);
        assert.ok(r, `${s} at ${latency} ms`);
        assert.equal(r.genes, N);
        assert.equal(r.rows, N * N);
        assert.equal(r.runs, 2);
        const seconds = num(r.seconds);
        assert.ok(seconds > 0);
        // Cells are rounded: rows/s to a row, ratios to 2 decimals, seconds to 1 or 2.
        assert.ok(Math.abs(num(r.rowsPerSecond) - (N * N) / seconds) <= 0.06 * ((N * N) / seconds) + 1, `${s} rows/s`);
        // The floor's cell is rounded to 0.01 s, which at N = 40 is a good part of it.
        const [low, high] = [seconds / (floor + 0.005), seconds / Math.max(floor - 0.005, 0.0001)];
        assert.ok(num(r.floorRatio) >= 0.94 * low - 0.01 && num(r.floorRatio) <= 1.06 * high + 0.01, `${s} × floor`);
        assert.ok(Math.abs(num(r.speedUp) - num(base.seconds) / seconds) <= 0.06 * (num(base.seconds) / seconds) + 0.1, `${s} speed-up`);
        if (!s.startsWith('parallel') && !r.seconds.includes('projected')) continue;
        if (r.seconds.includes('projected')) {
          for (const cell of [r.rowsPerSecond, r.floorRatio, r.speedUp]) assert.match(cell, /\(projected\)$/, `${s}: a projection says so in every figure`);
        } else {
          assert.ok(Number(r.p50) > 0 && Number(r.p95) >= Number(r.p50), `${s}: reader p50 and p95`);
        }
      }
    }
  });

  it('runs baseline on its budget, labelled as a projection, and slower behind 2 ms of latency', () => {
    const rows = resultsRows(md);
    const base = (latency: number) => rows.find((r) => r.strategy === 'baseline' && r.latency === latency)!;
    // 4,000 data values, 10,000 dataset similarities and 1,600 similarities, one round trip each: more than 2 s.
    for (const latency of LATENCIES) assert.match(base(latency).seconds, /^[\d.]+ \(projected\)$/);
    assert.match(md, /\*\*\(projected\)\*\*: the create was stopped at the 2 s budget/);
    assert.ok(num(base(2).seconds) > num(base(0).seconds), `baseline at 2 ms (${base(2).seconds}) slower than at 0 ms (${base(0).seconds})`);
  });

  it('says what the proxy cost, the floor and the machine', () => {
    assert.match(md, /\| 2 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d,]+ \| [\d.]+ \|/, 'the proxy CPU line for 2 ms');
    assert.match(md, /server-side `COPY \.\.\. FROM 'file'`/);
    for (const setting of ['shared_buffers', 'maintenance_work_mem', 'max_parallel_maintenance_workers', 'max_wal_size', 'synchronous_commit', 'fsync']) {
      assert.match(md, new RegExp(`\\| ${setting} \\| \\S+`));
    }
    for (const csv of ['runs.csv', 'phases.csv', 'floor.csv', 'summary.csv']) assert.ok(existsSync(path.join(out, csv)), csv);
    const runs = readFileSync(path.join(out, 'runs.csv'), 'utf8').trim().split('\n');
    assert.equal(runs.length - 1, 2 * STRATEGIES.length * LATENCIES.length);
  });

  it('draws a well-formed SVG with one line per strategy in each latency panel', () => {
    assert.equal(XMLValidator.validate(svg), true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(svg);
    const lines = elements(doc, 'path').filter((p) => p['aria-roledescription'] === 'line mark');
    const series = lines.map((p) => /series: ([^;]+)$/.exec(p['aria-label'] ?? '')?.[1]);
    for (const s of STRATEGIES) assert.equal(series.filter((x) => x === s).length, LATENCIES.length, `${s}: one line per panel`);
    const labels = elements(doc, 'text').map((x) => (typeof x === 'object' ? (x as Record<string, string>)['#text'] : String(x)));
    for (const s of STRATEGIES) assert.ok(labels.includes(s), `legend names ${s}`);
    for (const l of LATENCIES) assert.ok(labels.includes(`${l} ms`), `a panel for ${l} ms`);
  });
});

describe('genesim bench with missing values (the default --missing 0.02)', function () {
  this.timeout(600_000);
  let t: TestDatabase;
  const out = mkdtempSync(path.join(tmpdir(), 'genesim-bench-missing-'));
  before(async () => {
    t = await createTestDatabase();
    const r = spawnSync(process.execPath, [CLI, 'bench', '--genes', String(N), '--repeat', '1', '--actions', 'create', '--strategies', 'parallel', '--readers', '0', '--out', out], {
      env: t.env,
      encoding: 'utf8',
      timeout: 590_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^create parallel N=40 0 ms: /m, 'the complete row set');
    assert.match(r.stdout, /^create parallel N=40 0 ms 2 % missing: /m, 'the row set with holes');
  });
  after(async () => {
    await t.drop();
    rmSync(out, { recursive: true, force: true });
  });

  it('runs every create on a complete matrix and on one with 2 % missing, and says which in the report and runs.csv', () => {
    const rows = readFileSync(path.join(out, 'report.md'), 'utf8')
      .split('\n')
      .filter((l) => /^\| create \| parallel \|/.test(l))
      .map((l) => l.split('|').slice(1, -1).map((x) => x.trim()));
    assert.deepEqual(rows.map((c) => c[14]), ['0', '2']);
    for (const c of rows) assert.equal(Number(c[4]!.replace(/,/g, '')), N * N, 'N² rows each');
    const [header, ...runs] = readFileSync(path.join(out, 'runs.csv'), 'utf8').trim().split('\n');
    const col = header!.split(',').indexOf('missing');
    assert.deepEqual(runs.map((l) => l.split(',')[col]).sort(), ['0', '0.02']);
  });
});

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import { runCli, sql, suiteDatabase, suiteTempDir } from './helpers.js';

// The lines a person reads after a create and an update, run through the built bin, each figure
// checked against the database or the results CSV the same run wrote.

/** metric -> { seconds, count } from a results CSV. */
function resultsOf(file: string): Map<string, { seconds: number | null; count: number }> {
  const [, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  return new Map(lines.map((l) => {
    const [metric, seconds, count] = l.split(',');
    return [metric!, { seconds: seconds === '' ? null : Number(seconds), count: Number(count) }];
  }));
}

/** The summary's line that starts with `label:`, its text after the label. */
function line(stdout: string, label: string): string {
  const found = stdout.split('\n').find((l) => l.startsWith(`  ${label}:`));
  assert.ok(found, `no "${label}:" line in:\n${stdout}`);
  return found.slice(label.length + 3).trim();
}

/** "1.23 s", "456 ms", "2 min 3 s" back to seconds. */
function secondsOf(text: string): number {
  const m = /^(?:(\d+) min )?([\d.]+) (ms|s)$/.exec(text);
  assert.ok(m, `not a duration: ${text}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2]) / (m[3] === 'ms' ? 1000 : 1);
}

describe('the summary after create and update', () => {
  const t = suiteDatabase();
  const dir = suiteTempDir('genesim-summary-');
  const A = path.join(dir, 'a.tsv');
  const B = path.join(dir, 'b.tsv');
  const secret = 'pw-must-not-be-printed-7f3a';
  // The runs log in as a role of their own whose password is the secret: a server that checks
  // passwords (the embedded one) then needs it, and one that trusts (the machine's) ignores it.
  const role = `genesim_summary_${process.pid}`;
  const env = () => ({ ...t.env, PGUSER: role, PGPASSWORD: secret });
  const where = () => `${role}@${t.target.host}:${t.target.port ?? 5432}/${t.name}`;

  before(async () => {
    await sql(t, `CREATE ROLE ${role} LOGIN PASSWORD '${secret}'`);
    // Owner of the database, so of its public schema (PostgreSQL 15): genesim makes its tables there.
    await sql(t, `ALTER DATABASE ${t.name} OWNER TO ${role}`);
  });
  // Runs after suiteDatabase's own after (hooks run in the order they were made): the database is gone.
  after(async () => {
    if (t.name) await sql({ ...t, target: { ...t.target, database: 'postgres' } }, `DROP ROLE IF EXISTS ${role}`);
  });

  before(() => {
    writeFileSync(A, formatTsv(generateMatrix({ genes: 40, datasets: 6, seed: 4, missing: 0.05 })));
    writeFileSync(B, formatTsv(generateMatrix({ genes: 40, datasets: 6, seed: 5, missing: 0.05 })));
  });

  it('create: what, where (no password), how long and fast, the phases, the readers, the CSV and how to look; no table', async () => {
    const results = path.join(dir, 'create.csv');
    const r = runCli(['create', '--input', A, '--results', results, '--threads', '2'], env());
    assert.equal(r.status, 0, r.stderr);
    const csv = resultsOf(results);
    const [{ n }] = (await sql<{ n: string }>(t, 'SELECT count(*) AS n FROM datasets_genesimilarity')) as [{ n: string }];
    assert.equal(Number(n), 1600);
    const out = r.stdout;
    assert.match(out.split('\n')[0]!, /^created the cosine similarity matrix of 40 genes × 6 datasets: 1,600 similarity rows \(parallel strategy\)$/);
    assert.match(line(out, 'where'), new RegExp(`^${where()}; tables datasets_dataset, datasets_gene, datasets_data, datasets_datasetsimilarity, datasets_genesimilarity$`));
    assert.ok(!out.includes(secret) && !r.stderr.includes(secret), 'the password is never printed');

    const total = csv.get('parallel_total')!.seconds!;
    const time = /^(.+), ([\d,]+) similarity rows\/s$/.exec(line(out, 'time'));
    assert.ok(time, line(out, 'time'));
    assert.ok(Math.abs(secondsOf(time[1]!) - total) <= 0.01 + total * 0.01, `${time[1]} is the CSV's total ${total}`);
    assert.ok(Math.abs(Number(time[2]!.replace(/,/g, '')) - 1600 / total) <= 1600 / total * 0.02, `rate ${time[2]} = 1600 / ${total}`);

    const phases = line(out, 'phases').split(', ').map((p) => /^(\S+) (.+?) \((\d+) %\)$/.exec(p)!);
    assert.equal(phases.length, 3);
    const shown = phases.map((p) => ({ name: `parallel_${p[1]}`, seconds: secondsOf(p[2]!) }));
    for (const p of shown) {
      assert.ok(csv.has(p.name), `${p.name} is a phase of the CSV`);
      assert.ok(Math.abs(csv.get(p.name)!.seconds! - p.seconds) <= 0.01 + p.seconds * 0.01, `${p.name}: ${p.seconds} vs ${csv.get(p.name)!.seconds}`);
    }
    assert.deepEqual([...shown].sort((a, b) => b.seconds - a.seconds), shown, 'the longest first');
    assert.ok(shown.some((p) => p.name === 'parallel_create_sims' || p.name === 'parallel_constraints'), 'the phases that take the time are named');

    const stall = csv.get('parallel_reader_stall_max')!;
    const readers = /waited at most (.+) during the swap \((\d+) queries timed\)/.exec(line(out, 'readers'));
    assert.ok(readers, line(out, 'readers'));
    assert.ok(Math.abs(secondsOf(readers[1]!) - stall.seconds!) <= 0.001 + stall.seconds! * 0.01);
    assert.equal(Number(readers[2]), stall.count);

    assert.equal(line(out, 'measured'), `every phase in ${results} (--verbose prints the table)`);
    const first = readFileSync(A, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[0]!).sort()[0]!;
    assert.equal(line(out, 'look'), `genesim similar ${first} --top 10`);
    assert.doesNotMatch(out, /parallel_total|parallel_via_file/, 'the full table is one flag away');
    const look = runCli(['similar', first, '--top', '10'], env());
    assert.equal(look.status, 0, look.stderr);
    assert.match(look.stdout, new RegExp(`^10 genes most similar to ${first}`));

    const [run] = await sql<{ action: string; strategy: string; genes: number; datasets: number; rows_written: string; job_id: string | null; source: string }>(t, 'SELECT * FROM genesim_run');
    assert.deepEqual({ ...run, rows_written: Number(run!.rows_written) }, { ...run, action: 'create', strategy: 'parallel', genes: 40, datasets: 6, rows_written: 1600, job_id: null, source: '--input a.tsv' });
  });

  it('update: rows written and in the table, the readers not measured by a classic strategy; --verbose prints the table too', async () => {
    const results = path.join(dir, 'update.csv');
    const r = runCli(['update', '--strategy', 'upsert', '--input', B, '--results', results, '--verbose'], env());
    assert.equal(r.status, 0, r.stderr);
    const csv = resultsOf(results);
    const written = csv.get('upsert_update_changed_rows')!.count;
    assert.ok(written > 0);
    const summaryAt = r.stdout.indexOf('updated the cosine');
    assert.ok(summaryAt > 0, r.stdout);
    assert.match(r.stdout.slice(summaryAt).split('\n')[0]!, new RegExp(`^updated the cosine similarity matrix to 40 genes × 6 datasets: ${written.toLocaleString('en-US')} similarity rows written, 1,600 in the table \\(upsert strategy\\)$`));
    assert.match(line(r.stdout, 'readers'), /^not measured by the upsert strategy/);
    assert.match(r.stdout.slice(0, summaryAt), /^upsert_update_total\s+[\d.]+\s+1,600$/m, '--verbose: the table before the summary');
    const runs = await sql<{ action: string; rows_written: string }>(t, 'SELECT action, rows_written FROM genesim_run ORDER BY id');
    assert.deepEqual(runs.map((x) => [x.action, Number(x.rows_written)]), [['create', 1600], ['update', written]]);
  });

  it('--progress json is as it was: JSON lines only, the result event with the same fields', () => {
    const r = runCli(['create', '--strategy', 'copyfrom', '--input', A, '--replace', '--progress', 'json', '--results', path.join(dir, 'json.csv')], env());
    assert.equal(r.status, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = events.at(-1)!;
    assert.deepEqual(Object.keys(last).sort(), ['action', 'measurements', 'resultsFile', 'time', 'type']);
    // Every line parsed as JSON above; the summary's lines ("created the … matrix", "  where:") are not among them.
    assert.ok(!events.some((e) => typeof e.message === 'string' && /^created the /.test(e.message)), 'no summary among the JSON lines');
    assert.ok(!/^\s+(where|time|phases|look):/m.test(r.stdout), 'no summary lines on stdout');
  });

  it('a create stopped at its budget says nothing was written and records no run', async () => {
    const before = (await sql(t, 'SELECT id FROM genesim_run')).length;
    const r = runCli(['create', '--strategy', 'baseline', '--genes', '3000', '--datasets', '4', '--replace', '--budget-seconds', '1', '--results', path.join(dir, 'budget.csv')], env());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^stopped at its time budget and rolled back: nothing was written/m);
    assert.doesNotMatch(r.stdout, /look:/);
    assert.equal((await sql(t, 'SELECT id FROM genesim_run')).length, before);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { RANKED_SIMILAR } from '../src/db/readerProbe.js';
import { SWAP_LOCK_TIMEOUT_MS } from '../src/db/swap.js';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import { type Matrix, sortBySystematicName } from '../src/input/matrix.js';
import { prepare, scoreRow } from '../src/similarity/kernel.js';
import { connect, createTestDatabase, runCli, startCli, type TestDatabase, until } from './helpers.js';

const N = 600;
const D = 20;

/** Every pair's score in thousandths, both orders, the diagonal 1000: what a create writes. */
function allScores(m: Matrix): Int16Array {
  const n = m.genes.length;
  const p = prepare(m.values, n, m.datasets.length, 'cosine');
  const all = new Int16Array(n * n);
  const row = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    all[i * n + i] = 1000;
    scoreRow(p, i, row);
    for (let j = i + 1; j < n; j++) all[i * n + j] = all[j * n + i] = row[j - i - 1]!;
  }
  return all;
}

type Answer = [gene2: number, milli: number][];

/**
 * Whether `answer` is what the ranked-similar query returns for gene `id` (1-based, name
 * order) on the matrix `scores`: the same 20 scores in the same order, each row one the
 * table holds. Ties at the cut may be broken either way, so rows are matched as a multiset.
 */
function answers(scores: Int16Array, n: number, id: number, answer: Answer): boolean {
  const g = id - 1;
  // (g, j) has gene2 j+1, (j, g) has gene2 g+1; the diagonal is once.
  const rows: Answer = [[id, 1000]];
  for (let j = 0; j < n; j++) if (j !== g) rows.push([j + 1, scores[g * n + j]!], [id, scores[g * n + j]!]);
  rows.sort((a, b) => b[1] - a[1]);
  const top = rows.slice(0, 20).map((r) => r[1]);
  if (top.length !== answer.length || top.some((s, k) => s !== answer[k]![1])) return false;
  const pool = new Map<string, number>();
  for (const r of rows) pool.set(r.join(':'), (pool.get(r.join(':')) ?? 0) + 1);
  return answer.every((r) => {
    const left = pool.get(r.join(':')) ?? 0;
    pool.set(r.join(':'), left - 1);
    return left > 0;
  });
}

interface Observation {
  id: number;
  answer: Answer | null;
  error?: string;
  ms: number;
}

/** The application's reader: the ranked-similar query every 10 ms for a random gene, on its own connection. */
function readerLoop(client: pg.Client, n: number): { stop(): Promise<Observation[]> } {
  const seen: Observation[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const id = 1 + Math.floor(Math.random() * n);
      const t0 = performance.now();
      try {
        const { rows } = await client.query<{ gene2_id: number; score: string }>(RANKED_SIMILAR, [id]);
        seen.push({ id, answer: rows.map((r) => [Number(r.gene2_id), Math.round(Number(r.score) * 1000)]), ms: performance.now() - t0 });
      } catch (err) {
        seen.push({ id, answer: null, error: (err as Error).message, ms: performance.now() - t0 });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return seen;
    },
  };
}

describe('readers of the application during parallel runs', () => {
  let t: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'genesim-readers-'));
  // A, and B: the same genes and datasets with other values, so every answer changes but ids stay.
  const a = sortBySystematicName(generateMatrix({ genes: N, datasets: D, seed: 5, missing: 0 }));
  const b: Matrix = { ...a, values: generateMatrix({ genes: N, datasets: D, seed: 6, missing: 0 }).values };
  const files = { a: path.join(dir, 'a.tsv'), b: path.join(dir, 'b.tsv'), results: path.join(dir, 'r.csv') };
  const scores = { a: allScores(a), b: allScores(b) };
  before(async () => {
    t = await createTestDatabase();
    writeFileSync(files.a, formatTsv(a));
    writeFileSync(files.b, formatTsv(b));
    assert.equal(runCli(['migrate'], t.env).status, 0);
  });
  after(async () => {
    await t.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every 10 ms through a create and an update: no error, every answer entirely old or entirely new, never back', async () => {
    const client = await connect(t);
    const reader = readerLoop(client, N);
    let seen: Observation[];
    try {
      for (const args of [
        ['create', '--strategy', 'parallel', '--input', files.a],
        ['update', '--strategy', 'parallel', '--input', files.b],
      ]) {
        const done = await startCli([...args, '--threads', '2', '--results', files.results], t.env).exited;
        assert.equal(done.code, 0, done.stderr);
      }
    } finally {
      seen = await reader.stop();
      await client.end();
    }
    const errors = seen.filter((o) => o.error !== undefined);
    assert.deepEqual(errors, [], 'no reader saw an error');
    // 0: the empty table before the create, 1: matrix A, 2: matrix B.
    const states = seen.map((o) => (o.answer!.length === 0 ? [0] : [1, 2].filter((s) => answers(s === 1 ? scores.a : scores.b, N, o.id, o.answer!))));
    const mixed = seen.filter((_, k) => states[k]!.length === 0);
    assert.deepEqual(mixed, [], 'every answer is one matrix\'s whole answer');
    // Never back: once a reader saw B it never sees A (or nothing) again.
    let latest = 0;
    for (const s of states) {
      assert.ok(Math.max(...s) >= latest, `an answer of state ${s} after one of state ${latest}`);
      if (s.length === 1) latest = s[0]!;
    }
    assert.ok(states.filter((s) => s.length === 1 && s[0] === 1).length > 0, 'some answers came from A');
    assert.ok(states.filter((s) => s.length === 1 && s[0] === 2).length > 0, 'some answers came from B');
  });

  it('a reader holding a transaction open across the swap: the swap waits, other readers never wait past the lock timeout', async () => {
    // The table holds B (the test above); update back to A while a reader sits on the table.
    const holder = await connect(t);
    await holder.query('BEGIN');
    await holder.query(RANKED_SIMILAR, [1]);
    const client = await connect(t);
    const reader = readerLoop(client, N);
    const run = startCli(['update', '--strategy', 'parallel', '--input', files.a, '--threads', '2', '--results', files.results], t.env);
    let seen: Observation[];
    try {
      await run.said(/swap waits for locks held by pid \d+/, 60_000);
      // The swap backs off and retries while the holder stays; readers must not queue behind it.
      const heldSince = performance.now();
      await until('3 s of the swap waiting', () => performance.now() - heldSince > 3000);
      assert.equal(run.child.exitCode, null, 'the swap waited for the open transaction');
      await holder.query('COMMIT');
      const done = await run.exited;
      assert.equal(done.code, 0, done.stderr);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      seen = await reader.stop();
      await client.end();
      await holder.end();
      run.child.kill('SIGINT');
      await run.exited;
    }
    assert.deepEqual(seen.filter((o) => o.error !== undefined), []);
    const slowest = Math.max(...seen.map((o) => o.ms));
    // Bounded by one lock timeout (plus what a query costs on a busy machine), not by the 3 s the holder held.
    assert.ok(slowest < SWAP_LOCK_TIMEOUT_MS + 1000, `a reader waited ${slowest.toFixed(0)} ms (lock timeout ${SWAP_LOCK_TIMEOUT_MS} ms)`);
    assert.ok(seen.every((o) => answers(scores.a, N, o.id, o.answer!) || answers(scores.b, N, o.id, o.answer!)));
  });
});

import assert from 'node:assert/strict';
import path from 'node:path';
import type { EngineEvent } from '../src/engine/events.js';
import { run } from '../src/engine/run.js';
import { runCli, suiteDatabase, suiteTempDir } from './helpers.js';

const parallel = { threads: 2, connections: 2, via: 'file', format: 'text', load: 'clustered' } as const;

/** Phases nest and close in order, progress only grows to its total, the result comes last. */
function assertWellFormed(events: EngineEvent[]): void {
  const open: string[] = [];
  const done = new Map<string, number>();
  for (const e of events.slice(0, -1)) {
    if (e.type === 'phase' && e.state === 'start') open.push(e.name);
    if (e.type === 'phase' && e.state === 'end') {
      assert.equal(open.pop(), e.name, `phase ${e.name} ends where it began`);
      assert.ok(e.seconds >= 0);
    }
    if (e.type === 'progress') {
      assert.ok(e.done >= (done.get(e.label) ?? 0) && e.done <= e.total, `${e.label}: ${e.done}/${e.total}`);
      done.set(e.label, e.done);
    }
    assert.notEqual(e.type, 'result');
  }
  assert.deepEqual(open, []);
  assert.equal(events.at(-1)!.type, 'result');
}

describe('engine: run(job, { signal, onEvent })', () => {
  const t = suiteDatabase();
  const dir = suiteTempDir('genesim-engine-');

  for (const strategy of ['copyfromfile', 'parallel'] as const) {
    it(`${strategy} create reports phases, progress to the total and the measurements`, async () => {
      const events: EngineEvent[] = [];
      const outcome = await run(
        t.config,
        { action: 'create', strategy, source: { genes: 40, datasets: 5, seed: 1, missing: 0 }, metric: 'cosine', replace: true, parallel, results: path.join(dir, `${strategy}.csv`) },
        { signal: new AbortController().signal, onEvent: (e) => events.push(e) },
      );
      assertWellFormed(events);
      const result = events.at(-1) as Extract<EngineEvent, { type: 'result' }>;
      assert.deepEqual(result.measurements, outcome.measurements);
      const ends = events.filter((e) => e.type === 'phase' && e.state === 'end').map((e) => (e as { name: string }).name);
      assert.ok(ends.includes(`${strategy}_create_sims`));
      // Every phase that ended is a row of the results, with the same figures.
      for (const e of events) if (e.type === 'phase' && e.state === 'end') assert.ok(outcome.measurements.some((m) => m.metric === e.name && m.seconds === e.seconds));
      const last = new Map<string, { done: number; total: number }>();
      for (const e of events) if (e.type === 'progress') last.set(e.label, e);
      assert.ok(last.size > 0, 'progress was reported');
      for (const [label, p] of last) assert.equal(p.done, p.total, `${label} reached its total`);
      assert.ok(events.some((e) => e.type === 'notice' && /40 genes × 5 datasets, 1,600 similarity rows/.test(e.message)));
      if (strategy === 'parallel') {
        // The data values are written while the similarity table's keys are checked, inside that phase.
        const started = events.flatMap((e) => (e.type === 'phase' && e.state === 'start' ? [e.name] : []));
        assert.ok(started.indexOf('parallel_foreign_keys') < started.indexOf('parallel_create_data'), started.join(' '));
        // The index builds count as steps, inside their phase: 0 of N when it starts, N of N before it ends.
        const at = (name: string, state: string) => events.findIndex((e) => e.type === 'phase' && e.name === name && e.state === state);
        const steps = events.map((e, i) => ({ e, i })).filter(({ e }) => e.type === 'progress' && e.label === 'index builds');
        assert.ok(steps.length >= 2, 'the index builds were counted');
        assert.ok(steps.every(({ e }) => e.type === 'progress' && e.unit === 'index builds'));
        assert.ok(steps[0]!.i > at('parallel_constraints', 'start') && steps.at(-1)!.i < at('parallel_constraints', 'end'));
        const ends = steps.map(({ e }) => (e as { done: number; total: number }));
        assert.deepEqual([ends[0]!.done, ends.at(-1)!.done], [0, ends[0]!.total]);
      }
    });
  }

  it('the clustered load reports pairs scored beside rows copied, up to every pair (one thread)', async () => {
    const events: EngineEvent[] = [];
    const genes = 600;
    await run(
      t.config,
      { action: 'create', strategy: 'parallel', source: { genes, datasets: 400, seed: 1, missing: 0 }, metric: 'cosine', replace: true, parallel: { ...parallel, threads: 1, connections: 1 }, results: path.join(dir, 'order.csv') },
      { signal: new AbortController().signal, onEvent: (e) => events.push(e) },
    );
    const copied = events.filter((e): e is Extract<EngineEvent, { type: 'progress' }> => e.type === 'progress' && e.label === 'parallel' && e.done > 0);
    const pairs = (genes * (genes - 1)) / 2;
    assert.ok(copied.length > 3, `${copied.length} blocks`);
    // Whether the first COPY ends before the scoring does is a race of tens of milliseconds
    // (scoring all of it takes 0.1 s here): under the CI's load it went both ways. The order the
    // queue gives tasks is tested on its own (taskQueue.test.ts); here, the counts add up.
    assert.ok(Number(copied[0]!.extra!.scored) > 0, `scored ${copied[0]!.extra!.scored} of ${pairs} pairs before the first COPY ended`);
    assert.equal(Number(copied.at(-1)!.extra!.scored), pairs);
  });

  it('an update reports the same way; a stopped run rejects after its events', async () => {
    const events: EngineEvent[] = [];
    await run(
      t.config,
      { action: 'update', strategy: 'upsert', source: null, metric: 'cosine', changedOnly: false, keepMissingGenes: false, parallel, results: path.join(dir, 'u.csv') },
      { signal: new AbortController().signal, onEvent: (e) => events.push(e) },
    );
    assertWellFormed(events);
    assert.ok(events.some((e) => e.type === 'progress' && e.label === 'updating' && e.done === 40));
    const stopped = new AbortController();
    stopped.abort();
    const seen: EngineEvent[] = [];
    await assert.rejects(
      run(t.config, { action: 'create', strategy: 'copyfrom', source: { genes: 40, datasets: 5, seed: 1, missing: 0 }, metric: 'cosine', replace: true, parallel, results: path.join(dir, 'x.csv') }, { signal: stopped.signal, onEvent: (e) => seen.push(e) }),
      /interrupted/,
    );
    assert.ok(!seen.some((e) => e.type === 'result'));
  });

  it('--progress json: one event a line on stdout, the result last; a failure is an error event with its exit code', () => {
    const r = runCli(['create', '--strategy', 'bulk', '--genes', '30', '--datasets', '4', '--replace', '--progress', 'json', '--results', path.join(dir, 'j.csv')], t.env);
    assert.equal(r.status, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as EngineEvent & { time: string });
    assert.ok(events.every((e) => !Number.isNaN(Date.parse(e.time))));
    assertWellFormed(events);
    assert.equal(r.stderr, '', 'nothing on the terminal');
    const bad = runCli(['create', '--strategy', 'bulk', '--input', path.join(dir, 'none.tsv'), '--progress', 'json'], t.env);
    assert.equal(bad.status, 2);
    const last = JSON.parse(bad.stdout.trim().split('\n').at(-1)!);
    assert.equal(last.type, 'error');
    assert.equal(last.exitCode, 2);
    assert.match(last.message, /none\.tsv/);
  });
});

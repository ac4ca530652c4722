import assert from 'node:assert/strict';
import path from 'node:path';
import { pino } from 'pino';
import { openDatabase } from '../src/db/connect.js';
import type { Database } from '../src/db/connect.js';
import { JobRunner } from '../src/jobs/runner.js';
import { ensureJobTable } from '../src/jobs/table.js';
import { projectRoot } from '../src/paths.js';
import { suiteDatabase, suiteTempDir } from './helpers.js';

describe('job runner', () => {
  const t = suiteDatabase();
  const tmp = suiteTempDir('genesim-runner-');
  let db: Database;
  before(async () => {
    db = await openDatabase(t.config, () => undefined, 2);
    await ensureJobTable(db.pool);
  });
  after(async () => db?.close());

  const runner = (env: NodeJS.ProcessEnv = {}) =>
    new JobRunner({
      pool: db.pool,
      log: pino({ level: 'silent' }),
      cli: path.join(projectRoot, 'dist', 'test', 'quickChild.js'),
      env: { PATH: process.env.PATH, ...env },
      tmpDir: tmp,
      maxDownloadBytes: 1,
      downloadStallSeconds: 60,
      heartbeatSeconds: 60,
      staleSeconds: 600,
      cancelGraceSeconds: 25,
      instance: 'runner test',
    });

  /** Runs `times` jobs one after the other; their end states, with the error where there is one. */
  async function outcomes(r: JobRunner, times: number): Promise<string[]> {
    const outcomes: string[] = [];
    for (let i = 0; i < times; i++) {
      const submitted = await r.submit(
        { spec: { action: 'create', strategy: 'parallel', metric: 'cosine', threads: 1, changedOnly: false }, source: { kind: 'synthetic', genes: 10 }, parameters: {} },
        'create',
      );
      assert.ok('job' in submitted, JSON.stringify(submitted));
      const job = (await r.wait(submitted.job.id))!;
      outcomes.push(`${job.state}${job.error ? `: ${job.error}` : ''}`);
      if (job.state === 'succeeded') {
        // The last progress line and the result's measurements, both from the end of the output.
        assert.equal(job.rowsDone, 4000);
        assert.deepEqual(job.timings.map((m) => m.metric), ['quick_total']);
      }
    }
    await r.shutdown();
    return outcomes;
  }

  it('a job process that writes its result and exits at once, 50 times: every job succeeds with its result read', async function () {
    this.timeout(300_000);
    const ended = await outcomes(runner(), 50);
    assert.deepEqual(ended.filter((o) => o !== 'succeeded'), [], `${ended.filter((o) => o !== 'succeeded').length} of 50 jobs not succeeded`);
  });

  it('a result line that arrives after the job process exited (a process it left holds the pipe) is still read, 5 times', async function () {
    this.timeout(120_000);
    assert.deepEqual(await outcomes(runner({ QUICK_CHILD_LATE: '1' }), 5), Array(5).fill('succeeded'));
  });
});

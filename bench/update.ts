import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runCreate } from '../src/commands/create.js';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import type { Measurement } from '../src/report/timer.js';
import type { ParallelRequest } from '../src/strategies/types.js';
import { runUpdate, UPDATE_STRATEGIES, type UpdateStrategy } from '../src/update/run.js';
import { benchConfig } from './database.js';
import { withNewDataset } from '../src/bench/matrices.js';
import { median } from '../src/bench/stats.js';
import { DEFAULT_COPY_FORMAT } from '../src/encode/sims.js';

/**
 * The lab's everyday job: a matrix A is in the database, a new dataset arrives (matrix B = A
 * plus one column, so every gene changes), then one gene's values are corrected (matrix C).
 * Per strategy: create A, update to B (timed), update to C with --changed-only (timed).
 */
const a = await yargs(hideBin(process.argv))
  .option('genes', { type: 'number', default: 2000 })
  .option('datasets', { type: 'number', default: 100 })
  .option('strategies', { type: 'array', string: true, default: [...UPDATE_STRATEGIES], choices: UPDATE_STRATEGIES })
  .option('runs', { type: 'number', default: 1 })
  .option('threads', { type: 'number', default: availableParallelism() })
  .option('create-with', { type: 'string', choices: ['same', 'parallel'], default: 'same', describe: 'create A with the strategy itself, or with the parallel engine (large N)' })
  .strict()
  .parseAsync();

const say = (line: string) => process.stderr.write(`update-bench: ${line}\n`);
const A = generateMatrix({ genes: a.genes, datasets: a.datasets, seed: 1, missing: 0 });
const B = withNewDataset(A);
const C = { ...B, values: Float64Array.from(B.values) };
for (let k = 0; k < C.datasets.length; k++) C.values[17 * C.datasets.length + k]! += 0.5;
const dir = tmpdir();
const files = { A: path.join(dir, `genesim-bench-A-${a.genes}.tsv`), B: path.join(dir, `genesim-bench-B-${a.genes}.tsv`), C: path.join(dir, `genesim-bench-C-${a.genes}.tsv`) };
writeFileSync(files.A, formatTsv(A));
writeFileSync(files.B, formatTsv(B));
writeFileSync(files.C, formatTsv(C));

const parallel: ParallelRequest = { threads: a.threads, via: 'file', format: DEFAULT_COPY_FORMAT, load: 'clustered' };
const total = (ms: Measurement[]) => ms.find((m) => m.metric.endsWith('_total'))!.seconds!;
const { config, stop } = await benchConfig(say);
const rows: string[] = ['| strategy | genes | create s | update (new dataset) s | rows written | --changed-only (one gene) s | rows written |', '|---|---:|---:|---:|---:|---:|---:|'];
try {
  for (const strategy of a.strategies as UpdateStrategy[]) {
    const t: Record<'create' | 'update' | 'changed', number[]> = { create: [], update: [], changed: [] };
    let written = 0;
    let changedWritten = 0;
    for (let run = 1; run <= a.runs; run++) {
      const createStrategy = a['create-with'] === 'parallel' ? 'parallel' : strategy === 'upsert' ? 'copyfromfile' : strategy;
      const c = await runCreate(config, { strategy: createStrategy, source: { input: files.A }, metric: 'cosine', replace: true, parallel, results: `bench/results/runs/update-create-${strategy}-${a.genes}-${run}.csv` }, () => undefined, new AbortController().signal);
      t.create.push(total(c.measurements));
      const common = { metric: 'cosine' as const, keepMissingGenes: false, parallel };
      const u = await runUpdate(config, { ...common, strategy, source: { input: files.B }, changedOnly: false, results: `bench/results/runs/update-${strategy}-${a.genes}-${run}.csv` }, () => undefined, new AbortController().signal);
      t.update.push(total(u.measurements));
      written = u.changedRows;
      const ch = await runUpdate(config, { ...common, strategy, source: { input: files.C }, changedOnly: true, results: `bench/results/runs/update-changed-${strategy}-${a.genes}-${run}.csv` }, () => undefined, new AbortController().signal);
      t.changed.push(total(ch.measurements));
      changedWritten = ch.changedRows;
      say(`${strategy} N=${a.genes} run ${run}: create ${t.create.at(-1)!.toFixed(1)} s, update ${t.update.at(-1)!.toFixed(1)} s, changed-only ${t.changed.at(-1)!.toFixed(2)} s`);
    }
    rows.push(`| ${strategy} | ${a.genes.toLocaleString('en-US')} | ${median(t.create).toFixed(1)} | ${median(t.update).toFixed(1)} | ${written.toLocaleString('en-US')} | ${median(t.changed).toFixed(2)} | ${changedWritten.toLocaleString('en-US')} |`);
  }
} finally {
  for (const file of Object.values(files)) rmSync(file, { force: true });
  await stop();
}
process.stdout.write(`${rows.join('\n')}\n\nmedians of ${a.runs} run(s), D = ${a.datasets}; update adds one dataset (every gene changes); --changed-only then corrects one gene\n${a['create-with'] === 'parallel' ? 'A is created with the parallel engine for every strategy' : "upsert's A is created with copyfromfile"}\n`);
process.exit(0);

import { availableParallelism } from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runCreate } from '../src/commands/create.js';
import { COPY_FORMATS, DEFAULT_COPY_FORMAT } from '../src/encode/sims.js';
import { resultsCsv, writeResults } from '../src/report/results.js';
import type { Measurement } from '../src/report/timer.js';
import { type Load, LOADS, STRATEGIES, type StrategyName, VIAS, type Via } from '../src/strategies/types.js';
import { benchConfig } from './database.js';
import { medianMeasurements } from '../src/bench/stats.js';

/**
 * End-to-end runner: every strategy × gene count, several runs each, medians reported.
 * Results go to bench/results/<strategy>-<genes>.csv and a markdown table on stdout.
 */
const a = await yargs(hideBin(process.argv))
  .option('strategies', { type: 'array', string: true, default: [...STRATEGIES], choices: STRATEGIES })
  .option('genes', { type: 'array', number: true, default: [500, 2000] })
  .option('datasets', { type: 'number', default: 100 })
  .option('runs', { type: 'number', default: 3 })
  .option('max-genes-baseline', { type: 'number', default: 500, describe: 'baseline takes hours beyond this' })
  .option('threads', { type: 'number', default: availableParallelism() })
  .option('via', { choices: VIAS, default: 'file' as Via })
  .option('format', { choices: COPY_FORMATS, default: DEFAULT_COPY_FORMAT })
  .option('load', { choices: LOADS, default: 'clustered' as Load })
  .option('out', { type: 'string', default: path.join('bench', 'results') })
  .strict()
  .parseAsync();

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const { config, stop } = await benchConfig(say);
const table: string[] = ['| strategy | genes | rows | create_genes s | create_sims s | write_file s | compute s | total s |', '|---|---:|---:|---:|---:|---:|---:|---:|'];
try {
  for (const genes of a.genes) {
    for (const strategy of a.strategies as StrategyName[]) {
      if (strategy === 'baseline' && genes > a['max-genes-baseline']) continue;
      const runs: Measurement[][] = [];
      for (let run = 1; run <= a.runs; run++) {
        const outcome = await runCreate(
          config,
          {
            strategy,
            source: { genes, datasets: a.datasets, seed: 1, missing: 0 },
            metric: 'cosine',
            replace: true,
            results: path.join(a.out, 'runs', `${strategy}-${genes}-${run}.csv`),
            parallel: { threads: a.threads, connections: Math.min(a.threads, 4), via: a.via, format: a.format, load: a.load },
          },
          () => undefined,
          new AbortController().signal,
        );
        runs.push(outcome.measurements);
        const total = outcome.measurements.find((m) => m.metric.endsWith('_total'))!;
        say(`${strategy} N=${genes} run ${run}: ${total.seconds!.toFixed(2)} s`);
      }
      const med = medianMeasurements(runs);
      await writeResults(path.join(a.out, `${strategy}-${genes}.csv`), med);
      const s = (name: string) => {
        const m = med.find((x) => x.metric === `${strategy}_${name}`);
        return m?.seconds == null ? '' : m.seconds.toFixed(2);
      };
      table.push(`| ${strategy} | ${genes.toLocaleString('en-US')} | ${(genes * genes).toLocaleString('en-US')} | ${s('create_genes')} | ${s('create_sims')} | ${s('write_file')} | ${s('compute')} | ${s('total')} |`);
      process.stderr.write(resultsCsv(med));
    }
  }
} finally {
  await stop();
}
process.stdout.write(`${table.join('\n')}\n\nmedians of ${a.runs} runs, D = ${a.datasets}\n`);
process.exit(0);

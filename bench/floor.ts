import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { measureFloor, prepareFloorDatabase, writeFloorFile } from '../src/bench/floor.js';
import { runCreate } from '../src/commands/create.js';
import { noticesTo } from '../src/engine/events.js';
import { COPY_FORMATS, DEFAULT_COPY_FORMAT } from '../src/encode/sims.js';
import type { Measurement } from '../src/report/timer.js';
import { removeTemp } from '../src/tempFiles.js';
import { clientConfig } from '../src/db/connect.js';
import type { ServerTarget } from '../src/db/embedded.js';
import { writeResults } from '../src/report/results.js';
import { type Load, LOADS, VIAS, type Via } from '../src/strategies/types.js';
import { benchConfig } from './database.js';
import { median } from '../src/bench/stats.js';

/**
 * genesim's parallel create against PostgreSQL's own load path on the same rows, in the same
 * invocation, each in a fresh database: a prepared TSV loaded by server-side COPY into a bare
 * table, then Django's constraints built one after another with the server's default
 * settings. The ratio of the two is what carries over to other machines.
 */
const a = await yargs(hideBin(process.argv))
  .option('genes', { type: 'number', default: 6500 })
  .option('datasets', { type: 'number', default: 100 })
  .option('runs', { type: 'number', default: 3 })
  .option('threads', { type: 'number', default: availableParallelism() })
  .option('connections', { type: 'number' })
  .option('index-memory', { type: 'number', describe: "each index build's maintenance_work_mem, MB (genesim's default when unset)" })
  .option('via', { choices: VIAS, default: 'file' as Via })
  .option('format', { choices: COPY_FORMATS, default: DEFAULT_COPY_FORMAT })
  .option('load', { choices: LOADS, default: 'clustered' as Load })
  .option('out', { type: 'string', default: 'bench/results' })
  .strict()
  .parseAsync();

const say = (line: string) => process.stderr.write(`floor: ${line}\n`);

const prepareFile = () => writeFloorFile({ genes: a.genes, datasets: a.datasets, seed: 1 }, '/tmp');
type BenchConfig = Awaited<ReturnType<typeof benchConfig>>['config'];

/**
 * Each side of each run starts from a database of its own, as in `genesim bench`: the floor
 * makes a new table, and genesim creates into empty tables (no previous matrix to drop in its
 * timing). Made and dropped outside the timings.
 */
let databases = 0;
async function inFreshDatabase<T>(target: ServerTarget, work: (fresh: ServerTarget) => Promise<T>): Promise<T> {
  const name = `genesim_floor_${process.pid}_${++databases}`;
  const admin = new pg.Client({ ...clientConfig(target), database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      return await work({ ...target, database: name });
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}

const floor = (target: ServerTarget, file: string) =>
  inFreshDatabase(target, async (fresh) => {
    await prepareFloorDatabase(clientConfig(fresh), a.genes);
    return (await measureFloor(clientConfig(fresh), file, a.genes * a.genes)).measurements;
  });

const genesim = (config: BenchConfig, run: number) => inFreshDatabase(config.db as ServerTarget, (fresh) => genesimIn({ ...config, db: fresh }, run));

async function genesimIn(config: BenchConfig, run: number): Promise<Measurement[]> {
  const outcome = await runCreate(
    config,
    {
      strategy: 'parallel',
      source: { genes: a.genes, datasets: a.datasets, seed: 1, missing: 0 },
      metric: 'cosine',
      replace: false,
      results: `${a.out}/runs/floor-parallel-${a.genes}-${run}.csv`,
      parallel: { threads: a.threads, connections: a.connections ?? Math.min(a.threads, 4), via: a.via, format: a.format, load: a.load, indexMemoryMb: a['index-memory'] },
    },
    noticesTo(say),
    new AbortController().signal,
  );
  return outcome.measurements;
}

const seconds = (ms: Measurement[], metric: string) => ms.find((m) => m.metric === metric)?.seconds ?? Number.NaN;

const { config, stop } = await benchConfig(say);
const target = config.db as ServerTarget;
say(`preparing the floor's TSV file (${(a.genes * a.genes).toLocaleString('en-US')} rows)`);
const file = await prepareFile();
const lines: string[] = [];
const ratios: number[] = [];
const totals: Record<string, number[]> = { genesim: [], floor: [], floor_copy: [], floor_constraints: [], compute_write: [], copy: [], constraints: [], swap: [] };
try {
  for (let run = 1; run <= a.runs; run++) {
    // Alternate which goes first, so neither always meets a warmer cache.
    let g: Measurement[];
    let f: Measurement[];
    if (run % 2) {
      g = await genesim(config, run);
      f = await floor(target, file);
    } else {
      f = await floor(target, file);
      g = await genesim(config, run);
    }
    const gt = seconds(g, 'parallel_total');
    const ft = seconds(f, 'floor_total');
    ratios.push(gt / ft);
    totals.genesim!.push(gt);
    totals.floor!.push(ft);
    totals.floor_copy!.push(seconds(f, 'floor_copy'));
    totals.floor_constraints!.push(seconds(f, 'floor_constraints'));
    for (const k of ['compute_write', 'copy', 'constraints', 'swap']) totals[k]!.push(seconds(g, `parallel_${k}`));
    const rss = g.find((m) => m.metric === 'parallel_peak_rss_bytes')!.count;
    const line = `run ${run}: genesim ${gt.toFixed(1)} s (compute_write ${seconds(g, 'parallel_compute_write').toFixed(1)}, copy ${seconds(g, 'parallel_copy').toFixed(1)}, constraints ${seconds(g, 'parallel_constraints').toFixed(1)}, swap ${seconds(g, 'parallel_swap').toFixed(1)}, peak RSS ${(rss / 2 ** 20).toFixed(0)} MB) | floor ${ft.toFixed(1)} s (copy ${seconds(f, 'floor_copy').toFixed(1)}, constraints ${seconds(f, 'floor_constraints').toFixed(1)}) | ratio ${(gt / ft).toFixed(3)}`;
    say(line);
    lines.push(line);
    await writeResults(`${a.out}/runs/floor-${a.genes}-${run}.csv`, f);
  }
} finally {
  await removeTemp(file);
  await stop();
}
const med = (k: string) => median(totals[k]!).toFixed(1);
process.stdout.write(
  `${lines.join('\n')}\n\nN = ${a.genes}, D = ${a.datasets}, ${a.runs} runs, threads ${a.threads}, via ${a.via}, format ${a.format}, load ${a.load}\n` +
    `| | median s |\n|---|---:|\n| genesim parallel create (total) | ${med('genesim')} |\n| · compute_write | ${med('compute_write')} |\n| · copy | ${med('copy')} |\n| · constraints | ${med('constraints')} |\n| · swap | ${med('swap')} |\n` +
    `| floor (server COPY + constraints one by one) | ${med('floor')} |\n| · floor COPY | ${med('floor_copy')} |\n| · floor constraints | ${med('floor_constraints')} |\n` +
    `| **ratio genesim / floor (median of per-run ratios)** | **${median(ratios).toFixed(3)}** |\n`,
);
process.exit(0);

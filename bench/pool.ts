import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import Benchmark from 'benchmark';
import { Piscina } from 'piscina';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { COPY_FORMATS, DEFAULT_COPY_FORMAT } from '../src/encode/sims.js';
import { generateMatrix } from '../src/input/generate.js';
import { sharedIds, sortBySystematicName } from '../src/input/matrix.js';
import { type BlockStats, blockBounds, emitTaskFor } from '../src/similarity/block.js';
import { prepare, toBuffers } from '../src/similarity/kernel.js';
import { planLoadBlocks } from '../src/similarity/planner.js';
import type { WorkerTask } from '../workers/score.js';
import { median } from '../src/bench/stats.js';

/**
 * benchmark.js suite over the parallel engine's compute-and-write phase alone (score every
 * pair, encode both orderings, write per-block files), for several pool sizes. No database:
 * this is the phase that took 5.9 hours in the original tool.
 */
const a = await yargs(hideBin(process.argv))
  .option('genes', { type: 'number', default: 3000 })
  .option('datasets', { type: 'number', default: 100 })
  .option('threads', { type: 'array', number: true, default: [1, 2, 4, 8] })
  .option('format', { choices: COPY_FORMATS, default: DEFAULT_COPY_FORMAT })
  .option('layout', { choices: ['rows', 'clustered'] as const, default: 'clustered' as const, describe: 'concurrent load tasks, or the clustered load\'s two passes' })
  .option('max-time', { type: 'number', default: 20, describe: 'seconds benchmark.js may spend per pool size' })
  .option('out', { type: 'string', default: 'benchmarks/pool.csv', describe: 'CSV of the results, which `genesim bench` includes in its report' })
  .strict()
  .parseAsync();

const m = sortBySystematicName(generateMatrix({ genes: a.genes, datasets: a.datasets, seed: 1, missing: 0 }));
const n = m.genes.length;
const prepared = prepare(m.values, n, m.datasets.length, 'cosine');
const geneIds = sharedIds(Array.from({ length: n }, (_, i) => i + 1));
const dir = mkdtempSync(path.join(tmpdir(), 'genesim-pool-'));
const worker = new URL('../workers/score.js', import.meta.url).href;

async function computeAndWrite(pool: Piscina, threads: number): Promise<void> {
  const blocks = planLoadBlocks(n, threads);
  const base = { matrix: toBuffers(prepared), geneIds: geneIds.buffer as SharedArrayBuffer, metric: 'cosine', format: a.format };
  const file = (kind: string, k: number) => path.join(dir, `${kind}${k}`);
  if (a.layout === 'rows') {
    await Promise.all(
      blocks.map((b) => pool.run({ ...base, start: b.start, end: b.end, kind: 'rows', via: 'file', file: file('block', b.index) } satisfies WorkerTask)),
    );
  } else {
    // The clustered load's two passes: raw scores and their transpose, then gene1 rows encoded from them.
    await Promise.all(
      blocks.map((b) =>
        pool.run({ ...base, start: b.start, end: b.end, kind: 'triangle', upperFile: file('upper', b.index), lowerFile: file('lower', 0) } satisfies WorkerTask),
      ),
    );
    const bounds = blockBounds(blocks, n);
    await Promise.all(
      blocks.map((b, k) => {
        const files = { upperFile: file('upper', b.index), lowerFile: file('lower', 0) };
        return pool.run({ kind: 'emit', ...emitTaskFor(base, n, bounds, k, files), via: 'file', file: file('emit', b.index) } satisfies WorkerTask) as Promise<BlockStats>;
      }),
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

const suite = new Benchmark.Suite(`compute+write, N = ${n}, D = ${a.datasets}, ${a.format}, ${a.layout} layout`);
const pools = new Map<number, Piscina>();
for (const threads of a.threads) {
  const pool = new Piscina({ filename: worker, minThreads: threads, maxThreads: threads });
  pools.set(threads, pool);
  suite.add(`${threads} thread${threads > 1 ? 's' : ''}`, {
    defer: true,
    minSamples: 3,
    maxTime: a['max-time'],
    fn: (deferred: Benchmark.Deferred) => {
      mkdirSync(dir, { recursive: true });
      computeAndWrite(pool, threads).then(() => deferred.resolve());
    },
  });
}

suite.on('cycle', (event: Benchmark.Event) => process.stderr.write(`${String(event.target)}\n`));
suite.on('complete', async function (this: Benchmark.Suite) {
  const results = this.map((b: Benchmark) => ({ name: b.name, hz: b.hz, sample: b.stats.sample }));
  const base = results[0]!.hz;
  const lines = [
    `${suite.name} (benchmark.js, Node ${process.version}, ${availableParallelism()} cores)`,
    '| pool | ops/s | median s per op | samples | speed-up over 1 thread |',
    '|---|---:|---:|---:|---:|',
    ...results.map((r: { name: string; hz: number; sample: number[] }) => `| ${r.name} | ${r.hz.toFixed(3)} | ${median(r.sample).toFixed(2)} | ${r.sample.length} | ${(r.hz / base).toFixed(2)}× |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const csv = [
    'pool,genes,datasets,layout,format,median_s_per_run,samples,speed_up_over_1_thread',
    ...results.map((r: { name: string; hz: number; sample: number[] }) => `${r.name},${n},${a.datasets},${a.layout},${a.format},${median(r.sample).toFixed(3)},${r.sample.length},${(r.hz / base).toFixed(2)}`),
  ];
  mkdirSync(path.dirname(path.resolve(a.out)), { recursive: true });
  writeFileSync(a.out, `${csv.join('\n')}\n`);
  process.stderr.write(`pool: results written to ${a.out}\n`);
  await Promise.all([...pools.values()].map((p) => p.destroy()));
  rmSync(dir, { recursive: true, force: true });
});

suite.run({ async: true });

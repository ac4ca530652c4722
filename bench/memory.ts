import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { COPY_FORMATS, DEFAULT_COPY_FORMAT } from '../src/encode/sims.js';
import { generateMatrix } from '../src/input/generate.js';
import { sharedIds, sortBySystematicName } from '../src/input/matrix.js';
import { blockBounds, emitTaskFor } from '../src/similarity/block.js';
import { prepare, toBuffers } from '../src/similarity/kernel.js';
import { planLoadBlocks } from '../src/similarity/planner.js';
import type { WorkerTask } from '../workers/score.js';

/**
 * Peak RSS of the clustered load's compute-and-write passes alone (no database), with the
 * engine's bound on blocks in flight: where memory that grows with N rather than N·D would show.
 */
const a = await yargs(hideBin(process.argv))
  .option('genes', { type: 'number', default: 6500 })
  .option('datasets', { type: 'number', default: 100 })
  .option('threads', { type: 'number', default: 2 })
  .option('format', { choices: COPY_FORMATS, default: DEFAULT_COPY_FORMAT })
  .strict()
  .parseAsync();

const m = sortBySystematicName(generateMatrix({ genes: a.genes, datasets: a.datasets, seed: 1, missing: 0 }));
const n = m.genes.length;
const base = { matrix: toBuffers(prepare(m.values, n, m.datasets.length, 'cosine')), geneIds: sharedIds(Array.from({ length: n }, (_, i) => i + 1)).buffer as SharedArrayBuffer, metric: 'cosine', format: a.format };
const dir = mkdtempSync(path.join(tmpdir(), 'genesim-memory-'));
const file = (kind: string, k: number) => path.join(dir, `${kind}${k}`);
const pool = new Piscina({ filename: new URL('../workers/score.js', import.meta.url).href, minThreads: a.threads, maxThreads: a.threads });
const blocks = planLoadBlocks(n, a.threads);
const t0 = performance.now();
try {
  await Promise.all(blocks.map((b) => pool.run({ ...base, start: b.start, end: b.end, kind: 'triangle', upperFile: file('upper', b.index), lowerFile: file('lower', 0) } satisfies WorkerTask)));
  const bounds = blockBounds(blocks, n);
  const afterTriangles = process.resourceUsage().maxRSS;
  for (let k = 0; k < blocks.length; k += a.threads) {
    await Promise.all(
      blocks.slice(k, k + a.threads).map(async (b) => {
        const files = { upperFile: file('upper', b.index), lowerFile: file('lower', 0) };
        await pool.run({ kind: 'emit', ...emitTaskFor(base, n, bounds, b.index, files), via: 'file', file: file('emit', b.index) } satisfies WorkerTask);
        rmSync(file('emit', b.index));
      }),
    );
  }
  const mb = (kb: number) => (kb / 1024).toFixed(0);
  process.stdout.write(
    `N ${n}, D ${a.datasets}, ${blocks.length} blocks, ${a.threads} threads, ${a.format}: peak RSS ${mb(afterTriangles)} MB after scoring, ${mb(process.resourceUsage().maxRSS)} MB after emitting; ` +
      `N·D·8 = ${((n * a.datasets * 8) / 2 ** 20).toFixed(1)} MB; ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
} finally {
  await pool.destroy();
  rmSync(dir, { recursive: true, force: true });
}

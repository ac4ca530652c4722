import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runGenerate } from '../src/commands/generate.js';
import { loadMatrixFile } from '../src/input/load.js';
import { sortBySystematicNameInPlace } from '../src/input/matrix.js';

/**
 * A large matrix through the streaming readers: generates a TSV (20,000 genes × 5,000
 * datasets, about 1 GB) with `generate`, then loads it as `create` does (read, then sort by
 * name), each in a process of its own so that each peak RSS is its own. The goal: loading
 * peaks at no more than the matrix itself (N × D × 8 bytes) plus 300 MB.
 */
const a = await yargs(hideBin(process.argv))
  .option('genes', { type: 'number', default: 20_000 })
  .option('datasets', { type: 'number', default: 5_000 })
  .option('dir', { type: 'string', default: path.join(tmpdir(), 'genesim-bench-input') })
  .option('keep', { type: 'boolean', default: false, describe: 'keep the generated file for another run' })
  .option('phase', { choices: ['generate', 'load'] as const, describe: 'internal: run one phase in this process' })
  .strict()
  .parseAsync();

const file = path.join(a.dir, `matrix-${a.genes}x${a.datasets}.tsv`);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
/** Peak resident set of this process so far (the kernel's high-water mark, in bytes). */
const peakRss = () => process.resourceUsage().maxRSS * 1024;

interface PhaseResult {
  seconds: number;
  peakRssBytes: number;
  genes?: number;
}

if (a.phase) {
  const started = process.hrtime.bigint();
  let genes: number | undefined;
  if (a.phase === 'generate') await runGenerate({ genes: a.genes, datasets: a.datasets, seed: 1, missing: 0.02, out: file });
  else genes = sortBySystematicNameInPlace(await loadMatrixFile(file)).genes.length;
  const result: PhaseResult = { seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssBytes: peakRss(), genes };
  process.stdout.write(JSON.stringify(result));
} else {
  mkdirSync(a.dir, { recursive: true });
  const self = fileURLToPath(import.meta.url);
  const phase = (name: 'generate' | 'load'): PhaseResult => {
    const r = spawnSync(process.execPath, [self, '--genes', String(a.genes), '--datasets', String(a.datasets), '--dir', a.dir, '--phase', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`${name} failed with status ${r.status}`);
    return JSON.parse(r.stdout) as PhaseResult;
  };
  const generated = existsSync(file) ? null : phase('generate');
  const bytes = statSync(file).size;
  const loaded = phase('load');
  if (!a.keep) rmSync(file, { force: true });
  const matrix = a.genes * a.datasets * 8;
  const lines = [
    `input: ${a.genes.toLocaleString('en-US')} genes × ${a.datasets.toLocaleString('en-US')} datasets, ${mb(bytes)} of TSV`,
    generated ? `generate: ${generated.seconds.toFixed(1)} s, peak RSS ${mb(generated.peakRssBytes)}` : 'generate: file reused',
    `load (read + sort): ${loaded.seconds.toFixed(1)} s, ${loaded.genes} genes, peak RSS ${mb(loaded.peakRssBytes)}`,
    `matrix N × D × 8: ${mb(matrix)}; peak RSS − matrix: ${mb(loaded.peakRssBytes - matrix)} (goal: at most 300 MB)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { clientConfig } from '../src/db/connect.js';
import { type ReaderStats, startReaderProbe } from '../src/db/readerProbe.js';
import { formatTsv, generateMatrix } from '../src/input/generate.js';
import type { Matrix } from '../src/input/matrix.js';
import { Random } from '../src/input/random.js';
import { projectRoot } from '../src/paths.js';
import { benchConfig } from './database.js';

/**
 * How long the application's readers wait while genesim replaces the matrix under them.
 * Runs the real CLI (`create --strategy parallel`, then `update --strategy parallel` to a
 * matrix with one more dataset, so every score changes) against a database of its own, while a
 * reader here runs the ranked-similar query every 10 ms for random genes, through each whole
 * run. Reports that reader's longest wait, and the engine's own `<strategy>_reader_stall_max`
 * (its probe around the swap). The goal: at most 0.1 s at 6,500 genes.
 */
const a = await yargs(hideBin(process.argv))
  .option('genes', { type: 'number', default: 6500 })
  .option('datasets', { type: 'number', default: 100 })
  .option('threads', { type: 'number', default: availableParallelism() })
  .strict()
  .parseAsync();

const say = (line: string) => process.stderr.write(`readers-bench: ${line}\n`);
const A = generateMatrix({ genes: a.genes, datasets: a.datasets, seed: 1, missing: 0 });
const r = new Random(7);
const d = A.datasets.length;
const B: Matrix = { ...A, datasets: [...A.datasets, 'new_dataset'], values: new Float64Array(A.genes.length * (d + 1)) };
A.genes.forEach((_, i) => {
  B.values.set(A.values.subarray(i * d, i * d + d), i * (d + 1));
  B.values[i * (d + 1) + d] = Math.round(r.normal() * 1000) / 1000;
});
const files = {
  A: path.join(tmpdir(), `genesim-readers-A-${a.genes}.tsv`),
  B: path.join(tmpdir(), `genesim-readers-B-${a.genes}.tsv`),
  results: path.join(tmpdir(), `genesim-readers-results-${process.pid}.csv`),
};
writeFileSync(files.A, formatTsv(A));
writeFileSync(files.B, formatTsv(B));

const { target, stop } = await benchConfig(say, 'genesim_bench_readers');
const { DATABASE_URL: _, ...inherited } = process.env;
const env = { ...inherited, PGHOST: target.host, PGPORT: String(target.port ?? 5432), PGUSER: target.user, PGPASSWORD: target.password ?? '', PGDATABASE: target.database };
const ids = Array.from({ length: a.genes }, (_, i) => i + 1);
const rows = ['| run | genes | total s | swap s | reader here: queries | longest wait s | errors | engine probe: longest wait s |', '|---|---:|---:|---:|---:|---:|---:|---:|'];

async function genesim(args: string[]): Promise<void> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'src', 'cli.js'), ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`genesim ${args.join(' ')} exited ${code}`);
}

/** One run of the CLI; its results CSV as metric -> seconds. */
async function cli(args: string[]): Promise<Map<string, number>> {
  await genesim([...args, '--threads', String(a.threads), '--results', files.results]);
  const lines = readFileSync(files.results, 'utf8').trim().split('\n').slice(1);
  return new Map(lines.map((l) => l.split(',')).map(([metric, seconds]) => [metric!, Number(seconds)]));
}

async function measured(label: string, prefix: string, args: string[]): Promise<void> {
  const reader = await startReaderProbe(clientConfig(target), ids);
  let results: Map<string, number>;
  let seen: ReaderStats;
  try {
    results = await cli(args);
  } finally {
    seen = await reader.stop();
  }
  const s = (m: string) => results.get(`${prefix}_${m}`)?.toFixed(3) ?? '';
  rows.push(`| ${label} | ${a.genes.toLocaleString('en-US')} | ${s('total')} | ${s('swap')} | ${seen.queries} | ${seen.maxSeconds.toFixed(3)} | ${seen.errors} | ${s('reader_stall_max')} |`);
  if (seen.firstError) say(`first reader error: ${seen.firstError}`);
}

try {
  // The reader needs the table to exist from its first query on.
  await genesim(['migrate']);
  await measured('create', 'parallel', ['create', '--strategy', 'parallel', '--input', files.A, '--replace']);
  await measured('update', 'parallel_update', ['update', '--strategy', 'parallel', '--input', files.B]);
} finally {
  for (const file of Object.values(files)) rmSync(file, { force: true });
  await stop();
}
process.stdout.write(`${rows.join('\n')}\n\nD = ${a.datasets}; the update adds one dataset, so every score changes; the reader runs the ranked-similar query every 10 ms for random genes\n`);
process.exit(0);

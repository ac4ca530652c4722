import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadConfig, readEnv } from '../src/config.js';
import { clientConfig, resolveServer } from '../src/db/connect.js';
import type { ServerTarget } from '../src/db/embedded.js';
import { projectRoot } from '../src/paths.js';

/**
 * The parallel create at growing N, each in a fresh database, through the real CLI (one process
 * per size, so its peak RSS is its own): seconds per million rows overall and per phase, peak
 * RSS, peak temp disk and the database's size. A size genesim refuses (exit 3) is reported as such
 * and the next size runs; any other failure stops the benchmark with genesim's own line.
 */
const a = await yargs(hideBin(process.argv))
  .option('genes', { type: 'string', default: '1000,2000,4000,6500,13000,20000', describe: 'sizes, comma-separated' })
  .option('datasets', { type: 'number', default: 100 })
  .option('out', { type: 'string', default: 'bench/results/scale.md' })
  .strict()
  .parseAsync();

const sizes = a.genes.split(',').map(Number);
const say = (line: string) => process.stderr.write(`scale: ${line}\n`);
const CLI = path.join(projectRoot, 'dist', 'src', 'cli.js');
const DB = 'genesim_scale';
const PHASES = ['create_sims', 'constraints', 'foreign_keys', 'analyze', 'create_data', 'swap'];

interface Row {
  genes: number;
  refused?: string;
  total?: number;
  phases?: Record<string, number>;
  rssBytes?: number;
  tempBytes?: number;
  dbBytes?: number;
}

async function admin<T>(target: ServerTarget, database: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ ...clientConfig(target), database });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

function dirBytes(dir: string): number {
  let sum = 0;
  for (const f of readdirSync(dir)) {
    try {
      sum += statSync(path.join(dir, f)).size;
    } catch {
      // removed between the listing and the stat
    }
  }
  return sum;
}

async function runOne(target: ServerTarget, genes: number): Promise<Row> {
  await admin(target, 'postgres', async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${DB}`);
  });
  const work = mkdtempSync(path.join(tmpdir(), 'genesim-scale-'));
  const results = path.join(work, 'results.csv');
  const tmp = path.join(work, 'tmp');
  mkdirSync(tmp);
  const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: target.host, PGPORT: String(target.port ?? 5432), PGUSER: target.user, PGPASSWORD: target.password ?? '', PGDATABASE: DB };
  delete env.DATABASE_URL;
  let tempPeak = 0;
  const sampler = setInterval(() => (tempPeak = Math.max(tempPeak, dirBytes(tmp))), 250);
  try {
    const child = spawn(process.execPath, [CLI, 'create', '--strategy', 'parallel', '--genes', String(genes), '--datasets', String(a.datasets), '--tmp-dir', tmp, '--results', results], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code === 3) return { genes, refused: stderr.trim().split('\n').pop()!.replace(/^genesim: /, '') };
    if (code !== 0) throw new Error(`genes ${genes}: exit ${code}: ${stderr.trim().split('\n').pop()}`);
    const m = new Map(
      readFileSync(results, 'utf8').trim().split('\n').slice(1).map((l) => {
        const [metric, seconds, count] = l.split(',');
        return [metric!, { seconds: seconds === '' ? null : Number(seconds), count: Number(count) }];
      }),
    );
    const dbBytes = await admin(target, DB, async (c) => Number((await c.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b')).rows[0]!.b));
    return {
      genes,
      total: m.get('parallel_total')!.seconds!,
      phases: Object.fromEntries(PHASES.map((p) => [p, m.get(`parallel_${p}`)?.seconds ?? Number.NaN])),
      rssBytes: m.get('parallel_peak_rss_bytes')!.count,
      tempBytes: tempPeak,
      dbBytes,
    };
  } finally {
    clearInterval(sampler);
    rmSync(work, { recursive: true, force: true });
    await admin(target, 'postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));
  }
}

const server = await resolveServer(loadConfig(readEnv(process.env)), say);
const rows: Row[] = [];
try {
  for (const genes of sizes) {
    say(`${genes} genes (${(genes * genes).toLocaleString('en-US')} rows)...`);
    const r = await runOne(server.target, genes);
    rows.push(r);
    say(r.refused ? `${genes}: refused: ${r.refused}` : `${genes}: ${r.total!.toFixed(1)} s, ${((r.total! * 1e6) / genes ** 2).toFixed(2)} s per million rows, peak RSS ${(r.rssBytes! / 2 ** 20).toFixed(0)} MB`);
  }
} finally {
  await server.stop();
}

const perM = (s: number, genes: number) => ((s * 1e6) / genes ** 2).toFixed(2);
const ref = rows.find((r) => r.genes === 6500 && r.total !== undefined);
const lines = [
  `| genes | rows | total s | s per M rows | vs 6,500 | ${PHASES.map((p) => `${p} s/M`).join(' | ')} | peak RSS MB | peak temp MB | database GB |`,
  `|---:|---:|---:|---:|---:|${PHASES.map(() => '---:').join('|')}|---:|---:|---:|`,
  ...rows.map((r) =>
    r.refused
      ? `| ${r.genes.toLocaleString('en-US')} | ${(r.genes ** 2).toLocaleString('en-US')} | refused up front: ${r.refused} |`
      : `| ${r.genes.toLocaleString('en-US')} | ${(r.genes ** 2).toLocaleString('en-US')} | ${r.total!.toFixed(1)} | ${perM(r.total!, r.genes)} | ${
          ref ? ((r.total! / r.genes ** 2) / (ref.total! / ref.genes ** 2)).toFixed(2) : ''
        } | ${PHASES.map((p) => perM(r.phases![p]!, r.genes)).join(' | ')} | ${(r.rssBytes! / 2 ** 20).toFixed(0)} | ${(r.tempBytes! / 2 ** 20).toFixed(0)} | ${(r.dbBytes! / 1e9).toFixed(2)} |`,
  ),
];
const report = `Parallel create by size (D = ${a.datasets}; \`node dist/bench/scale.js --genes ${a.genes}\`), ${new Date().toISOString().slice(0, 10)}\n\n${lines.join('\n')}\n`;
mkdirSync(path.dirname(a.out), { recursive: true });
writeFileSync(a.out, report);
process.stdout.write(report);

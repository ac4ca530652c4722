import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { projectRoot } from '../src/paths.js';
import { startCitusCluster } from './citusCluster.js';
import { cpuOfTree, postmasterPid } from './procCpu.js';

/**
 * The parallel create on a local Citus cluster (a coordinator and 2 workers, the test harness's)
 * against plain PostgreSQL with the same settings (a database on the coordinator's server without
 * the extension), in one invocation, through the real CLI. Per phase: wall seconds, and the CPU
 * seconds each server and genesim itself spent in it (from /proc, sampled at the phase's start and
 * end events of `--progress json`), so the coordinator's share of each phase can be read off.
 */
const a = await yargs(hideBin(process.argv))
  .option('genes', { type: 'number', default: 6500 })
  .option('datasets', { type: 'number', default: 100 })
  .option('shards', { type: 'number', default: 8 })
  .option('out', { type: 'string', default: 'bench/results/citus-6500.md' })
  .strict()
  .parseAsync();

const CLI = path.join(projectRoot, 'dist', 'src', 'cli.js');
const say = (line: string) => process.stderr.write(`citus bench: ${line}\n`);

interface PhaseRow {
  name: string;
  seconds: number;
  cpu: number[];
}

async function timedCreate(env: NodeJS.ProcessEnv, nodes: number[]): Promise<{ total: number; phases: PhaseRow[] }> {
  const child = spawn(process.execPath, [CLI, 'create', '--strategy', 'parallel', '--genes', String(a.genes), '--datasets', String(a.datasets), '--replace', '--progress', 'json', '--results', '/dev/null'], { env });
  const sample = () => [...nodes.map(cpuOfTree), cpuOfTree(child.pid!)];
  const open = new Map<string, { at: number; cpu: number[] }>();
  const phases: PhaseRow[] = [];
  let stderr = '';
  let buffer = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const e = JSON.parse(line) as { type: string; name?: string; state?: string };
      if (e.type !== 'phase') continue;
      if (e.state === 'start') open.set(e.name!, { at: performance.now(), cpu: sample() });
      else {
        const s = open.get(e.name!);
        if (!s) continue;
        const now = sample();
        phases.push({ name: e.name!, seconds: (performance.now() - s.at) / 1000, cpu: now.map((c, k) => c - s.cpu[k]!) });
      }
    }
  });
  const t0 = performance.now();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`create failed (${code}): ${stderr}`);
  return { total: (performance.now() - t0) / 1000, phases };
}

const cluster = await startCitusCluster();
try {
  const nodes = ['coordinator', 'worker1', 'worker2'].map((n) => postmasterPid(path.join(cluster.dir, n)));
  const plain = await cluster.database('genesim_bench_citus_plain', { citus: false });
  const citus = await cluster.database('genesim_bench_citus_cluster');
  const migrate = (env: NodeJS.ProcessEnv, args: string[]) =>
    new Promise<void>((resolve, reject) =>
      spawn(process.execPath, [CLI, 'migrate', ...args], { env, stdio: 'inherit' }).on('close', (c) => (c === 0 ? resolve() : reject(new Error(`migrate ${c}`)))),
    );
  await migrate(plain.env, []);
  await migrate(citus.env, ['--citus', '--shards', String(a.shards)]);
  say(`plain PostgreSQL, ${a.genes} genes`);
  const p = await timedCreate(plain.env, nodes);
  say(`plain: ${p.total.toFixed(1)} s; Citus (${a.shards} shards on 2 workers)`);
  const c = await timedCreate(citus.env, nodes);
  say(`Citus: ${c.total.toFixed(1)} s`);
  const fmt = (x: number) => x.toFixed(1);
  const lines = [
    `Parallel create, ${a.genes.toLocaleString('en-US')} genes × ${a.datasets} datasets, \`node dist/bench/citus.js --genes ${a.genes} --shards ${a.shards}\`, ${new Date().toISOString().slice(0, 10)}`,
    '',
    `| run | total s |`,
    '|---|---:|',
    `| plain PostgreSQL (coordinator's server, no extension) | ${fmt(p.total)} |`,
    `| Citus, coordinator + 2 workers, ${a.shards} shards | ${fmt(c.total)} |`,
    `| ratio Citus / plain | ${(c.total / p.total).toFixed(2)} |`,
    '',
    'Per phase: wall seconds and CPU seconds of each server (all its processes) and of genesim (its threads).',
    '',
    '| run | phase | wall s | coordinator CPU s | worker1 CPU s | worker2 CPU s | genesim CPU s |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...[
      ['plain', p],
      ['citus', c],
    ].flatMap(([label, r]) => (r as typeof p).phases.map((ph) => `| ${label as string} | ${ph.name} | ${fmt(ph.seconds)} | ${ph.cpu.map(fmt).join(' | ')} |`)),
    '',
  ];
  writeFileSync(a.out, lines.join('\n'));
  process.stdout.write(lines.join('\n'));
  await plain.drop();
  await citus.drop();
} finally {
  cluster.stop();
}

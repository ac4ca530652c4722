import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config.js';
import { clientConfig, resolveServer } from '../db/connect.js';
import type { ServerTarget } from '../db/embedded.js';
import { runCli } from '../bench/child.js';
import { citusNodesOf, dropCitusDatabase, makeCitusDatabase } from '../bench/citusDatabases.js';
import { measureFloor, prepareFloorDatabase, writeFloorFile } from '../bench/floor.js';
import { describeMachine } from '../bench/machine.js';
import { writeUpdateTarget } from '../bench/matrices.js';
import { type ProxyProcess, type ProxyUsage, startProxyProcess } from '../bench/proxyControl.js';
import { readerLatency } from '../bench/reader.js';
import {
  appliesTo,
  type BenchAction,
  type BenchStrategy,
  budgeted,
  type FloorRecord,
  phasesOf,
  projectCreate,
  type RunRecord,
  summarise,
  type SummaryRow,
} from '../bench/summary.js';
import { loadChartRenderer } from '../report/benchChart.js';
import { benchReportMarkdown, type ProxyFigures } from '../report/benchReport.js';
import type { Measurement } from '../report/timer.js';
import { removeTemp } from '../tempFiles.js';

export interface BenchOptions {
  genes: number[];
  datasets: number;
  strategies: BenchStrategy[];
  actions: BenchAction[];
  repeat: number;
  budgetSeconds: number | null;
  latencyMs: number[];
  out: string;
  readers: number;
  /** Share of missing values of the second set of creates (0: complete matrices only). */
  missing: number;
  /** The command line, for the report. */
  command: string;
}

export interface BenchOutcome {
  rows: SummaryRow[];
  reportFile: string;
  chartFile: string;
}

function parseResults(file: string): Measurement[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [metric, seconds, count] = line.split(',');
      return { metric: metric!, seconds: seconds === '' ? null : Number(seconds), count: Number(count) };
    });
}

const csv = (header: string[], rows: unknown[][]) => [header.join(','), ...rows.map((r) => r.map((v) => (v === null || v === undefined ? '' : String(v).includes(',') ? `"${v}"` : String(v))).join(','))].join('\n') + '\n';

function clock(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * Every strategy and action at every size and latency, in fresh databases, through the real
 * CLI; the floor beside them at each size; medians, a markdown report, a chart and raw CSVs.
 */
export async function runBench(config: Config, o: BenchOptions, say: (line: string) => void, signal: AbortSignal): Promise<BenchOutcome> {
  const benchChartSvg = await loadChartRenderer();
  const server = await resolveServer(config, say);
  const target: ServerTarget = server.target;
  const admin = new pg.Client({ ...clientConfig(target), database: 'postgres' });
  await admin.connect();
  // A Citus coordinator: the strategies run in Citus databases laid out like the one pointed at.
  const citus = await citusNodesOf(clientConfig(target));
  if (citus) say(`Citus coordinator: fresh databases on it and ${citus.workers.length} workers, ${citus.shards} shards; the floor in a plain database on the coordinator`);
  const work = mkdtempSync(path.join(tmpdir(), 'genesim-bench-'));
  // The floor's file is read by the server's own user, who must be able to reach it.
  chmodSync(work, 0o711);
  const proxies = new Map<number, ProxyProcess>();
  const proxyFigures = new Map<number, ProxyFigures>();
  const runs: RunRecord[] = [];
  const floors: FloorRecord[] = [];
  const phaseRows: unknown[][] = [];
  const started = new Date();
  const t0 = performance.now();
  const plan = o.actions.flatMap((action) => o.strategies.filter((s) => appliesTo(s, action)).map((strategy) => ({ action, strategy })));
  // Creates run on complete matrices and on matrices with holes; updates on complete ones.
  const shares = o.missing > 0 ? [0, o.missing] : [0];
  const runsOf = (missing: number) => plan.filter((p) => missing === 0 || p.action === 'create');
  const totalRuns = o.genes.length * o.repeat * (1 + o.latencyMs.length * shares.reduce((a, s) => a + runsOf(s).length, 0));
  let done = 0;
  let dbCounter = 0;
  let live: { name: string; citus: boolean } | null = null;

  const progress = (what: string, seconds: number) => {
    done++;
    const elapsed = (performance.now() - t0) / 1000;
    const end = new Date(Date.now() + (elapsed / done) * (totalRuns - done) * 1000);
    say(`[${done}/${totalRuns}] ${what}: ${seconds.toFixed(2)} s (elapsed ${clock(elapsed)}, projected end ${end.toISOString().slice(11, 16)} UTC)`);
  };
  /** A database of the run's own; on Citus a cluster database unless `plain` (the floor: PostgreSQL's own load path on one server). */
  const freshDatabase = async (o: { plain?: boolean } = {}) => {
    const name = `genesim_bench_${process.pid}_${++dbCounter}`;
    live = { name, citus: citus !== null && !o.plain };
    if (live.citus) await makeCitusDatabase(clientConfig(target), citus!, name);
    else await admin.query(`CREATE DATABASE ${name}`);
    return name;
  };
  const dropDatabase = async () => {
    if (live?.citus) await dropCitusDatabase(clientConfig(target), citus!, live.name);
    else if (live) await admin.query(`DROP DATABASE IF EXISTS ${live.name} WITH (FORCE)`);
    live = null;
  };
  const envFor = (database: string, port?: number): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PGHOST: port === undefined ? target.host : '127.0.0.1',
    PGPORT: String(port ?? target.port ?? 5432),
    PGUSER: target.user,
    PGPASSWORD: target.password ?? '',
    PGDATABASE: database,
  });
  const proxyFor = async (latencyMs: number) => {
    if (latencyMs === 0) return null;
    let p = proxies.get(latencyMs);
    if (!p) {
      p = await startProxyProcess({ host: target.host ?? '127.0.0.1', port: target.port ?? 5432 }, latencyMs / 2);
      proxies.set(latencyMs, p);
      proxyFigures.set(latencyMs, { latencyMs, cpuSeconds: 0, wallSeconds: 0, chunks: 0, meanHoldMs: 0 });
    }
    return p;
  };

  async function floorRun(genes: number, repeat: number, file: string): Promise<void> {
    const db = await freshDatabase({ plain: true });
    try {
      await prepareFloorDatabase({ ...clientConfig(target), database: db }, genes);
      const { measurements, mode } = await measureFloor({ ...clientConfig(target), database: db }, file, genes * genes);
      const s = (k: string) => measurements.find((m) => m.metric === `floor_${k}`)!.seconds!;
      floors.push({ genes, repeat, seconds: s('total'), copySeconds: s('copy'), constraintsSeconds: s('constraints'), mode });
      for (const m of measurements) phaseRows.push(['floor', 'floor', genes, 0, 0, repeat, m.metric, m.seconds, m.count]);
      progress(`floor N=${genes} repeat ${repeat}/${o.repeat}`, s('total'));
    } finally {
      await dropDatabase();
    }
  }

  async function strategyRun(action: BenchAction, strategy: BenchStrategy, genes: number, latencyMs: number, missing: number, repeat: number, updateTarget: string): Promise<void> {
    const db = await freshDatabase();
    const cliStrategy = strategy === 'parallel-concurrent' ? 'parallel' : strategy;
    const extra = strategy === 'parallel-concurrent' ? ['--load', 'concurrent'] : [];
    const results = path.join(work, `${action}-${strategy}-${genes}-${latencyMs}-${missing}-${repeat}.csv`);
    const base: Omit<RunRecord, 'status' | 'seconds' | 'projectedSeconds' | 'measuredRate' | 'phases' | 'note'> = {
      action, strategy, genes, latencyMs, missing, repeat, readerP50Ms: null, readerP95Ms: null, peakRssBytes: null, proxyCpuSeconds: null,
    };
    let record: RunRecord;
    try {
      if (action === 'update') {
        // Matrix A, made by the parallel engine straight to the server: setup, not measured.
        const a = await runCli(['create', '--strategy', 'parallel', '--genes', String(genes), '--datasets', String(o.datasets), '--seed', '1', '--results', path.join(work, 'setup.csv')], envFor(db));
        if (a.status !== 0) throw new Error(`creating matrix A failed: ${a.stderr.trim().split('\n').at(-1)}`);
      }
      const proxy = await proxyFor(latencyMs);
      const env = envFor(db, proxy?.port);
      const args =
        action === 'create'
          ? ['create', '--strategy', cliStrategy, ...extra, '--genes', String(genes), '--datasets', String(o.datasets), '--seed', '1', '--missing', String(missing), '--results', results]
          : ['update', '--strategy', cliStrategy, ...extra, '--input', updateTarget, '--results', results];
      const useBudget = o.budgetSeconds !== null && budgeted(strategy);
      if (useBudget) args.push('--budget-seconds', String(o.budgetSeconds));
      const before: ProxyUsage | null = proxy ? await proxy.usage() : null;
      const out = await runCli(args, env);
      if (proxy && before) {
        const after = await proxy.usage();
        const f = proxyFigures.get(latencyMs)!;
        const chunks = after.chunks - before.chunks;
        const held = after.meanHoldMs * after.chunks - before.meanHoldMs * before.chunks;
        f.meanHoldMs = (f.meanHoldMs * f.chunks + held) / Math.max(1, f.chunks + chunks);
        f.chunks += chunks;
        f.cpuSeconds += after.cpuSeconds - before.cpuSeconds;
        f.wallSeconds += out.seconds;
        base.proxyCpuSeconds = after.cpuSeconds - before.cpuSeconds;
      }
      base.peakRssBytes = out.peakRssBytes;
      const measurements = parseResults(results);
      const prefix = action === 'create' ? cliStrategy : `${cliStrategy}_update`;
      for (const m of measurements) phaseRows.push([action, strategy, genes, latencyMs, missing, repeat, m.metric, m.seconds, m.count]);
      const total = measurements.find((m) => m.metric === `${prefix}_total`)?.seconds ?? out.seconds;
      const phases = phasesOf(measurements, prefix);
      const projection = out.status === 0 ? projectCreate(measurements, prefix, genes, o.datasets) : null;
      if (out.status === 0 && projection) {
        record = { ...base, status: 'projected', seconds: total, projectedSeconds: projection.seconds, measuredRate: projection.rate, phases, note: `stopped at the ${o.budgetSeconds} s budget` };
      } else if (out.status === 0 && measurements.some((m) => m.metric.endsWith('_stopped'))) {
        record = { ...base, status: 'stopped', seconds: total, projectedSeconds: null, measuredRate: null, phases, note: `no rows within the ${o.budgetSeconds} s budget` };
      } else if (out.status === 0) {
        record = { ...base, status: 'complete', seconds: total, projectedSeconds: null, measuredRate: null, phases, note: '' };
      } else if (useBudget && action === 'update' && out.status === 130) {
        record = { ...base, status: 'stopped', seconds: out.seconds, projectedSeconds: null, measuredRate: null, phases, note: `stopped at the ${o.budgetSeconds} s budget` };
      } else {
        record = { ...base, status: 'failed', seconds: out.seconds, projectedSeconds: null, measuredRate: null, phases, note: `exit ${out.status ?? out.signal}: ${out.stderr.trim().split('\n').at(-1) ?? ''}` };
      }
      if (record.status === 'complete' && o.readers > 0) {
        const r = await readerLatency({ ...clientConfig(target), host: env.PGHOST, port: Number(env.PGPORT), database: db }, o.readers);
        record.readerP50Ms = r.p50Ms;
        record.readerP95Ms = r.p95Ms;
      }
    } catch (err) {
      record = { ...base, status: 'failed', seconds: Number.NaN, projectedSeconds: null, measuredRate: null, phases: {}, note: (err as Error).message };
    } finally {
      await dropDatabase();
    }
    runs.push(record);
    const figure =
      record.status === 'projected' ? `${record.seconds.toFixed(1)} s, stopped at the budget, projected ${record.projectedSeconds!.toFixed(1)} s` : record.status === 'complete' ? `${record.seconds.toFixed(2)} s` : `${record.status}: ${record.note}`;
    progress(`${action} ${strategy} N=${genes} latency ${latencyMs} ms missing ${missing} repeat ${repeat}/${o.repeat} (${figure})`, record.seconds);
  }

  try {
    const machine = await describeMachine({ ...clientConfig(target), database: 'postgres' });
    for (const genes of o.genes) {
      const floorFile = await writeFloorFile({ genes, datasets: o.datasets, seed: 1 }, work);
      const updateTarget = path.join(work, `update-target-${genes}.tsv`);
      if (o.actions.includes('update')) await writeUpdateTarget(updateTarget, genes, o.datasets);
      // Repeats outermost, so a slow spell on a shared machine spreads over every strategy.
      for (let repeat = 1; repeat <= o.repeat && !signal.aborted; repeat++) {
        await floorRun(genes, repeat, floorFile);
        for (const latencyMs of o.latencyMs) {
          for (const missing of shares) {
            for (const { action, strategy } of runsOf(missing)) {
              if (signal.aborted) break;
              await strategyRun(action, strategy, genes, latencyMs, missing, repeat, updateTarget);
            }
          }
        }
      }
      await removeTemp(floorFile);
      rmSync(updateTarget, { force: true });
    }
    const rows = summarise(runs, floors);
    await mkdir(o.out, { recursive: true });
    const poolFile = path.join(o.out, 'pool.csv');
    const poolCsv = existsSync(poolFile) ? await readFile(poolFile, 'utf8') : null;
    const reportFile = path.join(o.out, 'report.md');
    const chartFile = path.join(o.out, 'report.svg');
    await writeFile(
      reportFile,
      benchReportMarkdown({ command: o.command, started, datasets: o.datasets, repeat: o.repeat, budgetSeconds: o.budgetSeconds, readers: o.readers, machine, rows, runs, floors, proxies: [...proxyFigures.values()], poolCsv }),
    );
    await writeFile(chartFile, await benchChartSvg(rows, floors));
    await writeFile(
      path.join(o.out, 'runs.csv'),
      csv(
        ['action', 'strategy', 'genes', 'latency_ms', 'missing', 'repeat', 'status', 'seconds', 'projected_seconds', 'measured_rows_per_s', 'reader_p50_ms', 'reader_p95_ms', 'peak_rss_bytes', 'proxy_cpu_s', 'note'],
        runs.map((r) => [r.action, r.strategy, r.genes, r.latencyMs, r.missing, r.repeat, r.status, r.seconds.toFixed(3), r.projectedSeconds?.toFixed(3), r.measuredRate?.toFixed(0), r.readerP50Ms?.toFixed(3), r.readerP95Ms?.toFixed(3), r.peakRssBytes, r.proxyCpuSeconds?.toFixed(3), r.note]),
      ),
    );
    await writeFile(path.join(o.out, 'phases.csv'), csv(['action', 'strategy', 'genes', 'latency_ms', 'missing', 'repeat', 'metric', 'seconds', 'count'], phaseRows));
    await writeFile(
      path.join(o.out, 'floor.csv'),
      csv(['genes', 'repeat', 'seconds', 'copy_seconds', 'constraints_seconds', 'mode'], floors.map((f) => [f.genes, f.repeat, f.seconds.toFixed(3), f.copySeconds.toFixed(3), f.constraintsSeconds.toFixed(3), f.mode])),
    );
    await writeFile(
      path.join(o.out, 'summary.csv'),
      csv(
        ['action', 'strategy', 'genes', 'latency_ms', 'missing', 'rows', 'seconds', 'projected', 'rows_per_s', 'floor_ratio', 'speed_up', 'reader_p50_ms', 'reader_p95_ms', 'runs'],
        rows.map((r) => [r.action, r.strategy, r.genes, r.latencyMs, r.missing, r.rows, r.seconds?.toFixed(3), r.projected, r.rowsPerSecond?.toFixed(0), r.floorRatio?.toFixed(3), r.speedUp?.toFixed(2), r.readerP50Ms?.toFixed(3), r.readerP95Ms?.toFixed(3), r.runs]),
      ),
    );
    return { rows, reportFile, chartFile };
  } finally {
    await dropDatabase().catch(() => undefined);
    await admin.end().catch(() => undefined);
    for (const p of proxies.values()) await p.stop();
    rmSync(work, { recursive: true, force: true });
    await server.stop();
  }
}

import type { Machine } from '../bench/machine.js';
import { median } from '../bench/stats.js';
import type { FloorRecord, RunRecord, SummaryRow } from '../bench/summary.js';

export interface ProxyFigures {
  latencyMs: number;
  cpuSeconds: number;
  wallSeconds: number;
  chunks: number;
  meanHoldMs: number;
}

export interface BenchReportInput {
  command: string;
  started: Date;
  datasets: number;
  repeat: number;
  budgetSeconds: number | null;
  readers: number;
  machine: Machine;
  rows: SummaryRow[];
  runs: RunRecord[];
  floors: FloorRecord[];
  proxies: ProxyFigures[];
  /** benchmark.js pool-size results (`npm run bench:pool`), as its CSV, when present. */
  poolCsv: string | null;
}

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const fixed = (x: number | null, d: number) => (x === null ? '' : x.toFixed(d));
const PROJECTED = '(projected)';

/** Seconds as the table shows them: projections say so in the cell itself, so a copied cell cannot lose it. */
function secondsCell(r: SummaryRow): string {
  if (r.seconds === null) return `not finished: ${r.unfinished}`;
  return r.projected ? `${r.seconds.toFixed(1)} ${PROJECTED}` : r.seconds.toFixed(2);
}

function phasesCell(r: SummaryRow): string {
  const total = r.seconds ?? 0;
  const shown = Object.entries(r.phases).filter(([, s]) => s >= 0.05 * total || s >= 1);
  return shown.map(([p, s]) => `${p} ${s.toFixed(2)}`).join(' · ');
}

function resultsTable(rows: SummaryRow[]): string[] {
  const head = '| action | strategy | genes | latency ms | rows | median s | median s per phase | rows/s | × floor | speed-up over baseline | reader p50 ms | reader p95 ms | peak RSS MB | runs | missing % |';
  const lines = [head, '|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const tag = r.projected ? ` ${PROJECTED}` : '';
    lines.push(
      `| ${r.action} | ${r.strategy} | ${int(r.genes)} | ${r.latencyMs} | ${int(r.rows)} | ${secondsCell(r)} | ${phasesCell(r)} | ` +
        `${r.rowsPerSecond === null ? '' : int(r.rowsPerSecond) + tag} | ${r.floorRatio === null ? '' : r.floorRatio.toFixed(2) + tag} | ` +
        `${r.speedUp === null ? '' : r.speedUp.toFixed(1) + '×' + tag} | ${fixed(r.readerP50Ms, 2)} | ${fixed(r.readerP95Ms, 2)} | ` +
        `${r.peakRssBytes === null ? '' : int(r.peakRssBytes / 2 ** 20)} | ${r.runs} | ${+(r.missing * 100).toFixed(2)} |`,
    );
  }
  return lines;
}

function floorTable(floors: FloorRecord[]): string[] {
  const lines = ['| genes | rows | median s | COPY s | constraints s | how the file reached the server | runs |', '|---:|---:|---:|---:|---:|---|---:|'];
  for (const genes of [...new Set(floors.map((f) => f.genes))]) {
    const f = floors.filter((x) => x.genes === genes);
    const mode = f[0]!.mode === 'server-file' ? "server-side `COPY ... FROM 'file'`" : '`COPY FROM STDIN` (the server could not read the file)';
    lines.push(`| ${int(genes)} | ${int(genes * genes)} | ${median(f.map((x) => x.seconds)).toFixed(2)} | ${median(f.map((x) => x.copySeconds)).toFixed(2)} | ${median(f.map((x) => x.constraintsSeconds)).toFixed(2)} | ${mode} | ${f.length} |`);
  }
  return lines;
}

function proxyTable(proxies: ProxyFigures[]): string[] {
  if (proxies.length === 0) return ['No latency was added (`--latency-ms 0`): every run connected to the server directly.'];
  return [
    'Latency 0 connects to the server directly; every other latency goes through the delaying proxy, a process of its own.',
    '',
    '| latency ms | proxy CPU s | wall s of its runs | proxy CPU / wall | chunks relayed | mean hold per chunk ms (asked: latency / 2) |',
    '|---:|---:|---:|---:|---:|---:|',
    ...proxies.map((p) => `| ${p.latencyMs} | ${p.cpuSeconds.toFixed(1)} | ${p.wallSeconds.toFixed(1)} | ${(p.cpuSeconds / p.wallSeconds).toFixed(2)} | ${int(p.chunks)} | ${p.meanHoldMs.toFixed(3)} |`),
  ];
}

function poolSection(csv: string | null): string[] {
  if (csv === null) return ['Not measured in this directory: `npm run bench:pool` writes `pool.csv` here and the next report includes it.'];
  const [header, ...lines] = csv.trim().split('\n');
  const cols = header!.split(',');
  return [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.split(',').join(' | ')} |`)];
}

export function benchReportMarkdown(i: BenchReportInput): string {
  const m = i.machine;
  const unfinished = i.runs.filter((r) => r.status === 'stopped' || r.status === 'failed');
  return [
    '# genesim bench',
    '',
    `\`${i.command}\``,
    '',
    `Started ${i.started.toISOString().replace(/\.\d+Z$/, 'Z')}; synthetic matrices of D = ${i.datasets} datasets (seed 1), cosine; ${i.repeat} repeat(s), medians; ` +
      `each run in a fresh database (CREATE DATABASE, dropped after), through the real CLI in a process of its own.`,
    '',
    '## Results',
    '',
    '`rows/s` is N² over the whole run (create: reference tables, similarities, indexes, COMMIT; update: the update of a matrix A created beforehand to A plus one dataset, so every score changes). ' +
      '`× floor` is the run over the floor measured at the same size in the same invocation (below); `speed-up` is baseline over the strategy at the same size, action and latency. ' +
      `Reader: the application's ranked-similar query for ${i.readers} random genes after the run, through the same connection path. ` +
      '`missing %`: the share of the synthetic matrix\'s values left missing at random (`--missing`); 0 is a complete matrix. Real expression data has holes, so the creates run on both; updates only on complete matrices.',
    '',
    ...resultsTable(i.rows),
    '',
    i.budgetSeconds === null
      ? 'No time budget was set: every run ran to the end.'
      : `**(projected)**: the create was stopped at the ${i.budgetSeconds} s budget (rolled back, nothing kept) and its time is projected: the time it ran plus every row not yet written at the rate of the rows it wrote (\`--budget-seconds\`); the COMMIT, where Django's deferred foreign keys are checked, is not in the projection. ` +
        'An update stopped at the budget has no projection and reads "not finished".',
    ...(unfinished.length > 0 ? ['', `Runs without a figure: ${unfinished.map((r) => `${r.action} ${r.strategy} N=${r.genes} ${r.latencyMs} ms #${r.repeat} (${r.note})`).join('; ')}.`] : []),
    '',
    '![rows per second per strategy and size](report.svg)',
    '',
    '## The floor',
    '',
    "The same rows as a prepared TSV loaded by the server's own `COPY` into a bare table, then the primary key, the unique constraint, the two indexes and the two FKs one after another with the server's settings, then ANALYZE. " +
      'It runs directly against the server (never through the latency proxy: it measures the server, not the network). On a server that cannot read the bench\'s files (another machine, or a user without superuser or `pg_read_server_files`) the same bytes go through `COPY FROM STDIN`, and the table says so.',
    '',
    ...floorTable(i.floors),
    '',
    '## Network latency',
    '',
    ...proxyTable(i.proxies),
    '',
    '## Compute and write by pool size (benchmark.js, `npm run bench:pool`)',
    '',
    ...poolSection(i.poolCsv),
    '',
    '## Machine',
    '',
    `| | |`,
    '|---|---|',
    `| cores | ${m.cores} (${m.cpuModel}) |`,
    `| memory | ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB |`,
    `| Node.js | ${m.node} |`,
    `| PostgreSQL | ${m.postgres} |`,
    ...Object.entries(m.settings).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    'Raw figures: `runs.csv` (one line per run), `phases.csv` (every measurement of every run), `floor.csv`, `summary.csv`.',
    '',
  ].join('\n');
}

/** The end-of-run summary for the terminal: one line per strategy, size, action and latency. */
export function benchSummary(rows: SummaryRow[]): string {
  return rows
    .map((r) => {
      const figure = r.seconds === null ? `not finished (${r.unfinished})` : `${r.seconds.toFixed(2)} s${r.projected ? ' (projected)' : ''}, ${int(r.rowsPerSecond!)} rows/s`;
      const ratio = r.floorRatio === null ? '' : `, ${r.floorRatio.toFixed(2)}× floor`;
      const speed = r.speedUp === null || r.strategy === 'baseline' ? '' : `, ${r.speedUp.toFixed(1)}× baseline`;
      return `${r.action} ${r.strategy} N=${r.genes} ${r.latencyMs} ms${r.missing ? ` ${+(r.missing * 100).toFixed(2)} % missing` : ''}: ${figure}${ratio}${speed}`;
    })
    .join('\n');
}

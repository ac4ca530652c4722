import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { projectRoot } from '../src/paths.js';
import { startCitusCluster } from './citusCluster.js';
import { cpuOfTree, postmasterPid } from './procCpu.js';

/**
 * How rows reach the shards (issue 21, item 2), measured: the rows of a G-gene matrix (G², both
 * orderings and the diagonal, as the pair rule writes them) COPYed into a table placed as
 * genesim's load table is (columns of datasets_genesimilarity, no constraints, colocated with it),
 *   A  one COPY through the coordinator (genesim's clustered load),
 *   A2 two concurrent COPYs through the coordinator split by gene range (--load concurrent),
 *   B  direct: each shard's rows COPYed into its shard table on its worker, all shards at once,
 *   B2 direct, one connection per worker taking its shards one after the other,
 * alternating, TRUNCATE between, wall and CPU seconds per run, each checked through the coordinator.
 */
const a = await yargs(hideBin(process.argv))
  .option('genes', { type: 'number', default: 2000 })
  .option('shards', { type: 'number', default: 8 })
  .option('repeats', { type: 'number', default: 3 })
  .option('routes', { type: 'string', default: 'A,A2,B,B2' })
  .option('out', { type: 'string', default: 'bench/results/citus-direct-2000.md' })
  .strict()
  .parseAsync();

const CLI = path.join(projectRoot, 'dist', 'src', 'cli.js');
const TABLE = 'datasets_genesimilarity_load';
const COLUMNS = 'id, gene1_id, gene2_id, metric, score';
const METRIC = 'pearson';
const say = (line: string) => process.stderr.write(`citus direct: ${line}\n`);

/** A deterministic, symmetric score in milli-units (-1000..1000), the diagonal 1000. */
function milli(g1: number, g2: number): number {
  if (g1 === g2) return 1000;
  const [lo, hi] = g1 < g2 ? [g1, g2] : [g2, g1];
  return ((lo * 7919 + hi * 104729) % 2001) - 1000;
}

const milliText = (m: number) => `${m < 0 ? '-' : ''}${Math.floor(Math.abs(m) / 1000)}.${String(Math.abs(m) % 1000).padStart(3, '0')}`;
const rowId = (g1: number, g2: number) => (g1 - 1) * a.genes + g2;

/** Text COPY lines of every row with gene1 = g, in gene2 order (one chunk, ~60 KB at 2,000 genes). */
function geneChunk(g: number): Buffer {
  let s = '';
  for (let j = 1; j <= a.genes; j++) s += `${rowId(g, j)}\t${g}\t${j}\t${METRIC}\t${milliText(milli(g, j))}\n`;
  return Buffer.from(s, 'latin1');
}

function* chunks(genes: number[]): Generator<Buffer> {
  for (const g of genes) yield geneChunk(g);
}

async function connect(port: number, database: string): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database });
  await c.connect();
  return c;
}

/** One COPY of `genes`' rows into `table` on `client`, with backpressure. */
async function copyGenes(client: pg.Client, table: string, genes: number[]): Promise<void> {
  await pipeline(Readable.from(chunks(genes)), client.query(copyFrom(`COPY ${table} (${COLUMNS}) FROM STDIN`)));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

interface Shard {
  id: string;
  name: string;
  port: number;
  genes: number[];
}

/**
 * Where each gene's rows go: its shard by Citus' own hash (get_shard_id_for_distribution_column,
 * one query for all genes), the shard's table name and the port of the worker holding its one
 * placement. Part of the direct route's timed cost: genesim would have to do it per load.
 */
async function shardMap(coord: pg.Client): Promise<Shard[]> {
  const { rows } = await coord.query<{ id: string; name: string; port: number; genes: number[] }>(
    `SELECT s.shardid::text AS id, shard_name(s.logicalrelid, s.shardid) AS name, n.nodeport AS port, g.genes
       FROM (SELECT get_shard_id_for_distribution_column($1, g) AS shardid, array_agg(g ORDER BY g) AS genes
               FROM generate_series(1, $2::int) g GROUP BY 1) g
       JOIN pg_dist_shard s USING (shardid)
       JOIN pg_dist_placement p USING (shardid)
       JOIN pg_dist_node n USING (groupid)
      ORDER BY n.nodeport, s.shardid`,
    [TABLE, a.genes],
  );
  if (new Set(rows.map((r) => r.id)).size !== rows.length) throw new Error('a shard with more than one placement: direct COPY would have to write each');
  return rows;
}

/** Direct writes to a shard: Citus refuses them unless the session says it means it. */
async function workerConnection(port: number, database: string): Promise<pg.Client> {
  const c = await connect(port, database);
  await c.query('SET citus.enable_manual_changes_to_shards = on');
  return c;
}

type Route = (db: string) => Promise<void>;

const ROUTES: Record<string, Route> = {
  async A(db) {
    await withCoordinator(db, (c) => copyGenes(c, TABLE, range(1, a.genes)));
  },
  async A2(db) {
    const half = Math.floor(a.genes / 2);
    await Promise.all(
      [range(1, half), range(half + 1, a.genes)].map(async (genes) => {
        const c = await connect(COORD_PORT, db);
        try {
          await copyGenes(c, TABLE, genes);
        } finally {
          await c.end();
        }
      }),
    );
  },
  async B(db) {
    const shards = await withCoordinator(db, shardMap);
    await Promise.all(
      shards.map(async (s) => {
        const c = await workerConnection(s.port, db);
        try {
          await copyGenes(c, s.name, s.genes);
        } finally {
          await c.end();
        }
      }),
    );
  },
  async B2(db) {
    const shards = await withCoordinator(db, shardMap);
    const ports = [...new Set(shards.map((s) => s.port))];
    await Promise.all(
      ports.map(async (port) => {
        const c = await workerConnection(port, db);
        try {
          for (const s of shards.filter((x) => x.port === port)) await copyGenes(c, s.name, s.genes);
        } finally {
          await c.end();
        }
      }),
    );
  },
};

/** The coordinator's port, once the cluster is up. */
let COORD_PORT = 0;

async function withCoordinator<T>(db: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connect(COORD_PORT, db);
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** The load is whole and every sampled row is where Citus looks for it (WHERE gene1_id routes to one shard). */
async function verify(db: string): Promise<void> {
  await withCoordinator(db, async (c) => {
    const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${TABLE}`);
    if (Number(rows[0]!.n) !== a.genes ** 2) throw new Error(`count ${rows[0]!.n}, expected ${a.genes ** 2}`);
    for (const [g1, g2] of [[1, 1], [1, a.genes], [a.genes, 1], [Math.ceil(a.genes / 3), Math.ceil(a.genes / 7)], [a.genes, a.genes]] as const) {
      const r = await c.query<{ id: number; metric: string; score: string }>(`SELECT id, metric, score::text FROM ${TABLE} WHERE gene1_id = $1 AND gene2_id = $2`, [g1, g2]);
      const want = { id: rowId(g1, g2), metric: METRIC, score: milliText(milli(g1, g2)) };
      if (r.rows.length !== 1 || JSON.stringify(r.rows[0]) !== JSON.stringify(want)) throw new Error(`row (${g1}, ${g2}): ${JSON.stringify(r.rows)}, expected ${JSON.stringify(want)}`);
    }
  });
}

interface Run {
  route: string;
  repeat: number;
  wall: number;
  cpu: number[];
}

async function timed(route: string, repeat: number, db: string, nodes: number[]): Promise<Run> {
  await withCoordinator(db, (c) => c.query(`TRUNCATE ${TABLE}`));
  const sample = () => [...nodes.map(cpuOfTree), process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6];
  const cpu0 = sample();
  const t0 = performance.now();
  await ROUTES[route]!(db);
  const wall = (performance.now() - t0) / 1000;
  const cpu = sample().map((x, k) => x - cpu0[k]!);
  await verify(db);
  return { route, repeat, wall, cpu };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function report(runs: Run[], routes: string[], uptimes: string[]): string[] {
  const f = (x: number) => x.toFixed(1);
  return [
    `Rows to the shards, ${a.genes.toLocaleString('en-US')} genes (${(a.genes ** 2).toLocaleString('en-US')} rows), ${a.shards} shards on 2 workers, \`node dist/bench/citusDirect.js --genes ${a.genes}\`, ${new Date().toISOString()}`,
    '',
    `uptime before: ${uptimes[0]}`,
    `uptime after: ${uptimes[1]}`,
    '',
    'A: 1 COPY through the coordinator; A2: 2 concurrent COPYs through the coordinator (gene halves);',
    'B: direct, one COPY per shard into its shard table on its worker, all 8 at once (shard map included);',
    'B2: direct, one connection per worker, its shards one after the other (shard map included).',
    '',
    '| route | repeat | wall s | coordinator CPU s | worker1 CPU s | worker2 CPU s | bench process CPU s |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...runs.map((r) => `| ${r.route} | ${r.repeat} | ${f(r.wall)} | ${r.cpu.map(f).join(' | ')} |`),
    '',
    '| route | median wall s | median coordinator CPU s | median workers CPU s |',
    '|---|---:|---:|---:|',
    ...routes.map((rt) => {
      const rs = runs.filter((r) => r.route === rt);
      return `| ${rt} | ${f(median(rs.map((r) => r.wall)))} | ${f(median(rs.map((r) => r.cpu[0]!)))} | ${f(median(rs.map((r) => r.cpu[1]! + r.cpu[2]!)))} |`;
    }),
    '',
  ];
}

const routes = a.routes.split(',');
for (const r of routes) if (!ROUTES[r]) throw new Error(`unknown route ${r}`);
const uptime = () => spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
const uptimes = [uptime()];
const cluster = await startCitusCluster();
COORD_PORT = cluster.coordinator.port!;
try {
  const nodes = ['coordinator', 'worker1', 'worker2'].map((n) => postmasterPid(path.join(cluster.dir, n)));
  const t = await cluster.database('genesim_bench_citus_direct');
  const m = spawnSync(process.execPath, [CLI, 'migrate', '--citus', '--shards', String(a.shards)], { env: t.env, encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`migrate --citus failed: ${m.stderr}`);
  // As genesim's load table: the live table's columns, no constraints, colocated with it.
  await withCoordinator(t.name, async (c) => {
    await c.query(`CREATE TABLE ${TABLE} (LIKE datasets_genesimilarity)`);
    await c.query(`SELECT create_distributed_table($1, 'gene1_id', colocate_with => 'datasets_genesimilarity')`, [TABLE]);
  });
  const runs: Run[] = [];
  for (let k = 1; k <= a.repeats; k++) {
    for (const r of routes) {
      const run = await timed(r, k, t.name, nodes);
      say(`${r} #${k}: ${run.wall.toFixed(1)} s wall, coordinator CPU ${run.cpu[0]!.toFixed(1)} s, checked`);
      runs.push(run);
    }
  }
  uptimes.push(uptime());
  const lines = report(runs, routes, uptimes);
  writeFileSync(a.out, lines.join('\n'));
  process.stdout.write(lines.join('\n'));
  await t.drop();
} finally {
  cluster.stop();
}

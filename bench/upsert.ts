import { availableParallelism } from 'node:os';
import pg from 'pg';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runCreate } from '../src/commands/create.js';
import { clientConfig } from '../src/db/connect.js';
import type { ServerTarget } from '../src/db/embedded.js';
import { benchConfig } from './database.js';
import { median } from '../src/bench/stats.js';
import { DEFAULT_COPY_FORMAT } from '../src/encode/sims.js';

/**
 * The upsert strategy's last step, two ways: INSERT ... ON CONFLICT DO UPDATE against MERGE
 * (PostgreSQL 15), both from the same staging table of N² changed scores, each inside a
 * transaction that is rolled back so every run starts from the same table.
 */
const a = await yargs(hideBin(process.argv))
  .option('genes', { type: 'number', default: 2000 })
  .option('runs', { type: 'number', default: 3 })
  .strict()
  .parseAsync();

const STATEMENTS = {
  'INSERT ... ON CONFLICT': `INSERT INTO datasets_genesimilarity AS t (gene1_id, gene2_id, metric, score)
    SELECT gene1_id, gene2_id, 'cosine', score FROM stage
    ON CONFLICT (gene1_id, gene2_id, metric) DO UPDATE SET score = EXCLUDED.score`,
  MERGE: `MERGE INTO datasets_genesimilarity t USING stage s
    ON t.gene1_id = s.gene1_id AND t.gene2_id = s.gene2_id AND t.metric = 'cosine'
    WHEN MATCHED THEN UPDATE SET score = s.score
    WHEN NOT MATCHED THEN INSERT (gene1_id, gene2_id, metric, score) VALUES (s.gene1_id, s.gene2_id, 'cosine', s.score)`,
};

const say = (line: string) => process.stderr.write(`upsert-bench: ${line}\n`);
const { config, stop } = await benchConfig(say);
const threads = availableParallelism();
await runCreate(
  config,
  {
    strategy: 'parallel',
    source: { genes: a.genes, datasets: 100, seed: 1, missing: 0 },
    metric: 'cosine',
    replace: true,
    parallel: { threads, connections: Math.min(threads, 4), via: 'file', format: DEFAULT_COPY_FORMAT, load: 'clustered' },
    results: 'bench/results/runs/upsert-create.csv',
  },
  () => undefined,
  new AbortController().signal,
);
const c = new pg.Client(clientConfig(config.db as ServerTarget));
await c.connect();
const times: Record<string, number[]> = Object.fromEntries(Object.keys(STATEMENTS).map((k) => [k, []]));
try {
  for (let run = 1; run <= a.runs; run++) {
    for (const [name, sql] of Object.entries(STATEMENTS)) {
      await c.query('BEGIN');
      await c.query(`CREATE TEMP TABLE stage ON COMMIT DROP AS
        SELECT gene1_id, gene2_id, least(score + 0.001, 1)::numeric(10,3) AS score FROM datasets_genesimilarity`);
      await c.query('ANALYZE stage');
      const t0 = performance.now();
      const r = await c.query(sql);
      times[name]!.push((performance.now() - t0) / 1000);
      await c.query('ROLLBACK');
      say(`${name} run ${run}: ${times[name]!.at(-1)!.toFixed(1)} s for ${r.rowCount} rows`);
    }
  }
} finally {
  await c.end();
  await stop();
}
process.stdout.write(
  `| statement (N = ${a.genes}, ${(a.genes * a.genes).toLocaleString('en-US')} rows) | median s |\n|---|---:|\n` +
    Object.entries(times).map(([name, t]) => `| ${name} | ${median(t).toFixed(1)} |`).join('\n') + `\n\nmedians of ${a.runs} runs\n`,
);
process.exit(0);

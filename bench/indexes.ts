import pg from 'pg';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { clientConfig } from '../src/db/connect.js';
import type { ServerTarget } from '../src/db/embedded.js';
import { benchConfig } from './database.js';

/**
 * Why the clustered load: the four index builds of the similarity table, one at a time with
 * the engine's settings, on copies of the current table stored in arbitrary order and in
 * (gene1_id, gene2_id) order. Needs a matrix in the bench database (run floor.js first).
 */
const a = await yargs(hideBin(process.argv)).option('mem', { type: 'string', default: '1GB' }).strict().parseAsync();
const say = (line: string) => process.stderr.write(`indexes: ${line}\n`);
const { config, stop } = await benchConfig(say);
const c = new pg.Client(clientConfig(config.db as ServerTarget));
await c.connect();
const BUILDS: [string, string][] = [
  ['unique (gene1_id, gene2_id, metric)', 'CREATE UNIQUE INDEX ON t (gene1_id, gene2_id, metric)'],
  ['gene1_id', 'CREATE INDEX ON t (gene1_id)'],
  ['gene2_id', 'CREATE INDEX ON t (gene2_id)'],
  ['id', 'CREATE UNIQUE INDEX ON t (id)'],
];
const lines = ['| index | arbitrary order s | (gene1_id, gene2_id) order s |', '|---|---:|---:|'];
const seconds: Record<string, number[]> = {};
try {
  await c.query(`SET maintenance_work_mem = '${a.mem}'`);
  await c.query('SET max_parallel_maintenance_workers = 0');
  for (const order of ['random()', 'gene1_id, gene2_id']) {
    await c.query('DROP TABLE IF EXISTS t');
    await c.query(`CREATE TABLE t WITH (autovacuum_enabled = false) AS SELECT * FROM datasets_genesimilarity ORDER BY ${order}`);
    for (const [name, sql] of BUILDS) {
      const t0 = performance.now();
      await c.query(sql);
      (seconds[name] ??= []).push((performance.now() - t0) / 1000);
      say(`${name} on rows ordered by ${order}: ${seconds[name]!.at(-1)!.toFixed(1)} s`);
    }
  }
  await c.query('DROP TABLE t');
} finally {
  await c.end();
  await stop();
}
const sum = (k: number) => Object.values(seconds).reduce((s, v) => s + v[k]!, 0);
for (const [name] of BUILDS) lines.push(`| ${name} | ${seconds[name]![0]!.toFixed(1)} | ${seconds[name]![1]!.toFixed(1)} |`);
lines.push(`| all four | ${sum(0).toFixed(1)} | ${sum(1).toFixed(1)} |`);
process.stdout.write(`${lines.join('\n')}\n\none build at a time, maintenance_work_mem ${a.mem}, no parallel workers\n`);
process.exit(0);

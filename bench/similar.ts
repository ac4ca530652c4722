import pg from 'pg';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadConfig, readEnv } from '../src/config.js';
import { openDatabase } from '../src/db/connect.js';
import { RANKED_SIMILAR } from '../src/db/readerProbe.js';
import { Random } from '../src/input/random.js';
import { quantile } from '../src/bench/stats.js';
import { similarGenes } from '../src/similar/query.js';

/**
 * What `genesim similar` and GET /genes/:name/similar cost per answer on the configured
 * database (it must hold a matrix), beside the application's bare ranked-similar query by id:
 * the difference is the name lookup and the join for names. Genes drawn at random (seeded),
 * one query after another on one connection, after a warm-up round.
 */
const a = await yargs(hideBin(process.argv))
  .option('queries', { type: 'number', default: 300 })
  .option('top', { type: 'number', default: 10 })
  .strict()
  .parseAsync();

const db = await openDatabase(loadConfig(readEnv(process.env)), () => undefined, 1);
const client: pg.PoolClient = await db.pool.connect();
try {
  const genes = (await client.query<{ id: number; name: string }>('SELECT id, systematic_name AS name FROM datasets_gene ORDER BY id')).rows;
  const time = async (work: (g: { id: number; name: string }) => Promise<unknown>) => {
    const r = new Random(7);
    const ms: number[] = [];
    for (let k = 0; k < a.queries; k++) {
      const g = genes[r.int(genes.length)]!;
      const t0 = performance.now();
      await work(g);
      ms.push(performance.now() - t0);
    }
    return { p50: quantile(ms, 0.5), p95: quantile(ms, 0.95) };
  };
  const bare = (g: { id: number }) => client.query({ name: 'ranked', text: RANKED_SIMILAR, values: [g.id] });
  const named = (g: { name: string }) => similarGenes(client, g.name, { top: a.top });
  await time(bare);
  await time(named);
  const results = { bare: await time(bare), similar: await time(named) };
  process.stdout.write(
    `${genes.length} genes, ${a.queries} queries each, top ${a.top}\n` +
      `ranked-similar by id (the application's query): p50 ${results.bare.p50.toFixed(2)} ms, p95 ${results.bare.p95.toFixed(2)} ms\n` +
      `similarGenes by name (genesim similar, the route): p50 ${results.similar.p50.toFixed(2)} ms, p95 ${results.similar.p95.toFixed(2)} ms\n` +
      `ratio of medians: ${(results.similar.p50 / results.bare.p50).toFixed(2)}\n`,
  );
} finally {
  client.release();
  await db.close();
}

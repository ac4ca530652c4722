/**
 * Stop time of a parallel create, by hand: `node dist/test/stopTime.js GENES PHASE[:SIGNAL]...`
 * against PGHOST/PGUSER/PGDATABASE, whose matrix must already exist (`genesim create`). For
 * each phase it starts `create --replace`, waits for the phase's statement on the server,
 * sends the signal (SIGINT by default) and prints the time to the exit, and whether the
 * matrix and the catalog are as before. Phases: copy, simcopy, index, analyze, swap.
 */
import { PHASES, holdReader, leftoverRelations, startCli, waitForStatement } from './faults.js';
import { sql, type TestDatabase } from './helpers.js';
import { loadConfig, readEnv } from '../src/config.js';

const [genes, ...phases] = process.argv.slice(2);
const config = loadConfig(readEnv(process.env));
if (config.db.kind !== 'server' || !genes) throw new Error('usage: PGDATABASE=db node dist/test/stopTime.js GENES PHASE[:SIGNAL]...');
const t = { name: config.db.database, target: config.db, config, env: process.env } as unknown as TestDatabase;
// The tests' simChecksum aggregates one string, over 1 GB at 42M rows: a sum of row hashes instead.
const checksum = async () =>
  JSON.stringify(await sql(t, "SELECT count(*) AS n, sum(hashtext(concat_ws(',', id, gene1_id, gene2_id, metric, score))::numeric) AS h FROM datasets_genesimilarity"));

for (const spec of phases) {
  const [phase, signal = 'SIGINT'] = spec.split(':') as [keyof typeof PHASES, NodeJS.Signals | undefined];
  const before = await checksum();
  const reader = phase === 'swap' ? await holdReader(t) : null;
  const started = Date.now();
  const run = startCli(['create', '--strategy', 'parallel', '--replace', '--genes', genes, '--seed', '2', '--results', '/dev/null'], process.env);
  await waitForStatement(t, PHASES[phase], run, { waitingForLock: phase === 'swap', timeoutMs: 3_600_000 });
  run.markStop();
  run.child.kill(signal);
  const out = await run.exited;
  await reader?.release();
  const last = run.stderr().trim().split('\n').pop();
  process.stdout.write(
    `${genes} genes, ${signal} during ${phase} after ${((Date.now() - started) / 1000).toFixed(0)} s: exit ${out.code} in ${(out.stopMs! / 1000).toFixed(2)} s; ` +
      `matrix unchanged: ${(await checksum()) === before}; left: ${JSON.stringify(await leftoverRelations(t))}; "${last}"\n`,
  );
}

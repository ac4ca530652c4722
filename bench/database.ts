import pg from 'pg';
import { type Config, loadConfig, readEnv } from '../src/config.js';
import { clientConfig, resolveServer } from '../src/db/connect.js';

export const BENCH_DATABASE = 'genesim_bench';

/**
 * The benchmark's own database on the configured server (or the embedded one), created if
 * missing, so a benchmark never replaces the user's data.
 */
export async function benchConfig(say: (line: string) => void): Promise<{ config: Config; stop(): Promise<void> }> {
  const server = await resolveServer(loadConfig(readEnv(process.env)), say);
  const admin = new pg.Client({ ...clientConfig(server.target), database: 'postgres' });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DATABASE]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${BENCH_DATABASE}`);
  } finally {
    await admin.end();
  }
  return { config: { db: { ...server.target, database: BENCH_DATABASE } }, stop: () => server.stop() };
}

import { type Config, loadConfig, readEnv } from '../src/config.js';
import { ensureDatabase, resolveServer } from '../src/db/connect.js';
import type { ServerTarget } from '../src/db/embedded.js';

export const BENCH_DATABASE = 'genesim_bench';

/**
 * The benchmark's own database on the configured server (or the embedded one), created if
 * missing, so a benchmark never replaces the user's data.
 */
export async function benchConfig(say: (line: string) => void, database = BENCH_DATABASE): Promise<{ config: Config; target: ServerTarget; stop(): Promise<void> }> {
  const config = loadConfig(readEnv(process.env));
  const server = await resolveServer(config, say);
  await ensureDatabase(server.target, database);
  const target = { ...server.target, database };
  return { config: { ...config, db: target }, target, stop: () => server.stop() };
}

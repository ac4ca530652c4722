import { hostname } from 'node:os';
import path from 'node:path';
import type { Config, ServerConfig } from '../config.js';
import { openDatabase } from '../db/connect.js';
import { JobRunner } from '../jobs/runner.js';
import { ensureJobTable } from '../jobs/table.js';
import { projectRoot } from '../paths.js';
import { JOB_CANCEL_GRACE_SECONDS } from '../stopGrace.js';
import { buildApp } from './app.js';
import { cloudLogger } from './logging.js';

export interface ServeOptions {
  config: Config;
  server: ServerConfig;
  /** Environment of the job processes: the server's own, so they reach the same database. */
  env: NodeJS.ProcessEnv;
  defaultThreads: number;
  say: (line: string) => void;
}


/**
 * `genesim serve`: the HTTP face. Resolves when the server has shut down after SIGTERM or
 * SIGINT, the running job cancelled and recorded first.
 */
export async function serve(o: ServeOptions): Promise<void> {
  const db = await openDatabase(o.config, o.say, 4);
  await ensureJobTable(db.pool);
  const instance = `${hostname()} pid=${process.pid}`;
  const log = cloudLogger();
  const runner = new JobRunner({
    pool: db.pool,
    log,
    cli: path.join(projectRoot, 'dist', 'src', 'cli.js'),
    env: o.env,
    tmpDir: o.server.tmpDir,
    maxDownloadBytes: o.server.maxDownloadBytes,
    downloadStallSeconds: o.server.downloadStallSeconds,
    heartbeatSeconds: o.server.heartbeatSeconds,
    staleSeconds: o.server.staleSeconds,
    // Longer than the CLI's own clean-up limit, so a cancel is never cut short while it rolls back.
    // (A platform's own kill after its SIGTERM, Cloud Run's 10 s, is outside genesim's hands.)
    cancelGraceSeconds: JOB_CANCEL_GRACE_SECONDS,
    instance,
  });
  const app = await buildApp({ config: o.server, pool: db.pool, runner, defaultThreads: o.defaultThreads, log });
  await runner.start();
  if (o.server.token === undefined) app.log.warn({}, 'no GENESIM_TOKEN: every route is open (--insecure-local)');
  await app.listen({ port: o.server.port, host: '0.0.0.0' });

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, `${signal}: shutting down (a running job is cancelled first)`);
      void (async () => {
        await runner.shutdown();
        await app!.close();
        await db.close();
        log.info({}, 'stopped');
        resolve();
      })();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

import assert from 'node:assert/strict';
import { openDatabase } from '../src/db/connect.js';
import { asCleanup } from '../src/db/runGuard.js';
import { InterruptedError } from '../src/errors.js';
import { copyChunks } from '../src/strategies/sinks.js';
import { suiteDatabase } from './helpers.js';

/** What the run's pool does with work asked for after the run was stopped. */
describe('run guard: work asked for after a stop', () => {
  const t = suiteDatabase();

  for (const [what, rows] of [
    ['a COPY', (async function* () {})()],
    ['a COPY whose rows are already there', [Buffer.from('1\n')]],
  ] as const) {
    it(`${what} is refused with the stop's own error, at once: never sent, never left waiting for the server`, async () => {
      const stop = new AbortController();
      const db = await openDatabase(t.config, () => undefined, 2, stop.signal);
      const client = await db.pool.connect();
      try {
        await client.query('CREATE TABLE IF NOT EXISTS guarded (n int)');
        stop.abort(new InterruptedError('SIGINT'));
        // pg-copy-streams' destroy waits for the server's answer to a COPY it never started: a hang, unless the guard ends it itself.
        const outcome = await Promise.race([
          copyChunks(client, 'guarded', ['n'], rows).then(() => 'copied', (err: unknown) => err),
          new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5000)),
        ]);
        assert.ok(outcome instanceof InterruptedError, String(outcome));
        // After a stop only clean-up reaches the server; the connection is still usable for it.
        assert.equal((await asCleanup(() => client.query('SELECT count(*)::int AS n FROM guarded'))).rows[0].n, 0);
      } finally {
        client.release();
        await db.close();
      }
    });
  }
});

import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { inTransaction, withClient } from '../db/connect.js';
import { asCleanup } from '../db/runGuard.js';
import { citusParallel, citusSequential } from '../db/citus.js';
import { requireEmpty, truncateAll } from '../db/tables.js';
import { TextSimEncoder } from '../encode/sims.js';
import { encodedChunks } from '../encode/stream.js';
import { Stopwatch } from '../report/timer.js';
import { prepare } from '../similarity/kernel.js';
import { pairCount } from '../similarity/pairs.js';
import { scoredRows } from '../similarity/rows.js';
import { removeTemp, tempPath } from '../tempFiles.js';
import { copyChunks, type RowSink, SIM_COLUMNS, SIM_TABLE, type SimContext } from './sinks.js';
import { writeReferenceTables } from './referenceTables.js';
import { abortable, countingLines, stoppable, throwIfAborted } from './stoppable.js';
import type { Progress } from '../engine/events.js';
import type { RunContext, Strategy, StrategyName } from './types.js';

export interface ClassicOptions {
  /** All writes in one transaction (rolled back on failure); false is Django's autocommit. */
  transactional: boolean;
  /** Write every non-diagonal row to a temp file first, then COPY the file (the 5.9 h + 23 min path). */
  fileFirst: boolean;
}

export { abortable, throwIfAborted } from './stoppable.js';

/**
 * The four strategies of the original benchmarks share everything but the sink and these two
 * switches: same phases, same order of rows, same ids.
 */
export function classicStrategy(name: StrategyName, sink: RowSink, options: ClassicOptions): Strategy {
  return {
    name,
    async create(ctx) {
      const client = await ctx.db.pool.connect();
      let finish = () => undefined as void;
      try {
        // Citus: TRUNCATE of every table, then the datasets, in one transaction (src/db/citus.ts).
        await citusSequential(client);
        if (options.transactional) {
          await inTransaction(
            client,
            async () => {
              if (await requireEmpty(client, ctx.replace)) await truncateAll(client);
              finish = await load(ctx, client, sink, options);
            },
            ctx.timer,
          );
          // Only now are the rows in the table for anyone to read: the bar's 100 % comes after the COMMIT.
          finish();
        } else {
          // The check and the TRUNCATE in one transaction of their own; the load then commits row by row, as Django's.
          await inTransaction(client, async () => {
            if (await requireEmpty(client, ctx.replace)) await truncateAll(client);
          });
          try {
            (await load(ctx, client, sink, options))();
          } catch (err) {
            // Autocommit left whatever was written; a create either completes or leaves empty tables.
            // On a connection of its own: this one may be the one the server terminated.
            await asCleanup(() => withClient(ctx.db.pool, truncateAll)).catch(() => undefined);
            throw err;
          }
        }
      } finally {
        await asCleanup(() => citusParallel(client)).then(
          () => client.release(),
          () => client.release(true),
        );
      }
    },
  };
}

/**
 * Writes every table; returns what completes the similarity rows' progress (its last units),
 * for the caller to call once they are committed: a bar at 100 % while the COPY or the COMMIT
 * still runs would say done while the work goes on.
 */
async function load(ctx: RunContext, client: pg.PoolClient, sink: RowSink, options: ClassicOptions): Promise<() => void> {
  const { matrix: m, timer } = ctx;
  const n = m.genes.length;
  const { geneIds } = await writeReferenceTables(ctx, client, sink);
  const sc: SimContext = { geneIds, metric: ctx.metric };
  await timer.phase('create_diagonal_sims', n, () => sink.sims(client, { kind: 'diagonal', from: 0, to: n }, sc));

  const p = prepare(m.values, n, m.datasets.length, ctx.metric);
  const watch = new Stopwatch();
  const rows = () => scoredRows(p, 0, n, watch, ctx.stats);
  const offDiagonal = n * n - n;
  let finish = () => undefined as void;
  let held = 0;
  if (options.fileFirst) {
    const file = tempPath(ctx.tmpDir, 'sims', 'tsv');
    try {
      const bar = ctx.events.progress('writing file', offDiagonal);
      await timer.phase('write_file', offDiagonal, () =>
        pipeline(
          Readable.from(encodedChunks(abortable(rows(), ctx.signal), new TextSimEncoder({ ...sc, withIds: false }), (k) => bar.tick(k))),
          createWriteStream(file),
        ),
      );
      bar.stop();
      const sent = { rows: 0 };
      // The file's rows as they are sent into the COPY; the last unit only once they are committed.
      let copying: Progress | null = null;
      let shown = 0;
      const show = () => {
        const now = Math.min(sent.rows, offDiagonal - 1);
        if (now > shown) copying?.tick(now - shown);
        shown = Math.max(shown, now);
      };
      const ticker = setInterval(show, 250);
      try {
        await timer.phase('create_sims', offDiagonal, async () => {
          copying = ctx.events.progress('loading file', offDiagonal);
          await stoppable(ctx, 'create_sims', sent, () =>
            copyChunks(client, SIM_TABLE, SIM_COLUMNS, countingLines(createReadStream(file, { highWaterMark: 1 << 20 }), sent), 'text', ctx.signal),
          );
          show();
        });
      } finally {
        clearInterval(ticker);
      }
      finish = () => copying?.tick(offDiagonal - shown);
    } finally {
      await removeTemp(file);
    }
  } else {
    const bar = ctx.events.progress('loading', offDiagonal);
    const sent = { rows: 0 };
    await timer.phase('create_sims', offDiagonal, () =>
      stoppable(ctx, 'create_sims', sent, async () => {
        for (const row of abortable(rows(), ctx.signal)) {
          await sink.sims(client, { kind: 'row', ...row }, sc);
          const units = 2 * (n - row.i - 1);
          sent.rows += units;
          // The last row's units wait for the COMMIT (held back, below).
          if (sent.rows < offDiagonal) bar.tick(units);
          else held += units;
        }
      }),
    );
    bar.stop();
    finish = () => bar.tick(held);
  }
  timer.record('compute', watch.seconds, pairCount(n));
  // Last chance before COMMIT: a Ctrl-C during the final COPY must not let the create through.
  throwIfAborted(ctx.signal);
  return finish;
}

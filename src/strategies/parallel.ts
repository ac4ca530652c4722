import { createReadStream } from 'node:fs';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { finished } from 'node:stream/promises';
import pLimit from 'p-limit';
import type pg from 'pg';
import { Piscina } from 'piscina';
import { clientConfig, withClient } from '../db/connect.js';
import { type ReaderStats, startReaderProbe } from '../db/readerProbe.js';
import { asCleanup } from '../db/runGuard.js';
import { addConstraints, addForeignKeys, createLoadTable, dropLoadTables, foreignKeysIndexed, indexBuilds, type Replacement, restoreOptions } from '../db/beside.js';
import { refuseIfDatabaseDiskShort } from '../db/diskPreflight.js';
import { beginFrozenLoad } from '../db/frozenLoad.js';
import { type IndexBuild, orderIndexBuilds } from '../db/indexOrder.js';
import { dropRetiredTables, indexBuildSettings, SIM_TABLE, swapTables, validateForeignKeys, withShortLocks } from '../db/swap.js';
import { carryColumns, loadTableNames, planReplacement, replacementOf, type ReplacementPlan } from './replacement.js';
import { refuseIfFilled, requireEmpty } from '../db/tables.js';
import { sharedIds } from '../input/matrix.js';
import { simColumns, simEncoder } from '../encode/sims.js';
import { type BlockStats, type BlockTask, blockBounds, type EmitTask, emitTaskFor } from '../similarity/block.js';
import { prepare, toBuffers } from '../similarity/kernel.js';
import { pairCount } from '../similarity/pairs.js';
import { planLoadBlocks, type RowBlock } from '../similarity/planner.js';
import { removeTemp, tempPath } from '../tempFiles.js';
import type { StreamMessage, WorkerTask } from '../../workers/score.js';
import { taskQueue } from './taskQueue.js';
import { throwIfAborted } from './classic.js';
import { copyChunks, type CopyHow, copySink, copyStream } from './sinks.js';
import { numberingSink, type ReferenceIds, writeDataValues, writeReferenceTables } from './referenceTables.js';
import type { RunContext, Strategy, WorkerFault } from './types.js';
import { WorkerFailedError } from '../errors.js';

const WORKER = new URL('../../workers/score.js', import.meta.url).href;

interface LoadTotals {
  /** Written by COPY FREEZE (src/db/frozenLoad.ts): every row frozen, every page all-visible. */
  frozen: boolean;
  computeSeconds: number;
  encodeSeconds: number;
  bytes: number;
  firstTaskAt: number;
  lastTaskAt: number;
  firstCopyAt: number;
  lastCopyAt: number;
}

/** How a run fills the reference tables beside the live ones, and what the swap sets the id sequences to. */
export interface BesideFill {
  plan: ReplacementPlan;
  /**
   * First thing in the swap transaction, before any rename: what must still hold now that the
   * application's writes are locked out (the tables still empty, what an update read unchanged).
   */
  check: (main: pg.PoolClient) => Promise<void>;
  /** Datasets, genes, data values and dataset similarities into their load tables (autocommit, private tables). */
  fill: (main: pg.PoolClient) => Promise<void>;
  /** Per table, the value its id sequence takes in the swap (tables absent: left as they are). */
  sequenceValues: () => Map<string, number>;
  /**
   * A table nothing else references, filled later: while the similarity table's foreign keys
   * are checked on `main` (one backend, the other cores idle), on a connection of its own,
   * followed by its index builds. Its own keys and constraints are added after that.
   */
  late?: { table: string; fill: (client: pg.PoolClient) => Promise<void> };
}

/**
 * The parallel engine: the main thread cuts the upper triangle into row blocks, a Piscina
 * pool scores and encodes them, and a coordinator COPYs the results over several connections
 * into a table beside the live one while later blocks are still being computed. Every table
 * genesim rewrites is built beside its live one from the live one's catalog; indexes,
 * constraints and foreign keys are built and checked there, then one short transaction swaps
 * them in by renames.
 *
 * `geneIds` are the final database ids of ctx.matrix's genes, known before any gene row is
 * written, so the load needs nothing from the swap.
 */
export async function buildAndSwap(ctx: RunContext, geneIds: Int32Array, side: BesideFill): Promise<void> {
  const { matrix: m, timer, parallel: o } = ctx;
  const n = m.genes.length;
  const { plan } = side;
  const sims = replacementOf(plan, SIM_TABLE);
  const main = await ctx.db.pool.connect();
  let loadTablesMade = false;
  let swapped = false;
  try {
    // After the plan's own refusals (a schema it cannot carry, ids too narrow): no disk fixes those.
    await refuseIfDatabaseDiskShort(main, ctx.db.target.host, n);
    loadTablesMade = true;
    for (const r of plan.reps) await createLoadTable(main, r);
    // Not when another rebuilt table has a key into it (an application's own): then it is filled with the others.
    const lateRep = side.late ? plan.reps.find((r) => r.cat.name === side.late!.table) : undefined;
    const referenced = (target: Replacement) => plan.reps.some((r) => r.cat.constraints.some((c) => c.type === 'f' && c.referencedOid === target.cat.oid));
    const late = lateRep && !referenced(lateRep) ? lateRep : undefined;
    await side.fill(main);
    if (side.late && !late) await side.late.fill(main);
    throwIfAborted(ctx.signal);
    const prepared = prepare(m.values, n, m.datasets.length, ctx.metric);
    const blocks = planLoadBlocks(n, o.threads);
    const base: Omit<BlockTask, 'start' | 'end'> = {
      matrix: toBuffers(prepared),
      geneIds: geneIds.buffer as SharedArrayBuffer,
      metric: ctx.metric,
      format: o.format,
      wide: wideIdsOf(sims),
    };

    // Clustered, each gene's diagonal row sits between its lower and upper rows; otherwise it goes first.
    if (o.load === 'concurrent') {
      await timer.phase('create_diagonal_sims', n, async () => {
        const enc = simEncoder(o.format, { geneIds, metric: ctx.metric, withIds: true, wide: base.wide });
        enc.begin();
        enc.diagonal(0, n);
        enc.end();
        await copyChunks(main, sims.load, simColumns(true), enc.take(), o.format);
      });
    }
    const totals = await timer.phase('create_sims', o.load === 'concurrent' ? n * n - n : n * n, () => loadAll(ctx, base, blocks, sims.load, sims.citus === undefined));
    timer.record('compute_write', (totals.lastTaskAt - totals.firstTaskAt) / 1000, n * n - n);
    timer.record('copy', (totals.lastCopyAt - totals.firstCopyAt) / 1000, n * n - n);
    timer.record('compute', totals.computeSeconds, pairCount(n));
    timer.record('encode', totals.encodeSeconds, n * n - n);
    timer.record('copy_bytes', null, totals.bytes);
    if (plan.carried.has(SIM_TABLE)) await timer.phase('carry_columns', n * n, () => carryColumns(main, plan, SIM_TABLE));

    const early = plan.reps.filter((r) => r !== late);
    const builds = early.flatMap(indexBuilds);
    await timer.phase('constraints', builds.length, () => buildIndexes(ctx, builds));
    // Still all-visible unless rewritten since (carrying the application's columns over updates rows).
    const frozen = totals.frozen && !plan.carried.has(SIM_TABLE);
    const keysAndConstraints = async (client: pg.PoolClient, reps: Replacement[]) => {
      for (const r of reps) await addConstraints(client, r);
      for (const r of reps) await addForeignKeys(client, r, plan.reps, { byIndex: r === sims && frozen && foreignKeysIndexed(r) });
      for (const r of reps) await restoreOptions(client, r);
    };
    await timer.phase('foreign_keys', plan.reps.length, async () => {
      if (!late) return keysAndConstraints(main, early);
      const lateBuilds = indexBuilds(late);
      await bothOrCancel(ctx, [
        // Its statistics while the late table is still being filled: after everything else, its
        // ANALYZE had one backend at work and the other cores idle (at 2,000 genes 0.35 s of 7).
        keysAndConstraints(main, early).then(async () => {
          const t0 = performance.now();
          await main.query(`ANALYZE ${sims.load}`);
          timer.record('analyze_sims', (performance.now() - t0) / 1000, n * n);
        }),
        withClient(ctx.db.pool, async (client) => {
          await side.late!.fill(client);
          await buildIndexes(ctx, lateBuilds, 1, `index builds of ${late.cat.name}`);
          // Its keys lock the gene table, so they wait for the similarity table's checks to let go
          // of it; those never wait for this table, so the two cannot deadlock.
          await keysAndConstraints(client, [late]);
        }),
      ]);
    });
    // With a late table the similarity table was analyzed beside it (above).
    const unanalyzed = late ? plan.reps.filter((r) => r !== sims) : plan.reps;
    // Citus: one table a statement (several in one are one transaction, which Citus refuses after a multi-shard one).
    const analyzeLists = sims.citus ? unanalyzed.map((r) => [r]) : [unanalyzed];
    await timer.phase('analyze', n * n, async () => {
      for (const list of analyzeLists) await main.query(`ANALYZE ${list.map((r) => r.load).join(', ')}`);
    });
    throwIfAborted(ctx.signal);
    const wait = { seconds: ctx.swapWaitSeconds, say: ctx.say, signal: ctx.signal, observer: () => ctx.db.pool.connect() };
    const probe = await startReaderProbe(clientConfig(ctx.db.target), geneIds);
    let outcome: Awaited<ReturnType<typeof swapTables>>;
    let committedAt: number;
    try {
      outcome = await timer.phase('swap', n * n, () =>
        withShortLocks(main, wait, async () => {
          await side.check(main);
          const renamed = await swapTables(main, plan.reps, side.sequenceValues());
          // Last thing before the COMMIT, under the swap's locks: it commits only while the writer lock is held.
          await ctx.writer?.assertHeld(main);
          return renamed;
        }),
      );
      committedAt = performance.now();
    } finally {
      recordReaders(ctx, await probe.stop());
    }
    // What a reader arriving at the worst moment waits: the lock request queued, then the exclusive hold to the COMMIT.
    timer.record('swap_lock_wait', outcome.lockWaitSeconds, plan.reps.length);
    timer.record('swap_locks_held', (committedAt - outcome.lockedAt) / 1000, plan.reps.length);
    swapped = true;
    ctx.writer?.markSwapped();
    loadTablesMade = false;
    try {
      await timer.phase('validate_fks', outcome.toValidate.length, () => validateForeignKeys(main, outcome.toValidate));
    } finally {
      await timer.phase('drop_old', plan.reps.length, () => dropRetiredTables(main, plan.reps));
    }
    ctx.stats.peakRssBytes = process.resourceUsage().maxRSS * 1024;
    timer.record('peak_rss_bytes', null, ctx.stats.peakRssBytes);
    timer.record('threads', null, o.threads);
    timer.record('connections', null, o.connections);
    timer.record(`via_${o.via}`, null, 1);
    timer.record(`format_${o.format}`, null, 1);
    timer.record(`load_${o.load}`, null, 1);
  } catch (err) {
    // One index build failing leaves the others running; the load table cannot go before they stop.
    await ctx.db.cancelRunning();
    throw err;
  } finally {
    main.release();
    // On a connection of its own: the main one may be the one the server terminated.
    if (loadTablesMade && !swapped) await asCleanup(() => withClient(ctx.db.pool, (c) => dropLoadTables(c, plan.reps))).catch(() => undefined);
  }
}

/**
 * Two pieces of work at once: the first failure is the one thrown, and the other is cancelled
 * (its statements on the server) and waited for, so the caller's clean-up finds nothing running.
 */
async function bothOrCancel(ctx: RunContext, work: Promise<unknown>[]): Promise<void> {
  let first: { err: unknown } | undefined;
  await Promise.allSettled(
    work.map((w) =>
      w.catch(async (err: unknown) => {
        if (first) return;
        first = { err };
        await ctx.db.cancelRunning();
      }),
    ),
  );
  if (first) throw first.err;
}

/** The longest wait of a reader of the application's while the swap ran. */
function recordReaders(ctx: RunContext, stats: ReaderStats): void {
  ctx.timer.record('reader_stall_max', stats.maxSeconds, stats.queries);
  if (stats.errors > 0) {
    ctx.timer.record('reader_errors', null, stats.errors);
    ctx.say(`a reader's query failed ${stats.errors} times during the swap: ${stats.firstError}`);
  }
}

/** Whether the similarity table's id and gene columns are bigint, so binary COPY writes int8 for them. */
function wideIdsOf(sims: Replacement): { id: boolean; gene: boolean } {
  const type = (name: string) => sims.cat.columns.find((c) => c.name === name)?.typeName;
  return { id: type('id') === 'int8', gene: type('gene1_id') === 'int8' || type('gene2_id') === 'int8' };
}

/** Ids 1..N in name order: what the numbering sink gives the genes. */
function freshIds(n: number): Int32Array {
  return sharedIds(Array.from({ length: n }, (_, i) => i + 1));
}

export const parallelStrategy: Strategy = {
  name: 'parallel',
  async create(ctx) {
    const n = ctx.matrix.genes.length;
    const plan = await withClient(ctx.db.pool, async (client) => {
      await refuseIfFilled(client, ctx.replace);
      return planReplacement(client, ctx.runId, { mode: 'create', genes: n, resetColumns: true });
    });
    const geneIds = freshIds(n);
    const sink = numberingSink(copySink);
    const tables = loadTableNames(plan);
    let ids: ReferenceIds | undefined;
    await buildAndSwap(ctx, geneIds, {
      plan,
      // Again, where it binds: the application may have written since the first check.
      check: (main) => requireEmpty(main, ctx.replace).then(() => undefined),
      fill: async (main) => {
        ids = await writeReferenceTables(ctx, main, sink, tables, { values: false });
        if (ids.geneIds.some((id, i) => id !== geneIds[i])) throw new Error('gene ids did not come out as 1..N; the load used those');
      },
      // The data values: nothing references them, and at 6,500 genes they took 1.1 s of one core before the load.
      late: { table: 'datasets_data', fill: (client) => writeDataValues(ctx, client, sink, ids!, tables) },
      sequenceValues: () =>
        new Map([...plan.reps.map((r) => [r.cat.name, sink.counts.get(r.load) ?? 0] as [string, number]), [SIM_TABLE, n * n]]),
    });
  },
};

/** A task whose COPY bytes still need a destination (a file or a port). */
type ByteTask = (({ kind: 'rows' } & BlockTask) | ({ kind: 'emit' } & EmitTask)) & { fault?: WorkerFault };

/**
 * Runs blocks through the pool and into COPY, with a bounded number of blocks between the
 * start of their computation and the end of their COPY, so finished-but-unloaded files (or
 * in-flight chunks) never pile up, however fast the workers are.
 *
 * concurrent: each block's rows, in pair-rule order, COPYed over C connections as they finish.
 * clustered: blocks are scored into raw score files first, then gene1 rows are encoded from
 * them and COPYed in (gene1_id, gene2_id) order over one connection, so the table is stored
 * in the order of its unique and gene1 indexes: those builds then find their input sorted,
 * and the application's "similarities of gene X" reads touch a few pages instead of thousands.
 */
async function loadAll(ctx: RunContext, base: Omit<BlockTask, 'start' | 'end'>, blocks: RowBlock[], table: string, freezable = true): Promise<LoadTotals> {
  const o = ctx.parallel;
  const n = ctx.matrix.genes.length;
  const clustered = o.load === 'clustered';
  // One ordered COPY stream: one connection and one transaction, so its rows can be written frozen.
  // Not on Citus (freezable false): the shards were not made in that transaction, so no FREEZE.
  const frozen = clustered && freezable ? await beginFrozenLoad(ctx.db.pool, table) : undefined;
  const onLoadConnection = <T>(work: (client: pg.PoolClient) => Promise<T>) => (frozen ? work(frozen.client) : withClient(ctx.db.pool, work));
  const how: CopyHow = { format: o.format, freeze: frozen !== undefined };
  const pool = new Piscina({ filename: WORKER, minThreads: o.threads, maxThreads: o.threads, idleTimeout: 1000 });
  const failed = new AbortController();
  const stop = AbortSignal.any([failed.signal, ctx.signal]);
  // A stop does not wait for a block: a task scores for seconds to minutes and cannot be
  // interrupted, so the threads are terminated (their tasks reject) and the clean-up runs at once.
  let destroying: Promise<void> | undefined;
  const destroyPool = () => (destroying ??= pool.destroy().catch(() => undefined));
  stop.addEventListener('abort', () => void destroyPool(), { once: true });
  const copies = pLimit(clustered ? 1 : o.connections);
  const slots = pLimit(o.via === 'file' || clustered ? o.threads + 2 * o.connections : o.connections);
  const bar = ctx.events.progress('parallel', clustered ? n * n : n * n - n);
  const totals: LoadTotals = { frozen: frozen !== undefined, computeSeconds: 0, encodeSeconds: 0, bytes: 0, firstTaskAt: Infinity, lastTaskAt: 0, firstCopyAt: Infinity, lastCopyAt: 0 };
  // Rows encoded, and pairs scored, ahead of the load (the clustered load scores in a pass of its own).
  let computed = 0;
  let scored = 0;
  const account = (stats: BlockStats, startedAt: number) => {
    totals.computeSeconds += stats.computeSeconds;
    totals.encodeSeconds += stats.encodeSeconds;
    totals.bytes += stats.bytes;
    totals.firstTaskAt = Math.min(totals.firstTaskAt, startedAt);
    totals.lastTaskAt = Math.max(totals.lastTaskAt, performance.now());
    computed += stats.rows;
    if (!clustered) scored += stats.rows / 2;
  };
  const copied = (startedAt: number, rows: number) => {
    totals.firstCopyAt = Math.min(totals.firstCopyAt, startedAt);
    totals.lastCopyAt = Math.max(totals.lastCopyAt, performance.now());
    bar.tick(rows, { computed, scored });
  };
  // Tasks are handed to the pool only as threads free up (emits first: taskQueue); a stop or a
  // failure terminates the running ones with the pool, and nothing new starts.
  const threads = taskQueue(o.threads);
  const run = <T>(task: WorkerTask, transferList?: MessagePort[]) =>
    threads(task.kind, async () => {
      throwIfAborted(stop);
      try {
        return (await pool.run(task, { transferList })) as T;
      } catch (err) {
        throw new WorkerFailedError(String((err as Error)?.message ?? err).split('\n')[0]!);
      }
    });
  const fault = (index: number) => (ctx.testFault?.block === index ? { fault: ctx.testFault } : {});

  /** Encodes a task to a file of its own; `load` then COPYs it (its turn decided by the caller). */
  const viaFile = async (task: ByteTask, label: string, load: (copy: () => Promise<void>) => Promise<void>) => {
    const file = tempPath(ctx.tmpDir, label, o.format === 'binary' ? 'bin' : 'tsv');
    try {
      const t0 = performance.now();
      const stats = await run<BlockStats>({ ...task, via: 'file', file } as WorkerTask);
      account(stats, t0);
      await load(() =>
        copies(() =>
          onLoadConnection(async (client) => {
            throwIfAborted(stop);
            const c0 = performance.now();
            await copyFile(client, table, file, how, stop);
            copied(c0, stats.rows);
          }),
        ),
      );
    } finally {
      await removeTemp(file);
    }
  };
  /** Streams a task's chunks straight into a COPY. */
  const viaStream = (task: ByteTask) =>
    copies(() =>
      onLoadConnection(async (client) => {
        throwIfAborted(stop);
        const t0 = performance.now();
        const stats = await streamBlock(client, table, run, task, how);
        account(stats, t0);
        copied(t0, stats.rows);
      }),
    );

  const scratch: string[] = [];
  const jobs: Promise<void>[] = [];
  const background: Promise<unknown>[] = [];
  if (!clustered) {
    for (const b of blocks) {
      const task: ByteTask = { kind: 'rows', ...base, start: b.start, end: b.end, ...fault(b.index) };
      jobs.push(slots(() => (o.via === 'file' ? viaFile(task, `block${b.index}`, (copy) => copy()) : viaStream(task))));
    }
  } else {
    // One lower file for every block, each block's part at its own place (similarity/block.ts).
    const lowerFile = tempPath(ctx.tmpDir, 'lower', 'i16');
    scratch.push(lowerFile);
    const bounds = blockBounds(blocks, n);
    // Block k's rows need the lower parts of every block up to it: each promise is the one before and block k.
    let through: Promise<unknown> = Promise.resolve();
    const scoredThrough = blocks.map((b) => {
      const upperFile = tempPath(ctx.tmpDir, `upper${b.index}`, 'i16');
      scratch.push(upperFile);
      const t0 = performance.now();
      const done = run<BlockStats>({ kind: 'triangle', ...base, start: b.start, end: b.end, upperFile, lowerFile, ...fault(b.index) }).then((stats) => {
        totals.computeSeconds += stats.computeSeconds;
        totals.firstTaskAt = Math.min(totals.firstTaskAt, t0);
        scored += b.pairs;
      });
      done.catch((err: unknown) => failed.abort(err));
      background.push(done);
      through = Promise.all([through, done]);
      // Awaited by block k's emit, which may never start after a failure.
      through.catch(() => undefined);
      return { upperFile, ready: through };
    });
    blocks.forEach((b, k) => {
      const previous = jobs[k - 1] ?? Promise.resolve();
      const { upperFile, ready } = scoredThrough[k]!;
      jobs.push(
        slots(async () => {
          await ready;
          const task: ByteTask = { kind: 'emit', ...emitTaskFor(base, n, bounds, k, { upperFile, lowerFile }), ...fault(b.index) };
          // Rows reach the table in block order: each COPY waits for the one before it.
          if (o.via === 'file') {
            await viaFile(task, `emit${b.index}`, async (copy) => {
              await previous;
              await copy();
            });
          } else {
            await previous;
            await viaStream(task);
          }
          await removeTemp(upperFile);
        }),
      );
    });
  }

  let committed = false;
  try {
    const results = await Promise.allSettled(jobs.map((j) => j.catch((err: unknown) => (failed.abort(err), Promise.reject(err)))));
    // Whatever is still running in the pool ends (or, after a stop, is terminated) before the pool goes.
    await Promise.allSettled(background);
    const firstFailure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    throwIfAborted(ctx.signal);
    if (firstFailure) throw failed.signal.reason ?? firstFailure.reason;
    await frozen?.commit();
    committed = true;
    return totals;
  } finally {
    bar.stop();
    if (frozen && !committed) await frozen.abandon();
    await destroyPool();
    await Promise.all(scratch.map(removeTemp));
  }
}

function copyFile(client: pg.ClientBase, table: string, file: string, how: CopyHow, signal: AbortSignal): Promise<void> {
  return copyChunks(client, table, simColumns(true), createReadStream(file, { highWaterMark: 1 << 20 }), how, signal);
}

/** One COPY fed by one worker's chunks: each chunk is acknowledged only once the socket took it. */
async function streamBlock(
  client: pg.ClientBase,
  table: string,
  run: <T>(task: WorkerTask, transferList?: MessagePort[]) => Promise<T>,
  task: ByteTask,
  how: CopyHow,
): Promise<BlockStats> {
  const { port1, port2 } = new MessageChannel();
  const copy = copyStream(client, table, simColumns(true), how);
  // Observed at once: a COPY that dies while the worker is still computing must neither become an
  // unhandled rejection nor leave the worker waiting for credit that will never come. Closing the
  // channel tells the worker to stop (workers/score.ts), and the COPY's error is the one reported.
  let copyFailure: Error | undefined;
  const done = finished(copy).catch((err: unknown) => {
    copyFailure = err as Error;
    port1.close();
    throw err;
  });
  done.catch(() => undefined);
  port1.on('message', (msg: StreamMessage) => {
    if (copyFailure || copy.destroyed) return;
    if ('end' in msg) {
      copy.end();
      port1.close();
      return;
    }
    if (copy.write(Buffer.from(msg.chunk, msg.offset, msg.length))) port1.postMessage(1);
    else copy.once('drain', () => port1.postMessage(1));
  });
  try {
    const stats = await run<BlockStats>({ ...task, via: 'stream', port: port2 } as WorkerTask, [port2]);
    await done;
    return stats;
  } catch (err) {
    // Whichever failed first is the cause: the COPY (then the worker only stopped for it), or the worker.
    const copyFailedFirst = copyFailure;
    port1.close();
    copy.destroy(err as Error);
    await done.catch(() => undefined);
    throw copyFailedFirst ? connectionLost(copyFailedFirst) : err;
  }
}

/** A socket error (the server closed the connection before its reason could be read) says what it means. */
function connectionLost(err: Error): Error {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EPIPE' || code === 'ECONNRESET' ? new Error(`the database connection of a COPY was lost (${err.message})`, { cause: err }) : err;
}

/**
 * Every load table's index builds, spread over the connections as each becomes free, longest
 * first (src/db/indexOrder.ts). Each build's time is recorded as `index:<live index name>`.
 */
async function buildIndexes(ctx: RunContext, builds: IndexBuild[], connections = ctx.parallel.connections, label = 'index builds'): Promise<void> {
  const limit = pLimit(Math.min(connections, Math.max(builds.length, 1)));
  const order = orderIndexBuilds(builds, SIM_TABLE, ctx.parallel.load === 'clustered' ? 'gene1_id' : null);
  // Steps, not rows: a build's own progress is not visible from here, how many have ended is.
  const steps = ctx.events.progress(label, builds.length, 'index builds');
  await Promise.all(
    order.map((build) =>
      limit(() =>
        withClient(ctx.db.pool, async (client) => {
          throwIfAborted(ctx.signal);
          for (const setting of indexBuildSettings(ctx.parallel.indexWorkers, ctx.parallel.indexMemoryMb)) await client.query(setting);
          try {
            const t0 = performance.now();
            await client.query(build.sql);
            ctx.timer.record(`index:${build.name}`, (performance.now() - t0) / 1000, 1);
            steps.tick(1);
          } finally {
            // Clean-up: after a failure the original error is what the user needs to see.
            await asCleanup(() => client.query('RESET ALL')).catch(() => undefined);
          }
        }),
      ),
    ),
  );
}

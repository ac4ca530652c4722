import type { Database } from '../db/connect.js';
import type { WriterLock } from '../db/lock.js';
import { newRunId } from '../db/loadNames.js';
import type { Events } from '../engine/events.js';
import type { CopyFormat } from '../encode/sims.js';
import type { Matrix } from '../input/matrix.js';
import type { Metric } from '../similarity/kernel.js';
import type { Timer } from '../report/timer.js';

export const STRATEGIES = ['baseline', 'bulk', 'copyfrom', 'copyfromfile', 'parallel'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export const VIAS = ['file', 'stream'] as const;
export type Via = (typeof VIAS)[number];

export const LOADS = ['clustered', 'concurrent'] as const;
export type Load = (typeof LOADS)[number];

/** The parallel engine's settings as asked for: threads and connections unset are chosen at the start of the run (tuning.ts). */
export interface ParallelRequest {
  threads?: number;
  /** Connections for the concurrent load and for the index builds. */
  connections?: number;
  via: Via;
  format: CopyFormat;
  /** clustered: one ordered COPY stream, table stored by gene1; concurrent: C streams in any order. */
  load: Load;
  /** maintenance_work_mem of each index build, MB (tuning.ts's default when unset). */
  indexMemoryMb?: number;
}

/** The settings a run uses, every one decided. */
export interface ParallelOptions extends ParallelRequest {
  threads: number;
  connections: number;
  /** Parallel maintenance workers per index build. */
  indexWorkers: number;
  indexMemoryMb: number;
}

/**
 * Test hook (GENESIM_TEST_FAULT=worker-throw:block=K, worker-exit:block=K or worker-hang:block=K,
 * read by the config layer only): the worker writing block K's COPY bytes throws, ends its
 * thread with process.exit, right after its first chunk, so the fault lands mid-block; or
 * (clustered load) the worker scoring block K blocks its thread for good, as a long block looks
 * to a stop.
 */
export interface WorkerFault {
  kind: 'worker-throw' | 'worker-exit' | 'worker-hang';
  block: number;
}

/** Everything a strategy needs for one run; built once by the command layer. */
export interface RunContext {
  db: Database;
  /** Genes sorted by systematic name. */
  matrix: Matrix;
  metric: Metric;
  /** Empty tables that already hold data instead of refusing. */
  replace: boolean;
  timer: Timer;
  parallel: ParallelOptions;
  /** Directory for temp files (the OS default when absent). */
  tmpDir?: string;
  signal: AbortSignal;
  /** Where the run reports: phases, progress, notices. Strategies know no terminal. */
  events: Events;
  /** `events.notice`: a line for the user. */
  say: (line: string) => void;
  /** Test hook only: a fault to inject into one worker task. */
  testFault?: WorkerFault;
  /** Parallel engine: how long the swap may wait for its locks (--swap-wait). */
  swapWaitSeconds: number;
  /** Parallel update: reset the application's own columns instead of carrying their values over (--reset-columns). */
  resetColumns: boolean;
  /** The run's id, which its load tables carry: its writer lock's, so a next run can tell whether the run is alive. */
  runId: string;
  /** The writer lock: the parallel swap commits only after checking it is still held. */
  writer?: Pick<WriterLock, 'assertHeld' | 'markSwapped'>;
  /** Filled by the strategy: pairs scored 0 for lack of shared dimensions or norm. */
  stats: { degeneratePairs: number; peakRssBytes?: number };
}

export interface Strategy {
  name: StrategyName;
  create(ctx: RunContext): Promise<void>;
}

export const DEFAULT_SWAP_WAIT_SECONDS = 600;

/** A RunContext with its statistics not yet counted. */
export function runContext(
  fields: Omit<RunContext, 'stats' | 'say' | 'swapWaitSeconds' | 'resetColumns' | 'runId'> & Partial<Pick<RunContext, 'swapWaitSeconds' | 'resetColumns' | 'runId'>>,
): RunContext {
  return {
    ...fields,
    say: fields.events.notice,
    swapWaitSeconds: fields.swapWaitSeconds ?? DEFAULT_SWAP_WAIT_SECONDS,
    resetColumns: fields.resetColumns ?? false,
    runId: fields.runId ?? newRunId(),
    stats: { degeneratePairs: 0 },
  };
}

import { accessSync, constants, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { UsageError } from './errors.js';
import { pairsBefore } from './similarity/pairs.js';
import { blockSizeFor } from './similarity/planner.js';
import type { ParallelOptions } from './strategies/types.js';

/** A similarity row as COPY text, measured: 42.25M rows make 1.35 GB. */
const TEXT_ROW_BYTES = 32;
/** The same row as binary COPY (int4 ids), measured: 4M rows make 200 MB. */
const BINARY_ROW_BYTES = 50;
/** A clustered load's raw score, each pair stored twice (its row and its transpose). */
const RAW_PAIR_BYTES = 4;

/** A --tmp-dir that cannot hold files is a usage error, found before any work is done. */
export function checkTmpDir(dir: string | undefined): void {
  if (dir === undefined) return;
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    throw new UsageError(`--tmp-dir ${dir}: no such directory`);
  }
  if (!isDirectory) throw new UsageError(`--tmp-dir ${dir}: not a directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new UsageError(`--tmp-dir ${dir}: not writable`);
  }
}

export function isDiskFull(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.code === 'ENOSPC' || /ENOSPC|no space left on device/i.test(e?.message ?? '');
}

/** Peak temp-file bytes a run needs, and how to need less; null for a run that writes none. */
export function tempSpaceNeeded(strategy: string, n: number, parallel: ParallelOptions): { bytes: number; instead: string } | null {
  const offDiagonal = n * n - n;
  if (strategy === 'copyfromfile') return { bytes: offDiagonal * TEXT_ROW_BYTES, instead: '--strategy copyfrom, which writes no file' };
  if (strategy !== 'parallel') return null;
  const rowBytes = parallel.format === 'binary' ? BINARY_ROW_BYTES : TEXT_ROW_BYTES;
  const inFlight = (parallel.threads + 2 * parallel.connections) * 2 * blockSizeFor(n, parallel.threads) * rowBytes;
  const raw = parallel.load === 'clustered' ? pairsBefore(n, n) * RAW_PAIR_BYTES : 0;
  const encoded = parallel.via === 'file' ? Math.min(inFlight, offDiagonal * rowBytes) : 0;
  const instead =
    parallel.load === 'clustered'
      ? `--via stream (only the raw scores, ${megabytes(raw)}, stay on disk; with --load concurrent nothing does)`
      : '--via stream, which writes no temp files';
  return { bytes: raw + encoded, instead };
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** One line for a temp directory that filled up: where, how much the run needed, and the way around. */
export function diskFullError(dir: string | undefined, need: { bytes: number; instead: string } | null): Error {
  const where = dir ?? tmpdir();
  const size = need ? ` (this run needs about ${megabytes(need.bytes)} there at its peak)` : '';
  const instead = need ? `, or use ${need.instead}` : '';
  return new Error(`no space left in ${where} for temp files${size}: free space, point --tmp-dir at a larger disk${instead}; nothing was kept`);
}

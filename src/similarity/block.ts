import { performance } from 'node:perf_hooks';
import { type CopyFormat, simEncoder } from '../encode/sims.js';
import { fromBuffers, type Prepared, type PreparedBuffers, scoreRow } from './kernel.js';
import { pairsBefore } from './pairs.js';

/** What a worker needs to score one row block; buffers are shared, never copied. */
export interface BlockTask {
  matrix: PreparedBuffers;
  geneIds: SharedArrayBuffer;
  metric: string;
  format: CopyFormat;
  /** Which id columns are bigint (binary COPY writes int8 for them). */
  wide?: { id: boolean; gene: boolean };
  start: number;
  end: number;
}

export interface BlockStats {
  rows: number;
  bytes: number;
  degeneratePairs: number;
  computeSeconds: number;
  encodeSeconds: number;
}

let cached: { buffers: PreparedBuffers; prepared: Prepared; geneIds: Int32Array; key: SharedArrayBuffer } | null = null;

/** Views over the shared buffers, rebuilt only when a new matrix arrives. */
function viewsOf(task: BlockTask): { prepared: Prepared; geneIds: Int32Array } {
  if (!cached || cached.buffers.values !== task.matrix.values || cached.key !== task.geneIds) {
    cached = { buffers: task.matrix, prepared: fromBuffers(task.matrix), geneIds: new Int32Array(task.geneIds), key: task.geneIds };
  }
  return cached;
}

/**
 * Per-thread scratch arrays, grown to the largest task and reused. Allocating a block's score
 * arrays afresh for every task left garbage that each worker's heap collected late: peak RSS
 * then grew with the number and size of tasks (N), not with the matrix (N·D). They grow by
 * half at least: the emit tasks' needs rise a little with every block, and growing to each
 * exact need reallocated them almost every task.
 */
const arenas = new Map<string, Int16Array>();
export function scratch(name: string, length: number): Int16Array {
  let a = arenas.get(name);
  if (!a || a.length < length) {
    a = new Int16Array(Math.max(length, 1, Math.ceil((a?.length ?? 0) * 1.5)));
    arenas.set(name, a);
  }
  return a.subarray(0, length);
}

/** Where a block's chunks go: a synchronous writer may be handed a reused buffer, an asynchronous one may not. */
export type ChunkOutput = { sync: (chunk: Buffer) => void } | { async: (chunk: Buffer) => Promise<void> };

/** An encoder writing to `out`, and the function that passes its finished chunks on. */
function encoderFor(task: Pick<BlockTask, 'format' | 'metric' | 'wide'>, geneIds: Int32Array, out: ChunkOutput) {
  const enc = simEncoder(task.format, { geneIds, metric: task.metric, withIds: true, wide: task.wide }, 'sync' in out ? out.sync : undefined);
  const flush = async () => {
    if ('async' in out) for (const chunk of enc.take()) await out.async(chunk);
  };
  return { enc, flush };
}

/**
 * Scores and encodes one block as a complete COPY payload (header and trailer included for
 * binary), handing each chunk on as soon as it is full. The same code runs in the worker
 * threads and in the benchmarks.
 */
export async function encodeBlock(task: BlockTask, out: ChunkOutput): Promise<BlockStats> {
  const { prepared, geneIds } = viewsOf(task);
  const { enc, flush } = encoderFor(task, geneIds, out);
  const scores = scratch('scores', Math.max(prepared.n, 1));
  let computeSeconds = 0;
  let encodeSeconds = 0;
  let degeneratePairs = 0;
  enc.begin();
  for (let i = task.start; i < task.end; i++) {
    const t0 = performance.now();
    degeneratePairs += scoreRow(prepared, i, scores);
    const t1 = performance.now();
    enc.row(i, scores);
    encodeSeconds += (performance.now() - t1) / 1000;
    computeSeconds += (t1 - t0) / 1000;
    await flush();
  }
  enc.end();
  await flush();
  return { rows: enc.rows, bytes: enc.bytes, degeneratePairs, computeSeconds, encodeSeconds };
}

/**
 * Clustered layout. A row block's scores are stored twice as raw thousandths: `upper` holds
 * its rows as computed, (i, j) for j > i, in a file of the block's own; `lower` holds the same
 * scores transposed, for each later gene g the scores (i, g) of the block's genes i < g, in one
 * file shared by all blocks, each at its own place (`lowerAt`). Any gene1 row g of the full
 * matrix is then its lower parts from the blocks before it, its diagonal and its own upper
 * row, each read sequentially: the table can be written in (gene1_id, gene2_id) order
 * without computing any pair twice.
 */
export interface TriangleTask extends BlockTask {
  upperFile: string;
  /** The shared lower file; this block's part starts at `lowerAt(n, start)`. */
  lowerFile: string;
}

/** Where, in values, a block starting at row `start` keeps its part of the shared lower file: as many values as there are pairs before it. */
export function lowerAt(n: number, start: number): number {
  return pairsBefore(n, start);
}

/** Offset, in values, of gene g's record in a block's lower part (block rows start..end-1). */
export function lowerOffset(start: number, end: number, g: number): number {
  if (g <= start) return 0;
  if (g <= end) return ((g - start - 1) * (g - start)) / 2;
  const r = end - start;
  return (r * (r + 1)) / 2 + (g - 1 - end) * r;
}

/** Number of values in gene g's record: the block's genes below g. */
export function lowerLength(start: number, end: number, g: number): number {
  return Math.max(0, Math.min(end, g) - start);
}

export function computeTriangle(task: TriangleTask): { stats: BlockStats; upper: Int16Array; lower: Int16Array } {
  const { prepared } = viewsOf(task);
  const n = prepared.n;
  const first = pairsBefore(n, task.start);
  const upper = scratch('upper', pairsBefore(n, task.end) - first);
  const t0 = performance.now();
  let degeneratePairs = 0;
  for (let i = task.start; i < task.end; i++) {
    degeneratePairs += scoreRow(prepared, i, upper.subarray(pairsBefore(n, i) - first));
  }
  const lower = scratch('lower', upper.length);
  let at = 0;
  for (let g = task.start + 1; g < n; g++) {
    for (let i = task.start; i < Math.min(task.end, g); i++) lower[at++] = upper[pairsBefore(n, i) - first + (g - i - 1)]!;
  }
  const stats = { rows: 2 * upper.length, bytes: 4 * upper.length, degeneratePairs, computeSeconds: (performance.now() - t0) / 1000, encodeSeconds: 0 };
  return { stats, upper, lower };
}

/**
 * An emit task: gene1 rows start..end-1 from the block's upper file and the lower parts of
 * blocks 0..k. Its size does not grow with the number of blocks beyond `bounds`, one typed
 * array: with an object and a file name per earlier block, a task of 20,000 genes carried 633
 * of each, and that garbage (built, cloned and read back for every task) grew the worker and
 * main heaps with N.
 */
export interface EmitTask extends Omit<BlockTask, 'matrix'> {
  n: number;
  upperFile: string;
  lowerFile: string;
  /** Row boundaries of blocks 0..k: block b is rows bounds[b]..bounds[b + 1] - 1; the last is this task's. */
  bounds: Int32Array;
}

/** The emit task of block k: `bounds` holds every block's first row, then N. */
export function emitTaskFor(
  base: Pick<BlockTask, 'geneIds' | 'metric' | 'format' | 'wide'>,
  n: number,
  bounds: Int32Array,
  k: number,
  files: { upperFile: string; lowerFile: string },
): EmitTask {
  return {
    geneIds: base.geneIds,
    metric: base.metric,
    format: base.format,
    wide: base.wide,
    n,
    start: bounds[k]!,
    end: bounds[k + 1]!,
    upperFile: files.upperFile,
    lowerFile: files.lowerFile,
    bounds: bounds.slice(0, k + 2),
  };
}

/** Every block's first row, then N: the `bounds` emit tasks are cut from. */
export function blockBounds(blocks: { start: number }[], n: number): Int32Array {
  return Int32Array.from([...blocks.map((b) => b.start), n]);
}

/** A raw score file open for reading: `read` fills `length` values of `into` from `into[intoAt]` with those at value offset `at`. */
export interface ScoreFile {
  read(at: number, into: Int16Array, intoAt: number, length: number): void;
  close(): void;
}

/**
 * Encodes gene1 rows start..end-1 in (gene1_id, gene2_id) order, each with its database id
 * as the pair rule numbers it: lower part, diagonal, upper part.
 */
export async function emitClustered(task: EmitTask, open: (file: string) => ScoreFile, out: ChunkOutput): Promise<BlockStats> {
  const { n, bounds } = task;
  const blocks = bounds.length - 1;
  const { enc, flush } = encoderFor(task, new Int32Array(task.geneIds).subarray(0, n), out);
  const t0 = performance.now();
  const first = pairsBefore(n, task.start);
  const upper = scratch('emitUpper', pairsBefore(n, task.end) - first);
  const upperFile = open(task.upperFile);
  try {
    upperFile.read(0, upper, 0, upper.length);
  } finally {
    upperFile.close();
  }
  let total = 0;
  for (let b = 0; b < blocks; b++) total += lowerOffset(bounds[b]!, bounds[b + 1]!, task.end) - lowerOffset(bounds[b]!, bounds[b + 1]!, task.start);
  const all = scratch('lowers', total);
  // For each block, where its record of gene g starts in `all`, less lowerOffset(g).
  const from = new Float64Array(blocks);
  const lowerFile = open(task.lowerFile);
  try {
    let offset = 0;
    for (let b = 0; b < blocks; b++) {
      const s = bounds[b]!;
      const e = bounds[b + 1]!;
      const base = lowerOffset(s, e, task.start);
      const length = lowerOffset(s, e, task.end) - base;
      lowerFile.read(lowerAt(n, s) + base, all, offset, length);
      from[b] = offset - base;
      offset += length;
    }
  } finally {
    lowerFile.close();
  }
  const below = scratch('below', Math.max(n, 1));
  enc.begin();
  for (let g = task.start; g < task.end; g++) {
    let at = 0;
    // Copied by hand: a subarray view per row and block (rows × blocks of them a task, and the
    // blocks grow with N) was garbage enough to grow each worker's heap with N.
    for (let b = 0; b < blocks; b++) {
      const s = bounds[b]!;
      const e = bounds[b + 1]!;
      const len = lowerLength(s, e, g);
      const src = from[b]! + lowerOffset(s, e, g);
      for (let k = 0; k < len; k++) below[at + k] = all[src + k]!;
      at += len;
    }
    enc.clusteredRow(g, below, upper.subarray(pairsBefore(n, g) - first));
    await flush();
  }
  enc.end();
  await flush();
  return { rows: enc.rows, bytes: enc.bytes, degeneratePairs: 0, computeSeconds: 0, encodeSeconds: (performance.now() - t0) / 1000 };
}

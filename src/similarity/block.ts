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
 * then grew with the number and size of tasks (N), not with the matrix (N·D).
 */
const arenas = new Map<string, Int16Array>();
export function scratch(name: string, length: number): Int16Array {
  let a = arenas.get(name);
  if (!a || a.length < length) {
    a = new Int16Array(Math.max(length, 1));
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
 * its rows as computed, (i, j) for j > i; `lower` holds the same scores transposed, for each
 * later gene g the scores (i, g) of the block's genes i < g. Any gene1 row g of the full
 * matrix is then its lower parts from the blocks before it, its diagonal and its own upper
 * row, each read sequentially: the table can be written in (gene1_id, gene2_id) order
 * without computing any pair twice.
 */
export interface TriangleTask extends BlockTask {
  upperFile: string;
  lowerFile: string;
}

/** Offset, in values, of gene g's record in a block's lower file (block rows start..end-1). */
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

/** The blocks whose lower files hold the (i, g) scores, i < g, of an emit block's genes. */
export interface EmitTask extends Omit<BlockTask, 'matrix'> {
  n: number;
  upperFile: string;
  lowers: { start: number; end: number; file: string }[];
}

/** A scored block and its raw score files. */
export interface ScoredBlock {
  start: number;
  end: number;
  upperFile: string;
  lowerFile: string;
}

/** The emit task for the last of `scored`, which lists every block up to and including it, in order. */
export function emitTaskFor(base: Pick<BlockTask, 'geneIds' | 'metric' | 'format' | 'wide'>, n: number, scored: ScoredBlock[]): EmitTask {
  const own = scored[scored.length - 1]!;
  return {
    geneIds: base.geneIds,
    metric: base.metric,
    format: base.format,
    wide: base.wide,
    n,
    start: own.start,
    end: own.end,
    upperFile: own.upperFile,
    lowers: scored.map((b) => ({ start: b.start, end: b.end, file: b.lowerFile })),
  };
}

/** Fills `into` with the thousandths at value offset `at` of a raw score file. */
export type ScoreReader = (file: string, at: number, into: Int16Array) => void;

/**
 * Encodes gene1 rows start..end-1 in (gene1_id, gene2_id) order, each with its database id
 * as the pair rule numbers it: lower part, diagonal, upper part.
 */
export async function emitClustered(task: EmitTask, read: ScoreReader, out: ChunkOutput): Promise<BlockStats> {
  const { n } = task;
  const { enc, flush } = encoderFor(task, new Int32Array(task.geneIds).subarray(0, n), out);
  const t0 = performance.now();
  const first = pairsBefore(n, task.start);
  const upper = scratch('emitUpper', pairsBefore(n, task.end) - first);
  read(task.upperFile, 0, upper);
  const spans = task.lowers.map((b) => ({ ...b, base: lowerOffset(b.start, b.end, task.start), length: lowerOffset(b.start, b.end, task.end) - lowerOffset(b.start, b.end, task.start) }));
  const all = scratch('lowers', spans.reduce((sum, b) => sum + b.length, 0));
  let offset = 0;
  const lowers = spans.map((b) => {
    const values = all.subarray(offset, offset + b.length);
    offset += b.length;
    read(b.file, b.base, values);
    return { ...b, values };
  });
  const below = scratch('below', Math.max(n, 1));
  enc.begin();
  for (let g = task.start; g < task.end; g++) {
    let at = 0;
    for (const b of lowers) {
      const len = lowerLength(b.start, b.end, g);
      if (len > 0) below.set(b.values.subarray(lowerOffset(b.start, b.end, g) - b.base, lowerOffset(b.start, b.end, g) - b.base + len), at);
      at += len;
    }
    enc.clusteredRow(g, below, upper.subarray(pairsBefore(n, g) - first));
    await flush();
  }
  enc.end();
  await flush();
  return { rows: enc.rows, bytes: enc.bytes, degeneratePairs: 0, computeSeconds: 0, encodeSeconds: (performance.now() - t0) / 1000 };
}

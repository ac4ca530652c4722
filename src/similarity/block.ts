import { performance } from 'node:perf_hooks';
import { type CopyFormat, simEncoder } from '../encode/sims.js';
import { fromBuffers, type Prepared, type PreparedBuffers, scoreRow } from './kernel.js';

/** What a worker needs to score one row block; buffers are shared, never copied. */
export interface BlockTask {
  matrix: PreparedBuffers;
  geneIds: SharedArrayBuffer;
  metric: string;
  format: CopyFormat;
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

/** Where a block's chunks go: a synchronous writer may be handed a reused buffer, an asynchronous one may not. */
export type ChunkOutput = { sync: (chunk: Buffer) => void } | { async: (chunk: Buffer) => Promise<void> };

/**
 * Scores and encodes one block as a complete COPY payload (header and trailer included for
 * binary), handing each chunk on as soon as it is full. The same code runs in the worker
 * threads and in the benchmarks.
 */
export async function encodeBlock(task: BlockTask, out: ChunkOutput): Promise<BlockStats> {
  const { prepared, geneIds } = viewsOf(task);
  const enc = simEncoder(task.format, { geneIds, metric: task.metric, withIds: true }, 'sync' in out ? out.sync : undefined);
  const emit = 'async' in out ? out.async : async () => undefined;
  const scores = new Int16Array(Math.max(prepared.n, 1));
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
    for (const chunk of enc.take()) await emit(chunk);
  }
  enc.end();
  for (const chunk of enc.take()) await emit(chunk);
  return { rows: enc.rows, bytes: enc.bytes, degeneratePairs, computeSeconds, encodeSeconds };
}

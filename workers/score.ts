import { closeSync, constants, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import {
  type BlockStats,
  type BlockTask,
  type ChunkOutput,
  computeTriangle,
  type EmitTask,
  emitClustered,
  encodeBlock,
  lowerAt,
  type ScoreFile,
  type TriangleTask,
} from '../src/similarity/block.js';
import type { WorkerFault } from '../src/strategies/types.js';

/** Chunks a stream task may have in flight before the coordinator acknowledges them. */
const STREAM_CREDITS = 4;

/** Where encoded COPY bytes go: a file of the task's own, or a MessagePort to the coordinator. */
export type Destination = { via: 'file'; file: string } | { via: 'stream'; port: MessagePort };

export type WorkerTask =
  | (BlockTask & Destination & { kind: 'rows'; fault?: WorkerFault })
  | (TriangleTask & { kind: 'triangle'; fault?: WorkerFault })
  | (EmitTask & Destination & { kind: 'emit'; fault?: WorkerFault });

/** Messages a stream task posts: chunks (their memory transferred) and a final end marker. */
export type StreamMessage = { chunk: ArrayBuffer; offset: number; length: number } | { end: true };

/** A raw score file (2-byte values) open for reads at value offsets. */
function openScores(file: string): ScoreFile {
  const fd = openSync(file, 'r');
  return {
    read(at, into, intoAt, length) {
      const bytes = 2 * length;
      // A read may return less than asked (it never does for a local file, but nothing promises that).
      for (let done = 0; done < bytes; ) {
        const got = readSync(fd, into, 2 * intoAt + done, bytes - done, 2 * at + done);
        if (got === 0) throw new Error(`${file}: ended ${bytes - done} bytes early`);
        done += got;
      }
    },
    close: () => closeSync(fd),
  };
}

/** Writes a block's lower part at its place in the shared lower file, creating the file if no block has yet (never truncating it). */
function writeLower(task: TriangleTask, lower: Int16Array): void {
  const fd = openSync(task.lowerFile, constants.O_WRONLY | constants.O_CREAT);
  try {
    const position = 2 * lowerAt(task.matrix.n, task.start);
    for (let done = 0; done < lower.byteLength; ) done += writeSync(fd, lower, done, lower.byteLength - done, position + done);
  } finally {
    closeSync(fd);
  }
}

async function toDestination(d: Destination, encode: (out: ChunkOutput) => Promise<BlockStats>): Promise<BlockStats> {
  if (d.via === 'file') {
    const fd = openSync(d.file, 'w');
    try {
      return await encode({ sync: (chunk) => void writeSync(fd, chunk) });
    } finally {
      closeSync(fd);
    }
  }
  const port = d.port;
  let credits = STREAM_CREDITS;
  let wake: (() => void) | null = null;
  let closed = false;
  port.on('message', (granted: number) => {
    credits += granted;
    wake?.();
  });
  // The coordinator closes the channel when the COPY fails: stop rather than wait for credit.
  port.on('close', () => {
    closed = true;
    wake?.();
  });
  const stats = await encode({
    async: async (chunk) => {
      while (credits === 0 && !closed) await new Promise<void>((resolve) => (wake = resolve));
      if (closed) throw new Error('the COPY stream this block was feeding has closed');
      credits--;
      // A chunk owns its ArrayBuffer (allocUnsafe beyond the pool size), so it can be moved, not copied.
      const message: StreamMessage = { chunk: chunk.buffer as ArrayBuffer, offset: chunk.byteOffset, length: chunk.length };
      port.postMessage(message, [chunk.buffer as ArrayBuffer]);
    },
  });
  // The coordinator closes the channel once it has read this, so nothing queued is lost.
  port.postMessage({ end: true } satisfies StreamMessage);
  return stats;
}

/**
 * Piscina entry point, a thin wrapper over src/similarity/block: score a row block and send
 * its COPY bytes to a file or a port (`rows`); or, for a table clustered by gene1, score a
 * block into raw score files (`triangle`) and later encode gene1 rows from them (`emit`).
 */
export default async function scoreBlock(task: WorkerTask): Promise<BlockStats> {
  switch (task.kind) {
    case 'rows':
      return toDestination(task, (out) => encodeBlock(task, faulty(out, task.fault)));
    case 'triangle': {
      const { stats, upper, lower } = computeTriangle(task);
      // The hang fault lands in the scoring, the compute-bound part; the others in the COPY bytes.
      if (task.fault?.kind === 'worker-hang') hang();
      writeFileSync(task.upperFile, upper);
      writeLower(task, lower);
      return stats;
    }
    case 'emit':
      return toDestination(task, (out) => emitClustered(task, openScores, faulty(out, task.fault)));
  }
}

/** Blocks the thread without spinning: only terminating it ends the task. */
function hang(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

/** The test hook (see WorkerFault): fails the task once its first chunk has gone out. */
function faulty(out: ChunkOutput, fault: WorkerFault | undefined): ChunkOutput {
  if (!fault) return out;
  const strike = () => {
    if (fault.kind === 'worker-exit') process.exit(7);
    if (fault.kind === 'worker-hang') hang();
    throw new Error(`test fault injected into block ${fault.block}`);
  };
  if ('sync' in out) return { sync: (chunk) => (out.sync(chunk), strike()) };
  return { async: async (chunk) => (await out.async(chunk), strike()) };
}

import { closeSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import {
  type BlockStats,
  type BlockTask,
  type ChunkOutput,
  computeTriangle,
  type EmitTask,
  emitClustered,
  encodeBlock,
  type TriangleTask,
} from '../src/similarity/block.js';
import type { WorkerFault } from '../src/strategies/types.js';

/** Chunks a stream task may have in flight before the coordinator acknowledges them. */
const STREAM_CREDITS = 4;

/** Where encoded COPY bytes go: a file of the task's own, or a MessagePort to the coordinator. */
export type Destination = { via: 'file'; file: string } | { via: 'stream'; port: MessagePort };

export type WorkerTask =
  | (BlockTask & Destination & { kind: 'rows'; fault?: WorkerFault })
  | (TriangleTask & { kind: 'triangle' })
  | (EmitTask & Destination & { kind: 'emit'; fault?: WorkerFault });

/** Messages a stream task posts: chunks (their memory transferred) and a final end marker. */
export type StreamMessage = { chunk: ArrayBuffer; offset: number; length: number } | { end: true };

function readScores(file: string, at: number, into: Int16Array): void {
  const fd = openSync(file, 'r');
  try {
    readSync(fd, into, 0, into.byteLength, at * 2);
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
      writeFileSync(task.upperFile, upper);
      writeFileSync(task.lowerFile, lower);
      return stats;
    }
    case 'emit':
      return toDestination(task, (out) => emitClustered(task, readScores, faulty(out, task.fault)));
  }
}

/** The test hook (see WorkerFault): fails the task once its first chunk has gone out. */
function faulty(out: ChunkOutput, fault: WorkerFault | undefined): ChunkOutput {
  if (!fault) return out;
  const strike = () => {
    if (fault.kind === 'worker-exit') process.exit(7);
    throw new Error(`test fault injected into block ${fault.block}`);
  };
  if ('sync' in out) return { sync: (chunk) => (out.sync(chunk), strike()) };
  return { async: async (chunk) => (await out.async(chunk), strike()) };
}

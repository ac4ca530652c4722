import { closeSync, openSync, writeSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { type BlockStats, type BlockTask, encodeBlock } from '../src/similarity/block.js';

/** Chunks a stream task may have in flight before the coordinator acknowledges them. */
const STREAM_CREDITS = 4;

export type WorkerTask = BlockTask & ({ via: 'file'; file: string } | { via: 'stream'; port: MessagePort });

/** Messages a stream task posts: chunks (their memory transferred) and a final end marker. */
export type StreamMessage = { chunk: ArrayBuffer; offset: number; length: number } | { end: true };

/**
 * Piscina entry point: a thin wrapper that scores one row block and sends the COPY bytes to a
 * file of its own, or through a MessagePort with credit-based backpressure.
 */
export default async function scoreBlock(task: WorkerTask): Promise<BlockStats> {
  if (task.via === 'file') {
    const fd = openSync(task.file, 'w');
    try {
      return await encodeBlock(task, { sync: (chunk) => void writeSync(fd, chunk) });
    } finally {
      closeSync(fd);
    }
  }
  const port = task.port;
  let credits = STREAM_CREDITS;
  let wake: (() => void) | null = null;
  port.on('message', (granted: number) => {
    credits += granted;
    wake?.();
  });
  const stats = await encodeBlock(task, {
    async: async (chunk) => {
    while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
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

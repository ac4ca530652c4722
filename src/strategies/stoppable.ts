import { performance } from 'node:perf_hooks';
import { InterruptedError } from '../errors.js';
import type { RunContext } from './types.js';

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError();
}

export function* abortable<T>(items: Iterable<T>, signal: AbortSignal): Generator<T> {
  for (const item of items) {
    throwIfAborted(signal);
    yield item;
  }
}

/** Passes items through, counting them into `sent`. */
export function* counted<T>(items: Iterable<T>, sent: { rows: number }): Generator<T> {
  for (const item of items) {
    sent.rows++;
    yield item;
  }
}

/** Passes a file's chunks through, counting its lines (one row each) into `sent`. */
export async function* countingLines(chunks: AsyncIterable<Buffer>, sent: { rows: number }): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) sent.rows++;
    yield chunk;
  }
}

/**
 * Runs one row-writing phase; if the run is stopped in the middle of it (Ctrl-C, or the
 * bench's time budget), records how many rows had been sent and for how long as
 * `<phase>_stopped`, so a budgeted run still yields a measured rate to project from.
 */
export async function stoppable(ctx: RunContext, phase: string, sent: { rows: number }, work: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  try {
    await work();
  } catch (err) {
    if (ctx.signal.aborted) ctx.timer.record(`${phase}_stopped`, (performance.now() - t0) / 1000, sent.rows);
    throw err;
  }
}

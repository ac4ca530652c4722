import { performance } from 'node:perf_hooks';
import type { OnEvent } from '../engine/events.js';
import { tagPhase } from '../errors.js';

/** One line of a results CSV: `metric,seconds,count`. `seconds` is empty for settings. */
export interface Measurement {
  metric: string;
  seconds: number | null;
  count: number;
}

/**
 * Times named phases of one run; metric names get the `<strategy>_` prefix. Each phase's start
 * and end, and every other measurement, is also emitted as an event as it happens.
 */
export class Timer {
  readonly measurements: Measurement[] = [];
  /** The phase begun last: what a failure between phases (a query on a connection lost at its end) is reported against. */
  lastPhase: string | undefined;
  /** Runs before every phase (the writer lock's check): a phase does not start once it throws. */
  gate: (() => Promise<void>) | undefined;
  private readonly started = performance.now();

  constructor(
    readonly prefix: string,
    private readonly emit: OnEvent = () => undefined,
  ) {}

  async phase<T>(name: string, count: number | ((result: T) => number), work: () => Promise<T>): Promise<T> {
    const metric = `${this.prefix}_${name}`;
    this.lastPhase = metric;
    await this.gate?.();
    this.emit({ type: 'phase', name: metric, state: 'start' });
    const t0 = performance.now();
    let result: T;
    try {
      result = await work();
    } catch (err) {
      // A failure names the phase it happened in, as the results table would have named it.
      tagPhase(err, metric);
      throw err;
    }
    const m = this.add(name, (performance.now() - t0) / 1000, typeof count === 'function' ? count(result) : count);
    this.emit({ type: 'phase', name: metric, state: 'end', seconds: m.seconds!, count: m.count });
    return result;
  }

  record(name: string, seconds: number | null, count: number): void {
    const m = this.add(name, seconds, count);
    this.emit({ type: 'measurement', ...m });
  }

  private add(name: string, seconds: number | null, count: number): Measurement {
    const m = { metric: `${this.prefix}_${name}`, seconds, count };
    this.measurements.push(m);
    return m;
  }

  /** Time since the timer began, as the closing `_total` row. */
  /** Names the phase a failure raised outside any phase happened after, unless it already names one. */
  blame(err: unknown): void {
    if (this.lastPhase) tagPhase(err, this.lastPhase);
  }

  total(count: number): void {
    this.record('total', (performance.now() - this.started) / 1000, count);
  }
}

/** Accumulates time spent in many short calls (the kernel between writes). */
export class Stopwatch {
  seconds = 0;
  time<T>(work: () => T): T {
    const t0 = performance.now();
    try {
      return work();
    } finally {
      this.seconds += (performance.now() - t0) / 1000;
    }
  }
}

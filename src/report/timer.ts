import { performance } from 'node:perf_hooks';

/** One line of a results CSV: `metric,seconds,count`. `seconds` is empty for settings. */
export interface Measurement {
  metric: string;
  seconds: number | null;
  count: number;
}

/** Times named phases of one run; metric names get the `<strategy>_` prefix. */
export class Timer {
  readonly measurements: Measurement[] = [];
  private readonly started = performance.now();

  constructor(readonly prefix: string) {}

  async phase<T>(name: string, count: number | ((result: T) => number), work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const result = await work();
    this.record(name, (performance.now() - t0) / 1000, typeof count === 'function' ? count(result) : count);
    return result;
  }

  record(name: string, seconds: number | null, count: number): void {
    this.measurements.push({ metric: `${this.prefix}_${name}`, seconds, count });
  }

  /** Time since the timer began, as the closing `_total` row. */
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

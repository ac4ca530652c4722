import type { Measurement } from '../src/report/timer.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Per metric, the median seconds over runs (counts are the same in every run). */
export function medianMeasurements(runs: Measurement[][]): Measurement[] {
  const first = runs[0] ?? [];
  return first.map((m) => ({
    metric: m.metric,
    count: m.count,
    seconds: m.seconds === null ? null : median(runs.map((r) => r.find((x) => x.metric === m.metric)?.seconds ?? Number.NaN)),
  }));
}

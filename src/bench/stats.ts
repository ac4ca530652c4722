import type { Measurement } from '../report/timer.js';

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

/** The q-quantile (0..1) by linear interpolation between the closest ranks. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

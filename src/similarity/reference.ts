import { dot, mean, norm, subtract } from 'mathjs';
import type { Metric } from './kernel.js';

/**
 * The slow, obviously-correct definition the fast kernel is tested against: keep the
 * dimensions both genes have, centre them for pearson, and take the cosine. NaN when the
 * pair is degenerate (fewer than 2 shared dimensions or a zero norm).
 */
export function referenceScore(a: number[], b: number[], metric: Metric): number {
  const keep = a.map((_, k) => k).filter((k) => !Number.isNaN(a[k]!) && !Number.isNaN(b[k]!));
  if (keep.length < 2) return Number.NaN;
  let x = keep.map((k) => a[k]!);
  let y = keep.map((k) => b[k]!);
  if (metric === 'pearson') {
    x = subtract(x, mean(x)) as number[];
    y = subtract(y, mean(y)) as number[];
  }
  const nx = norm(x) as number;
  const ny = norm(y) as number;
  if (nx < 1e-10 * (norm(keep.map((k) => a[k]!)) as number) || ny < 1e-10 * (norm(keep.map((k) => b[k]!)) as number)) {
    return Number.NaN;
  }
  if (nx === 0 || ny === 0) return Number.NaN;
  return dot(x, y) / (nx * ny);
}

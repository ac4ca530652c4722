import type { Stopwatch } from '../report/timer.js';
import { type Prepared, scoreRow } from './kernel.js';

export interface ScoredRow {
  i: number;
  /** Scores of (i, j) for j = i+1 .. n-1, in thousandths. Reused between rows: consume before the next. */
  scores: Int16Array;
}

/**
 * Upper-triangle rows from..to-1, scored one at a time into one reused buffer, so memory stays
 * at one row whatever N is. Kernel time goes to `watch`, degenerate pairs to `stats`.
 */
export function* scoredRows(
  p: Prepared,
  from: number,
  to: number,
  watch: Stopwatch,
  stats: { degeneratePairs: number },
): Generator<ScoredRow> {
  const scores = new Int16Array(Math.max(p.n, 1));
  for (let i = from; i < to; i++) {
    stats.degeneratePairs += watch.time(() => scoreRow(p, i, scores));
    yield { i, scores };
  }
}

import type { ScoredRow } from '../similarity/rows.js';
import type { SimEncoder } from './sims.js';

/**
 * Encodes rows as they are scored and yields finished chunks, so a consumer with
 * backpressure (a file, a COPY stream) pulls the computation along at its own pace.
 */
export function* encodedChunks(rows: Iterable<ScoredRow>, enc: SimEncoder, onRow?: (rowsWritten: number) => void): Generator<Buffer> {
  enc.begin();
  for (const { i, scores } of rows) {
    const before = enc.rows;
    enc.row(i, scores);
    onRow?.(enc.rows - before);
    yield* enc.take();
  }
  enc.end();
  yield* enc.take();
}

import { pairsBefore, rowPairs } from './pairs.js';

/** A run of upper-triangle rows [start, end) handed to one worker task. */
export interface RowBlock {
  index: number;
  start: number;
  end: number;
  pairs: number;
}

/**
 * Cuts rows 0..n-1 into blocks of about `pairsPerBlock` pairs each, and at most `maxRows`
 * rows. Row i holds n - i - 1 pairs, so equal row counts would give the first block far more
 * work than the last.
 */
export function planBlocks(n: number, pairsPerBlock: number, maxRows = n): RowBlock[] {
  const blocks: RowBlock[] = [];
  let start = 0;
  while (start < n) {
    let end = start;
    let pairs = 0;
    while (end < n && (pairs === 0 || (pairs + rowPairs(n, end) <= pairsPerBlock && end - start < maxRows))) {
      pairs += rowPairs(n, end);
      end++;
    }
    if (pairs === 0) {
      // Only the last row remains and it has no pairs: fold it into the previous block.
      const last = blocks[blocks.length - 1];
      if (last) last.end = n;
      else blocks.push({ index: 0, start, end: n, pairs: 0 });
      break;
    }
    blocks.push({ index: blocks.length, start, end, pairs });
    start = end;
  }
  return blocks;
}

/** Enough blocks that every thread gets several (for balance) and files stay a few MB. */
export function blockSizeFor(n: number, threads: number): number {
  const total = pairsBefore(n, n);
  const byThreads = Math.ceil(total / (threads * 8));
  return Math.max(1, Math.min(byThreads, 400_000));
}

/**
 * The parallel engine's blocks. The clustered load's second pass encodes a block's rows whole
 * (N values each, both orderings), so a block of the short late rows would hold rows × N
 * scores and encode that many rows: capping rows at 2 × pairs / N keeps both within one
 * block's worth of pairs, whatever N (without the cap, 894 rows × 20,000 genes: 36 MB a
 * thread, the peak RSS growing with N).
 */
export function planLoadBlocks(n: number, threads: number): RowBlock[] {
  const pairs = blockSizeFor(n, threads);
  return planBlocks(n, pairs, Math.max(1, Math.floor((2 * pairs) / Math.max(n, 1))));
}

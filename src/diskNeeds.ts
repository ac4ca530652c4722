/**
 * What a run needs on the server's disk, measured on genesim's own tables (Django's schema:
 * the heap and its four indexes), so a run can be refused before it starts instead of failing
 * when the disk fills halfway through.
 */

/** Heap 52 + primary key 22 + the pair's unique index 32 + the two gene indexes 7 + 7, per row (1,000 genes: 121 MB for 1M rows). */
export const STORED_BYTES_PER_ROW = 121;
/** The largest index build's sort spilling to the server's temp files: the unique index's size again. */
const SORT_BYTES_PER_ROW = 32;

/**
 * The similarity table is built beside the live one, so both exist until the swap: the new
 * table in full, plus the sort files of its largest index build while it runs.
 */
export function databaseBytesNeeded(n: number): number {
  return n * n * (STORED_BYTES_PER_ROW + SORT_BYTES_PER_ROW);
}

export interface DiskShortfall {
  where: string;
  freeBytes: number;
  neededBytes: number;
  why: string;
}

const size = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : `${Math.round(b / 1e6)} MB`);

/** One line for a disk that cannot hold the run; refused before anything is written. */
export function describeShortfall(s: DiskShortfall): string {
  return `${s.where} has ${size(s.freeBytes)} free; this run needs about ${size(s.neededBytes)} there (${s.why}): free space or use a larger disk; nothing was written`;
}

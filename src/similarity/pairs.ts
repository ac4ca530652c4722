/**
 * The pair rule of the original benchmarks, as arithmetic: the diagonal first, then for every
 * i < j (genes sorted by systematic name) the rows (i, j) and (j, i) with the same score.
 * Row positions are closed-form, so any block of the matrix knows its database ids without
 * seeing the rest.
 */

export function totalRows(n: number): number {
  return n * n;
}

export function pairCount(n: number): number {
  return (n * (n - 1)) / 2;
}

/** Pairs in upper-triangle row i: (i, j) for j > i. */
export function rowPairs(n: number, i: number): number {
  return n - i - 1;
}

/** Pairs in the rows before row i. */
export function pairsBefore(n: number, i: number): number {
  return (i * (2 * n - i - 1)) / 2;
}

/**
 * 1-based position of a row in the table's insertion order, which is the id a serial column
 * hands out when rows arrive in that order.
 */
export function diagonalId(i: number): number {
  return i + 1;
}

/** Id of the (i, j) row for i < j; its mirror (j, i) has the next id. */
export function pairId(n: number, i: number, j: number): number {
  return n + 2 * (pairsBefore(n, i) + (j - i - 1)) + 1;
}

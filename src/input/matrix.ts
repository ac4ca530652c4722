import { InputError } from '../errors.js';

/**
 * An expression matrix: genes × datasets, values row-major in one Float64Array with NaN for
 * missing. The buffer may be a SharedArrayBuffer so worker threads read it without copies.
 */
export interface Matrix {
  genes: string[];
  commonNames: (string | null)[];
  datasets: string[];
  values: Float64Array;
}

export const MAX_GENE_NAME = 50;
export const MAX_DATASET_NAME = 500;

export function geneCount(m: Matrix): number {
  return m.genes.length;
}

export function datasetCount(m: Matrix): number {
  return m.datasets.length;
}

/** Allocates on shared memory so the same bytes can be handed to a worker pool. */
export function sharedValues(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT));
}

/**
 * Largest values buffer a file may fill: V8 caps a growable SharedArrayBuffer at 4 GiB
 * (Node 20), 536,870,912 values, far beyond this machine's memory for the scores anyway.
 */
export const MAX_VALUES_BYTES = 2 ** 32;

/**
 * A row-major matrix filled one row at a time without knowing the row count: a growable
 * SharedArrayBuffer grown by exactly one row each time, so the pages are committed as they
 * fill and the final buffer is exactly N × D values, with no copy at a doubling and none at
 * the end (a plain array grown by doubling would peak at twice the matrix).
 */
export class GrowingValues {
  private readonly buffer: SharedArrayBuffer;
  readonly values: Float64Array;
  private rows = 0;

  constructor(
    private readonly width: number,
    private readonly file: string,
  ) {
    const Growable = SharedArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => SharedArrayBuffer;
    this.buffer = new Growable(0, { maxByteLength: MAX_VALUES_BYTES });
    // Length-tracking: the view grows with the buffer.
    this.values = new Float64Array(this.buffer);
  }

  /** The next row, to be filled by the caller. */
  addRow(line: number): Float64Array {
    const start = this.rows * this.width;
    const bytes = (start + this.width) * Float64Array.BYTES_PER_ELEMENT;
    if (bytes > MAX_VALUES_BYTES) {
      throw new InputError(this.file, line, `more than ${(MAX_VALUES_BYTES / 8).toLocaleString('en-US')} values (${this.rows.toLocaleString('en-US')} rows of ${this.width.toLocaleString('en-US')}): too large to hold`);
    }
    (this.buffer as unknown as { grow(bytes: number): void }).grow(bytes);
    this.rows++;
    return this.values.subarray(start, start + this.width);
  }
}

/** Database ids on shared memory, one per gene; workers view the whole buffer, so it is exactly `values.length` long. */
export function sharedIds(values: ArrayLike<number>): Int32Array {
  const ids = new Int32Array(new SharedArrayBuffer(Math.max(values.length, 1) * Int32Array.BYTES_PER_ELEMENT)).subarray(0, values.length);
  ids.set(Array.from(values));
  return ids;
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Reorders genes by systematic name: the pair rule and the database ids both follow that
 * order, whatever order the input file had. A matrix already in order is returned as it is;
 * otherwise `m` is left untouched and the result has values of its own.
 */
export function sortBySystematicName(m: Matrix): Matrix {
  return sortedBy(m, (values) => {
    const copy = sharedValues(values.length);
    copy.set(values);
    return copy;
  });
}

/**
 * The same order, permuting `m.values` in place with one row of scratch, so a matrix just read
 * from a large file is never held twice. `m` must not be used afterwards.
 */
export function sortBySystematicNameInPlace(m: Matrix): Matrix {
  return sortedBy(m, (values) => values);
}

function sortedBy(m: Matrix, target: (values: Float64Array) => Float64Array): Matrix {
  const n = m.genes.length;
  const d = m.datasets.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareNames(m.genes[a]!, m.genes[b]!));
  if (order.every((from, to) => from === to)) return m;
  const values = target(m.values);
  permuteRows(values, d, order);
  return {
    genes: order.map((i) => m.genes[i]!),
    commonNames: order.map((i) => m.commonNames[i]!),
    datasets: m.datasets,
    values,
  };
}

/** Row `to` becomes what row `order[to]` was, following each cycle of the permutation once. */
function permuteRows(values: Float64Array, d: number, order: number[]): void {
  const done = new Uint8Array(order.length);
  const scratch = new Float64Array(d);
  for (let start = 0; start < order.length; start++) {
    if (done[start] || order[start] === start) continue;
    scratch.set(values.subarray(start * d, start * d + d));
    let to = start;
    for (let from = order[to]!; from !== start; to = from, from = order[to]!) {
      values.copyWithin(to * d, from * d, from * d + d);
      done[to] = 1;
    }
    values.set(scratch, to * d);
    done[to] = 1;
  }
}

/** Datasets × genes: dataset similarities run the same kernel over the columns. */
export function transpose(m: Matrix): Matrix {
  const n = m.genes.length;
  const d = m.datasets.length;
  const values = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) values[k * n + i] = m.values[i * d + k]!;
  }
  return { genes: m.datasets, commonNames: m.datasets.map(() => null), datasets: m.genes, values };
}

export function countMissing(m: Matrix): number {
  let missing = 0;
  for (const v of m.values) if (Number.isNaN(v)) missing++;
  return missing;
}

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
 * order, whatever order the input file had.
 */
export function sortBySystematicName(m: Matrix): Matrix {
  const n = m.genes.length;
  const d = m.datasets.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareNames(m.genes[a]!, m.genes[b]!));
  const values = sharedValues(n * d);
  order.forEach((from, to) => values.set(m.values.subarray(from * d, from * d + d), to * d));
  return {
    genes: order.map((i) => m.genes[i]!),
    commonNames: order.map((i) => m.commonNames[i]!),
    datasets: m.datasets,
    values,
  };
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

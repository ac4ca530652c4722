import { generateMatrix } from '../input/generate.js';
import type { InputFormat } from '../input/detect.js';
import { loadMatrixFile } from '../input/load.js';
import { type Matrix, sortBySystematicNameInPlace } from '../input/matrix.js';

/** Where a run's matrix comes from: a file, or the synthetic generator. */
export type MatrixSource = { input: string; format?: InputFormat } | { genes: number; datasets: number; seed: number; missing: number };

export async function loadSource(source: MatrixSource): Promise<Matrix> {
  const m = 'input' in source ? await loadMatrixFile(source.input, source.format) : generateMatrix(source);
  return sortBySystematicNameInPlace(m);
}

export function describeSource(source: MatrixSource): string {
  return 'input' in source
    ? source.input
    : `synthetic ${source.genes} genes × ${source.datasets} datasets (seed ${source.seed}, ${source.missing * 100}% missing)`;
}

import { writeFile } from 'node:fs/promises';
import { formatTsv, generateMatrix } from '../input/generate.js';
import type { Matrix } from '../input/matrix.js';
import { Random } from '../input/random.js';

/** The matrix with one more dataset (seeded values): every gene changes, so an update rewrites nearly every score. */
export function withNewDataset(m: Matrix, seed = 7): Matrix {
  const r = new Random(seed);
  const d = m.datasets.length;
  const values = new Float64Array(m.genes.length * (d + 1));
  m.genes.forEach((_, i) => {
    values.set(m.values.subarray(i * d, i * d + d), i * (d + 1));
    values[i * (d + 1) + d] = Math.round(r.normal() * 1000) / 1000;
  });
  return { ...m, datasets: [...m.datasets, 'new_dataset'], values };
}

/** Writes the update bench's target: the synthetic matrix `create --genes N --datasets D --seed 1` makes, plus one dataset. */
export async function writeUpdateTarget(file: string, genes: number, datasets: number): Promise<void> {
  await writeFile(file, formatTsv(withNewDataset(generateMatrix({ genes, datasets, seed: 1, missing: 0 }))));
}

import { type Matrix, sharedValues, sortBySystematicName } from '../input/matrix.js';

/** What the database holds now, as a matrix with the ids of its rows. */
export interface StoredMatrix extends Matrix {
  geneIds: number[];
  datasetIds: number[];
}

/**
 * Everything an update needs to know, decided before any write: the target matrix (what a
 * fresh create would be given), which of its genes and datasets exist already, which are
 * gone, and which genes' values changed.
 */
export interface UpdatePlan {
  /** The target matrix, genes sorted by systematic name. */
  target: Matrix;
  /** Database id of each target gene, 0 for genes still to be inserted. */
  geneIds: Int32Array;
  /** Database id of each target dataset, 0 for datasets still to be inserted. */
  datasetIds: Int32Array;
  removedGeneIds: number[];
  removedDatasetIds: number[];
  /** 1 where a target gene is new or any of its values differs from the stored ones. */
  changed: Uint8Array;
  changedGenes: number;
  /** 1 where the common name differs from the stored one (existing genes only). */
  renamed: Uint8Array;
}

function sameValue(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/**
 * The input laid over the stored matrix: input values win, genes and datasets absent from
 * the input keep their stored values. Used for --keep-missing-genes.
 */
export function overlay(stored: Matrix, input: Matrix): Matrix {
  const genes = [...new Set([...stored.genes, ...input.genes])];
  const datasets = [...new Set([...stored.datasets, ...input.datasets])];
  const d = datasets.length;
  const values = sharedValues(genes.length * d).fill(Number.NaN);
  const put = (m: Matrix) => {
    const geneAt = new Map(genes.map((g, i) => [g, i]));
    const columnAt = m.datasets.map((name) => datasets.indexOf(name));
    m.genes.forEach((g, i) => {
      const row = geneAt.get(g)! * d;
      columnAt.forEach((c, k) => (values[row + c] = m.values[i * m.datasets.length + k]!));
    });
  };
  put(stored);
  put(input);
  const common = new Map<string, string | null>();
  stored.genes.forEach((g, i) => common.set(g, stored.commonNames[i]!));
  input.genes.forEach((g, i) => common.set(g, input.commonNames[i]!));
  return { genes, commonNames: genes.map((g) => common.get(g) ?? null), datasets, values };
}

export function planUpdate(stored: StoredMatrix, targetInput: Matrix): UpdatePlan {
  const target = sortBySystematicName(targetInput);
  const n = target.genes.length;
  const d = target.datasets.length;
  const storedGene = new Map(stored.genes.map((g, i) => [g, i]));
  const storedDataset = new Map(stored.datasets.map((name, k) => [name, k]));
  const targetGenes = new Set(target.genes);
  const targetDatasets = new Set(target.datasets);

  const geneIds = Int32Array.from(target.genes, (g) => {
    const at = storedGene.get(g);
    return at === undefined ? 0 : stored.geneIds[at]!;
  });
  const datasetIds = Int32Array.from(target.datasets, (name) => {
    const at = storedDataset.get(name);
    return at === undefined ? 0 : stored.datasetIds[at]!;
  });
  const removedDatasets = stored.datasets.map((name, k) => [name, k] as const).filter(([name]) => !targetDatasets.has(name));

  const changed = new Uint8Array(n);
  const renamed = new Uint8Array(n);
  const sd = stored.datasets.length;
  for (let i = 0; i < n; i++) {
    const at = storedGene.get(target.genes[i]!);
    if (at === undefined) {
      changed[i] = 1;
      continue;
    }
    if ((stored.commonNames[at] ?? null) !== (target.commonNames[i] ?? null)) renamed[i] = 1;
    // Compared over the union of datasets: a value gained or lost on any dataset changes the gene.
    for (let k = 0; k < d && !changed[i]; k++) {
      const sk = storedDataset.get(target.datasets[k]!);
      const before = sk === undefined ? Number.NaN : stored.values[at * sd + sk]!;
      if (!sameValue(before, target.values[i * d + k]!)) changed[i] = 1;
    }
    for (const [, sk] of removedDatasets) {
      if (!changed[i] && !Number.isNaN(stored.values[at * sd + sk]!)) changed[i] = 1;
    }
  }
  return {
    target,
    geneIds,
    datasetIds,
    removedGeneIds: stored.genes.flatMap((g, i) => (targetGenes.has(g) ? [] : [stored.geneIds[i]!])),
    removedDatasetIds: removedDatasets.map(([, k]) => stored.datasetIds[k]!),
    changed,
    changedGenes: changed.reduce((s, c) => s + c, 0),
    renamed,
  };
}

import { type Matrix, sharedValues } from './matrix.js';
import { Random } from './random.js';

export interface GenerateOptions {
  genes: number;
  datasets: number;
  seed: number;
  /** Fraction of values left missing, 0 to < 1. */
  missing: number;
}

const CHROMOSOMES = 'ABCDEFGHIJKLMNOP';
const SUFFIXES = ['', '', '', '', '', '', '', '-A', '-B'];
/** Room in the yeast naming scheme: 16 chromosomes × 2 arms × 999 loci × 2 strands × 3 suffixes. */
export const MAX_GENERATED_GENES = 150_000;
/** Shared expression programmes; groups mix them, so groups correlate with each other too. */
const FACTORS = 6;
const GENES_PER_GROUP = 40;

function systematicName(r: Random): string {
  const locus = String(1 + r.int(999)).padStart(3, '0');
  const arm = r.next() < 0.5 ? 'L' : 'R';
  const strand = r.next() < 0.5 ? 'W' : 'C';
  return `Y${CHROMOSOMES[r.int(16)]}${arm}${locus}${strand}${SUFFIXES[r.int(SUFFIXES.length)]}`;
}

function commonName(r: Random): string | null {
  if (r.next() < 0.4) return null;
  const letters = Array.from({ length: 3 }, () => String.fromCharCode(65 + r.int(26))).join('');
  return `${letters}${1 + r.int(20)}`;
}

/** Values are kept at 3 decimals so a matrix generated in memory equals the same one read back from its file. */
function round3(x: number): number {
  const v = Math.round(x * 1000) / 1000;
  return v === 0 ? 0 : v;
}

/**
 * A synthetic log-ratio matrix with co-expressed groups: each group follows a random mix of a
 * few shared programmes, each gene follows its group (sometimes inverted) plus noise, so
 * similarities spread over [-1, 1] as in real data instead of bunching near 0.
 */
export function generateMatrix(o: GenerateOptions): Matrix {
  const r = new Random(o.seed);
  const seen = new Set<string>();
  const genes: string[] = [];
  while (genes.length < o.genes) {
    const name = systematicName(r);
    if (!seen.has(name)) {
      seen.add(name);
      genes.push(name);
    }
  }
  const commonNames = genes.map(() => commonName(r));
  const datasets = Array.from({ length: o.datasets }, (_, k) => `condition_${String(k + 1).padStart(3, '0')}`);

  const factors = Array.from({ length: FACTORS }, () => Array.from({ length: o.datasets }, () => r.normal()));
  const groups = Math.max(2, Math.ceil(o.genes / GENES_PER_GROUP));
  const profiles = Array.from({ length: groups }, () => {
    const weights = factors.map(() => r.normal());
    return Array.from({ length: o.datasets }, (_, k) => weights.reduce((s, w, f) => s + w * factors[f]![k]!, 0) / 2);
  });

  const values = sharedValues(o.genes * o.datasets);
  for (let i = 0; i < o.genes; i++) {
    const profile = profiles[r.int(groups)]!;
    const sign = r.next() < 0.25 ? -1 : 1;
    const amplitude = 0.3 + r.next() * 1.2;
    const noise = 0.2 + r.next() * 0.8;
    for (let k = 0; k < o.datasets; k++) {
      const v = sign * amplitude * profile[k]! + noise * r.normal();
      values[i * o.datasets + k] = r.next() < o.missing ? Number.NaN : round3(v);
    }
  }
  return { genes, commonNames, datasets, values };
}

/** The TSV the readers accept; missing values are empty fields. */
export function formatTsv(m: Matrix): string {
  const d = m.datasets.length;
  const lines = [['systematic_name', 'common_name', ...m.datasets].join('\t')];
  m.genes.forEach((name, i) => {
    const fields = [name, m.commonNames[i] ?? ''];
    for (let k = 0; k < d; k++) {
      const v = m.values[i * d + k]!;
      fields.push(Number.isNaN(v) ? '' : v.toFixed(3));
    }
    lines.push(fields.join('\t'));
  });
  return lines.join('\n') + '\n';
}

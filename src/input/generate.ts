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

/** Names and datasets up front, values one row at a time: `generate` writes a 1 GB file without holding it. */
export interface SyntheticMatrix {
  genes: string[];
  commonNames: (string | null)[];
  datasets: string[];
  /** Each row in turn, in one reused array; call once. */
  rows(): Generator<Float64Array>;
}

/**
 * A synthetic log-ratio matrix with co-expressed groups: each group follows a random mix of a
 * few shared programmes, each gene follows its group (sometimes inverted) plus noise, so
 * similarities spread over [-1, 1] as in real data instead of bunching near 0.
 */
export function syntheticMatrix(o: GenerateOptions): SyntheticMatrix {
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

  function* rows(): Generator<Float64Array> {
    const row = new Float64Array(o.datasets);
    for (let i = 0; i < o.genes; i++) {
      const profile = profiles[r.int(groups)]!;
      const sign = r.next() < 0.25 ? -1 : 1;
      const amplitude = 0.3 + r.next() * 1.2;
      const noise = 0.2 + r.next() * 0.8;
      for (let k = 0; k < o.datasets; k++) {
        const v = sign * amplitude * profile[k]! + noise * r.normal();
        row[k] = r.next() < o.missing ? Number.NaN : round3(v);
      }
      yield row;
    }
  }
  return { genes, commonNames, datasets, rows };
}

export function generateMatrix(o: GenerateOptions): Matrix {
  const s = syntheticMatrix(o);
  const values = sharedValues(o.genes * o.datasets);
  let i = 0;
  for (const row of s.rows()) values.set(row, i++ * o.datasets);
  return { genes: s.genes, commonNames: s.commonNames, datasets: s.datasets, values };
}

const TSV_CHUNK_CHARS = 1024 * 1024;

/** The TSV the readers accept, in chunks of about 1 MB; missing values are empty fields. */
export function* tsvChunks(m: Omit<SyntheticMatrix, 'rows'>, rows: Iterable<Float64Array>): Generator<string> {
  let chunk = `${['systematic_name', 'common_name', ...m.datasets].join('\t')}\n`;
  let i = 0;
  for (const row of rows) {
    let line = `${m.genes[i]}\t${m.commonNames[i] ?? ''}`;
    for (const v of row) line += Number.isNaN(v) ? '\t' : `\t${v.toFixed(3)}`;
    chunk += `${line}\n`;
    i++;
    if (chunk.length >= TSV_CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

function* matrixRows(m: Matrix): Generator<Float64Array> {
  const d = m.datasets.length;
  for (let i = 0; i < m.genes.length; i++) yield m.values.subarray(i * d, i * d + d);
}

/** The whole TSV as one string: for tests and small matrices only. */
export function formatTsv(m: Matrix): string {
  return [...tsvChunks(m, matrixRows(m))].join('');
}

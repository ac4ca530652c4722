/**
 * Pairwise-complete similarity over fixed-length typed arrays. Rows without missing values
 * are pre-normalised once (centred first for pearson), so a pair of them costs one dot
 * product. A pair with a missing value costs one dot product too: values are zero-filled (so
 * the full dot product is already the dot product over the shared dimensions), and each row's
 * full sums are corrected by the few positions where the other row is missing, giving the
 * exact sums over the shared dimensions. Where that subtraction could cancel most digits, the
 * pair is recomputed from the values directly.
 */
export const METRICS = ['cosine', 'pearson'] as const;
export type Metric = (typeof METRICS)[number];

/** Norms below this fraction of the sum of squares are rounding noise of a constant vector. */
const ZERO_NORM = 1e-20;
/**
 * A shared-dimension sum of squares below this fraction of the row's own lost more than 4
 * digits to the subtraction (about 1e-12 left of 1e-16): recomputed exactly instead. Rare:
 * the pair would need nearly all of a row's variance at the other row's holes.
 */
const CANCELLATION_GUARD = 1e-4;

export interface Prepared {
  n: number;
  d: number;
  metric: Metric;
  /** The input values, a fixed-length view (NaN for missing). */
  values: Float64Array;
  /** Unit vectors (centred for pearson) of complete rows; zeros elsewhere. */
  unit: Float64Array;
  /** 1 where the row has no missing value. */
  complete: Uint8Array;
  /** 1 where a complete row has no usable norm, so every pair with it is degenerate. */
  zero: Uint8Array;
  /** Values less the row's mean over its present values (pearson; cosine: as is), 0 where missing. */
  filled: Float64Array;
  /** 1 where the value is missing. */
  mask: Uint8Array;
  /** Per row: centring mean, Σx and Σx² of `filled` over its present values. */
  rowMean: Float64Array;
  rowSum: Float64Array;
  rowSquares: Float64Array;
  /** 1 where a row has fewer than 2 values or Σx² = 0: every pair with it is degenerate. */
  hollow: Uint8Array;
  /** Row i's missing positions are missIdx[missStart[i] .. missStart[i + 1] - 1]. */
  missStart: Int32Array;
  missIdx: Int32Array;
}

type Buffers<T> = { [K in keyof T]: T[K] extends ArrayBufferView ? SharedArrayBuffer | ArrayBuffer : T[K] };

/** Buffers a prepared matrix lives in, to rebuild it in a worker without copying. */
export type PreparedBuffers = Buffers<Prepared>;

const ARRAYS = ['values', 'unit', 'complete', 'zero', 'filled', 'mask', 'rowMean', 'rowSum', 'rowSquares', 'hollow', 'missStart', 'missIdx'] as const;

export function toBuffers(p: Prepared): PreparedBuffers {
  const b: Record<string, unknown> = { n: p.n, d: p.d, metric: p.metric };
  for (const k of ARRAYS) b[k] = p[k].buffer;
  return b as unknown as PreparedBuffers;
}

export function fromBuffers(b: PreparedBuffers): Prepared {
  const { n, d } = b;
  return {
    n,
    d,
    metric: b.metric,
    // An explicit length: the reader's buffer is growable, and V8 optimises loops over a
    // length-tracking view far worse than over a fixed one.
    values: new Float64Array(b.values, 0, n * d),
    unit: new Float64Array(b.unit, 0, n * d),
    complete: new Uint8Array(b.complete, 0, n),
    zero: new Uint8Array(b.zero, 0, n),
    filled: new Float64Array(b.filled, 0, n * d),
    mask: new Uint8Array(b.mask, 0, n * d),
    rowMean: new Float64Array(b.rowMean, 0, n),
    rowSum: new Float64Array(b.rowSum, 0, n),
    rowSquares: new Float64Array(b.rowSquares, 0, n),
    hollow: new Uint8Array(b.hollow, 0, n),
    missStart: new Int32Array(b.missStart, 0, n + 1),
    missIdx: new Int32Array(b.missIdx, 0, b.missIdx.byteLength / 4),
  };
}

function shared(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.max(bytes, 8));
}

/**
 * A fixed-length view of the input (no copy: the matrix may be most of memory). Only the
 * rare exact recomputation reads it; the hot loops read the arrays prepared here.
 */
function fixedView(values: Float64Array, length: number): Float64Array {
  return new Float64Array(values.buffer, values.byteOffset, length);
}

/** Unit vectors and zero flags of the complete rows: today's one-dot-product path. */
function prepareComplete(p: Prepared): void {
  const { n, d, values, unit, complete, zero, metric } = p;
  for (let i = 0; i < n; i++) {
    const row = values.subarray(i * d, i * d + d);
    if (row.some(Number.isNaN)) continue;
    complete[i] = 1;
    const mean = metric === 'pearson' ? row.reduce((s, v) => s + v, 0) / d : 0;
    let squares = 0;
    let norm2 = 0;
    for (let k = 0; k < d; k++) {
      squares += row[k]! * row[k]!;
      norm2 += (row[k]! - mean) ** 2;
    }
    if (d < 2 || norm2 <= ZERO_NORM * squares || norm2 === 0) {
      zero[i] = 1;
      continue;
    }
    const inv = 1 / Math.sqrt(norm2);
    for (let k = 0; k < d; k++) unit[i * d + k] = (row[k]! - mean) * inv;
  }
}

/**
 * Zero-filled values, centred by each row's mean over its present values (pearson is
 * unchanged by shifting a row, and centring first keeps the pair's running sums small, so
 * their subtraction does not cancel), each row's sums and its missing positions.
 */
function prepareFilled(p: Prepared): void {
  const { n, d, values, filled, mask, rowMean, rowSum, rowSquares, hollow, missStart } = p;
  const missing: number[] = [];
  for (let i = 0; i < n; i++) {
    missStart[i] = missing.length;
    let present = 0;
    let sum = 0;
    for (let k = 0; k < d; k++) {
      const v = values[i * d + k]!;
      if (v !== v) {
        mask[i * d + k] = 1;
        missing.push(k);
      } else {
        present++;
        sum += v;
      }
    }
    const mean = p.metric === 'pearson' && present > 0 ? sum / present : 0;
    let s = 0;
    let q = 0;
    for (let k = 0; k < d; k++) {
      if (mask[i * d + k] === 1) continue;
      const x = values[i * d + k]! - mean;
      filled[i * d + k] = x;
      s += x;
      q += x * x;
    }
    rowMean[i] = mean;
    rowSum[i] = s;
    rowSquares[i] = q;
    hollow[i] = present < 2 || q === 0 ? 1 : 0;
  }
  missStart[n] = missing.length;
  p.missIdx = new Int32Array(shared(missing.length * 4), 0, missing.length);
  p.missIdx.set(missing);
}

export function prepare(input: Float64Array, n: number, d: number, metric: Metric): Prepared {
  const p: Prepared = {
    n,
    d,
    metric,
    values: fixedView(input, n * d),
    unit: new Float64Array(shared(n * d * 8), 0, n * d),
    complete: new Uint8Array(shared(n), 0, n),
    zero: new Uint8Array(shared(n), 0, n),
    filled: new Float64Array(shared(n * d * 8), 0, n * d),
    mask: new Uint8Array(shared(n * d), 0, n * d),
    rowMean: new Float64Array(shared(n * 8), 0, n),
    rowSum: new Float64Array(shared(n * 8), 0, n),
    rowSquares: new Float64Array(shared(n * 8), 0, n),
    hollow: new Uint8Array(shared(n), 0, n),
    missStart: new Int32Array(shared((n + 1) * 4), 0, n + 1),
    missIdx: new Int32Array(0),
  };
  prepareComplete(p);
  prepareFilled(p);
  return p;
}

/** Rounds a score to the integer thousandths `numeric(10,3)` stores; never -0. */
export function toMilli(score: number): number {
  const m = Math.round(score * 1000);
  return (m > 1000 ? 1000 : m < -1000 ? -1000 : m) | 0;
}

/** Exact score of one pair over the dimensions both genes have, from the values; NaN when degenerate. */
export function pairScore(p: Prepared, i: number, j: number): number {
  const { d, values: v } = p;
  const a0 = i * d;
  const b0 = j * d;
  let count = 0;
  let sa = 0;
  let sb = 0;
  for (let k = 0; k < d; k++) {
    const a = v[a0 + k]!;
    const b = v[b0 + k]!;
    if (a !== a || b !== b) continue;
    count++;
    sa += a;
    sb += b;
  }
  if (count < 2) return Number.NaN;
  const ma = p.metric === 'pearson' ? sa / count : 0;
  const mb = p.metric === 'pearson' ? sb / count : 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  let qa = 0;
  let qb = 0;
  for (let k = 0; k < d; k++) {
    const a = v[a0 + k]!;
    const b = v[b0 + k]!;
    if (a !== a || b !== b) continue;
    const x = a - ma;
    const y = b - mb;
    dot += x * y;
    na += x * x;
    nb += y * y;
    qa += a * a;
    qb += b * b;
  }
  if (na === 0 || nb === 0 || na <= ZERO_NORM * qa || nb <= ZERO_NORM * qb) return Number.NaN;
  return dot / Math.sqrt(na * nb);
}

/**
 * The same score from the zero-filled rows: the full dot product, and each row's sums less
 * its values where the other row is missing. NaN when degenerate.
 */
export function maskedScore(p: Prepared, i: number, j: number): number {
  const { d, filled: f, mask, missStart, missIdx, rowSum, rowSquares } = p;
  const a0 = i * d;
  const b0 = j * d;
  let dot = 0;
  for (let k = 0; k < d; k++) dot += f[a0 + k]! * f[b0 + k]!;
  let sx = rowSum[i]!;
  let sxx = rowSquares[i]!;
  let both = 0;
  for (let t = missStart[j]!, e = missStart[j + 1]!; t < e; t++) {
    const k = missIdx[t]!;
    const x = f[a0 + k]!;
    sx -= x;
    sxx -= x * x;
    both += mask[a0 + k]!;
  }
  let sy = rowSum[j]!;
  let syy = rowSquares[j]!;
  for (let t = missStart[i]!, e = missStart[i + 1]!; t < e; t++) {
    const y = f[b0 + missIdx[t]!]!;
    sy -= y;
    syy -= y * y;
  }
  const count = d - (missStart[i + 1]! - missStart[i]!) - (missStart[j + 1]! - missStart[j]!) + both;
  if (count < 2) return Number.NaN;
  // The raw (uncentred) squares over the shared dimensions, for the zero-norm rule of pairScore.
  const mx = p.rowMean[i]!;
  const my = p.rowMean[j]!;
  const qa = sxx + 2 * mx * sx + count * mx * mx;
  const qb = syy + 2 * my * sy + count * my * my;
  if (p.metric === 'pearson') {
    dot -= (sx * sy) / count;
    sxx -= (sx * sx) / count;
    syy -= (sy * sy) / count;
  }
  if (sxx <= CANCELLATION_GUARD * rowSquares[i]! || syy <= CANCELLATION_GUARD * rowSquares[j]!) return pairScore(p, i, j);
  if (sxx <= ZERO_NORM * qa || syy <= ZERO_NORM * qb) return Number.NaN;
  return dot / Math.sqrt(sxx * syy);
}

/** One pair, exact; NaN when degenerate. Either path of scoreRow, as it would choose. */
export function pairValue(p: Prepared, i: number, j: number): number {
  if (p.complete[i] === 1 && p.complete[j] === 1) {
    if (p.zero[i] === 1 || p.zero[j] === 1) return Number.NaN;
    const { d, unit } = p;
    let s = 0;
    for (let k = 0; k < d; k++) s += unit[i * d + k]! * unit[j * d + k]!;
    return s;
  }
  if (p.hollow[i] === 1 || p.hollow[j] === 1) return Number.NaN;
  return maskedScore(p, i, j);
}

/** One pair in thousandths, NaN when degenerate; the same arithmetic as scoreRow. */
export function scorePair(p: Prepared, i: number, j: number): number {
  const s = pairValue(p, i, j);
  return s !== s ? Number.NaN : toMilli(s);
}

/**
 * Scores gene i against every later gene j (the upper-triangle row i) into
 * out[0 .. n-i-2] as thousandths. Returns how many of those pairs were degenerate
 * (fewer than 2 shared dimensions or a zero norm), which score 0.
 */
export function scoreRow(p: Prepared, i: number, out: Int16Array): number {
  const { n, d, unit, complete, zero, hollow } = p;
  const a0 = i * d;
  const ci = complete[i] === 1;
  const zi = zero[i] === 1;
  const hi = hollow[i] === 1;
  let degenerate = 0;
  for (let j = i + 1; j < n; j++) {
    let s: number;
    if (ci && complete[j] === 1) {
      if (zi || zero[j] === 1) {
        s = Number.NaN;
      } else {
        const b0 = j * d;
        s = 0;
        for (let k = 0; k < d; k++) s += unit[a0 + k]! * unit[b0 + k]!;
      }
    } else {
      s = hi || hollow[j] === 1 ? Number.NaN : maskedScore(p, i, j);
    }
    if (s !== s) {
      out[j - i - 1] = 0;
      degenerate++;
    } else {
      out[j - i - 1] = toMilli(s);
    }
  }
  return degenerate;
}

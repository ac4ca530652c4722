/**
 * Pairwise-complete similarity over typed arrays. Rows without missing values are
 * pre-normalised once (centred first for pearson), so a pair of them costs one dot product;
 * pairs involving a missing value fall back to a loop over the dimensions both genes have.
 */
export const METRICS = ['cosine', 'pearson'] as const;
export type Metric = (typeof METRICS)[number];

/** Norms below this fraction of the sum of squares are rounding noise of a constant vector. */
const ZERO_NORM = 1e-20;

export interface Prepared {
  n: number;
  d: number;
  metric: Metric;
  values: Float64Array;
  /** Unit vectors (centred for pearson) of complete rows; zeros elsewhere. */
  unit: Float64Array;
  /** 1 where the row has no missing value. */
  complete: Uint8Array;
  /** 1 where a complete row has no usable norm, so every pair with it is degenerate. */
  zero: Uint8Array;
}

/** Buffers a prepared matrix lives in, to rebuild it in a worker without copying. */
export interface PreparedBuffers {
  n: number;
  d: number;
  metric: Metric;
  values: SharedArrayBuffer | ArrayBuffer;
  unit: SharedArrayBuffer | ArrayBuffer;
  complete: SharedArrayBuffer | ArrayBuffer;
  zero: SharedArrayBuffer | ArrayBuffer;
}

export function toBuffers(p: Prepared): PreparedBuffers {
  return {
    n: p.n,
    d: p.d,
    metric: p.metric,
    values: p.values.buffer,
    unit: p.unit.buffer,
    complete: p.complete.buffer,
    zero: p.zero.buffer,
  };
}

export function fromBuffers(b: PreparedBuffers): Prepared {
  return {
    n: b.n,
    d: b.d,
    metric: b.metric,
    values: new Float64Array(b.values),
    unit: new Float64Array(b.unit),
    complete: new Uint8Array(b.complete),
    zero: new Uint8Array(b.zero),
  };
}

function shared(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.max(bytes, 8));
}

export function prepare(values: Float64Array, n: number, d: number, metric: Metric): Prepared {
  const unit = new Float64Array(shared(n * d * 8));
  const complete = new Uint8Array(shared(n));
  const zero = new Uint8Array(shared(n));
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
  return { n, d, metric, values, unit, complete, zero };
}

/** Rounds a score to the integer thousandths `numeric(10,3)` stores; never -0. */
export function toMilli(score: number): number {
  const m = Math.round(score * 1000);
  return (m > 1000 ? 1000 : m < -1000 ? -1000 : m) | 0;
}

/** Exact score of one pair over the dimensions both genes have; NaN when degenerate. */
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

/** One pair in thousandths, NaN when degenerate; the same arithmetic as scoreRow. */
export function scorePair(p: Prepared, i: number, j: number): number {
  const { d, unit, complete, zero } = p;
  if (complete[i] === 1 && complete[j] === 1) {
    if (zero[i] === 1 || zero[j] === 1) return Number.NaN;
    let s = 0;
    for (let k = 0; k < d; k++) s += unit[i * d + k]! * unit[j * d + k]!;
    return toMilli(s);
  }
  const s = pairScore(p, i, j);
  return s !== s ? Number.NaN : toMilli(s);
}

/**
 * Scores gene i against every later gene j (the upper-triangle row i) into
 * out[0 .. n-i-2] as thousandths. Returns how many of those pairs were degenerate
 * (fewer than 2 shared dimensions or a zero norm), which score 0.
 */
export function scoreRow(p: Prepared, i: number, out: Int16Array): number {
  const { n, d, unit, complete, zero } = p;
  const a0 = i * d;
  const ci = complete[i] === 1;
  const zi = zero[i] === 1;
  let degenerate = 0;
  for (let j = i + 1; j < n; j++) {
    let milli: number;
    if (ci && complete[j] === 1) {
      if (zi || zero[j] === 1) {
        milli = 0;
        degenerate++;
      } else {
        const b0 = j * d;
        let s = 0;
        for (let k = 0; k < d; k++) s += unit[a0 + k]! * unit[b0 + k]!;
        milli = toMilli(s);
      }
    } else {
      const s = pairScore(p, i, j);
      if (s !== s) {
        milli = 0;
        degenerate++;
      } else {
        milli = toMilli(s);
      }
    }
    out[j - i - 1] = milli;
  }
  return degenerate;
}

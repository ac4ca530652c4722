import { diagonalId, pairId } from '../similarity/pairs.js';
import { ChunkWriter } from './chunks.js';

export const COPY_FORMATS = ['text', 'binary'] as const;
export type CopyFormat = (typeof COPY_FORMATS)[number];
/**
 * The parallel engine's default. The similarity COPY is one server backend on one core, the
 * longest single step of a large create; binary input spares it the text parsing of every id
 * and score (server-side COPY FREEZE of 4M rows: 2.0-3.1 s binary against 2.1-4.3 s text,
 * alternating), and the encoding it costs the workers more runs on the other cores.
 */
export const DEFAULT_COPY_FORMAT: CopyFormat = 'binary';

export interface SimEncoderOptions {
  /** Database id of each gene, by position in name order. */
  geneIds: Int32Array;
  metric: string;
  /** Write the row's own id (its position in insertion order) as the first column. */
  withIds: boolean;
  /** Binary COPY: which id columns are bigint (int8 on the wire) rather than integer. */
  wide?: { id: boolean; gene: boolean };
}

/** Columns in the order the encoders write them. */
export function simColumns(withIds: boolean): string[] {
  return withIds ? ['id', 'gene1_id', 'gene2_id', 'metric', 'score'] : ['gene1_id', 'gene2_id', 'metric', 'score'];
}

/**
 * Turns similarity rows into COPY bytes following the pair rule: `diagonal` writes (g, g, 1)
 * rows, `row` writes both orderings of upper-triangle row i. Subclasses fill in one row's
 * bytes in their format.
 */
export abstract class SimEncoder extends ChunkWriter {
  protected readonly n: number;
  rows = 0;

  constructor(
    protected readonly o: SimEncoderOptions,
    sink?: (chunk: Buffer) => void,
  ) {
    super(sink);
    this.n = o.geneIds.length;
  }

  /** One row; `a` and `b` are gene positions in name order, not database ids. */
  protected abstract put(id: number, a: number, b: number, milli: number): void;

  /** Bytes the format wants before the first row of a COPY stream. */
  begin(): void {}
  /** Bytes the format wants after the last row of a COPY stream; also cuts the last chunk. */
  end(): void {
    this.finish();
  }

  diagonal(from: number, to: number): void {
    for (let i = from; i < to; i++) this.put(diagonalId(i), i, i, 1000);
    this.rows += to - from;
  }

  row(i: number, scores: Int16Array): void {
    const n = this.n;
    let id = pairId(n, i, i + 1);
    for (let j = i + 1; j < n; j++, id += 2) {
      const milli = scores[j - i - 1]!;
      this.put(id, i, j, milli);
      this.put(id + 1, j, i, milli);
    }
    this.rows += 2 * (n - i - 1);
  }

  /**
   * Every row with gene1 = g, in gene2 order: `below[i]` scores (i, g) for i < g, then the
   * diagonal, then `above[j - g - 1]` scores (g, j) for j > g. Ids as the pair rule gives them.
   */
  clusteredRow(g: number, below: Int16Array, above: Int16Array): void {
    const n = this.n;
    for (let i = 0; i < g; i++) this.put(pairId(n, i, g) + 1, g, i, below[i]!);
    this.put(diagonalId(g), g, g, 1000);
    let id = pairId(n, g, g + 1);
    for (let j = g + 1; j < n; j++, id += 2) this.put(id, g, j, above[j - g - 1]!);
    this.rows += n;
  }
}

/** `-0.123`, `0.000`, `1.000`: the text PostgreSQL prints for numeric(10,3), by thousandths. */
export function milliText(milli: number): string {
  const sign = milli < 0 ? '-' : '';
  const abs = Math.abs(milli);
  return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`;
}

/** Tab-separated COPY text. Score texts and gene id texts are prepared once, then copied as bytes. */
let lastIds: { ids: Int32Array; bytes: Uint8Array; start: Int32Array } | null = null;

/**
 * The decimal text of every gene id, back to back. A worker encodes many blocks over the same
 * ids: building N strings per block was garbage that grew with N, so the last table is reused
 * while the ids are the same (compared by value: each task brings its own view of them).
 */
function idTexts(ids: Int32Array): { bytes: Uint8Array; start: Int32Array } {
  if (lastIds && lastIds.ids.length === ids.length && lastIds.ids.every((v, k) => v === ids[k])) return lastIds;
  const texts = Array.from(ids, (id) => String(id));
  const start = new Int32Array(texts.length + 1);
  texts.forEach((t, k) => (start[k + 1] = start[k]! + t.length));
  lastIds = { ids: Int32Array.from(ids), bytes: Buffer.from(texts.join(''), 'latin1'), start };
  return lastIds;
}

/**
 * A score table: the bytes of every score from -1.000 to 1.000 back to back, and where each
 * begins. Built once a thread and shared by its encoders: a worker builds hundreds of encoders,
 * and a table apiece was thousands of small buffers each time.
 */
interface ScoreTable {
  bytes: Buffer;
  start: Int32Array;
}

function scoreTable(pieces: Buffer[]): ScoreTable {
  const start = new Int32Array(pieces.length + 1);
  pieces.forEach((p, k) => (start[k + 1] = start[k]! + p.length));
  return { bytes: Buffer.concat(pieces), start };
}

let textTable: ScoreTable | undefined;
const textScores = () => (textTable ??= scoreTable(Array.from({ length: 2001 }, (_, k) => Buffer.from(`${milliText(k - 1000)}\n`, 'latin1'))));

let binaryTable: ScoreTable | undefined;
/** Each score as a binary COPY field: its length, then the numeric. */
const binaryScores = () =>
  (binaryTable ??= scoreTable(
    Array.from({ length: 2001 }, (_, k) => {
      const numeric = numericBytes(k - 1000);
      const field = Buffer.alloc(4 + numeric.length);
      field.writeInt32BE(numeric.length, 0);
      numeric.copy(field, 4);
      return field;
    }),
  ));

export class TextSimEncoder extends SimEncoder {
  private readonly scoreBytes: Uint8Array;
  private readonly scoreStart: Int32Array;
  private readonly idBytes: Uint8Array;
  private readonly idStart: Int32Array;
  private readonly metricBytes: Buffer;

  constructor(o: SimEncoderOptions, sink?: (chunk: Buffer) => void) {
    super(o, sink);
    this.metricBytes = Buffer.from(`\t${o.metric}\t`);
    ({ bytes: this.scoreBytes, start: this.scoreStart } = textScores());
    ({ bytes: this.idBytes, start: this.idStart } = idTexts(o.geneIds));
  }

  protected put(id: number, a: number, b: number, milli: number): void {
    // id (≤ 16 digits below 2^53) + two gene ids (≤ 10 each) + metric (≤ 52) + score (≤ 7) + tabs.
    this.reserve(110);
    if (this.o.withIds) {
      this.decimal(id);
      this.buf[this.pos++] = 9;
    }
    this.bytesOf(this.idBytes, this.idStart[a]!, this.idStart[a + 1]!);
    this.buf[this.pos++] = 9;
    this.bytesOf(this.idBytes, this.idStart[b]!, this.idStart[b + 1]!);
    this.bytesOf(this.metricBytes, 0, this.metricBytes.length);
    const k = milli + 1000;
    this.bytesOf(this.scoreBytes, this.scoreStart[k]!, this.scoreStart[k + 1]!);
  }

}

/** COPY's binary file signature, flags and header extension length. */
const BINARY_HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
const NUMERIC_POSITIVE = 0x0000;
const NUMERIC_NEGATIVE = 0x4000;

/**
 * PostgreSQL's binary numeric: ndigits, weight, sign, dscale, then base-10000 digits. A score
 * in thousandths m is |m| div 1000 (weight 0) and |m| mod 1000 × 10 (weight -1).
 * pg-copy-streams-binary has no numeric encoder, hence this.
 */
export function numericBytes(milli: number, scale = 3): Buffer {
  const abs = Math.abs(milli);
  const whole = Math.floor(abs / 1000);
  const frac = (abs % 1000) * 10;
  const digits: number[] = [];
  let weight = 0;
  if (whole > 0) {
    digits.push(whole);
    if (frac > 0) digits.push(frac);
  } else if (frac > 0) {
    digits.push(frac);
    weight = -1;
  }
  const out = Buffer.alloc(8 + 2 * digits.length);
  out.writeInt16BE(digits.length, 0);
  out.writeInt16BE(weight, 2);
  out.writeUInt16BE(milli < 0 ? NUMERIC_NEGATIVE : NUMERIC_POSITIVE, 4);
  out.writeInt16BE(scale, 6);
  digits.forEach((digit, k) => out.writeInt16BE(digit, 8 + 2 * k));
  return out;
}

/** Writes an int4 or int8 field (length then value) at p; returns the position after it. */
function writeIdField(buf: Buffer, p: number, value: number, wide: boolean): number {
  if (!wide) return buf.writeInt32BE(value, buf.writeInt32BE(4, p));
  p = buf.writeInt32BE(8, p);
  // Two halves rather than a BigInt per row: ids stay below 2^53, exact as numbers.
  p = buf.writeInt32BE(Math.floor(value / 0x1_0000_0000), p);
  return buf.writeUInt32BE(value >>> 0, p);
}

/** COPY BINARY: each row a field count, then length-prefixed int4/int8 ids, varchar and numeric fields. */
export class BinarySimEncoder extends SimEncoder {
  private readonly scoreBytes: Buffer;
  private readonly scoreStart: Int32Array;
  private readonly metricField: Buffer;

  constructor(o: SimEncoderOptions, sink?: (chunk: Buffer) => void) {
    super(o, sink);
    const metric = Buffer.from(o.metric, 'utf8');
    this.metricField = Buffer.alloc(4 + metric.length);
    this.metricField.writeInt32BE(metric.length, 0);
    metric.copy(this.metricField, 4);
    ({ bytes: this.scoreBytes, start: this.scoreStart } = binaryScores());
  }

  override begin(): void {
    this.reserve(BINARY_HEADER.length);
    this.bytesOf(BINARY_HEADER, 0, BINARY_HEADER.length);
  }

  override end(): void {
    this.reserve(2);
    this.buf.writeInt16BE(-1, this.pos);
    this.pos += 2;
    this.finish();
  }

  protected put(id: number, a: number, b: number, milli: number): void {
    this.reserve(2 + 12 * 3 + this.metricField.length + 20);
    const buf = this.buf;
    let p = this.pos;
    const withIds = this.o.withIds;
    const wide = this.o.wide;
    p = buf.writeInt16BE(withIds ? 5 : 4, p);
    if (withIds) p = writeIdField(buf, p, id, wide?.id ?? false);
    p = writeIdField(buf, p, this.o.geneIds[a]!, wide?.gene ?? false);
    p = writeIdField(buf, p, this.o.geneIds[b]!, wide?.gene ?? false);
    this.pos = p;
    this.bytesOf(this.metricField, 0, this.metricField.length);
    const k = milli + 1000;
    this.bytesOf(this.scoreBytes, this.scoreStart[k]!, this.scoreStart[k + 1]!);
  }
}

export function simEncoder(format: CopyFormat, o: SimEncoderOptions, sink?: (chunk: Buffer) => void): SimEncoder {
  return format === 'binary' ? new BinarySimEncoder(o, sink) : new TextSimEncoder(o, sink);
}

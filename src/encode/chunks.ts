/** Target size of an encoded chunk: large enough that per-chunk overhead (a stream write, a postMessage) vanishes. */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Bytes appended into a fixed Buffer; a full buffer is handed out as a chunk. Writing bytes
 * directly avoids building a string per row, which dominated the original tool's
 * file-generation time.
 *
 * With a synchronous `sink` (a file descriptor) each chunk is handed over as it fills and the
 * same buffer is reused, so memory stays at one chunk. Without one, chunks queue for `take`
 * and each gets a buffer of its own, since an asynchronous consumer may still hold it.
 */
/**
 * The buffer of the last synchronous writer on this thread, for the next one. A worker runs
 * hundreds of tasks, each with a writer of its own: a fresh 256 KB each time was memory
 * outside the JS heap that its garbage collector, counting the heap, freed late.
 */
let spare: Buffer | undefined;

export class ChunkWriter {
  buf: Buffer;
  pos = 0;
  readonly chunks: Buffer[] = [];
  bytes = 0;

  constructor(
    private readonly sink?: (chunk: Buffer) => void,
    private readonly chunkBytes = CHUNK_BYTES,
  ) {
    if (sink && spare?.length === chunkBytes) {
      this.buf = spare;
      spare = undefined;
    } else {
      this.buf = Buffer.allocUnsafe(chunkBytes);
    }
  }

  /** Cuts the last chunk; a synchronous writer then hands its buffer to the next one (and gets a new one if written to again). */
  finish(): void {
    this.cut();
    if (!this.sink) return;
    spare = this.buf;
    this.buf = Buffer.alloc(0);
  }

  /** Makes room for `n` more bytes, cutting a chunk if needed. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.cut();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, this.chunkBytes));
  }

  bytesOf(src: Uint8Array, from: number, to: number): void {
    const buf = this.buf;
    let p = this.pos;
    for (let k = from; k < to; k++) buf[p++] = src[k]!;
    this.pos = p;
  }

  /** Writes a non-negative integer in decimal. */
  decimal(value: number): void {
    const buf = this.buf;
    if (value < 10) {
      buf[this.pos++] = 48 + value;
      return;
    }
    let digits = 0;
    for (let v = value; v > 0; v = Math.floor(v / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    for (let v = value; v > 0; v = Math.floor(v / 10)) buf[--p] = 48 + (v % 10);
  }

  /** Hands out what is buffered so far as a chunk. */
  cut(): void {
    if (this.pos === 0) return;
    this.bytes += this.pos;
    if (this.sink) {
      this.sink(this.buf.subarray(0, this.pos));
    } else {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.buf = Buffer.allocUnsafe(this.chunkBytes);
    }
    this.pos = 0;
  }

  /** Takes the finished chunks, leaving the partial buffer in place. */
  take(): Buffer[] {
    return this.chunks.splice(0, this.chunks.length);
  }
}

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '../errors.js';

export interface Line {
  /** 1-based, counting every line of the file, blank ones included. */
  number: number;
  text: string;
}

/** Longer than any real row (10,000 datasets at 30 characters is 300 KB); bounds memory on a file with no newlines. */
export const MAX_LINE_CHARS = 64 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

/** What a `.gz` name promises; the content decides (`startsWithGzipMagic`), the name only has to agree. */
export function hasGzipName(file: string): boolean {
  return file.toLowerCase().endsWith('.gz');
}

/** The name without `.gz`. */
export function innerName(file: string): string {
  return hasGzipName(file) ? file.slice(0, -3) : file;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** Whether the file starts with gzip's two magic bytes, so a compressed file is read whatever its name (a server job's download has none). */
async function startsWithGzipMagic(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    await handle.close();
  }
}

function readProblem(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return 'cannot read: no such file';
  if (err.code === 'EISDIR') return 'cannot read: is a directory';
  if (err.code === 'EACCES') return 'cannot read: permission denied';
  if (err.code === 'Z_DATA_ERROR') return `not gzip data (${err.message})`;
  if (err.code === 'Z_BUF_ERROR') return 'the gzip data ends early: the file is truncated';
  return `cannot read: ${err.message}`;
}

/**
 * The lines of a text file, gzip-compressed or not (told by its first bytes), read one 1 MB chunk at a time: the
 * consumer pulls, so no more than a chunk and the line being assembled are ever held.
 * Lines end at LF only, a CR before it is dropped (Windows files) and a UTF-8 byte order mark
 * is dropped from the first line. Not `readline`: it also ends a line at a lone CR, which would
 * split a row in two and shift every line number after it.
 */
export async function* readLines(file: string): AsyncGenerator<Line> {
  let gzip: boolean;
  try {
    gzip = await startsWithGzipMagic(file);
  } catch (err) {
    throw new InputError(file, null, readProblem(err as NodeJS.ErrnoException));
  }
  if (!gzip && hasGzipName(file)) throw new InputError(file, null, 'not gzip data (the name ends in .gz, but the file does not start with the gzip bytes 1f 8b)');
  const source = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  const stream = gzip ? pipeline(source, createGunzip({ chunkSize: CHUNK_BYTES }), () => undefined) : source;
  stream.setEncoding('utf8');
  let pending = '';
  let number = 0;
  const line = (raw: string): Line => {
    number++;
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { number, text };
  };
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = pending + chunk;
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        yield line(text.slice(start, end));
        start = end + 1;
      }
      pending = text.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        throw new InputError(file, number + 1, `line is longer than ${MAX_LINE_CHARS.toLocaleString('en-US')} characters (is this a text file?)`);
      }
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new InputError(file, number === 0 ? null : number + 1, readProblem(e));
  } finally {
    source.destroy();
  }
  // A last line without a final newline is a line like any other.
  if (pending !== '') yield line(pending);
}

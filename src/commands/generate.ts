import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type GenerateOptions, syntheticMatrix, tsvChunks } from '../input/generate.js';

/** Streams the file row by row: only the names and one row are held, whatever the size. */
export async function runGenerate(o: GenerateOptions & { out: string }): Promise<void> {
  await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
  const m = syntheticMatrix(o);
  await pipeline(Readable.from(tsvChunks(m, m.rows()), { objectMode: false }), createWriteStream(o.out));
}

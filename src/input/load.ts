import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { Matrix } from './matrix.js';
import { parsePcl } from './pcl.js';
import { parseTsv } from './tsv.js';

/** Reads a matrix file, choosing the reader by extension (.pcl, anything else is TSV). */
export async function loadMatrixFile(file: string): Promise<Matrix> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new InputError(file, null, `cannot read: ${why}`);
  }
  return file.toLowerCase().endsWith('.pcl') ? parsePcl(text, file) : parseTsv(text, file);
}

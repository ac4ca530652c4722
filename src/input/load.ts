import { innerName, readLines } from './lines.js';
import type { Matrix } from './matrix.js';
import { parsePcl } from './pcl.js';
import { tabRows } from './table.js';
import { parseTsv } from './tsv.js';

/**
 * Reads a matrix file as a stream, choosing the reader by extension (`.pcl`, anything else
 * is TSV); a further `.gz` is decompressed on the way.
 */
export function loadMatrixFile(file: string): Promise<Matrix> {
  const rows = tabRows(readLines(file));
  return innerName(file).toLowerCase().endsWith('.pcl') ? parsePcl(rows, file) : parseTsv(rows, file);
}

import { confirmForced, detect, type Detected, type InputFormat, looksLikeGeo, QUOTED_TAB } from './detect.js';
import { parseGeneric } from './generic.js';
import { geoTableLines } from './geo.js';
import { innerName, type Line, readLines } from './lines.js';
import type { Matrix } from './matrix.js';
import { parsePcl } from './pcl.js';
import { splitRows } from './table.js';
import { parseTsv } from './tsv.js';

/**
 * Reads a matrix file as a stream, choosing the reader by what the file holds (gzip or not,
 * then the layout: see detect.ts), unless `format` forces one.
 */
export async function loadMatrixFile(file: string, format: InputFormat = 'auto'): Promise<Matrix> {
  const lines = peekable(readLines(file));
  try {
    const head = await lines.firstNonBlank(2);
    confirmForced(format, head[0], head[1], file);
    const geo = format === 'geo' || (format === 'auto' && head[0] !== undefined && looksLikeGeo(head[0].text));
    const table = geo ? peekable(geoTableLines(lines.all(), file)) : lines;
    const [header, row] = await table.firstNonBlank(2);
    const found: Detected = geo
      ? { layout: 'geo', dialect: QUOTED_TAB }
      : detect(header?.text ?? '', row?.text, format, innerName(file).toLowerCase().endsWith('.pcl'));
    const rows = splitRows(table.all(), found.dialect, file);
    switch (found.layout) {
      case 'genesim':
        return await parseTsv(rows, file);
      case 'pcl':
        return await parsePcl(rows, file);
      case 'table':
      case 'geo':
        return await parseGeneric(rows, file, found.dialect);
    }
  } finally {
    await lines.close();
  }
}

/** Lines whose first few can be looked at before the reader is chosen, then read again with the rest. */
function peekable(source: AsyncGenerator<Line>) {
  const seen: Line[] = [];
  let done = false;
  return {
    async firstNonBlank(count: number): Promise<Line[]> {
      const found = () => seen.filter((l) => l.text.trim() !== '');
      while (!done && found().length < count) {
        const next = await source.next();
        if (next.done) done = true;
        else seen.push(next.value);
      }
      return found().slice(0, count);
    },
    async *all(): AsyncGenerator<Line> {
      yield* seen.splice(0);
      if (!done) yield* source;
    },
    async close(): Promise<void> {
      await source.return(undefined);
    },
  };
}

import { InputError } from '../errors.js';
import type { Line } from './lines.js';

const BEGIN = '!series_matrix_table_begin';
const END = '!series_matrix_table_end';

/**
 * The table of a GEO series matrix (`GSE…_series_matrix.txt[.gz]`): the `!Series_` and
 * `!Sample_` lines above it describe the series and are skipped; the table (`"ID_REF"` then the
 * GSM accessions, quoted, tab-separated) stands between `!series_matrix_table_begin` and
 * `…_end`. A file without the end line was cut short, so it is refused rather than half read.
 */
export async function* geoTableLines(lines: AsyncIterable<Line>, file: string): AsyncGenerator<Line> {
  let state: 'before' | 'table' | 'after' = 'before';
  // Where the file ends, for the messages of a file without its markers: past its last character.
  let last = 0;
  let lastColumn = 1;
  for await (const line of lines) {
    last = line.number;
    lastColumn = line.text.length + 1;
    if (state === 'after') continue;
    const marker = line.text.trim().toLowerCase();
    if (state === 'before') {
      if (marker === BEGIN) state = 'table';
      continue;
    }
    if (marker === END) {
      state = 'after';
      continue;
    }
    if (line.text.startsWith('!')) {
      throw new InputError(file, line.number, `a "!" line inside the table (only ${END} may end it)`, 1);
    }
    yield line;
  }
  if (state === 'before') {
    throw new InputError(file, last === 0 ? null : last, `no ${BEGIN} line: this is not a GEO series matrix, or it holds no table`, last === 0 ? null : lastColumn);
  }
  if (state === 'table') throw new InputError(file, last, `the table has no ${END} line: the file is cut short`, lastColumn);
}

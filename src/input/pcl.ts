import { InputError } from '../errors.js';
import { isPclHeader, PLAIN_TAB } from './detect.js';
import { fieldColumn } from './fields.js';
import type { Matrix } from './matrix.js';
import { parseTable, type Row } from './table.js';

/**
 * Stanford PCL: `YORF NAME GWEIGHT dataset...` (the first header says what the ids are: YORF,
 * ORF, UID...), an optional `EWEIGHT` row under the header. Weights are clustering hints, not
 * expression values, so they are skipped.
 */
export function parsePcl(rows: AsyncIterable<Row>, file: string): Promise<Matrix> {
  return parseTable(rows, file, PLAIN_TAB, (header) => {
    if (!isPclHeader(header.fields)) {
      throw new InputError(file, header.number, 'a PCL header reads "YORF<TAB>NAME<TAB>GWEIGHT<TAB>dataset..."', fieldColumn(header.text, 1, PLAIN_TAB));
    }
    return {
      nameColumn: 0,
      commonColumn: 1,
      firstValueColumn: 3,
      skipRow: (fields) => fields[0]?.trim().toUpperCase() === 'EWEIGHT',
    };
  });
}

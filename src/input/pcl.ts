import { InputError } from '../errors.js';
import type { Matrix } from './matrix.js';
import { parseTable, type Row } from './table.js';

/**
 * Stanford PCL: `YORF NAME GWEIGHT dataset...`, an optional `EWEIGHT` row under the header.
 * Weights are clustering hints, not expression values, so they are skipped.
 */
export function parsePcl(rows: AsyncIterable<Row>, file: string): Promise<Matrix> {
  return parseTable(rows, file, (header) => {
    const names = header.fields.map((f) => f.trim().toUpperCase());
    if (names[1] !== 'NAME' || names[2] !== 'GWEIGHT') {
      throw new InputError(file, header.number, 'a PCL header reads "YORF<TAB>NAME<TAB>GWEIGHT<TAB>dataset..."');
    }
    return {
      nameColumn: 0,
      commonColumn: 1,
      firstValueColumn: 3,
      skipRow: (fields) => fields[0]?.trim().toUpperCase() === 'EWEIGHT',
    };
  });
}

import { InputError } from '../errors.js';
import { PLAIN_TAB } from './detect.js';
import type { Matrix } from './matrix.js';
import { parseTable, type Row } from './table.js';

/** genesim's own: `systematic_name [common_name] dataset...`, one gene per line, tab-separated, nothing quoted. */
export function parseTsv(rows: AsyncIterable<Row>, file: string): Promise<Matrix> {
  return parseTable(rows, file, PLAIN_TAB, (header) => {
    const names = header.fields.map((f) => f.trim().toLowerCase());
    if (names[0] !== 'systematic_name') {
      throw new InputError(file, header.number, `the first header column must be "systematic_name", found "${header.fields[0]}"`, 1);
    }
    const hasCommon = names[1] === 'common_name';
    return { nameColumn: 0, commonColumn: hasCommon ? 1 : null, firstValueColumn: hasCommon ? 2 : 1 };
  });
}

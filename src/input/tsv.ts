import { InputError } from '../errors.js';
import type { Matrix } from './matrix.js';
import { parseTable, tabLines } from './table.js';

/** `systematic_name [common_name] dataset...`, one gene per line, tab-separated. */
export function parseTsv(text: string, file: string): Matrix {
  const header = tabLines(text)[0];
  if (!header) throw new InputError(file, null, 'the file is empty');
  const names = header.fields.map((f) => f.trim().toLowerCase());
  if (names[0] !== 'systematic_name') {
    throw new InputError(file, header.number, `the first header column must be "systematic_name", found "${header.fields[0]}"`);
  }
  const hasCommon = names[1] === 'common_name';
  return parseTable(text, file, {
    nameColumn: 0,
    commonColumn: hasCommon ? 1 : null,
    firstValueColumn: hasCommon ? 2 : 1,
  });
}

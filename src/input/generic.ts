import type { Dialect } from './fields.js';
import type { Matrix } from './matrix.js';
import { isValue, MISSING, parseTable, type Row, type TableLayout } from './table.js';

/**
 * Headers that name a column of common names (compared without case, spaces, `_`, `-` or `.`):
 * Stanford's NAME, genesim's common_name, and the gene symbol columns of R, pandas and GEO platforms.
 */
const NAME_HEADERS = new Set(['name', 'commonname', 'symbol', 'genesymbol', 'genename', 'genesymbols', 'hgncsymbol', 'mgisymbol', 'orfname']);
const key = (header: string | undefined) => (header ?? '').trim().toLowerCase().replace(/[\s_.-]+/g, '');

/**
 * Any table whose first column holds the gene ids, whatever its header says (empty as pandas
 * writes an unnamed index, `ORF`, `UID`, `ID_REF`, `Gene`...). The second column holds common
 * names when its header is one of NAME_HEADERS or its value on the first data row is neither a
 * number nor a missing value; every other column is a dataset. A header one field shorter than
 * the rows is R's `write.table`: the row names have no header of their own.
 */
export function genericLayout(header: Row, first: Row | undefined): TableLayout {
  const shift = first !== undefined && first.fields.length === header.fields.length + 1 ? 1 : 0;
  const width = header.fields.length + shift;
  const secondHeader = header.fields[1 - shift];
  const secondValue = first?.fields[1];
  const names = width > 2 && (NAME_HEADERS.has(key(secondHeader)) || (secondValue !== undefined && !isValue(secondValue)));
  return {
    nameColumn: 0,
    commonColumn: names ? 1 : null,
    firstValueColumn: names ? 2 : 1,
    headerShift: shift,
    missingNames: MISSING,
  };
}

export function parseGeneric(rows: AsyncIterable<Row>, file: string, dialect: Dialect): Promise<Matrix> {
  return parseTable(rows, file, dialect, genericLayout);
}

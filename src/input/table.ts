import { InputError } from '../errors.js';
import { DELIMITER_NAMES, type Dialect, fieldColumn, splitOrThrow } from './fields.js';
import type { Line } from './lines.js';
import { GrowingValues, MAX_DATASET_NAME, MAX_GENE_NAME, type Matrix } from './matrix.js';

/**
 * Where the name columns and the value columns sit in an expression table. The formats differ
 * only in this layout (and in how a line splits), so all of them go through one parser.
 */
export interface TableLayout {
  /** Column holding the systematic name. */
  nameColumn: number;
  /** Column holding the common name, if any. */
  commonColumn: number | null;
  /** First column of values; everything from here on is a dataset. */
  firstValueColumn: number;
  /** Fields the header lacks before its dataset names: 1 for R's `write.table`, whose header has no field over the row names. */
  headerShift?: number;
  /** Data lines to skip without reading (PCL's EWEIGHT row). */
  skipRow?: (fields: string[]) => boolean;
  /** Names that mean "none" (R writes NA, pandas nan; an empty field always does): no common name, and a gene id that is missing. */
  missingNames?: ReadonlySet<string>;
}

/** How each reader says where the columns are: from the header and the first data row (absent in a header-only file). */
export type LayoutOf = (header: Row, first: Row | undefined) => TableLayout;

export const MISSING: ReadonlySet<string> = new Set(['', 'NA', 'NaN', 'nan', 'NAN', 'N/A', 'null', 'NULL', '#N/A']);
const INFINITE = /^[+-]?(inf|infinity)$/i;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SHOW_DUPLICATES = 5;

export interface Row {
  number: number;
  /** The line as read, to place a message's column. */
  text: string;
  fields: string[];
}

/** Numbered rows split by `dialect`, blank lines dropped. */
export async function* splitRows(lines: AsyncIterable<Line>, dialect: Dialect, file: string): AsyncGenerator<Row> {
  for await (const { number, text } of lines) {
    if (text.trim() === '') continue;
    yield { number, text, fields: splitOrThrow(text, dialect, file, number) };
  }
}

/** Why a field is not a value; the caller adds where. */
class ValueProblem extends Error {}

/** Missing (NaN), or a finite double; thrown a ValueProblem otherwise. */
export function parseValue(field: string): number {
  const text = field.trim();
  if (MISSING.has(text)) return Number.NaN;
  if (INFINITE.test(text)) throw new ValueProblem(`"${field}" is infinite; similarities need finite values (leave it empty for missing)`);
  if (!NUMBER.test(text)) throw new ValueProblem(`"${field}" is not a number`);
  const value = Number(text);
  if (!Number.isFinite(value)) throw new ValueProblem(`"${field}" is beyond the range of a double precision value`);
  return value;
}

export function isValue(field: string): boolean {
  try {
    parseValue(field);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a whole table from its rows, one row at a time into a growing shared buffer, so the
 * file is never held: memory is the matrix itself plus one row. `layoutOf` checks the header
 * (the format's own rule) and says where the columns are.
 */
export async function parseTable(rows: AsyncIterable<Row>, file: string, dialect: Dialect, layoutOf: LayoutOf): Promise<Matrix> {
  const iterator = rows[Symbol.asyncIterator]();
  try {
    return await readRows(iterator, file, dialect, layoutOf);
  } finally {
    // Stopping early (a bad row) closes the file now rather than when it is collected.
    await iterator.return?.();
  }
}

async function readRows(iterator: AsyncIterator<Row>, file: string, dialect: Dialect, layoutOf: LayoutOf): Promise<Matrix> {
  const first = await iterator.next();
  if (first.done) throw new InputError(file, null, 'the file is empty');
  const header = first.value;
  // The layout may depend on the first data row (R's shorter header, a column of names), so it is read ahead.
  let pending = await iterator.next();
  const layout0 = layoutOf(header, undefined);
  while (!pending.done && layout0.skipRow?.(pending.value.fields)) pending = await iterator.next();
  const layout = pending.done ? layout0 : layoutOf(header, pending.value);
  const shift = layout.headerShift ?? 0;
  const width = header.fields.length + shift;
  const firstDataset = layout.firstValueColumn - shift;
  const datasets = header.fields.slice(firstDataset).map((name) => name.trim());
  if (datasets.length === 0) {
    throw new InputError(file, header.number, 'the header names no dataset columns');
  }
  checkDatasetNames(datasets, file, header, firstDataset, dialect);
  const delimiter = DELIMITER_NAMES[dialect.delimiter];
  const expected = shift === 0 ? `${width} ${delimiter}-separated fields as in the header` : `${width} ${delimiter}-separated fields (a row name and the header's ${header.fields.length})`;

  const d = datasets.length;
  const values = new GrowingValues(d, file);
  const genes: string[] = [];
  const commonNames: (string | null)[] = [];
  const firstLine = new Map<string, number>();
  const duplicates: string[] = [];
  const at = (row: Row, k: number) => fieldColumn(row.text, k, dialect);

  for (let next = pending; !next.done; next = await iterator.next()) {
    const row = next.value;
    const { number, fields } = row;
    if (layout.skipRow?.(fields)) continue;
    if (fields.length !== width) {
      throw new InputError(file, number, `expected ${expected}, found ${fields.length}`, at(row, Math.min(width, fields.length)));
    }
    const name = fields[layout.nameColumn]!.trim();
    if (name === '') throw new InputError(file, number, 'the systematic name is empty', at(row, layout.nameColumn));
    if (layout.missingNames?.has(name)) throw new InputError(file, number, `the gene id is missing ("${name}")`, at(row, layout.nameColumn));
    if (name.length > MAX_GENE_NAME) {
      throw new InputError(file, number, `systematic name "${name}" is ${name.length} characters, more than ${MAX_GENE_NAME}`, at(row, layout.nameColumn));
    }
    let common = layout.commonColumn === null ? '' : fields[layout.commonColumn]!.trim();
    if (layout.missingNames?.has(common)) common = '';
    if (common.length > MAX_GENE_NAME) {
      throw new InputError(file, number, `common name "${common}" is ${common.length} characters, more than ${MAX_GENE_NAME}`, at(row, layout.commonColumn!));
    }
    const seen = firstLine.get(name);
    if (seen === undefined) firstLine.set(name, number);
    else duplicates.push(`"${name}" (lines ${seen} and ${number})`);
    const out = values.addRow(number);
    let k = 0;
    try {
      for (; k < d; k++) out[k] = parseValue(fields[layout.firstValueColumn + k]!);
    } catch (err) {
      if (!(err instanceof ValueProblem)) throw err;
      throw new InputError(file, number, `column "${datasets[k]}": ${err.message}`, at(row, layout.firstValueColumn + k));
    }
    genes.push(name);
    commonNames.push(common === '' ? null : common);
  }
  // Placed at the end of the header, where a row was expected.
  if (genes.length === 0) throw new InputError(file, header.number, 'the header is followed by no data rows', header.text.length + 1);

  if (duplicates.length > 0) {
    const more = duplicates.length > SHOW_DUPLICATES ? `, and ${duplicates.length - SHOW_DUPLICATES} more` : '';
    throw new InputError(file, null, `duplicate systematic names: ${duplicates.slice(0, SHOW_DUPLICATES).join(', ')}${more}`);
  }
  return { genes, commonNames, datasets, values: values.values };
}

function checkDatasetNames(datasets: string[], file: string, header: Row, firstField: number, dialect: Dialect): void {
  const seen = new Set<string>();
  datasets.forEach((name, k) => {
    const at = () => fieldColumn(header.text, firstField + k, dialect);
    if (name === '') throw new InputError(file, header.number, 'a dataset column has an empty name', at());
    if (name.length > MAX_DATASET_NAME) {
      throw new InputError(file, header.number, `dataset name "${name.slice(0, 40)}..." is longer than ${MAX_DATASET_NAME} characters`, at());
    }
    if (seen.has(name)) throw new InputError(file, header.number, `dataset column "${name}" appears twice`, at());
    seen.add(name);
  });
}

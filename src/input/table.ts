import { InputError } from '../errors.js';
import type { Line } from './lines.js';
import { GrowingValues, MAX_DATASET_NAME, MAX_GENE_NAME, type Matrix } from './matrix.js';

/**
 * Where the name columns and the value columns sit in a tab-separated expression file.
 * TSV and PCL differ only in this layout, so both go through one parser.
 */
export interface TableLayout {
  /** Column holding the systematic name. */
  nameColumn: number;
  /** Column holding the common name, if any. */
  commonColumn: number | null;
  /** First column of values; everything from here on is a dataset. */
  firstValueColumn: number;
  /** Data lines to skip without reading (PCL's EWEIGHT row). */
  skipRow?: (fields: string[]) => boolean;
}

const MISSING = new Set(['', 'NA', 'NaN', 'nan', 'NAN', 'N/A']);
const INFINITE = /^[+-]?(inf|infinity)$/i;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SHOW_DUPLICATES = 5;

export interface Row {
  number: number;
  fields: string[];
}

/** Numbered tab-separated rows, blank lines dropped. */
export async function* tabRows(lines: AsyncIterable<Line>): AsyncGenerator<Row> {
  for await (const { number, text } of lines) {
    if (text.trim() === '') continue;
    yield { number, fields: text.split('\t') };
  }
}

export function parseValue(field: string, file: string, line: number, column: string): number {
  const text = field.trim();
  if (MISSING.has(text)) return Number.NaN;
  if (INFINITE.test(text)) {
    throw new InputError(file, line, `column "${column}": "${field}" is infinite; similarities need finite values (leave it empty for missing)`);
  }
  if (!NUMBER.test(text)) {
    throw new InputError(file, line, `column "${column}": "${field}" is not a number`);
  }
  const value = Number(text);
  if (!Number.isFinite(value)) {
    throw new InputError(file, line, `column "${column}": "${field}" is beyond the range of a double precision value`);
  }
  return value;
}

/**
 * Reads a whole table from its rows, one row at a time into a growing shared buffer, so the
 * file is never held: memory is the matrix itself plus one row. `layoutOf` checks the header
 * (the format's own rule) and says where the columns are.
 */
export async function parseTable(rows: AsyncIterable<Row>, file: string, layoutOf: (header: Row) => TableLayout): Promise<Matrix> {
  const iterator = rows[Symbol.asyncIterator]();
  try {
    return await readRows(iterator, file, layoutOf);
  } finally {
    // Stopping early (a bad row) closes the file now rather than when it is collected.
    await iterator.return?.();
  }
}

async function readRows(iterator: AsyncIterator<Row>, file: string, layoutOf: (header: Row) => TableLayout): Promise<Matrix> {
  const first = await iterator.next();
  if (first.done) throw new InputError(file, null, 'the file is empty');
  const header = first.value;
  const layout = layoutOf(header);
  const width = header.fields.length;
  const datasets = header.fields.slice(layout.firstValueColumn).map((name) => name.trim());
  if (datasets.length === 0) {
    throw new InputError(file, header.number, 'the header names no dataset columns');
  }
  checkDatasetNames(datasets, file, header.number);

  const d = datasets.length;
  const values = new GrowingValues(d, file);
  const genes: string[] = [];
  const commonNames: (string | null)[] = [];
  const firstLine = new Map<string, number>();
  const duplicates: string[] = [];

  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    const { number, fields } = next.value;
    if (layout.skipRow?.(fields)) continue;
    if (fields.length !== width) {
      throw new InputError(file, number, `expected ${width} tab-separated fields as in the header, found ${fields.length}`);
    }
    const name = fields[layout.nameColumn]!.trim();
    if (name === '') throw new InputError(file, number, 'the systematic name is empty');
    if (name.length > MAX_GENE_NAME) {
      throw new InputError(file, number, `systematic name "${name}" is ${name.length} characters, more than ${MAX_GENE_NAME}`);
    }
    const common = layout.commonColumn === null ? '' : fields[layout.commonColumn]!.trim();
    if (common.length > MAX_GENE_NAME) {
      throw new InputError(file, number, `common name "${common}" is ${common.length} characters, more than ${MAX_GENE_NAME}`);
    }
    const seen = firstLine.get(name);
    if (seen === undefined) firstLine.set(name, number);
    else duplicates.push(`"${name}" (lines ${seen} and ${number})`);
    const row = values.addRow(number);
    for (let k = 0; k < d; k++) {
      row[k] = parseValue(fields[layout.firstValueColumn + k]!, file, number, datasets[k]!);
    }
    genes.push(name);
    commonNames.push(common === '' ? null : common);
  }
  if (genes.length === 0) throw new InputError(file, null, 'the header is followed by no data rows');

  if (duplicates.length > 0) {
    const more = duplicates.length > SHOW_DUPLICATES ? `, and ${duplicates.length - SHOW_DUPLICATES} more` : '';
    throw new InputError(file, null, `duplicate systematic names: ${duplicates.slice(0, SHOW_DUPLICATES).join(', ')}${more}`);
  }
  return { genes, commonNames, datasets, values: values.values };
}

function checkDatasetNames(datasets: string[], file: string, line: number): void {
  const seen = new Set<string>();
  for (const name of datasets) {
    if (name === '') throw new InputError(file, line, 'a dataset column has an empty name');
    if (name.length > MAX_DATASET_NAME) {
      throw new InputError(file, line, `dataset name "${name.slice(0, 40)}..." is longer than ${MAX_DATASET_NAME} characters`);
    }
    if (seen.has(name)) throw new InputError(file, line, `dataset column "${name}" appears twice`);
    seen.add(name);
  }
}

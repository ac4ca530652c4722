import { InputError } from '../errors.js';
import { MAX_DATASET_NAME, MAX_GENE_NAME, type Matrix, sharedValues } from './matrix.js';

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
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SHOW_DUPLICATES = 5;

export interface Line {
  number: number;
  fields: string[];
}

/** Splits text into numbered tab-separated lines, dropping blank ones and Windows CRs. */
export function tabLines(text: string): Line[] {
  const lines: Line[] = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    const line = raw[i]!.endsWith('\r') ? raw[i]!.slice(0, -1) : raw[i]!;
    if (line.trim() === '') continue;
    lines.push({ number: i + 1, fields: line.split('\t') });
  }
  return lines;
}

export function parseValue(field: string, file: string, line: number, column: string): number {
  const text = field.trim();
  if (MISSING.has(text)) return Number.NaN;
  if (!NUMBER.test(text)) {
    throw new InputError(file, line, `column "${column}": "${field}" is not a number`);
  }
  const value = Number(text);
  if (!Number.isFinite(value)) throw new InputError(file, line, `column "${column}": "${field}" is out of range`);
  return value;
}

export function parseTable(text: string, file: string, layout: TableLayout): Matrix {
  const lines = tabLines(text);
  const header = lines[0];
  if (!header) throw new InputError(file, null, 'the file is empty');
  const width = header.fields.length;
  const datasets = header.fields.slice(layout.firstValueColumn).map((name) => name.trim());
  if (datasets.length === 0) {
    throw new InputError(file, header.number, 'the header names no dataset columns');
  }
  checkDatasetNames(datasets, file, header.number);

  const rows = lines.slice(1).filter((l) => !layout.skipRow?.(l.fields));
  if (rows.length === 0) throw new InputError(file, null, 'the header is followed by no data rows');

  const d = datasets.length;
  const values = sharedValues(rows.length * d);
  const genes: string[] = [];
  const commonNames: (string | null)[] = [];
  const firstLine = new Map<string, number>();
  const duplicates: string[] = [];

  rows.forEach(({ number, fields }, r) => {
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
    for (let k = 0; k < d; k++) {
      values[r * d + k] = parseValue(fields[layout.firstValueColumn + k]!, file, number, datasets[k]!);
    }
    genes.push(name);
    commonNames.push(common === '' ? null : common);
  });

  if (duplicates.length > 0) {
    const more = duplicates.length > SHOW_DUPLICATES ? `, and ${duplicates.length - SHOW_DUPLICATES} more` : '';
    throw new InputError(file, null, `duplicate systematic names: ${duplicates.slice(0, SHOW_DUPLICATES).join(', ')}${more}`);
  }
  return { genes, commonNames, datasets, values };
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

import { InputError } from '../errors.js';
import { countDelimiters, DELIMITER_NAMES, type Delimiter, type Dialect } from './fields.js';
import type { Line } from './lines.js';

/** What `--input-format` accepts: `auto` reads the file's content; the others force a reader. */
export const INPUT_FORMATS = ['auto', 'genesim', 'pcl', 'tsv', 'csv', 'geo'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** The readers: genesim's own TSV, Stanford PCL, any other table, a GEO series matrix. */
export type Layout = 'genesim' | 'pcl' | 'table' | 'geo';

export interface Detected {
  layout: Layout;
  dialect: Dialect;
}

export const PLAIN_TAB: Dialect = { delimiter: '\t', quoted: false };
export const QUOTED_TAB: Dialect = { delimiter: '\t', quoted: true };

/** A GEO series matrix opens with its `!Series_...` lines (`!Series_title` first in every GSE file). */
export function looksLikeGeo(firstLine: string): boolean {
  return firstLine.startsWith('!');
}

export function isGenesimHeader(fields: string[]): boolean {
  return fields[0]?.trim().toLowerCase() === 'systematic_name';
}

export function isPclHeader(fields: string[]): boolean {
  return fields[1]?.trim().toUpperCase() === 'NAME' && fields[2]?.trim().toUpperCase() === 'GWEIGHT';
}

/**
 * The delimiter of a table, from its header and first data row: the first of tab, comma and
 * space that stands (outside quotes) in the row and as often in the header, or once less (R's
 * `write.table` leaves the row names' column out of the header). Tab comes first because
 * dataset names often hold spaces and sometimes commas, and comma before space for the same reason.
 */
export function sniffDelimiter(header: string, row: string | undefined): Delimiter {
  const candidates: Delimiter[] = ['\t', ',', ' '];
  for (const d of candidates) {
    const h = countDelimiters(header, d);
    const r = row === undefined ? h : countDelimiters(row, d);
    if (r > 0 && (h === r || h === r - 1)) return d;
  }
  // Nothing consistent: the delimiter the header has, so the width check names the bad row.
  return candidates.find((d) => countDelimiters(header, d) > 0) ?? '\t';
}

/**
 * Chooses the reader from the first lines that are not blank (the header and the first data
 * row), or takes the forced one. A `.pcl` name asks for PCL, whose header is then checked as such.
 */
export function detect(header: string, row: string | undefined, format: InputFormat, pclName: boolean): Detected {
  const plain = header.split('\t');
  switch (format) {
    case 'genesim':
      return { layout: 'genesim', dialect: PLAIN_TAB };
    case 'pcl':
      return { layout: 'pcl', dialect: PLAIN_TAB };
    case 'geo':
      return { layout: 'geo', dialect: QUOTED_TAB };
    case 'tsv':
      return { layout: 'table', dialect: QUOTED_TAB };
    case 'csv':
      return { layout: 'table', dialect: { delimiter: ',', quoted: true } };
    case 'auto':
      if (looksLikeGeo(header)) return { layout: 'geo', dialect: QUOTED_TAB };
      if (pclName || isPclHeader(plain)) return { layout: 'pcl', dialect: PLAIN_TAB };
      if (isGenesimHeader(plain)) return { layout: 'genesim', dialect: PLAIN_TAB };
      return { layout: 'table', dialect: { delimiter: sniffDelimiter(header, row), quoted: true } };
  }
}

/**
 * A forced format the content plainly contradicts is said so at once, rather than through a
 * reader's puzzling complaint: a GEO series matrix read as anything else (its "!" lines would be
 * a header), or a tsv/csv whose header and first row hold no tab/comma at all.
 */
export function confirmForced(format: InputFormat, first: Line | undefined, second: Line | undefined, file: string): void {
  if (format === 'auto' || format === 'geo' || first === undefined) return;
  const header = first.text;
  const row = second?.text;
  const line1 = `the file starts with "!", as a GEO series matrix does: use --input-format geo or auto`;
  if (looksLikeGeo(header)) throw new InputError(file, first.number, `--input-format ${format}, but ${line1}`, 1);
  const wanted: Delimiter | null = format === 'tsv' ? '\t' : format === 'csv' ? ',' : null;
  if (wanted === null) return;
  const count = (d: Delimiter) => countDelimiters(header, d) + (row === undefined ? 0 : countDelimiters(row, d));
  if (count(wanted) > 0) return;
  const other = (['\t', ',', ' '] as Delimiter[]).find((d) => d !== wanted && count(d) > 0);
  const found = other === undefined ? '' : ` (it is ${DELIMITER_NAMES[other]}-separated)`;
  throw new InputError(file, first.number, `--input-format ${format}, but the header and first row hold no ${DELIMITER_NAMES[wanted]}${found}: use --input-format auto`, 1);
}

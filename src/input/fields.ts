import { InputError } from '../errors.js';

export type Delimiter = '\t' | ',' | ' ';

/**
 * How one line splits into fields. genesim's own TSV and PCL are `plain` (a quote is a
 * character like any other, so a name such as `"TFC3"` loads as written); the tables R,
 * pandas and GEO write are `quoted` (RFC 4180: a field may be wrapped in double quotes, a
 * quote inside one is doubled).
 */
export interface Dialect {
  delimiter: Delimiter;
  quoted: boolean;
}

export const DELIMITER_NAMES: Record<Delimiter, string> = { '\t': 'tab', ',': 'comma', ' ': 'space' };

/** A line that cannot be split: `offset` is the 0-based character where the problem is. */
export class SplitError extends Error {
  constructor(
    readonly offset: number,
    readonly problem: string,
  ) {
    super(problem);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function splitLine(text: string, dialect: Dialect, starts?: number[]): string[] {
  if (!dialect.quoted) {
    if (starts) {
      starts.push(0);
      for (let i = text.indexOf(dialect.delimiter); i !== -1; i = text.indexOf(dialect.delimiter, i + 1)) starts.push(i + 1);
    }
    return text.split(dialect.delimiter);
  }
  return splitEitherEscape(text, dialect.delimiter, starts);
}

/**
 * A quote inside a quoted field is written `""` by pandas, GEO and RFC 4180, but `\"` by R's
 * `write.table` (its default `qmethod = "escape"`; R leaves a backslash itself bare). A line is
 * read the RFC way first, so a name ending in a backslash (`"a\"`) stays as written, and only a
 * line that cannot be read so is read R's way; if neither reads it, the RFC problem is reported.
 */
function splitEitherEscape(text: string, delimiter: string, starts?: number[]): string[] {
  const at: number[] = [];
  try {
    const fields = splitQuoted(text, delimiter, at, false);
    starts?.push(...at);
    return fields;
  } catch (rfc) {
    if (!(rfc instanceof SplitError) || !text.includes('\\"')) throw rfc;
    at.length = 0;
    try {
      const fields = splitQuoted(text, delimiter, at, true);
      starts?.push(...at);
      return fields;
    } catch {
      throw rfc;
    }
  }
}

/**
 * One line of a quoted table. A quoted field must close on its own line: a gene name, a
 * dataset name or a number never holds a newline, and an unclosed quote is then reported
 * where it opens instead of swallowing the rest of the file into one field.
 */
function splitQuoted(text: string, delimiter: string, starts: number[], backslash: boolean): string[] {
  const fields: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    starts.push(i);
    if (text.charCodeAt(i) === QUOTE) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q === -1) throw new SplitError(i, 'a quoted field is not closed on its line');
        if (backslash && text.charCodeAt(q - 1) === BACKSLASH) {
          value += text.slice(from, q - 1) + '"';
          from = q + 1;
          continue;
        }
        if (!backslash && text.charCodeAt(q + 1) === QUOTE) {
          value += text.slice(from, q + 1);
          from = q + 2;
          continue;
        }
        value += text.slice(from, q);
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === n) return fields;
      if (text[i] !== delimiter) {
        throw new SplitError(i, `a quoted field must be followed by a ${DELIMITER_NAMES[delimiter as Delimiter]} or the end of the line (a quote inside one is written "" or \\")`);
      }
      i++;
    } else {
      const end = text.indexOf(delimiter, i);
      if (end === -1) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, end));
      i = end + 1;
    }
  }
}

/** The 1-based character column where field `k` starts; past the last field, the end of the line. Only for messages. */
export function fieldColumn(text: string, k: number, dialect: Dialect): number {
  const starts: number[] = [];
  try {
    splitLine(text, dialect, starts);
  } catch {
    // A line that split once splits again; this is only for safety in a message.
  }
  return (k < starts.length ? starts[k]! : text.length) + 1;
}

/** Splits, turning a quote problem into a one-line error at its line and column. */
export function splitOrThrow(text: string, dialect: Dialect, file: string, line: number): string[] {
  try {
    return splitLine(text, dialect);
  } catch (err) {
    if (err instanceof SplitError) throw new InputError(file, line, err.problem, err.offset + 1);
    throw err;
  }
}

/**
 * How many delimiters stand outside quotes: the evidence the delimiter is sniffed from. Counted
 * by splitting as the reader will, so R's `"5\" UTR"` (one quote inside a name) does not flip
 * the count; a line that does not split with this delimiter falls back to pairing the quotes.
 */
export function countDelimiters(text: string, delimiter: string): number {
  try {
    return splitLine(text, { delimiter: delimiter as Delimiter, quoted: true }).length - 1;
  } catch (err) {
    if (!(err instanceof SplitError)) throw err;
  }
  let count = 0;
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') inQuotes = !inQuotes;
    else if (c === delimiter && !inQuotes) count++;
  }
  return count;
}

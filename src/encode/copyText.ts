/** One value in COPY text format: NULL as \N, and the characters COPY gives meaning to escaped. */
export function copyTextValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : s;
}

/** Rows of plain values as one COPY text buffer; for the small tables (genes, datasets, data). */
export function copyTextRows(rows: readonly unknown[][]): Buffer {
  return Buffer.from(rows.map((r) => r.map(copyTextValue).join('\t') + '\n').join(''), 'utf8');
}

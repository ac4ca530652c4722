import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Measurement } from './timer.js';

export function resultsCsv(rows: readonly Measurement[]): string {
  const lines = rows.map((r) => `${r.metric},${r.seconds === null ? '' : r.seconds.toFixed(3)},${r.count}`);
  return ['metric,seconds,count', ...lines].join('\n') + '\n';
}

export async function writeResults(file: string, rows: readonly Measurement[]): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, resultsCsv(rows));
}

/** The same rows as an aligned table for the terminal. */
export function resultsTable(rows: readonly Measurement[]): string {
  const cells = [['metric', 'seconds', 'count'], ...rows.map((r) => [r.metric, r.seconds === null ? '' : r.seconds.toFixed(3), r.count.toLocaleString('en-US')])];
  const widths = [0, 1, 2].map((c) => Math.max(...cells.map((row) => row[c]!.length)));
  return cells.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

import { constants } from 'node:fs';
import { access, mkdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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

export interface ResultsPlace {
  /** --results: written there or the run fails, since the user asked for that file. */
  requested?: string;
  /** The default path, relative to the working directory. */
  defaultFile: string;
  /** Where temp files go (--tmp-dir, GENESIM_TMP_DIR); the system's temp dir when absent. */
  tmpDir?: string;
}

/**
 * Writes the results CSV and returns where it went: the requested file, else the default path
 * under the working directory, else, when that cannot be written (a read-only deployment),
 * genesim-results/ in the temp directory, saying so.
 */
export async function saveResults(rows: readonly Measurement[], place: ResultsPlace, say: (line: string) => void): Promise<string> {
  if (place.requested !== undefined) {
    await writeResults(place.requested, rows);
    return place.requested;
  }
  // Asked, not tried: a recursive mkdir on a read-only filesystem reports ENOENT, not EROFS.
  const unwritable = await unwritableReason(place.defaultFile);
  if (unwritable === null) {
    await writeResults(place.defaultFile, rows);
    return place.defaultFile;
  }
  const fallback = path.join(place.tmpDir ?? tmpdir(), 'genesim-results', path.basename(place.defaultFile));
  await writeResults(fallback, rows);
  say(`${unwritable}: results written to ${fallback} instead`);
  return fallback;
}

/**
 * Where the results file would be made cannot be written: a one-line reason, else null. Asked
 * before the run, so a --results the user named on a read-only filesystem costs no work.
 */
export async function unwritableReason(file: string): Promise<string | null> {
  // The file's directory may not exist yet (it is made then): the nearest one that does decides.
  let dir = path.dirname(path.resolve(file));
  while (!(await stat(dir).then((s) => s.isDirectory(), () => false)) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    await access(dir, constants.W_OK);
    return null;
  } catch (err) {
    return `${dir} cannot be written (${(err as NodeJS.ErrnoException).code})`;
  }
}

/** The same rows as an aligned table for the terminal. */
export function resultsTable(rows: readonly Measurement[]): string {
  const cells = [['metric', 'seconds', 'count'], ...rows.map((r) => [r.metric, r.seconds === null ? '' : r.seconds.toFixed(3), r.count.toLocaleString('en-US')])];
  const widths = [0, 1, 2].map((c) => Math.max(...cells.map((row) => row[c]!.length)));
  return cells.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

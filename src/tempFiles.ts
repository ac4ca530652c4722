import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Temp files of this process. Each is removed by its owner in a `finally`; the exit hook is the
 * backstop for a process that is ended before the `finally` can run (the CLI turns signals
 * into a clean stop, and its second-signal exit calls removeAllNow itself).
 */
const live = new Set<string>();
let hooked = false;

export function tempPath(dir: string | undefined, label: string, ext: string): string {
  if (!hooked) {
    process.on('exit', removeAllNow);
    hooked = true;
  }
  const file = path.join(dir ?? tmpdir(), `genesim-${process.pid}-${label}-${randomBytes(4).toString('hex')}.${ext}`);
  live.add(file);
  return file;
}

export async function removeTemp(file: string): Promise<void> {
  await rm(file, { force: true });
  live.delete(file);
}

export function removeAllNow(): void {
  for (const file of live) rmSync(file, { force: true });
  live.clear();
}

export function liveTempFiles(): string[] {
  return [...live];
}

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Temp files of this process. Each is removed by its owner in a `finally`; the exit hook is the
 * backstop for a process that is ended before the `finally` can run (the CLI turns signals
 * into a clean stop, and its second-signal exit calls removeAllNow itself).
 */
const live = new Set<string>();
/** Every temp file is `genesim-<pid>-<label>-<random>.<ext>`: the pid tells whose it is. */
const PREFIX = 'genesim-';
const OWNER = /^genesim-(\d+)-/;
let hooked = false;

export function tempPath(dir: string | undefined, label: string, ext: string): string {
  if (!hooked) {
    process.on('exit', removeAllNow);
    hooked = true;
  }
  const file = path.join(dir ?? tmpdir(), `${PREFIX}${process.pid}-${label}-${randomBytes(4).toString('hex')}.${ext}`);
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists and is someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files in `dir` of genesim processes that no longer run (killed before their
 * clean-up could), and says whose they were. Files of running processes are never touched.
 */
export async function removeDeadTempFiles(dir: string | undefined, say: (line: string) => void): Promise<void> {
  const where = dir ?? tmpdir();
  const byPid = new Map<number, number>();
  for (const name of await readdir(where).catch(() => [] as string[])) {
    const pid = Number(OWNER.exec(name)?.[1] ?? 0);
    if (pid <= 0 || alive(pid)) continue;
    const file = path.join(where, name);
    if (!(await stat(file).catch(() => null))?.isFile()) continue;
    await rm(file, { force: true });
    byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
  }
  for (const [pid, count] of byPid) {
    say(`removed ${count} temp file${count === 1 ? '' : 's'} (genesim-${pid}-*) from ${where} left by an earlier run (pid ${pid}) that did not finish`);
  }
}

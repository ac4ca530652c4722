import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../paths.js';

export const CLI = path.join(projectRoot, 'dist', 'src', 'cli.js');

export interface ChildOutcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  /** Peak resident set of the process (main thread and workers), from /proc; null where there is none. */
  peakRssBytes: number | null;
  stderr: string;
}

function highWaterMark(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Runs the real CLI (`node dist/src/cli.js ...`) as a user would, one process per run: clean
 * memory figures and no state carried between runs.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<ChildOutcome> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  let peak: number | null = null;
  const sample = () => {
    const v = child.pid === undefined ? null : highWaterMark(child.pid);
    if (v !== null) peak = Math.max(peak ?? 0, v);
  };
  const sampler = setInterval(sample, 100);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    // The run's time ends when the process does; its outcome is read once its stderr has been
    // read to the end ('close'), or the last line (the reason it failed) could be missing.
    let seconds = 0;
    child.once('exit', () => {
      seconds = (performance.now() - t0) / 1000;
      clearInterval(sampler);
    });
    child.once('close', (status, signal) => {
      clearInterval(sampler);
      resolve({ status, signal, seconds: seconds || (performance.now() - t0) / 1000, peakRssBytes: peak, stderr });
    });
  });
}

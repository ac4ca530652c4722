import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const TICK = 100; // clock ticks a second (getconf CLK_TCK on Linux)

/**
 * CPU seconds of a process and its descendants: each one's own (utime, stime) and that of its
 * children that have exited and been waited for (cutime, cstime), so a backend that ends during a
 * phase (a pooled connection closed, Citus' connections to the workers) still counts.
 */
export function cpuOfTree(root: number): number {
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK });
    } catch {
      // Gone meanwhile.
    }
  }
  let total = 0;
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    total += stats.get(pid)?.cpu ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) todo.push(child);
  }
  return total;
}

export function postmasterPid(dataDir: string): number {
  return Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

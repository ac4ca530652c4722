import { spawn } from 'node:child_process';

// A job process that does its work at once: many progress lines, then its result line, then it
// exits as soon as the kernel has them (as the CLI does). Its last lines can still be in the pipe
// when it is gone, the case a runner that decides on 'exit' gets wrong. With QUICK_CHILD_LATE=1
// the result line comes from a process it leaves behind, 300 ms after its own exit: output that
// outlives the process, every time. Run by test/runner.test.ts in place of the CLI.
const lines: string[] = [];
for (let i = 1; i <= 4000; i++) lines.push(JSON.stringify({ type: 'progress', label: 'similarity rows', done: i, total: 4000 }));
const result = JSON.stringify({ type: 'result', action: 'create', measurements: [{ metric: 'quick_total', seconds: 0.001, count: 4000 }], resultsFile: '/dev/null' });
if (process.env.QUICK_CHILD_LATE === '1') {
  spawn(process.execPath, ['-e', `setTimeout(() => process.stdout.write(${JSON.stringify(result + '\n')}), 300)`], { stdio: ['ignore', 'inherit', 'ignore'], detached: true }).unref();
} else {
  lines.push(result);
}
process.stdout.write(lines.join('\n') + '\n', () => process.exit(0));

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ProxyUsage {
  cpuSeconds: number;
  chunks: number;
  meanHoldMs: number;
}

export interface ProxyProcess {
  port: number;
  usage(): Promise<ProxyUsage>;
  stop(): Promise<void>;
}

function reply<T>(child: ChildProcess, test: (m: Record<string, unknown>) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (!test(m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => reject(new Error(`latency proxy exited (${code}) before answering`));
    child.on('message', onMessage).once('exit', onExit);
  });
}

/** Starts the delaying proxy (src/bench/proxyProcess.ts) in a process of its own, holding chunks `delayMs` each way. */
export async function startProxyProcess(target: { host: string; port: number }, delayMs: number): Promise<ProxyProcess> {
  const child = fork(fileURLToPath(new URL('./proxyProcess.js', import.meta.url)), [target.host, String(target.port), String(delayMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await reply<{ port: number }>(child, (m) => 'port' in m);
  return {
    port,
    usage: () => {
      const answer = reply<ProxyUsage>(child, (m) => 'cpuSeconds' in m);
      child.send('usage');
      return answer;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}

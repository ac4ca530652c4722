import { startLatencyProxy } from './latencyProxy.js';

/**
 * The latency proxy as a process of its own, so its CPU (process.cpuUsage) is its alone and
 * it does not share an event loop with the bench. argv: host port delayMs. Speaks over IPC:
 * sends {port} once listening; answers 'usage' with {cpuSeconds, chunks, meanHoldMs}; exits on 'stop'.
 */
const [host, port, delay] = process.argv.slice(2);
const proxy = await startLatencyProxy({ host: host!, port: Number(port) }, Number(delay));
const send = (m: unknown) => process.send!(m);
send({ port: proxy.port });
process.on('message', async (m) => {
  if (m === 'usage') {
    const u = process.cpuUsage();
    send({ cpuSeconds: (u.user + u.system) / 1e6, ...proxy.stats() });
  } else if (m === 'stop') {
    await proxy.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));

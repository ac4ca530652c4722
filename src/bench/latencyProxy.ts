import net from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A TCP proxy that holds every chunk `delayMs` in each direction, in order: what toxiproxy's
 * latency toxic does, for a kernel without `tc netem`. Hand-written because no npm package
 * delays below a millisecond: Node's timers have 1 ms resolution, so a hold shorter than that
 * is finished by polling the event loop (setImmediate), which costs the proxy CPU while a chunk
 * waits; the bench reports that CPU.
 */
export interface LatencyProxy {
  port: number;
  /** Chunks held, and the mean time they were actually held (ms). */
  stats(): { chunks: number; meanHoldMs: number };
  close(): Promise<void>;
}

interface Held {
  chunk: Buffer;
  due: number;
  arrived: number;
}

export async function startLatencyProxy(target: { host: string; port: number }, delayMs: number): Promise<LatencyProxy> {
  let chunks = 0;
  let heldMs = 0;
  const sockets = new Set<net.Socket>();

  /** Forwards `from` to `to`, each chunk `delayMs` after it arrived; pauses `from` while `to` is full. */
  function delayed(from: net.Socket, to: net.Socket): void {
    const queue: Held[] = [];
    let armed = false;
    // One wait for 'drain' at a time: several full writes in one flush would each add a listener.
    let draining = false;
    const flush = () => {
      armed = false;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.due <= now) {
        const h = queue.shift()!;
        chunks++;
        heldMs += now - h.arrived;
        if (!to.write(h.chunk) && !draining) {
          draining = true;
          from.pause();
          to.once('drain', () => {
            draining = false;
            from.resume();
          });
        }
      }
      arm();
    };
    const arm = () => {
      if (armed || queue.length === 0) return;
      armed = true;
      const wait = queue[0]!.due - performance.now();
      // Timers are coarse (a 1 ms timer fires after 1 ms or more): sleep all but the last
      // millisecond, poll the rest.
      if (wait >= 2) setTimeout(flush, Math.floor(wait - 1));
      else setImmediate(flush);
    };
    from.on('data', (chunk: Buffer) => {
      const arrived = performance.now();
      queue.push({ chunk, due: arrived + delayMs, arrived });
      arm();
    });
    from.on('end', () => {
      const finish = () => (queue.length === 0 ? to.end() : setTimeout(finish, delayMs + 1));
      finish();
    });
  }

  const server = net.createServer((client) => {
    // A PGHOST that is a directory names the server's Unix socket, as libpq reads it.
    const upstream = target.host.startsWith('/') ? net.connect(`${target.host}/.s.PGSQL.${target.port}`) : net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    delayed(client, upstream);
    delayed(upstream, client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stats: () => ({ chunks, meanHoldMs: chunks === 0 ? 0 : heldMs / chunks }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { failureKind, InterruptedError } from '../errors.js';

const cleaningUp = new AsyncLocalStorage<true>();

/**
 * Marks `work` as clean-up: its statements may still be sent after the run was stopped, and the
 * stop does not cancel them. ROLLBACK and `DROP TABLE IF EXISTS` count as clean-up anyway.
 */
export function asCleanup<T>(work: () => Promise<T>): Promise<T> {
  return cleaningUp.run(true, work);
}

const UNDO = /^\s*(ROLLBACK|ABORT|DROP TABLE IF EXISTS)\b/i;

/** Clean-up is known by context more than by verb: the swap's own DROP TABLE and TRUNCATE are work. */
function isCleanup(sql: string): boolean {
  return cleaningUp.getStore() === true || UNDO.test(sql);
}

type Query = (...args: unknown[]) => unknown;
interface Submittable {
  submit: unknown;
  destroy?: (err: Error) => void;
  _destroy?: (err: Error | null, done: (err?: Error | null) => void) => void;
  emit(event: string, ...args: unknown[]): boolean;
  on?: (event: string, listener: (...args: unknown[]) => void) => unknown;
}

function textOf(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && 'text' in arg && typeof arg.text === 'string') return arg.text;
  return '';
}

const isSubmittable = (arg: unknown): arg is Submittable => !!arg && typeof arg === 'object' && typeof (arg as Submittable).submit === 'function';

/**
 * Makes every connection of a run's pool stop with the run. node-postgres has no cancel on a
 * client, so on abort the statements of the run's work in flight on the pool's connections (an
 * index build, an `INSERT ... ON CONFLICT`, `ANALYZE`, a COPY, a swap waiting for a lock) are
 * cancelled with `pg_cancel_backend` from a fresh connection; from then on only clean-up is sent
 * (COMMIT included, everything else is refused), so nothing after the signal can make the run's
 * work permanent or start another long statement.
 *
 * It also keeps a backend terminated under a checked-out client (an administrator, a failover)
 * from crashing the process through an unhandled 'error' event: the failure reaches the query
 * that was waiting, and the pool discards the dead client when it is released.
 *
 * Every query path of a run goes through the pool, so this is the one cancel mechanism.
 */
export function guardPool(pool: pg.Pool, config: pg.ClientConfig, signal: AbortSignal): { settled(): Promise<void>; cancelRunning(): Promise<void> } {
  /** Whether each live client has a statement of the run's work (not clean-up) that may still be running. */
  const working = new Map<pg.PoolClient, boolean>();
  // The CLI aborts with the signal's own InterruptedError; any other abort (a job cancelled, a test) is an interruption too.
  const reason = () => (signal.reason instanceof InterruptedError ? signal.reason : new InterruptedError());
  let cancelling: Promise<void> = Promise.resolve();

  pool.on('connect', (client) => {
    working.set(client, false);
    client.on('error', () => undefined);
    client.on('end', () => working.delete(client));
    const query = client.query.bind(client) as Query;
    (client as unknown as { query: Query }).query = (...args: unknown[]) => {
      const cleanup = isCleanup(textOf(args[0]));
      if (signal.aborted && !cleanup) {
        const err = reason();
        if (isSubmittable(args[0])) {
          const stream = args[0];
          // Never submitted, so nothing on the server to fail: its own destroy (pg-copy-streams sends
          // CopyFail and waits for the server's answer) would wait forever, and the pipeline with it.
          if (stream.destroy) stream._destroy = (e, done) => done(e);
          // Its 'error' must not crash a process whose caller stopped listening: the stop is reported anyway.
          stream.on?.('error', () => undefined);
          process.nextTick(() => (stream.destroy ? stream.destroy(err) : stream.emit('error', err)));
          return stream;
        }
        return Promise.reject(err);
      }
      // A COPY stays marked until the next statement: a cancel reaching an idle backend does nothing.
      working.set(client, !cleanup);
      const result = query(...args);
      if (!(result instanceof Promise)) return result;
      return result.then(
        (r) => (working.set(client, false), r),
        (err: { code?: string }) => {
          working.set(client, false);
          // The session is gone even if the socket has not closed yet: end it, so the pool discards
          // it on release instead of handing the dead client to the clean-up that comes next.
          if (failureKind(err, false) === 'terminated') void client.end().catch(() => undefined);
          // The cancel sent at the signal can land on the clean-up statement that followed: run it again.
          if (signal.aborted && cleanup && err?.code === '57014') return query(...args);
          throw err;
        },
      );
    };
  });
  pool.on('remove', (client) => working.delete(client));

  const cancelRunning = async () => {
    const pids = [...working]
      .filter(([, busy]) => busy)
      .map(([client]) => (client as unknown as { processID: number | null }).processID)
      .filter((pid) => pid !== null);
    if (pids.length === 0) return;
    const canceller = new pg.Client({ ...config, connectionTimeoutMillis: 5000 });
    canceller.on('error', () => undefined);
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
    } catch {
      // The server may be gone too; the run then fails on its own connections.
    } finally {
      await canceller.end().catch(() => undefined);
    }
  };
  signal.addEventListener('abort', () => (cancelling = cancelRunning()), { once: true });
  return { settled: () => cancelling, cancelRunning };
}

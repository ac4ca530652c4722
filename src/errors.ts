/**
 * Exit codes are part of the CLI contract, so every error that is the user's to fix carries
 * its own code; anything else is a bug or a database failure and exits 1.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  refused: 3,
  /** The database server cannot be reached: down, wrong host or port, no such socket. */
  serverUnreachable: 10,
  /** The server refused the credentials (wrong password, unknown user, no pg_hba.conf entry). */
  authentication: 11,
  /** The server answers but the database named does not exist. */
  noDatabase: 12,
  /** TLS could not be agreed: required but not offered, or the certificate is not trusted. */
  tls: 13,
  interrupted: 130,
  terminated: 143,
} as const;

/** The signals that stop a run cleanly, and the exit code each ends with (128 + its number). */
export const STOP_SIGNALS = { SIGINT: EXIT.interrupted, SIGTERM: EXIT.terminated, SIGHUP: 129 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/** Bad flags, bad configuration or bad input: one line, exit 2. */
export class UsageError extends Error {
  readonly exitCode: number = EXIT.usage;
}

/**
 * Bad input file: names the file, line and (where one field is at fault) the 1-based character
 * column, as `file:line:col:` that editors and terminals open at the right place.
 */
export class InputError extends UsageError {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly problem: string,
    readonly column: number | null = null,
  ) {
    super(`${file}${line === null ? '' : column === null ? `:${line}` : `:${line}:${column}`}: ${problem}`);
  }
}

/** The database could not be reached or refused us at start; the exit code says which of the four. */
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * What a failed run leaves behind, said at the end of its message. Everything but `baseline`
 * update rolls back; baseline runs in autocommit, so the rows it wrote before the failure stay.
 */
function keptTail(committedRows: number | undefined): string {
  if (committedRows === undefined) return 'nothing was kept';
  return `${committedRows.toLocaleString('en-US')} rows were already committed (baseline runs in autocommit)`;
}

/** The user (or a supervisor) stopped the run with a signal; the run rolled back. */
export class InterruptedError extends Error {
  readonly exitCode: number;
  constructor(
    readonly signal: StopSignal = 'SIGINT',
    readonly committedRows?: number,
  ) {
    super(`interrupted: ${keptTail(committedRows)}`);
    this.exitCode = STOP_SIGNALS[signal];
  }
}

/**
 * The run's writer lock went away under it (its connection terminated, timed out, or a pooler
 * restarted): another run may now hold it, so this one stops the way Ctrl-C stops it. An
 * InterruptedError, so everything that stops a run on an interruption (the pool's guard, the
 * strategies' checks) stops it for this too; exit 1, since no signal was given.
 */
export class LockLostError extends InterruptedError {
  override readonly exitCode: number = EXIT.failure;
  constructor(
    readonly why: string,
    afterSwap = false,
  ) {
    super();
    this.message = afterSwap
      ? `lost the writer lock (${why}) after the swap had committed: the new tables are in place; the next run removes what is left`
      : `lost the writer lock (${why}); stopped, nothing swapped`;
  }
}

/** The command would destroy data the user did not ask to replace. */
export class RefusedError extends Error {
  readonly exitCode: number = EXIT.refused;
}

/** A worker thread threw or died while computing a block; the run stopped and rolled back. */
export class WorkerFailedError extends Error {
  constructor(readonly detail: string) {
    super(`a worker thread failed (${detail})`);
  }
}

export function exitCodeOf(err: unknown): number {
  if (err && typeof err === 'object' && 'exitCode' in err && typeof err.exitCode === 'number') {
    return err.exitCode;
  }
  return EXIT.failure;
}

// Facts a failure picks up on its way out, kept off the error's own fields so any error can carry them.
const phaseOf = new WeakMap<object, string>();
const committedOf = new WeakMap<object, number>();

/** Remembers the innermost phase an error went through (the timer calls this). */
export function tagPhase(err: unknown, phase: string): void {
  if (err && typeof err === 'object' && !phaseOf.has(err)) phaseOf.set(err, phase);
}

/** Remembers how many rows an autocommit run had committed when the error reached it. */
export function tagCommitted(err: unknown, rows: number): void {
  if (err && typeof err === 'object') committedOf.set(err, rows);
}

/**
 * "This session is gone": PostgreSQL's SQLSTATE class 08 and 57P01-57P03, the socket's own
 * errors (a COPY writing into a closed connection fails with EPIPE before the server's message
 * is read), and node-postgres's messages for a connection that ended.
 */
const CONNECTION_LOST = /^(08|57P0[123])|^(EPIPE|ECONNRESET|ECONNABORTED)$/;
const CONNECTION_LOST_MESSAGE = /Connection terminated|is not queryable|terminating connection|socket has been ended/i;

export type FailureKind = 'interrupted' | 'terminated' | 'cancelled' | 'worker' | 'other';

/** The one classification of what stopped a run: by the signal that was given, then by the error. */
export function failureKind(err: unknown, stopped: boolean): FailureKind {
  if (stopped || err instanceof InterruptedError) return 'interrupted';
  if (err instanceof WorkerFailedError) return 'worker';
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (CONNECTION_LOST.test(code) || CONNECTION_LOST_MESSAGE.test(String(e?.message ?? ''))) return 'terminated';
  if (code === '57014') return 'cancelled';
  return 'other';
}

/**
 * The one line a stopped run ends with, and its exit code. `stop` is the signal's own
 * InterruptedError when the run was stopped by one: whatever failed after it (a cancelled
 * statement, a torn-down COPY) is the interruption itself.
 */
export function describeFailure(err: unknown, stop?: InterruptedError): Error & { exitCode: number } {
  const tagged = err !== null && typeof err === 'object';
  const committed: number | undefined = (tagged ? committedOf.get(err) : undefined) ?? (err instanceof InterruptedError ? err.committedRows : undefined);
  const phase: string | undefined = tagged ? phaseOf.get(err) : undefined;
  const during = phase ? ` during ${phase}` : '';
  const firstLine = (m: unknown) => String(m ?? 'unknown error').split('\n')[0];
  const failure = (message: string) => Object.assign(new Error(message), { exitCode: EXIT.failure });
  // Whatever failed after the lock was lost (a cancelled statement, a refused query) is that loss.
  if (err instanceof LockLostError) return err;
  switch (failureKind(err, stop !== undefined)) {
    case 'interrupted':
      return new InterruptedError(stop?.signal ?? (err as InterruptedError).signal, committed);
    case 'terminated':
      return failure(`the database connection was terminated${during} (${firstLine((err as Error).message)}); ${keptTail(committed)}`);
    case 'cancelled':
      return failure(`a statement was cancelled by the server or an administrator${during} (${firstLine((err as Error).message)}); ${keptTail(committed)}`);
    case 'worker':
      return failure(`${(err as Error).message}${during}; ${keptTail(committed)}`);
    default: {
      if (err instanceof Error && 'exitCode' in err) return err as Error & { exitCode: number };
      const message = err instanceof Error ? err.message : String(err);
      return Object.assign(new Error(committed ? `${message}; ${keptTail(committed)}` : message), { exitCode: exitCodeOf(err) });
    }
  }
}

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
} as const;

/** Bad flags, bad configuration or bad input: one line, exit 2. */
export class UsageError extends Error {
  readonly exitCode: number = EXIT.usage;
}

/** Bad input file: names the file and line so the user can open it at the right place. */
export class InputError extends UsageError {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly problem: string,
  ) {
    super(line === null ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
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

/** The user pressed Ctrl-C; the run rolled back. */
export class InterruptedError extends Error {
  readonly exitCode: number = EXIT.interrupted;
  constructor(message = 'interrupted: nothing was kept') {
    super(message);
  }
}

/** The command would destroy data the user did not ask to replace. */
export class RefusedError extends Error {
  readonly exitCode: number = EXIT.refused;
}

export function exitCodeOf(err: unknown): number {
  if (err && typeof err === 'object' && 'exitCode' in err && typeof err.exitCode === 'number') {
    return err.exitCode;
  }
  return EXIT.failure;
}

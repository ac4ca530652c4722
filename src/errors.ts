/**
 * Exit codes are part of the CLI contract, so every error that is the user's to fix carries
 * its own code; anything else is a bug or a database failure and exits 1.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  refused: 3,
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

/** The user pressed Ctrl-C; the run rolled back. */
export class InterruptedError extends Error {
  readonly exitCode: number = EXIT.interrupted;
  constructor() {
    super('interrupted: nothing was kept');
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

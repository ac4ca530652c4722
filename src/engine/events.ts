import type { Measurement } from '../report/timer.js';

/**
 * What a run tells the world while it works. The engine only emits these; the faces decide
 * what they become (a progress bar and a table on a terminal, JSON lines for scripts and the
 * server, a job row and logs in the server).
 */
export type EngineEvent =
  /** A line for the user: what `say` printed before events. */
  | { type: 'notice'; message: string }
  /** A timed phase begins or ends; `name` is the results CSV's metric (`parallel_create_sims`). */
  | { type: 'phase'; name: string; state: 'start' }
  | { type: 'phase'; name: string; state: 'end'; seconds: number; count: number }
  /** A measurement that is not a phase of its own (settings, counts, sub-timings). */
  | { type: 'measurement'; metric: string; seconds: number | null; count: number }
  /**
   * Units done of a long step (`label` names it: rows loaded, gene rows updated). `unit` says what
   * is counted when it is not rows (the index builds of a phase); absent means rows.
   */
  | { type: 'progress'; label: string; done: number; total: number; unit?: string; extra?: Record<string, string | number> }
  /** The run finished: every measurement, and where the results CSV went. */
  | { type: 'result'; action: 'create' | 'update'; measurements: Measurement[]; resultsFile: string; changedRows?: number }
  /** The run failed (emitted by the CLI face, which knows the exit code). */
  | { type: 'error'; message: string; exitCode: number };

export type OnEvent = (event: EngineEvent) => void;

/** What a finished run wrote and where: the facts of the summary a person reads. */
export interface Written {
  genes: number;
  datasets: number;
  /** Similarity rows the run wrote: every row for a create, the changed ones for an update. */
  rowsWritten: number;
  /** Similarity rows the table holds after the run. */
  tableRows: number;
  /** The database as `describeTarget` names it: host, port, user and database, never a password. */
  database: string;
  /** The first gene by systematic name, for the "look at it" line; null for an empty matrix. */
  exampleGene: string | null;
}

export interface Progress {
  /** Adds done units; `extra` carries named figures of the step (rows computed ahead of the load). */
  tick(units: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

/** The emitter a run carries in its RunContext. */
export class Events {
  constructor(readonly emit: OnEvent = () => undefined) {}

  readonly notice = (message: string): void => this.emit({ type: 'notice', message });

  /** Progress of one step of `total` units, announced at 0 so a face can show it at once. */
  progress(label: string, total: number, unit?: string): Progress {
    let done = 0;
    const counted = unit === undefined ? {} : { unit };
    this.emit({ type: 'progress', label, done, total, ...counted });
    return {
      tick: (units, extra) => {
        done += units;
        this.emit({ type: 'progress', label, done, total, ...counted, ...(extra ? { extra } : {}) });
      },
      stop: () => undefined,
    };
  }
}

/** Only the notices, as lines (benchmarks print these and nothing else). */
export function noticesTo(say: (line: string) => void): OnEvent {
  return (e) => {
    if (e.type === 'notice') say(e.message);
  };
}

import { type CreateOptions, runCreate } from '../commands/create.js';
import type { Config } from '../config.js';
import { runUpdate, type UpdateOptions } from '../update/run.js';
import type { Measurement } from '../report/timer.js';
import type { OnEvent } from './events.js';

/** One run of the engine: what the CLI parses from flags and the server from a job. */
export type Job = ({ action: 'create' } & CreateOptions) | ({ action: 'update' } & UpdateOptions);

export interface RunOutcome {
  measurements: Measurement[];
  resultsFile: string;
  /** Updates: similarity rows written. */
  changedRows?: number;
}

/**
 * The engine's one entry point: runs a create or an update, reporting only through `onEvent`
 * (phases, progress, notices, then the result). Faces render the events; `signal` stops the run,
 * which then rolls back and rejects.
 */
export async function run(config: Config, job: Job, { signal, onEvent }: { signal: AbortSignal; onEvent: OnEvent }): Promise<RunOutcome> {
  const outcome: RunOutcome =
    job.action === 'create' ? await runCreate(config, job, onEvent, signal) : await runUpdate(config, job, onEvent, signal);
  onEvent({ type: 'result', action: job.action, measurements: outcome.measurements, resultsFile: outcome.resultsFile, ...(outcome.changedRows === undefined ? {} : { changedRows: outcome.changedRows }) });
  return outcome;
}

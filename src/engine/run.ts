import { type CreateOptions, runCreate } from '../commands/create.js';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { unwritableReason } from '../report/results.js';
import { runUpdate, type UpdateOptions } from '../update/run.js';
import type { Measurement } from '../report/timer.js';
import type { OnEvent, Written } from './events.js';

/** One run of the engine: what the CLI parses from flags and the server from a job. */
export type Job = ({ action: 'create' } & CreateOptions) | ({ action: 'update' } & UpdateOptions);

export interface RunOutcome {
  measurements: Measurement[];
  resultsFile: string;
  /** Updates: similarity rows written. */
  changedRows?: number;
  /** What was written and where, for the summary; not part of the result event (its JSON stays as it was). */
  written: Written;
  /** Set for a create stopped at its time budget (rolled back). */
  stoppedAtBudget?: boolean;
}

/**
 * The engine's one entry point: runs a create or an update, reporting only through `onEvent`
 * (phases, progress, notices, then the result). Faces render the events; `signal` stops the run,
 * which then rolls back and rejects.
 */
export async function run(config: Config, given: Job, { signal, onEvent }: { signal: AbortSignal; onEvent: OnEvent }): Promise<RunOutcome> {
  // GENESIM_TMP_DIR stands in for --tmp-dir: on App Engine and Cloud Run /tmp is the one writable place.
  const job = { ...given, tmpDir: given.tmpDir ?? config.tmpDir };
  // A results file asked for by name must be writable; found out now, before any work, not after.
  const unwritable = job.results === undefined ? null : await unwritableReason(job.results);
  if (unwritable) throw new UsageError(`results file ${job.results}: ${unwritable}`);
  const outcome: RunOutcome =
    job.action === 'create' ? await runCreate(config, job, onEvent, signal) : await runUpdate(config, job, onEvent, signal);
  onEvent({ type: 'result', action: job.action, measurements: outcome.measurements, resultsFile: outcome.resultsFile, ...(outcome.changedRows === undefined ? {} : { changedRows: outcome.changedRows }) });
  return outcome;
}

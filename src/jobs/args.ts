import type { Metric } from '../similarity/kernel.js';

/** What a job runs, as checked from the request: the CLI flags it becomes. */
export interface JobSpec {
  action: 'create' | 'update';
  strategy: string;
  metric: Metric;
  threads: number;
  changedOnly: boolean;
  /** The matrix: a file (given, or downloaded), the database, or a synthetic matrix of N genes. */
  input: { file: string } | { fromDb: true } | { genes: number };
}

/**
 * The `genesim create|update` command line of a job. A create replaces the matrix there (what
 * an application asking for a create means); results and temp files go to `tmpDir`, the one
 * writable place on App Engine.
 */
export function jobArgs(spec: JobSpec, o: { resultsFile: string; tmpDir: string; jobId?: number }): string[] {
  const input = 'file' in spec.input ? ['--input', spec.input.file] : 'genes' in spec.input ? ['--genes', String(spec.input.genes)] : ['--from-db'];
  return [
    spec.action,
    '--strategy', spec.strategy,
    '--metric', spec.metric,
    '--threads', String(spec.threads),
    ...input,
    ...(spec.action === 'create' ? ['--replace'] : []),
    ...(spec.changedOnly ? ['--changed-only'] : []),
    '--results', o.resultsFile,
    '--tmp-dir', o.tmpDir,
    '--progress', 'json',
    // Recorded with the run in genesim_run, so the matrix card names the job that wrote it.
    ...(o.jobId === undefined ? [] : ['--job-id', String(o.jobId)]),
  ];
}

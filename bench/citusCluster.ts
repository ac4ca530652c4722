import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, readEnv, withDatabase } from '../src/config.js';
import type { Config } from '../src/config.js';
import type { ServerTarget } from '../src/db/embedded.js';

/** A database on the cluster, shaped like the tests' TestDatabase (bench/ is uploaded, test/ is not). */
export interface TestDatabase {
  name: string;
  config: Config;
  target: ServerTarget;
  /** Environment that points a genesim subprocess at this database. */
  env: NodeJS.ProcessEnv;
  drop(): Promise<void>;
}

/**
 * A local Citus cluster for the tests: a coordinator and two workers, each an initdb of its own
 * under one temp directory, on ports 9700-9702 (GENESIM_CITUS_PORT_BASE moves them: base, base+1,
 * base+2, so a second cluster can run beside CI's), started once and stopped by `stop()`.
 *
 * PostgreSQL refuses to run as root, so as root every server process (initdb, pg_ctl) runs as the
 * `postgres` OS user, which owns the directory; the superuser inside is `postgres` either way.
 */
const PORT_BASE = Number(process.env.GENESIM_CITUS_PORT_BASE ?? 9700);
export const CITUS_PORTS = [PORT_BASE, PORT_BASE + 1, PORT_BASE + 2] as const;
const HOST = '127.0.0.1';
const USER = 'postgres';

function pgConfig(flag: string): string | null {
  try {
    return execFileSync('pg_config', [flag], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/** Why the cluster cannot run here, or null when it can. */
export function citusMissing(): string | null {
  const lib = pgConfig('--pkglibdir');
  const bin = pgConfig('--bindir');
  if (lib === null || bin === null) return 'pg_config is not on PATH (no PostgreSQL server binaries)';
  if (!existsSync(path.join(bin, 'initdb'))) return `no initdb in ${bin}`;
  if (!existsSync(path.join(lib, 'citus.so'))) return `Citus is not installed: no citus.so in ${lib} (run ../shared/citus/install.sh)`;
  return null;
}

export interface CitusCluster {
  coordinator: ServerTarget;
  dir: string;
  /** A database of its own on every node, the citus extension in each, the workers added to the coordinator's. */
  database(name: string, o?: { citus?: boolean }): Promise<TestDatabase>;
  stop(): void;
}

const asPostgres = (): { uid?: number; gid?: number } =>
  process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' })) } : {};

function run(cmd: string, args: string[], ids: { uid?: number; gid?: number }): void {
  // HOME of the server's own: libpq in the coordinator (its connections to the workers) reads ~/.postgresql.
  const env = { ...process.env, HOME: ids.uid !== undefined ? '/var/lib/postgresql' : process.env.HOME };
  const r = spawnSync(cmd, args, { ...ids, env, encoding: 'utf8', timeout: 120_000, cwd: '/' });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout || r.error?.message}`);
}

async function onNode<T>(port: number, database: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: HOST, port, user: USER, database });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** Starts the cluster (it must not be running). Throws with the reason when it cannot. */
export async function startCitusCluster(): Promise<CitusCluster> {
  const missing = citusMissing();
  if (missing) throw new Error(missing);
  const bin = pgConfig('--bindir')!;
  const ids = asPostgres();
  const dir = mkdtempSync(path.join(tmpdir(), 'genesim-citus-'));
  if (ids.uid !== undefined) chownSync(dir, ids.uid, ids.gid!);
  const nodes = CITUS_PORTS.map((port, k) => ({ port, data: path.join(dir, k === 0 ? 'coordinator' : `worker${k}`) }));
  const started: string[] = [];
  const stop = () => {
    for (const data of started) spawnSync(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...ids, cwd: '/' });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const n of nodes) {
      run(path.join(bin, 'initdb'), ['-D', n.data, '-U', USER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], ids);
      // Test settings: durability off (a throwaway cluster), and enough connections for the
      // coordinator's fan-out to 2 workers × shards plus genesim's own.
      appendFileSync(
        path.join(n.data, 'postgresql.conf'),
        [
          `port = ${n.port}`,
          `listen_addresses = '${HOST}'`,
          `unix_socket_directories = '${dir}'`,
          "shared_preload_libraries = 'citus'",
          'max_connections = 200',
          'fsync = off',
          'synchronous_commit = off',
          'full_page_writes = off',
          "shared_buffers = '128MB'",
          "max_wal_size = '2GB'",
          // The nodes talk over 127.0.0.1 without TLS, as the test's own connections do.
          "citus.node_conninfo = 'sslmode=disable'",
          '',
        ].join('\n'),
      );
      run(path.join(bin, 'pg_ctl'), ['-D', n.data, '-l', path.join(dir, `${path.basename(n.data)}.log`), '-w', '-t', '60', 'start'], ids);
      started.push(n.data);
    }
  } catch (err) {
    stop();
    throw err;
  }
  const coordinator: ServerTarget = { kind: 'server', host: HOST, port: CITUS_PORTS[0], user: USER, password: '' };
  return {
    coordinator,
    dir,
    stop,
    async database(name, o = {}) {
      const citus = o.citus ?? true;
      for (const n of citus ? nodes : nodes.slice(0, 1)) {
        await onNode(n.port, 'postgres', async (c) => {
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await c.query(`CREATE DATABASE ${name}`);
        });
        if (citus) await onNode(n.port, name, (c) => c.query('CREATE EXTENSION citus'));
      }
      if (citus) {
        await onNode(nodes[0]!.port, name, async (c) => {
          await c.query('SELECT citus_set_coordinator_host($1, $2)', [HOST, nodes[0]!.port]);
          for (const w of nodes.slice(1)) await c.query('SELECT citus_add_node($1, $2)', [HOST, w.port]);
        });
      }
      const target = { ...coordinator, database: name };
      return {
        name,
        target,
        config: withDatabase({ ...loadConfig(readEnv({})), db: coordinator }, name),
        env: { PATH: process.env.PATH, HOME: process.env.HOME, PGHOST: HOST, PGPORT: String(CITUS_PORTS[0]), PGUSER: USER, PGPASSWORD: '', PGDATABASE: name },
        drop: async () => {
          for (const n of nodes) await onNode(n.port, 'postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => undefined);
        },
      };
    },
  };
}

/**
 * For a suite's `before`: the cluster, or a skip with the reason when Citus is absent. In CI
 * (CI=true) Citus is required, so its absence fails the suite instead of passing it unseen.
 */
export async function clusterOrSkip(ctx: Mocha.Context): Promise<CitusCluster> {
  const missing = citusMissing();
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`CI=true and the Citus suite cannot run: ${missing}`);
    console.log(`      skipped: ${missing}`);
    ctx.skip();
  }
  return startCitusCluster();
}

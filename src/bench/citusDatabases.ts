import pg from 'pg';
import { escapeIdentifier } from 'pg';
import { DEFAULT_CITUS_SHARDS, hasCitus } from '../db/citus.js';
import { migrate } from '../db/migrate.js';

/**
 * `genesim bench` pointed at a Citus coordinator measures on that cluster: each fresh database
 * is made on the coordinator and on every worker, with the extension in each and the workers
 * added, as a Citus database must be (CREATE DATABASE on the coordinator alone makes a plain one),
 * then laid out by `migrate --citus` with the shard count of the database bench was pointed at.
 */
export interface CitusNodes {
  /** The coordinator's own entry in its metadata (citus_set_coordinator_host), when it has one. */
  coordinator: { host: string; port: number } | null;
  workers: { host: string; port: number }[];
  /** datasets_genesimilarity's shard count in the database pointed at, else migrate --citus's default. */
  shards: number;
}

/** The cluster behind `config`'s database; null when it has no citus extension (or does not exist). */
export async function citusNodesOf(config: pg.ClientConfig): Promise<CitusNodes | null> {
  const c = new pg.Client(config);
  try {
    await c.connect();
  } catch (err) {
    // 3D000: bench was pointed at a server, not at a database; a plain bench then.
    if ((err as { code?: string }).code === '3D000') return null;
    throw err;
  }
  try {
    if (!(await hasCitus(c))) return null;
    const { rows } = await c.query<{ host: string; port: number; group: number }>(
      "SELECT nodename AS host, nodeport AS port, groupid AS group FROM pg_dist_node WHERE noderole = 'primary' AND isactive ORDER BY nodeid",
    );
    const { rows: s } = await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_dist_shard WHERE logicalrelid = to_regclass('datasets_genesimilarity')");
    const coordinator = rows.find((r) => r.group === 0);
    return {
      coordinator: coordinator ? { host: coordinator.host, port: coordinator.port } : null,
      workers: rows.filter((r) => r.group !== 0).map((r) => ({ host: r.host, port: r.port })),
      shards: Number(s[0]!.n) || DEFAULT_CITUS_SHARDS,
    };
  } finally {
    await c.end();
  }
}

async function onNode(config: pg.ClientConfig, work: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const c = new pg.Client(config);
  await c.connect();
  try {
    await work(c);
  } finally {
    await c.end();
  }
}

/** The coordinator (`server`, as genesim reaches it) and the workers (same user, password and TLS). */
const nodeConfigs = (server: pg.ClientConfig, nodes: CitusNodes): pg.ClientConfig[] => [server, ...nodes.workers.map((w) => ({ ...server, host: w.host, port: w.port }))];

/** `name` on every node with the extension, the workers added to the coordinator's, the Django tables distributed. */
export async function makeCitusDatabase(server: pg.ClientConfig, nodes: CitusNodes, name: string): Promise<void> {
  for (const node of nodeConfigs(server, nodes)) {
    await onNode({ ...node, database: 'postgres' }, (c) => c.query(`CREATE DATABASE ${escapeIdentifier(name)}`));
    await onNode({ ...node, database: name }, (c) => c.query('CREATE EXTENSION citus'));
  }
  await onNode({ ...server, database: name }, async (c) => {
    if (nodes.coordinator) await c.query('SELECT citus_set_coordinator_host($1, $2)', [nodes.coordinator.host, nodes.coordinator.port]);
    for (const w of nodes.workers) await c.query('SELECT citus_add_node($1, $2)', [w.host, w.port]);
    await migrate(c, { citus: { shards: nodes.shards } });
  });
}

/** Drops `name` on every node (WITH (FORCE): a stopped run may still hold connections). */
export async function dropCitusDatabase(server: pg.ClientConfig, nodes: CitusNodes, name: string): Promise<void> {
  for (const node of nodeConfigs(server, nodes)) {
    await onNode({ ...node, database: 'postgres' }, (c) => c.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`));
  }
}

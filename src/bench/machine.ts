import { availableParallelism, cpus, totalmem } from 'node:os';
import pg from 'pg';

/** The server settings that decide load and index-build speed. */
export const SETTINGS = ['shared_buffers', 'maintenance_work_mem', 'max_parallel_maintenance_workers', 'max_wal_size', 'synchronous_commit', 'fsync', 'work_mem', 'wal_level'] as const;

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  postgres: string;
  settings: Record<string, string>;
}

export async function describeMachine(config: pg.ClientConfig): Promise<Machine> {
  const c = new pg.Client(config);
  await c.connect();
  try {
    const version = (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
    const { rows } = await c.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1)`,
      [[...SETTINGS]],
    );
    const settings: Record<string, string> = {};
    for (const name of SETTINGS) settings[name] = rows.find((r) => r.name === name)?.setting ?? '?';
    return { cores: availableParallelism(), cpuModel: cpus()[0]?.model ?? '?', memoryBytes: totalmem(), node: process.version, postgres: version.split(',')[0]!, settings };
  } finally {
    await c.end();
  }
}

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { projectRoot } from '../paths.js';
import { inTransaction } from './connect.js';

export const MIGRATIONS_DIR = path.join(projectRoot, 'src', 'db', 'migrations');
/** Serialises concurrent `migrate` runs against the same database. */
const LOCK_KEY = 0x6e5e51;

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

/**
 * Applies the plain-SQL files in src/db/migrations in name order, each in its own
 * transaction together with its row in genesim_migrations, so a failed file leaves no trace.
 */
export async function migrate(client: pg.PoolClient | pg.Client): Promise<MigrateResult> {
  await client.query(`CREATE TABLE IF NOT EXISTS genesim_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    const { rows } = await client.query<{ name: string }>('SELECT name FROM genesim_migrations');
    const done = new Set(rows.map((r) => r.name));
    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    for (const file of files) {
      const name = file.replace(/\.sql$/, '');
      if (done.has(name)) {
        result.alreadyApplied.push(name);
        continue;
      }
      const sql = await readFile(path.join(MIGRATIONS_DIR, file), 'utf8');
      await inTransaction(client, async () => {
        await client.query(sql);
        await client.query('INSERT INTO genesim_migrations (name) VALUES ($1)', [name]);
      });
      result.applied.push(name);
    }
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
  }
}

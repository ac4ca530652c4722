import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { projectRoot } from '../paths.js';
import { distributeDjangoTables } from './citus.js';
import { inTransaction } from './connect.js';

export const MIGRATIONS_DIR = path.join(projectRoot, 'src', 'db', 'migrations');
/** Serialises concurrent `migrate` runs against the same database. */
const LOCK_KEY = 0x6e5e51;

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
  /** Recorded without running: the objects they make were already there (Django made them). */
  adopted: string[];
  /** --citus: the tables were distributed now, or found distributed and kept as they are. */
  citus?: 'distributed' | 'adopted';
}

/** `-- skip if exists: TABLE` in a migration: a database whose app already made TABLE keeps its own schema. */
const GUARD = /^-- skip if exists: ([a-z_][a-z0-9_]*)$/m;

/**
 * Applies the plain-SQL files in src/db/migrations in name order, each in its own
 * transaction together with its row in genesim_migrations, so a failed file leaves no trace.
 */
export async function migrate(client: pg.PoolClient | pg.Client, o: { citus?: { shards: number } } = {}): Promise<MigrateResult> {
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    // Under the lock: two first runs at once would both find no table, and the slower one's
    // CREATE TABLE IF NOT EXISTS then fails on the catalog's unique index (pg_type).
    await client.query(`CREATE TABLE IF NOT EXISTS genesim_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    const { rows } = await client.query<{ name: string }>('SELECT name FROM genesim_migrations');
    const done = new Set(rows.map((r) => r.name));
    const result: MigrateResult = { applied: [], alreadyApplied: [], adopted: [] };
    for (const file of files) {
      const name = file.replace(/\.sql$/, '');
      if (done.has(name)) {
        result.alreadyApplied.push(name);
        continue;
      }
      const sql = await readFile(path.join(MIGRATIONS_DIR, file), 'utf8');
      const guard = GUARD.exec(sql)?.[1];
      const present = guard !== undefined && (await client.query('SELECT to_regclass($1) AS t', [guard])).rows[0].t !== null;
      await inTransaction(client, async () => {
        if (!present) await client.query(sql);
        await client.query('INSERT INTO genesim_migrations (name) VALUES ($1)', [name]);
      });
      (present ? result.adopted : result.applied).push(name);
    }
    if (o.citus) result.citus = await distributeDjangoTables(client, o.citus.shards);
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
  }
}

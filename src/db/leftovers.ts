import type pg from 'pg';
import { RUN_TABLE_NAME } from './swap.js';

/** Tables genesim made for a run, in the schema it writes to (only a writer-lock holder may call this). */
export async function leftoverTables(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  return rows.map((r) => r.name).filter((name) => RUN_TABLE_NAME.test(name));
}

/**
 * Drops the load tables of runs that did not finish. Only a run holding the writer lock calls
 * this, so no genesim run that is alive can own one of them. No CASCADE: nothing of the
 * application's may depend on a load table, and if something does, the run stops and says so.
 */
export async function dropLeftoverTables(client: pg.ClientBase, say: (line: string) => void): Promise<void> {
  for (const table of await leftoverTables(client)) {
    await client.query(`DROP TABLE "${table}"`);
    say(`dropped ${table} left by an earlier run that did not finish`);
  }
}

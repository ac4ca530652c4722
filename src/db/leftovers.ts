import type pg from 'pg';
import { quoteIdent } from './catalog.js';
import { isGenesimLoadTable } from './loadNames.js';

/** Tables genesim made for a run (loadNames.ts knows their names), in the schema it writes to. */
export async function leftoverTables(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  return rows.map((r) => r.name).filter(isGenesimLoadTable);
}

/**
 * Drops the load tables of runs that did not finish. Only a run holding the writer lock calls
 * this, so no genesim run that is alive can own one of them. No CASCADE: nothing of the
 * application's may depend on a load table, and if something does, the run stops and says so.
 */
export async function dropLeftoverTables(client: pg.ClientBase, say: (line: string) => void): Promise<void> {
  const tables = await leftoverTables(client);
  if (tables.length === 0) return;
  // One statement: a run's load tables may reference each other (its similarity table its genes).
  await client.query(`DROP TABLE ${tables.map(quoteIdent).join(', ')}`);
  for (const table of tables) say(`dropped ${table} left by an earlier run that did not finish`);
}

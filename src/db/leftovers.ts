import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { inTransaction } from './connect.js';
import { parseLoadTableName } from './loadNames.js';
import { runLockHeld } from './lock.js';

/** Tables genesim made for a run (loadNames.ts knows their names), in the schema it writes to. */
export async function leftoverTables(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  return rows.map((r) => r.name).filter((name) => parseLoadTableName(name) !== null);
}

/**
 * How long a leftover's lock is waited for: a killed run's backend may still be rolling back
 * its COPY for a moment after its process died; a backend still at work after that is left alone.
 */
const LEFTOVER_LOCK_TIMEOUT_MS = 5000;

/** Backends other than this one that hold a lock on the tables, or run a statement naming them. */
async function backendsOn(client: pg.ClientBase, tables: string[]): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT l.pid FROM pg_locks l WHERE l.pid <> pg_backend_pid() AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.relation IN (SELECT to_regclass(quote_ident(current_schema()) || '.' || quote_ident(t)) FROM unnest($1::text[]) AS t)
     UNION
     SELECT a.pid FROM pg_stat_activity a, unnest($1::text[]) AS t
      WHERE a.pid <> pg_backend_pid() AND a.datname = current_database() AND a.state <> 'idle' AND strpos(a.query, t) > 0
     ORDER BY 1`,
    [tables],
  );
  return rows.map((r) => r.pid);
}

/**
 * Drops the load tables of runs that did not finish. The caller holds the writer lock, but a run
 * that lost it may still be alive, so a run's tables go only when that run provably ended (its
 * run lock is gone: src/db/lock.ts) and no backend works on them (none holds a lock on them, or
 * runs a statement naming them: the table lock taken for the DROP proves it). No CASCADE: nothing
 * of the application's may depend on a load table, and if something does, the run stops and says so.
 */
export async function dropLeftoverTables(client: pg.PoolClient | pg.Client, say: (line: string) => void, ownRunId?: string): Promise<void> {
  const byRun = new Map<string, string[]>();
  for (const table of await leftoverTables(client)) {
    const runId = parseLoadTableName(table)!.runId;
    if (runId !== ownRunId) byRun.set(runId, [...(byRun.get(runId) ?? []), table]);
  }
  for (const [runId, tables] of byRun) {
    const names = tables.join(', ');
    if (await runLockHeld(client, runId)) {
      say(`left ${names} alone: the run that made ${tables.length === 1 ? 'it' : 'them'} (run ${runId}) is still alive`);
      continue;
    }
    const outcome = await inTransaction(client, async (): Promise<'dropped' | 'busy' | 'gone'> => {
      await client.query(`SET LOCAL lock_timeout = '${LEFTOVER_LOCK_TIMEOUT_MS}ms'`);
      const quoted = tables.map(escapeIdentifier).join(', ');
      try {
        await client.query(`LOCK TABLE ${quoted} IN ACCESS EXCLUSIVE MODE`);
      } catch (err) {
        // The failed LOCK aborted the transaction: its COMMIT rolls back. Its run dropping them
        // itself meanwhile shows as a deadlock (the two lock them in another order) or as gone.
        const code = (err as { code?: string }).code;
        if (code === '42P01') return 'gone';
        if (code === '55P03' || code === '40P01') return 'busy';
        throw err;
      }
      // With every lock on them ours, nobody works on them; the run's own lock is checked once more under them.
      if (await runLockHeld(client, runId)) return 'busy';
      // One statement: a run's load tables may reference each other (its similarity table its genes).
      await client.query(`DROP TABLE ${quoted}`);
      return 'dropped';
    });
    if (outcome === 'dropped') {
      for (const table of tables) say(`dropped ${table} left by an earlier run that did not finish`);
    } else if (outcome === 'busy') {
      const pids = await backendsOn(client, tables);
      say(`left ${names} alone: ${pids.length > 0 ? `backend ${pids.join(', ')} still works on it` : 'its run is still alive'}; a later run removes it`);
    }
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Replacement } from './beside.js';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { citusSequential } from './citus.js';

export const SIM_TABLE = 'datasets_genesimilarity';

/**
 * Session settings for one index build: sort memory and parallel workers as tuning.ts chose
 * them (256 MB by default, measured fastest there; no workers on 2 cores, where the builds
 * already run side by side and the extra processes made the set slower: 39.8 s against 34.5 s).
 */
export function indexBuildSettings(workers: number, memoryMb: number): string[] {
  return [`SET maintenance_work_mem = '${Math.trunc(memoryMb)}MB'`, `SET max_parallel_maintenance_workers = ${Math.trunc(workers)}`];
}

/** How long one attempt waits for a lock: new readers queue behind a waiting exclusive lock, so this bounds their stall. */
export const SWAP_LOCK_TIMEOUT_MS = 200;

export interface SwapWait {
  /** Give up after this long waiting for locks. */
  seconds: number;
  say: (line: string) => void;
  signal: AbortSignal;
  /** Another connection, to ask who blocks the swap while it waits. */
  observer: () => Promise<pg.PoolClient>;
}

/**
 * Runs `work` in one transaction whose locks are asked for with a short lock_timeout. When a
 * lock is not granted in time (a long query of the application holds it) the transaction
 * rolls back, so the readers queued behind it go on, and is retried with back-off until
 * `wait.seconds` have passed; stderr says whom it waits for.
 */
export async function withShortLocks<T>(client: pg.ClientBase, wait: SwapWait, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  let lastBlockers = '';
  for (let attempt = 0; ; attempt++) {
    if (wait.signal.aborted) throw wait.signal.reason;
    let blockers = '';
    // Asked halfway through the lock timeout, while this backend is still waiting; not at all once it committed.
    const granted = new AbortController();
    const probe = sleep(SWAP_LOCK_TIMEOUT_MS / 2, undefined, { signal: granted.signal }).then(async () => {
      const observer = await wait.observer();
      try {
        const { rows } = await observer.query<{ who: string }>(
          `SELECT string_agg(format('pid %s (%s%s, %s since %s)', a.pid, coalesce(nullif(a.application_name, ''), a.usename),
                   CASE WHEN a.client_addr IS NOT NULL THEN ' at ' || host(a.client_addr) ELSE '' END, a.state,
                   to_char(coalesce(a.xact_start, a.query_start), 'HH24:MI:SS')), '; ' ORDER BY a.pid) AS who
             FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids($1))`,
          [pid],
        );
        blockers = rows[0]?.who ?? '';
      } finally {
        observer.release();
      }
    });
    await client.query('BEGIN');
    try {
      await client.query(`SET LOCAL lock_timeout = '${SWAP_LOCK_TIMEOUT_MS}ms'`);
      // Citus: the checks read distributed tables, then the renames go to every shard of reference
      // and distributed tables alike; one connection per node makes that no "parallel operation" error.
      await citusSequential(client, { local: true });
      const result = await work();
      await client.query('COMMIT');
      granted.abort();
      await probe.catch(() => undefined);
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      await probe.catch(() => undefined);
      if ((err as { code?: string }).code !== '55P03') throw err;
      const waited = (performance.now() - started) / 1000;
      const who = blockers || 'a session that has since let go';
      if (waited >= wait.seconds) {
        throw new Error(`swap: could not get its locks within --swap-wait ${wait.seconds} s (held by ${who}); the previous tables are untouched`);
      }
      if (who !== lastBlockers) wait.say(`swap waits for locks held by ${who} (up to --swap-wait ${wait.seconds} s)`);
      lastBlockers = who;
      await sleep(Math.min(50 * 2 ** attempt, 2000) * (0.5 + Math.random()), undefined, { signal: wait.signal }).catch(() => undefined);
    }
  }
}

/** `"schema"."name"` (or `schema.name`) -> its last part, still quoted: a schema's name may hold a dot. */
export function unqualified(qualifiedName: string): string {
  const m = /^(?:"(?:[^"]|"")*"|[^."]*)\.(.+)$/.exec(qualifiedName);
  return m ? m[1]! : qualifiedName;
}

/** An incoming foreign key, as it was, for re-adding after the swap. */
interface ReaddedKey {
  table: string;
  name: string;
  def: string;
  validated: boolean;
}

export interface SwapOutcome {
  /** Keys of application tables re-added NOT VALID, to validate once the swap committed. */
  toValidate: ReaddedKey[];
  /** performance.now() when every lock was granted: the exclusive hold runs from here to the COMMIT. */
  lockedAt: number;
  /** How long the last LOCK TABLE waited before it was granted (readers arriving meanwhile queue behind it). */
  lockWaitSeconds: number;
}

/**
 * The swap itself, inside `withShortLocks`: renames only. Every live table goes to its
 * retired name and its load table to the live name, indexes and constraints with them;
 * serial sequences change owner (they keep counting), identity sequences change names;
 * views are recreated over the new tables with their own options (owner and grants stay with
 * the view); foreign keys of other tables into replaced ones are re-added NOT VALID, validated
 * after the commit. `sequenceValues` gives, per table, the value its id sequence is set to.
 */
export async function swapTables(client: pg.ClientBase, reps: Replacement[], sequenceValues: Map<string, number>): Promise<SwapOutcome> {
  const replaced = new Set(reps.map((r) => r.cat.oid));
  const views = new Map(reps.flatMap((r) => r.cat.views.map((v) => [v.oid, v] as const)));
  const incoming = reps.flatMap((r) => r.cat.incomingForeignKeys.filter((k) => !replaced.has(k.tableOid)));
  const others = [...new Set(incoming.map((k) => k.table))];
  const lockable = [...reps.flatMap((r) => [r.cat.quoted, r.load]), ...[...views.values()].map((v) => v.quoted), ...others];
  const askedAt = performance.now();
  await client.query(`LOCK TABLE ${lockable.join(', ')} IN ACCESS EXCLUSIVE MODE`);
  const lockedAt = performance.now();
  // The catalog was read before the build; a table replaced meanwhile would make every name below wrong.
  const { rows: now } = await client.query<{ oid: number | null }>(
    'SELECT to_regclass(name)::oid::int AS oid FROM unnest($1::text[]) WITH ORDINALITY AS u(name, k) ORDER BY k',
    [reps.map((r) => r.cat.quoted)],
  );
  reps.forEach((r, k) => {
    if (now[k]?.oid !== r.cat.oid) throw new Error(`${r.cat.quoted} was replaced by someone else during the run; nothing swapped`);
  });
  const { rows: viewDefs } = await client.query<{ oid: number; def: string }>('SELECT oid::int, pg_get_viewdef(oid) AS def FROM pg_class WHERE oid = ANY($1::oid[])', [
    [...views.keys()],
  ]);

  // Every lock is held from here on: the statements go in one round trip, so the hold is as short as the server makes it.
  const statements: string[] = [];
  for (const k of incoming) statements.push(`ALTER TABLE ${k.table} DROP CONSTRAINT ${escapeIdentifier(k.name)}`);
  for (const r of reps) {
    const schema = escapeIdentifier(r.cat.schema);
    if (r.serialSequences) {
      // Citus: the load table has sequences of its own (beside.ts); each takes the live one's name.
      for (const s of r.serialSequences) statements.push(`ALTER SEQUENCE ${s.live} RENAME TO ${escapeIdentifier(s.old)}`);
    } else {
      for (const c of r.cat.columns) {
        if (c.identity === '' && c.sequence !== null) statements.push(`ALTER SEQUENCE ${c.sequence} OWNED BY ${r.load}.${escapeIdentifier(c.name)}`);
      }
    }
    for (const s of r.identitySequences) statements.push(`ALTER SEQUENCE ${s.live} RENAME TO ${escapeIdentifier(s.old)}`);
    for (const i of r.indexNames) statements.push(`ALTER INDEX ${schema}.${escapeIdentifier(i.index.name)} RENAME TO ${escapeIdentifier(i.old)}`);
    statements.push(`ALTER TABLE ${r.cat.quoted} RENAME TO ${escapeIdentifier(r.retiredName)}`);
  }
  for (const r of reps) {
    const schema = escapeIdentifier(r.cat.schema);
    for (const i of r.indexNames) statements.push(`ALTER INDEX ${schema}.${escapeIdentifier(i.fresh)} RENAME TO ${escapeIdentifier(i.index.name)}`);
    for (const s of [...r.identitySequences, ...(r.serialSequences ?? [])]) statements.push(`ALTER SEQUENCE ${schema}.${escapeIdentifier(s.fresh)} RENAME TO ${unqualified(s.live)}`);
    statements.push(`ALTER TABLE ${r.load} RENAME TO ${escapeIdentifier(r.cat.name)}`);
  }
  for (const { oid, def } of viewDefs) {
    const v = views.get(oid)!;
    const options = v.reloptions.length > 0 ? ` WITH (${v.reloptions.join(', ')})` : '';
    statements.push(`CREATE OR REPLACE VIEW ${v.quoted}${options} AS ${def.replace(/;\s*$/, '')}`);
  }
  for (const k of incoming) {
    statements.push(`ALTER TABLE ${k.table} ADD CONSTRAINT ${escapeIdentifier(k.name)} ${k.def}${k.validated ? ' NOT VALID' : ''}`);
  }
  for (const r of reps) {
    const value = sequenceValues.get(r.cat.name);
    const seq = r.cat.columns.find((c) => c.name === 'id')?.sequence;
    if (value === undefined || !seq) continue;
    statements.push(`SELECT setval(${escapeLiteral(seq)}, ${Math.max(Math.trunc(value), 1)}, ${value > 0})`);
  }
  // Citus forwards a DDL statement's query string to the workers as it came: several statements
  // in one string fail there ("cannot insert multiple commands into a prepared statement").
  if (reps.some((r) => r.citus)) for (const statement of statements) await client.query(statement);
  else await client.query(statements.join(';\n'));
  return { toValidate: incoming.filter((k) => k.validated), lockedAt, lockWaitSeconds: (lockedAt - askedAt) / 1000 };
}

/** After the commit: the foreign keys re-added NOT VALID are checked (a lock that blocks neither reads nor writes). */
export async function validateForeignKeys(client: pg.ClientBase, keys: ReaddedKey[]): Promise<void> {
  for (const k of keys) {
    try {
      await client.query(`ALTER TABLE ${k.table} VALIDATE CONSTRAINT ${escapeIdentifier(k.name)}`);
    } catch (err) {
      throw new Error(`the new tables are in place, but foreign key ${k.name} of ${k.table} fails validation and stays NOT VALID: ${(err as Error).message}`);
    }
  }
}

export async function dropRetiredTables(client: pg.ClientBase, reps: Replacement[]): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${reps.map((r) => r.retired).join(', ')}`);
}

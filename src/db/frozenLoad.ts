import type pg from 'pg';
import { asCleanup } from './runGuard.js';

/**
 * One connection holding one transaction in which the load table is new (emptied by TRUNCATE,
 * which gives it a fresh file), so `COPY ... FREEZE` may write into it. Its rows then need no
 * hint bits set by the first scan (the index builds would otherwise rewrite every page they
 * read), and the visibility map marks every page all-visible (PostgreSQL 14 and later), so the
 * foreign-key checks can read the indexes alone instead of the table.
 *
 * The load table is private to the run until the swap, so rows visible before their commit
 * (what FREEZE trades for speed) are seen by nobody.
 */
export interface FrozenLoad {
  client: pg.PoolClient;
  /** Makes the rows permanent; the connection goes back to the pool. */
  commit(): Promise<void>;
  /** Rolls back (the table stays, empty) and gives the connection back, or discards it if it is broken. */
  abandon(): Promise<void>;
}

export async function beginFrozenLoad(pool: pg.Pool, table: string): Promise<FrozenLoad> {
  const client = await pool.connect();
  let open = true;
  const release = (broken: boolean) => {
    if (!open) return;
    open = false;
    client.release(broken || undefined);
  };
  // The TRUNCATE's lock on the load table is held until this ends: the clean-up that drops it waits for that.
  const rollback = () =>
    asCleanup(() => client.query('ROLLBACK')).then(
      () => release(false),
      () => release(true),
    );
  try {
    await client.query('BEGIN');
    await client.query(`TRUNCATE ${table}`);
  } catch (err) {
    await rollback();
    throw err;
  }
  return {
    client,
    async commit() {
      try {
        await client.query('COMMIT');
        release(false);
      } catch (err) {
        release(true);
        throw err;
      }
    },
    abandon: rollback,
  };
}

import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** The application's "genes most similar to X" query, the read a swap must not stall. */
export const RANKED_SIMILAR = 'SELECT gene2_id, score FROM datasets_genesimilarity WHERE gene1_id = $1 OR gene2_id = $1 ORDER BY score DESC LIMIT 20';

export interface ReaderStats {
  queries: number;
  /** Longest single query, in seconds: how long a reader of the application waited at worst. */
  maxSeconds: number;
  errors: number;
  firstError?: string;
}

export interface ReaderProbe {
  /** Ends the loop after the query in flight and closes the connection. */
  stop(): Promise<ReaderStats>;
}

/**
 * A reader like the application's: its own connection, the ranked-similar query every
 * `intervalMs` for a random gene id, each in autocommit. It only records; it never fails the
 * run it watches (an error of the probe is counted, and so is a lost connection).
 */
export async function startReaderProbe(config: pg.ClientConfig, geneIds: ArrayLike<number>, intervalMs = 10): Promise<ReaderProbe> {
  const client = new pg.Client({ ...config, application_name: 'genesim reader probe' });
  client.on('error', () => undefined);
  await client.connect();
  // The application's connections are long-lived: a new connection's first query (its catalog
  // caches filling, 40-90 ms here) is no stall of the swap's, so it is not counted.
  await client.query(RANKED_SIMILAR, [geneIds.length > 0 ? geneIds[0] : 1]).catch(() => undefined);
  const stats: ReaderStats = { queries: 0, maxSeconds: 0, errors: 0 };
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const id = geneIds.length > 0 ? geneIds[Math.floor(Math.random() * geneIds.length)]! : 1;
      const t0 = performance.now();
      try {
        await client.query(RANKED_SIMILAR, [id]);
      } catch (err) {
        stats.errors++;
        stats.firstError ??= (err as Error).message;
      }
      const ms = performance.now() - t0;
      stats.queries++;
      stats.maxSeconds = Math.max(stats.maxSeconds, ms / 1000);
      if (ms < intervalMs) await sleep(intervalMs - ms);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      await client.end().catch(() => undefined);
      return stats;
    },
  };
}

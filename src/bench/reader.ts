import pg from 'pg';
import { Random } from '../input/random.js';
import { quantile } from './stats.js';

/** The application's "genes most similar to X" query, as the Django view runs it. */
export const RANKED_SIMILAR = 'SELECT gene2_id, score FROM datasets_genesimilarity WHERE gene1_id = $1 OR gene2_id = $1 ORDER BY score DESC LIMIT 20';

export interface ReaderLatency {
  p50Ms: number;
  p95Ms: number;
  queries: number;
}

/** Times the ranked-similar query for `samples` genes drawn at random (seeded), one after another on one connection. */
export async function readerLatency(config: pg.ClientConfig, samples: number, seed = 11): Promise<ReaderLatency> {
  const c = new pg.Client(config);
  await c.connect();
  try {
    const ids = (await c.query<{ id: number }>('SELECT id FROM datasets_gene ORDER BY id')).rows.map((r) => r.id);
    const r = new Random(seed);
    const ms: number[] = [];
    for (let k = 0; k < samples; k++) {
      const id = ids[r.int(ids.length)]!;
      const t0 = performance.now();
      await c.query({ name: 'ranked_similar', text: RANKED_SIMILAR, values: [id] });
      ms.push(performance.now() - t0);
    }
    return { p50Ms: quantile(ms, 0.5), p95Ms: quantile(ms, 0.95), queries: samples };
  } finally {
    await c.end();
  }
}

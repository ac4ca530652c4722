import type { Config } from '../config.js';
import { openDatabase } from '../db/connect.js';
import { type SimilarAnswer, similarGenes } from '../similar/query.js';
import { DEMO_DATABASE } from './demo.js';

export interface SimilarOptions {
  gene: string;
  top: number;
  metric?: string;
  /** Ask demo's database on the embedded server instead of the configured one. */
  demo: boolean;
}

/** `genesim similar`: a reader like the application, one connection, no writer lock. */
export async function runSimilar(config: Config, o: SimilarOptions, say: (line: string) => void): Promise<SimilarAnswer> {
  const on = o.demo ? { ...config, db: { ...config.embedded, database: DEMO_DATABASE } } : config;
  const db = await openDatabase(on, say, 1);
  try {
    return await similarGenes(db.pool, o.gene, { top: o.top, metric: o.metric });
  } finally {
    await db.close();
  }
}

/** The SQL a person can paste into psql for the same answer (the application's query with names joined). */
export function similarSql(gene: string, top: number): string {
  const name = gene.replace(/'/g, "''");
  return (
    'SELECT g2.systematic_name, g2.common_name, s.score FROM datasets_genesimilarity s ' +
    'JOIN datasets_gene g1 ON g1.id = s.gene1_id JOIN datasets_gene g2 ON g2.id = s.gene2_id ' +
    `WHERE g1.systematic_name = '${name}' AND s.gene2_id <> s.gene1_id ORDER BY s.score DESC, g2.systematic_name COLLATE "C" LIMIT ${top}`
  );
}

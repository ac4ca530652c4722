import type pg from 'pg';
import { UsageError } from '../errors.js';
import { closestNames } from './closest.js';

export interface GeneName {
  systematicName: string;
  commonName: string | null;
}

export interface SimilarGene extends GeneName {
  rank: number;
  score: number;
}

export interface SimilarAnswer {
  gene: GeneName;
  metric: string;
  top: number;
  similar: SimilarGene[];
}

export const MAX_TOP = 1000;

/** A gene the database does not hold: exit 2, and a 404 from the service, naming the nearest names. */
export class UnknownGeneError extends UsageError {
  constructor(
    readonly typed: string,
    readonly suggestions: string[],
  ) {
    super(`no gene "${typed}" in datasets_gene${suggestions.length > 0 ? `; closest: ${suggestions.join(', ')}` : ''}`);
  }
}

/** The database holds no matrix to ask (no tables, or no rows of the metric asked for): exit 2, a 404 from the service. */
export class NoMatrixError extends UsageError {}

/**
 * The application's ranked-similar query, on the gene1_id index: every pair is stored both ways
 * (the pair rule), so the rows whose gene1 is the gene hold all its scores. The diagonal is left
 * out; ties in the 3-decimal score are ordered by name so the answer is the same every time.
 */
const RANKED = `
SELECT g.systematic_name, g.common_name, s.score::float8 AS score
  FROM datasets_genesimilarity s JOIN datasets_gene g ON g.id = s.gene2_id
 WHERE s.gene1_id = $1 AND s.metric = $2 AND s.gene2_id <> $1
 ORDER BY s.score DESC, g.systematic_name COLLATE "C"
 LIMIT $3`;

type Db = pg.Pool | pg.ClientBase;

/** The gene by systematic name (exact, then in any case), else by common name; an unknown name throws with the closest. */
async function findGene(db: Db, typed: string): Promise<{ id: number } & GeneName> {
  const { rows } = await db.query<{ id: number; systematic_name: string; common_name: string | null; how: number }>(
    `SELECT id, systematic_name, common_name,
            CASE WHEN systematic_name = $1 THEN 0 WHEN upper(systematic_name) = upper($1) THEN 1 WHEN common_name = $1 THEN 2 ELSE 3 END AS how
       FROM datasets_gene
      WHERE systematic_name = $1 OR upper(systematic_name) = upper($1) OR upper(common_name) = upper($1)
      ORDER BY how, systematic_name`,
    [typed],
  );
  const best = rows[0];
  if (best) {
    // A common name shared by several genes picks none of them: the user names one.
    const tied = rows.filter((r) => r.how === best.how);
    if (best.how >= 2 && tied.length > 1) {
      throw new UsageError(`"${typed}" is the common name of ${tied.length} genes (${tied.slice(0, 5).map((r) => r.systematic_name).join(', ')}${tied.length > 5 ? ', …' : ''}): give a systematic name`);
    }
    return { id: best.id, systematicName: best.systematic_name, commonName: best.common_name };
  }
  // Names only, one gene a row: memory grows with N, never N².
  const names = await db.query<{ systematic_name: string; common_name: string | null }>('SELECT systematic_name, common_name FROM datasets_gene');
  const all = names.rows.flatMap((r) => (r.common_name ? [r.systematic_name, r.common_name] : [r.systematic_name]));
  throw new UnknownGeneError(typed, closestNames(typed, all));
}

/** The metrics the gene's rows hold (one, normally): read on the gene1_id index, N rows, never the whole table. */
async function metricsOf(db: Db, geneId: number): Promise<string[]> {
  const { rows } = await db.query<{ metric: string }>('SELECT DISTINCT metric FROM datasets_genesimilarity WHERE gene1_id = $1 ORDER BY metric', [geneId]);
  return rows.map((r) => r.metric);
}

/**
 * The `top` genes most similar to `typed`, with their scores, by `metric` (default: the one the
 * table holds). Shared by `genesim similar` and `GET /genes/:name/similar`.
 */
export async function similarGenes(db: Db, typed: string, o: { top: number; metric?: string }): Promise<SimilarAnswer> {
  const present = (await db.query<{ t: string | null }>(`SELECT to_regclass('datasets_genesimilarity') AS t, to_regclass('datasets_gene') AS g`)).rows[0] as { t: string | null; g: string | null };
  if (present.t === null || present.g === null) throw new NoMatrixError('the database holds no similarity matrix (no datasets_genesimilarity table): run genesim create first');
  const gene = await findGene(db, typed);
  const held = await metricsOf(db, gene.id);
  if (held.length === 0) throw new NoMatrixError(`the similarity table holds no scores for ${gene.systematicName}: run genesim create (or update) first`);
  const metric = o.metric ?? (held.includes('cosine') ? 'cosine' : held[0]!);
  if (!held.includes(metric)) throw new NoMatrixError(`the similarity table holds no ${metric} scores (it holds ${held.join(', ')})`);
  const { rows } = await db.query<{ systematic_name: string; common_name: string | null; score: number }>(RANKED, [gene.id, metric, o.top]);
  return {
    gene: { systematicName: gene.systematicName, commonName: gene.commonName },
    metric,
    top: o.top,
    similar: rows.map((r, i) => ({ rank: i + 1, systematicName: r.systematic_name, commonName: r.common_name, score: r.score })),
  };
}

/** The answer as an aligned table for the terminal. */
export function similarTable(a: SimilarAnswer): string {
  const head = `${a.similar.length} genes most similar to ${a.gene.systematicName}${a.gene.commonName ? ` (${a.gene.commonName})` : ''} by ${a.metric}`;
  const cells = [['rank', 'gene', 'common name', 'score'], ...a.similar.map((s) => [String(s.rank), s.systematicName, s.commonName ?? '', s.score.toFixed(3)])];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...cells.map((row) => row[c]!.length)));
  const right = new Set([0, 3]);
  return [head, ...cells.map((row) => row.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd())].join('\n');
}

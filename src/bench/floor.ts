import { chmodSync, createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { TextSimEncoder } from '../encode/sims.js';
import { encodedChunks } from '../encode/stream.js';
import { migrate } from '../db/migrate.js';
import { generateMatrix } from '../input/generate.js';
import { sortBySystematicName } from '../input/matrix.js';
import { type Measurement, Stopwatch, Timer } from '../report/timer.js';
import { prepare } from '../similarity/kernel.js';
import { scoredRows } from '../similarity/rows.js';
import { copyChunks } from '../strategies/sinks.js';
import { tempPath } from '../tempFiles.js';

/**
 * The floor: PostgreSQL's own load path for the same rows genesim writes. A prepared TSV is
 * loaded by server-side `COPY ... FROM 'file'` into a bare table, then Django's constraints are
 * built one after another with the server's defaults. What a strategy takes against it is what
 * carries over to other machines.
 */
export const FLOOR_TABLE = 'floor_genesimilarity';

/** How the floor's file reached the server. */
export type FloorMode = 'server-file' | 'client-stdin';

export interface FloorMatrix {
  genes: number;
  datasets: number;
  seed: number;
}

/**
 * Every row a create of this synthetic matrix writes, as text COPY reads it (ids 1..N in
 * systematic-name order, so gene ids must be 1..N), in a temp file the server's user can read.
 */
export async function writeFloorFile(m: FloorMatrix, dir?: string): Promise<string> {
  const matrix = sortBySystematicName(generateMatrix({ genes: m.genes, datasets: m.datasets, seed: m.seed, missing: 0 }));
  const n = matrix.genes.length;
  const geneIds = Int32Array.from({ length: n }, (_, i) => i + 1);
  const enc = new TextSimEncoder({ geneIds, metric: 'cosine', withIds: true });
  const file = tempPath(dir, 'floor', 'tsv');
  const p = prepare(matrix.values, n, matrix.datasets.length, 'cosine');
  enc.diagonal(0, n);
  await pipeline(Readable.from(encodedChunks(scoredRows(p, 0, n, new Stopwatch(), { degeneratePairs: 0 }), enc)), createWriteStream(file));
  // Server-side COPY reads the file as the server's own user.
  chmodSync(file, 0o644);
  return file;
}

/** An empty database made ready for the floor: genesim's schema and genes with ids 1..N, which the floor's foreign keys point at. */
export async function prepareFloorDatabase(config: pg.ClientConfig, genes: number): Promise<void> {
  const c = new pg.Client(config);
  await c.connect();
  try {
    await migrate(c);
    await c.query(`INSERT INTO datasets_gene (id, systematic_name) SELECT g, 'FLOOR' || g FROM generate_series(1, $1::int) AS g`, [genes]);
  } finally {
    await c.end();
  }
}

/** Server-side COPY of `file`; if the server cannot read it (another machine, no privilege), the same bytes through COPY FROM STDIN. */
async function copyFile(c: pg.ClientBase, file: string): Promise<FloorMode> {
  try {
    await c.query(`COPY ${FLOOR_TABLE} FROM '${file.replace(/'/g, "''")}'`);
    return 'server-file';
  } catch (err) {
    const code = (err as { code?: string }).code;
    // 58P01: no such file on the server's machine; 42501: not superuser nor pg_read_server_files.
    if (code !== '58P01' && code !== '42501') throw err;
    await c.query(`TRUNCATE ${FLOOR_TABLE}`);
    await copyChunks(c, FLOOR_TABLE, ['id', 'gene1_id', 'gene2_id', 'metric', 'score'], createReadStream(file, { highWaterMark: 1 << 20 }));
    return 'client-stdin';
  }
}

/** Loads `file` (`rows` rows) into a bare table, builds the constraints one by one, ANALYZE; drops the table. */
export async function measureFloor(config: pg.ClientConfig, file: string, rows: number): Promise<{ measurements: Measurement[]; mode: FloorMode }> {
  const c = new pg.Client(config);
  await c.connect();
  const timer = new Timer('floor');
  let mode: FloorMode = 'server-file';
  try {
    await c.query(`DROP TABLE IF EXISTS ${FLOOR_TABLE}`);
    await c.query(`CREATE TABLE ${FLOOR_TABLE} (id integer NOT NULL, gene1_id integer NOT NULL, gene2_id integer NOT NULL,
      metric varchar(50) NOT NULL, score numeric(10, 3) NOT NULL) WITH (autovacuum_enabled = false)`);
    mode = await timer.phase('copy', rows, () => copyFile(c, file));
    const steps: [string, string][] = [
      ['primary_key', `ALTER TABLE ${FLOOR_TABLE} ADD PRIMARY KEY (id)`],
      ['unique', `ALTER TABLE ${FLOOR_TABLE} ADD UNIQUE (gene1_id, gene2_id, metric)`],
      ['index_gene1', `CREATE INDEX ON ${FLOOR_TABLE} (gene1_id)`],
      ['index_gene2', `CREATE INDEX ON ${FLOOR_TABLE} (gene2_id)`],
      ['fk_gene1', `ALTER TABLE ${FLOOR_TABLE} ADD FOREIGN KEY (gene1_id) REFERENCES datasets_gene (id) DEFERRABLE INITIALLY DEFERRED`],
      ['fk_gene2', `ALTER TABLE ${FLOOR_TABLE} ADD FOREIGN KEY (gene2_id) REFERENCES datasets_gene (id) DEFERRABLE INITIALLY DEFERRED`],
    ];
    const t0 = performance.now();
    for (const [name, sql] of steps) await timer.phase(name, rows, () => c.query(sql));
    timer.record('constraints', (performance.now() - t0) / 1000, steps.length);
    // Autovacuum is off on this table (it would wake mid-benchmark); ANALYZE it as genesim does.
    await timer.phase('analyze', rows, () => c.query(`ANALYZE ${FLOOR_TABLE}`));
    timer.total(rows);
    return { measurements: timer.measurements, mode };
  } finally {
    await c.query(`DROP TABLE IF EXISTS ${FLOOR_TABLE}`).catch(() => undefined);
    await c.end();
  }
}

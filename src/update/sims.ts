import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type pg from 'pg';
import { milliText } from '../encode/sims.js';
import { copyChunks, SIM_TABLE } from '../strategies/sinks.js';
import { removeTemp, tempPath } from '../tempFiles.js';

/** Similarity rows to write: both orderings of one upper-triangle row's pairs (or diagonal rows). */
export interface UpdateBatch {
  gene1: number[];
  gene2: number[];
  milli: number[];
  /** true where the pair has no row yet (a gene is new): INSERT rather than UPDATE. */
  isNew: boolean[];
}

export function emptyBatch(): UpdateBatch {
  return { gene1: [], gene2: [], milli: [], isNew: [] };
}

export interface SinkOptions {
  metric: string;
  /** UPDATE only where the stored score differs (--changed-only). */
  onlyChanged: boolean;
  tmpDir?: string;
}

/** How an update strategy writes similarity rows; each returns how many rows it changed. */
export interface UpdateSink {
  /** Once before the first batch, inside the run's transaction. */
  begin?(client: pg.ClientBase): Promise<void>;
  write(client: pg.ClientBase, batch: UpdateBatch): Promise<number>;
  /** Once after the last batch: strategies that collect rows apply them here. */
  finish?(client: pg.ClientBase): Promise<number>;
  /** Always, success or not: removes what the sink made outside the database. */
  dispose?(): Promise<void>;
  /** Rows written so far, counted per statement: what an autocommit sink (baseline) has committed mid-batch. */
  committed?: number;
}

const changedOnly = (o: SinkOptions, stored: string, fresh: string) => (o.onlyChanged ? ` AND ${stored} <> ${fresh}` : '');

/** Django's save() per object: one UPDATE or INSERT per row, one round trip each. */
export function perRowSink(o: SinkOptions): UpdateSink {
  const update = `UPDATE ${SIM_TABLE} SET score = $1 WHERE gene1_id = $2 AND gene2_id = $3 AND metric = $4${changedOnly(o, 'score', '$1')}`;
  const insert = `INSERT INTO ${SIM_TABLE} (gene1_id, gene2_id, metric, score) VALUES ($2, $3, $4, $1) RETURNING id`;
  const sink: UpdateSink = {
    committed: 0,
    async write(client, b) {
      let written = 0;
      for (let r = 0; r < b.gene1.length; r++) {
        const result = await client.query(b.isNew[r] ? insert : update, [milliText(b.milli[r]!), b.gene1[r], b.gene2[r], o.metric]);
        written += result.rowCount ?? 0;
        sink.committed! += result.rowCount ?? 0;
      }
      return written;
    },
  };
  return sink;
}

function split(b: UpdateBatch, isNew: boolean): [number[], number[], string[]] {
  const g1: number[] = [];
  const g2: number[] = [];
  const s: string[] = [];
  for (let r = 0; r < b.gene1.length; r++) {
    if (b.isNew[r] !== isNew) continue;
    g1.push(b.gene1[r]!);
    g2.push(b.gene2[r]!);
    s.push(milliText(b.milli[r]!));
  }
  return [g1, g2, s];
}

/** Django's bulk_update per gene1 row: one UPDATE from arrays (and one INSERT for new pairs). */
export function arraySink(o: SinkOptions): UpdateSink {
  return {
    async write(client, b) {
      const [g1, g2, s] = split(b, false);
      const [n1, n2, ns] = split(b, true);
      let written = 0;
      if (g1.length > 0) {
        const r = await client.query(
          `UPDATE ${SIM_TABLE} t SET score = v.score FROM unnest($1::int[], $2::int[], $3::numeric[]) AS v(gene1_id, gene2_id, score)
           WHERE t.gene1_id = v.gene1_id AND t.gene2_id = v.gene2_id AND t.metric = $4${changedOnly(o, 't.score', 'v.score')}`,
          [g1, g2, s, o.metric],
        );
        written += r.rowCount ?? 0;
      }
      if (n1.length > 0) {
        const r = await client.query(
          `INSERT INTO ${SIM_TABLE} (gene1_id, gene2_id, metric, score) SELECT v.gene1_id, v.gene2_id, $4, v.score
           FROM unnest($1::int[], $2::int[], $3::numeric[]) AS v(gene1_id, gene2_id, score)`,
          [n1, n2, ns, o.metric],
        );
        written += r.rowCount ?? 0;
      }
      return written;
    },
  };
}

const STAGE = 'genesim_sims_stage';
const STAGE_COLUMNS = ['gene1_id', 'gene2_id', 'score', 'is_new'];

function stageText(b: UpdateBatch): Buffer {
  let text = '';
  for (let r = 0; r < b.gene1.length; r++) text += `${b.gene1[r]}\t${b.gene2[r]}\t${milliText(b.milli[r]!)}\t${b.isNew[r] ? 't' : 'f'}\n`;
  return Buffer.from(text, 'latin1');
}

async function createStage(client: pg.ClientBase): Promise<void> {
  await client.query(`CREATE TEMP TABLE ${STAGE} (gene1_id integer, gene2_id integer, score numeric(10, 3), is_new boolean) ON COMMIT DROP`);
}

/** UPDATE ... FROM the staged rows, then INSERT the new pairs; returns rows written. */
async function applyStage(client: pg.ClientBase, o: SinkOptions): Promise<number> {
  const updated = await client.query(
    `UPDATE ${SIM_TABLE} t SET score = s.score FROM ${STAGE} s
     WHERE NOT s.is_new AND t.gene1_id = s.gene1_id AND t.gene2_id = s.gene2_id AND t.metric = $1${changedOnly(o, 't.score', 's.score')}`,
    [o.metric],
  );
  const inserted = await client.query(
    `INSERT INTO ${SIM_TABLE} (gene1_id, gene2_id, metric, score) SELECT gene1_id, gene2_id, $1, score FROM ${STAGE} WHERE is_new`,
    [o.metric],
  );
  return (updated.rowCount ?? 0) + (inserted.rowCount ?? 0);
}

/** Per gene1 row: COPY its scores into a staging table, then UPDATE ... FROM it. */
export function stagedRowSink(o: SinkOptions): UpdateSink {
  return {
    begin: createStage,
    async write(client, b) {
      await copyChunks(client, STAGE, STAGE_COLUMNS, [stageText(b)]);
      const written = await applyStage(client, o);
      await client.query(`TRUNCATE ${STAGE}`);
      return written;
    },
  };
}

/** All new scores to a file, one COPY into staging, then one UPDATE ... FROM and one INSERT. */
export function fileSink(o: SinkOptions): UpdateSink {
  const file = tempPath(o.tmpDir, 'update', 'tsv');
  const out = createWriteStream(file);
  // A write that fails (a full disk, a directory gone) must reach the run, not crash the process:
  // kept here and thrown at the next write, since a failed stream never drains.
  let failure: Error | undefined;
  out.on('error', (err) => (failure = err));
  return {
    begin: createStage,
    async write(_client: pg.ClientBase, b: UpdateBatch) {
      if (failure) throw failure;
      if (!out.write(stageText(b))) await once(out, 'drain');
      return 0;
    },
    async finish(client: pg.ClientBase) {
      if (failure) throw failure;
      out.end();
      await once(out, 'finish');
      await copyChunks(client, STAGE, STAGE_COLUMNS, createReadStream(file, { highWaterMark: 1 << 20 }));
      return applyStage(client, o);
    },
    async dispose() {
      out.destroy();
      await removeTemp(file);
    },
  };
}

/**
 * COPY every score into staging as it is computed, then one INSERT ... ON CONFLICT DO UPDATE.
 * Measured against MERGE (PostgreSQL 15) in bench/, where the faster is kept.
 */
export function upsertSink(o: SinkOptions): UpdateSink {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (client: pg.ClientBase) => {
    if (pending.length > 0) await copyChunks(client, STAGE, STAGE_COLUMNS, pending);
    pending = [];
    pendingBytes = 0;
  };
  return {
    begin: createStage,
    async write(client, b) {
      pending.push(stageText(b));
      pendingBytes += pending[pending.length - 1]!.length;
      // One COPY per few MB rather than per row: staging stays a bulk load.
      if (pendingBytes > 4 << 20) await flush(client);
      return 0;
    },
    async finish(client) {
      await flush(client);
      const r = await client.query(
        `INSERT INTO ${SIM_TABLE} AS t (gene1_id, gene2_id, metric, score) SELECT gene1_id, gene2_id, $1, score FROM ${STAGE}
         ON CONFLICT (gene1_id, gene2_id, metric) DO UPDATE SET score = EXCLUDED.score${o.onlyChanged ? ' WHERE t.score <> EXCLUDED.score' : ''}`,
        [o.metric],
      );
      return r.rowCount ?? 0;
    },
  };
}


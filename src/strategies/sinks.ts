import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyTextRows } from '../encode/copyText.js';
import { type CopyFormat, milliText, TextSimEncoder } from '../encode/sims.js';

/** PostgreSQL's limit on bind parameters in one statement. */
export const MAX_BIND_PARAMETERS = 65_535;

export const SIM_TABLE = 'datasets_genesimilarity';
export const SIM_COLUMNS = ['gene1_id', 'gene2_id', 'metric', 'score'];

/** A batch of gene similarities: the diagonal rows from..to-1, or both orderings of row i. */
export type SimBatch = { kind: 'diagonal'; from: number; to: number } | { kind: 'row'; i: number; scores: Int16Array };

export interface SimContext {
  geneIds: Int32Array;
  metric: string;
}

/** How a classic strategy puts rows into a table: the one place the four differ. */
export interface RowSink {
  /** Rows may be produced lazily; each sink takes them a statement's worth at a time. */
  rows(client: pg.ClientBase, table: string, columns: string[], rows: Iterable<unknown[]>): Promise<void>;
  /** Gene similarities; by default as plain rows through `rows`. */
  sims(client: pg.ClientBase, batch: SimBatch, sc: SimContext): Promise<void>;
}

/** Rows per COPY text chunk of the small tables: a few hundred KB. */
const COPY_ROWS_PER_CHUNK = 10_000;

export function* batches<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = [];
  for (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** The batch as plain (gene1_id, gene2_id, metric, score) rows, score as numeric text. */
export function simRows(batch: SimBatch, sc: SimContext): unknown[][] {
  const ids = sc.geneIds;
  const out: unknown[][] = [];
  if (batch.kind === 'diagonal') {
    for (let i = batch.from; i < batch.to; i++) out.push([ids[i], ids[i], sc.metric, '1.000']);
    return out;
  }
  const { i, scores } = batch;
  for (let j = i + 1; j < ids.length; j++) {
    const score = milliText(scores[j - i - 1]!);
    out.push([ids[i], ids[j], sc.metric, score], [ids[j], ids[i], sc.metric, score]);
  }
  return out;
}

function insertSql(table: string, columns: string[], rowCount: number): string {
  const tuples: string[] = [];
  for (let r = 0; r < rowCount; r++) {
    tuples.push(`(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
  }
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')} RETURNING id`;
}

/** Django's objects.create(): one INSERT ... RETURNING id and one round trip per row. */
export const singleRowSink: RowSink = {
  async rows(client, table, columns, rows) {
    const sql = insertSql(table, columns, 1);
    for (const row of rows) await client.query(sql, row);
  },
  async sims(client, batch, sc) {
    await this.rows(client, SIM_TABLE, SIM_COLUMNS, simRows(batch, sc));
  },
};

/** Django's bulk_create(): multi-row INSERTs, as many rows each as the bind-parameter limit allows. */
export const multiRowSink: RowSink = {
  async rows(client, table, columns, rows) {
    for (const slice of batches(rows, Math.floor(MAX_BIND_PARAMETERS / columns.length))) {
      await client.query(insertSql(table, columns, slice.length), slice.flat());
    }
  },
  async sims(client, batch, sc) {
    await this.rows(client, SIM_TABLE, SIM_COLUMNS, simRows(batch, sc));
  },
};

/** A COPY's format, and whether it writes its rows frozen (the table must be new in the transaction: src/db/frozenLoad.ts). */
export type CopyHow = CopyFormat | { format: CopyFormat; freeze: boolean };

/** A COPY ... FROM STDIN on `client`, as a writable stream. */
export function copyStream(client: pg.ClientBase, table: string, columns: string[], how: CopyHow = 'text') {
  const { format, freeze } = typeof how === 'string' ? { format: how, freeze: false } : how;
  const options = [...(format === 'binary' ? ['FORMAT binary'] : []), ...(freeze ? ['FREEZE'] : [])];
  const withOptions = options.length > 0 ? ` WITH (${options.join(', ')})` : '';
  return client.query(failingCleanly(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN${withOptions}`)));
}

type CopyFromStream = ReturnType<typeof copyFrom>;
interface CopyInternals {
  handleError(e: Error): void;
  _destroy(err: Error | null, done: (err?: Error | null) => void): void;
}

/**
 * Once the server has failed the COPY (an error, the backend terminated), the stream is
 * destroyed without touching its connection. pg-copy-streams drops the connection from the
 * stream there but leaves writes buffered: a later 'drain' of the socket flushes them into the
 * missing connection, a TypeError outside any caller (brianc/node-pg-copy-streams#171, open).
 */
function failingCleanly(stream: CopyFromStream): CopyFromStream {
  const internals = stream as unknown as CopyInternals;
  const handleError = internals.handleError.bind(stream);
  internals.handleError = (e: Error) => {
    internals._destroy = (err, done) => done(err);
    handleError(e);
    if (!stream.destroyed) stream.destroy();
  };
  return stream;
}

/** Streams chunks (or a file's read stream) into one COPY, with backpressure. */
export async function copyChunks(
  client: pg.ClientBase,
  table: string,
  columns: string[],
  chunks: Iterable<Buffer> | AsyncIterable<Buffer> | Readable,
  how: CopyHow = 'text',
  signal?: AbortSignal,
): Promise<void> {
  // On abort the pipeline destroys the COPY stream, which makes the server fail the COPY.
  await pipeline(chunks instanceof Readable ? chunks : Readable.from(chunks), copyStream(client, table, columns, how), { signal });
}

/** COPY FROM STDIN fed from memory: one COPY per call. */
export const copySink: RowSink = {
  async rows(client, table, columns, rows) {
    await copyChunks(client, table, columns, (function* () {
      for (const slice of batches(rows, COPY_ROWS_PER_CHUNK)) yield copyTextRows(slice);
    })());
  },
  async sims(client, batch, sc) {
    const enc = new TextSimEncoder({ geneIds: sc.geneIds, metric: sc.metric, withIds: false });
    if (batch.kind === 'diagonal') enc.diagonal(batch.from, batch.to);
    else enc.row(batch.i, batch.scores);
    enc.end();
    await copyChunks(client, SIM_TABLE, SIM_COLUMNS, enc.take());
  },
};

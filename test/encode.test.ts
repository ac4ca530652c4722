import assert from 'node:assert/strict';
import { copyTextRows } from '../src/encode/copyText.js';
import { BinarySimEncoder, milliText, TextSimEncoder } from '../src/encode/sims.js';
import { copyChunks } from '../src/strategies/sinks.js';
import { createTestDatabase, openTestDatabase, sql, type TestDatabase } from './helpers.js';

function textOf(enc: TextSimEncoder): string {
  return Buffer.concat(enc.take()).toString('latin1');
}

describe('similarity encoders', () => {
  it('milliText prints what numeric(10,3) prints', () => {
    assert.deepEqual([1000, 0, -1, 5, -123, 999, -1000].map(milliText), ['1.000', '0.000', '-0.001', '0.005', '-0.123', '0.999', '-1.000']);
  });

  it('text: diagonal, then both orderings of each row, with ids by the pair rule', () => {
    const enc = new TextSimEncoder({ geneIds: Int32Array.from([11, 12, 130]), metric: 'cosine', withIds: true });
    enc.diagonal(0, 3);
    enc.row(0, Int16Array.from([250, -7]));
    enc.row(1, Int16Array.from([1000]));
    enc.end();
    assert.equal(
      textOf(enc),
      [
        '1\t11\t11\tcosine\t1.000',
        '2\t12\t12\tcosine\t1.000',
        '3\t130\t130\tcosine\t1.000',
        '4\t11\t12\tcosine\t0.250',
        '5\t12\t11\tcosine\t0.250',
        '6\t11\t130\tcosine\t-0.007',
        '7\t130\t11\tcosine\t-0.007',
        '8\t12\t130\tcosine\t1.000',
        '9\t130\t12\tcosine\t1.000',
        '',
      ].join('\n'),
    );
    assert.equal(enc.rows, 9);
  });

  it('cuts large outputs into chunks without splitting or losing rows', () => {
    const n = 3000;
    const enc = new TextSimEncoder({ geneIds: Int32Array.from({ length: n }, (_, i) => i + 1), metric: 'pearson', withIds: false });
    const scores = new Int16Array(n);
    for (let i = 0; i < 40; i++) enc.row(i, scores.fill(i));
    enc.end();
    const chunks = enc.take();
    assert.ok(chunks.length > 1, 'more than one chunk');
    const lines = Buffer.concat(chunks).toString('latin1').trimEnd().split('\n');
    assert.equal(lines.length, enc.rows);
    assert.equal(lines[lines.length - 1], `${n}\t40\tpearson\t0.039`);
  });

  it('escapes COPY text values and writes NULL as \\N', () => {
    assert.equal(copyTextRows([['a\tb', null, 'c\\d\ne', 1.5]]).toString(), 'a\\tb\t\\N\tc\\\\d\\ne\t1.5\n');
  });
});

describe('COPY encoders against PostgreSQL', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
    await sql(t, 'CREATE TABLE sims (id integer, gene1_id integer, gene2_id integer, metric varchar(50), score numeric(10,3))');
    // As Django's BigAutoField makes them: bigint ids and bigint keys into genes.
    await sql(t, 'CREATE TABLE sims8 (id bigint, gene1_id bigint, gene2_id bigint, metric varchar(50), score numeric(10,3))');
  });

  it('binary COPY writes int8 for bigint id columns: the same table as text, and int4 is refused there', async () => {
    const n = 40;
    const geneIds = Int32Array.from({ length: n }, (_, i) => 2_000_000_000 + i);
    const scores = Int16Array.from({ length: n - 1 }, (_, k) => 25 * k - 500);
    const db = await openTestDatabase(t, 1);
    const client = await db.pool.connect();
    const load = async (Encoder: typeof TextSimEncoder | typeof BinarySimEncoder, wide?: { id: boolean; gene: boolean }) => {
      await client.query('TRUNCATE sims8');
      const enc = new Encoder({ geneIds, metric: 'pearson', withIds: true, wide });
      enc.begin();
      enc.diagonal(0, n);
      for (let i = 0; i < n - 1; i++) enc.row(i, scores);
      enc.end();
      await copyChunks(client, 'sims8', ['id', 'gene1_id', 'gene2_id', 'metric', 'score'], enc.take(), Encoder === BinarySimEncoder ? 'binary' : 'text');
      const { rows } = await client.query(`SELECT count(*)::int AS n, max(gene1_id)::text AS g,
        md5(string_agg(concat_ws(',', id, gene1_id, gene2_id, metric, score), ';' ORDER BY id)) AS sum FROM sims8`);
      return rows[0];
    };
    try {
      const text = await load(TextSimEncoder);
      assert.equal(text.n, n * n);
      assert.equal(text.g, String(2_000_000_000 + n - 1));
      assert.deepEqual(await load(BinarySimEncoder, { id: true, gene: true }), text);
      await assert.rejects(load(BinarySimEncoder), /incorrect binary data format/);
    } finally {
      client.release();
      await db.close();
    }
  });
  after(() => t.drop());

  it('binary numeric and text give the same table, for every score from -1 to 1', async () => {
    const n = 2002;
    const geneIds = Int32Array.from({ length: n }, (_, i) => 7 * i + 1);
    // Row 0 pairs gene 0 with every other gene: scores -1000..1000 all appear.
    const scores = Int16Array.from({ length: n - 1 }, (_, k) => k - 1000);
    const db = await openTestDatabase(t, 1);
    try {
      const client = await db.pool.connect();
      try {
        const sums: string[] = [];
        for (const Encoder of [TextSimEncoder, BinarySimEncoder]) {
          await client.query('TRUNCATE sims');
          const enc = new Encoder({ geneIds, metric: 'cosine', withIds: true });
          enc.begin();
          enc.diagonal(0, 3);
          enc.row(0, scores);
          enc.end();
          await copyChunks(client, 'sims', ['id', 'gene1_id', 'gene2_id', 'metric', 'score'], enc.take(), Encoder === BinarySimEncoder ? 'binary' : 'text');
          const { rows } = await client.query(
            `SELECT count(*)::int AS n, min(score)::text AS lo, max(score)::text AS hi,
                    md5(string_agg(concat_ws(',', id, gene1_id, gene2_id, metric, score), ';' ORDER BY id)) AS sum FROM sims`,
          );
          assert.equal(rows[0].n, 3 + 2 * (n - 1));
          assert.equal(rows[0].lo, '-1.000');
          assert.equal(rows[0].hi, '1.000');
          sums.push(rows[0].sum);
        }
        assert.equal(sums[0], sums[1]);
      } finally {
        client.release();
      }
    } finally {
      await db.close();
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, loadTables, runCli, simChecksum, sql, startCli, type TestDatabase, writeDuringRun } from './helpers.js';

/**
 * `update --from-db` reads datasets_data, computes for a while, then writes. An edit the
 * application commits in between must not be undone by the write: the run refuses instead.
 */
describe('update --from-db while the application edits datasets_data', () => {
  let t: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'genesim-fromdb-'));
  before(async () => {
    t = await createTestDatabase();
    const r = runCli(['create', '--strategy', 'parallel', '--genes', '300', '--datasets', '12', '--threads', '2', '--results', path.join(dir, 'c.csv')], t.env);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await t.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const strategy of ['parallel', 'upsert']) {
    it(`${strategy}: an edit committed between the read and the write fails the run with exit 3; nothing written, the edit kept`, async () => {
      const before = await simChecksum(t);
      const [row] = await sql<{ id: number; value: number }>(t, 'SELECT id, value FROM datasets_data ORDER BY id LIMIT 1');
      // The run reads the old value; its writing transaction has to wait for the edit's COMMIT.
      const update = ['update', '--strategy', strategy, '--from-db', '--threads', '2', '--results', path.join(dir, 'u.csv')];
      const run = await writeDuringRun(t, 'UPDATE datasets_data SET value = value + 1 WHERE id = $1', [row!.id], () => startCli(update, t.env), 'LOCK TABLE datasets_gene, datasets_dataset, datasets_data');
      assert.match(run.stderr(), new RegExp(`${strategy} update: 300 genes`), 'the run had read before it waited');
      const done = await run.exited;
      assert.equal(done.code, 3, done.stderr);
      assert.match(done.stderr, /\ngenesim: datasets_data changed while the update ran \(datasets_data: values edited\); nothing was written; run it again\n$/);
      assert.deepEqual(await simChecksum(t), before, 'the similarity table is untouched');
      assert.deepEqual(await sql(t, 'SELECT value FROM datasets_data WHERE id = $1', [row!.id]), [{ value: row!.value + 1 }], 'the application\'s edit is kept');
      assert.deepEqual(await loadTables(t), [], 'the run dropped its load tables');

      // Run again, as the message says: the edit is taken in.
      const again = runCli(['update', '--strategy', strategy, '--from-db', '--threads', '2', '--results', path.join(dir, 'u.csv')], t.env);
      assert.equal(again.status, 0, again.stderr);
      assert.notEqual((await simChecksum(t)).md5, before.md5);
    });
  }

  it('a gene the application adds in between is noticed too', async () => {
    const update = ['update', '--strategy', 'parallel', '--from-db', '--threads', '2', '--results', path.join(dir, 'u.csv')];
    const run = await writeDuringRun(t, `INSERT INTO datasets_gene (systematic_name) VALUES ('YAPP001W')`, [], () => startCli(update, t.env), 'LOCK TABLE datasets_gene');
    const done = await run.exited;
    assert.equal(done.code, 3, done.stderr);
    assert.match(done.stderr, /datasets_gene changed while the update ran \(datasets_gene: 300 rows, now 301\); nothing was written; run it again/);
  });
});

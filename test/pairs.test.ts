import assert from 'node:assert/strict';
import { serialize } from 'node:v8';
import { blockBounds, emitTaskFor } from '../src/similarity/block.js';
import { diagonalId, pairCount, pairId, pairsBefore, totalRows } from '../src/similarity/pairs.js';
import { blockSizeFor, planBlocks, planLoadBlocks } from '../src/similarity/planner.js';

describe('pair rule', () => {
  it('numbers rows as the original benchmarks insert them: diagonal first, then (i, j), (j, i) for i < j', () => {
    const n = 7;
    const expected: string[] = [];
    for (let i = 0; i < n; i++) expected.push(`${i},${i}`);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) expected.push(`${i},${j}`, `${j},${i}`);
    }
    assert.equal(expected.length, totalRows(n));
    const byId: string[] = [];
    for (let i = 0; i < n; i++) byId[diagonalId(i) - 1] = `${i},${i}`;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        byId[pairId(n, i, j) - 1] = `${i},${j}`;
        byId[pairId(n, i, j)] = `${j},${i}`;
      }
    }
    assert.deepEqual(byId, expected);
    assert.equal(pairsBefore(n, n), pairCount(n));
  });
});

describe('row-block planner', () => {
  for (const [n, size] of [[1, 10], [2, 1], [500, 5000], [6500, blockSizeFor(6500, 2)]] as const) {
    it(`covers every row once and balances pairs (n=${n}, ${size} pairs a block)`, () => {
      const blocks = planBlocks(n, size);
      assert.equal(blocks[0]!.start, 0);
      assert.equal(blocks[blocks.length - 1]!.end, n);
      blocks.forEach((b, k) => {
        assert.equal(b.index, k);
        if (k > 0) assert.equal(b.start, blocks[k - 1]!.end);
        assert.equal(b.pairs, pairsBefore(n, b.end) - pairsBefore(n, b.start));
      });
      assert.equal(blocks.reduce((s, b) => s + b.pairs, 0), pairCount(n));
      // No block more than one row's worth over the target: equal work, not equal row counts.
      for (const b of blocks) assert.ok(b.pairs <= Math.max(size, n - b.start - 1), `block ${b.index} has ${b.pairs} pairs`);
      if (n === 6500) {
        const rows = blocks.map((b) => b.end - b.start);
        assert.ok(rows[rows.length - 2]! > 3 * rows[0]!, 'late blocks take more (shorter) rows');
      }
    });
  }

  for (const n of [3, 500, 6500, 20000]) {
    it(`the engine's blocks (n=${n}): every row once, and no block holding more than 2 × its pairs' worth of whole rows`, () => {
      const size = blockSizeFor(n, 2);
      const blocks = planLoadBlocks(n, 2);
      assert.equal(blocks[0]!.start, 0);
      assert.equal(blocks[blocks.length - 1]!.end, n);
      blocks.forEach((b, k) => k > 0 && assert.equal(b.start, blocks[k - 1]!.end));
      assert.equal(blocks.reduce((s, b) => s + b.pairs, 0), pairCount(n));
      // The second pass holds and encodes (rows × n) scores of a block: bounded by the block size, not by n.
      for (const b of blocks.slice(0, -1)) assert.ok((b.end - b.start) * n <= Math.max(2 * size, n), `block ${b.index}: ${b.end - b.start} rows`);
    });
  }
});

describe('clustered emit tasks', () => {
  it('a task for the last of 633 blocks (20,000 genes) clones to about the same size as one for the second block', () => {
    const n = 20000;
    const blocks = planLoadBlocks(n, 2);
    const bounds = blockBounds(blocks, n);
    const base = { geneIds: new SharedArrayBuffer(4 * n), metric: 'cosine', format: 'binary' as const };
    const files = { upperFile: '/tmp/genesim-upper-0123abcd.i16', lowerFile: '/tmp/genesim-lower-0123abcd.i16' };
    // The shared id buffer is passed by reference, never copied: measure the rest.
    const size = (k: number) => serialize({ ...emitTaskFor(base, n, bounds, k, files), geneIds: null }).length;
    // What travels grows by one boundary (4 bytes) a block: a name and an object a block made
    // the 633rd task about 50 KB, built, cloned and read back for every task.
    assert.ok(size(blocks.length - 1) - size(1) <= 4 * blocks.length, `${size(1)} bytes for block 1, ${size(blocks.length - 1)} for block ${blocks.length - 1}`);
    const task = emitTaskFor(base, n, bounds, blocks.length - 1, files);
    assert.deepEqual([task.start, task.end], [blocks.at(-1)!.start, n]);
    assert.deepEqual(Array.from(task.bounds), [...blocks.map((b) => b.start), n]);
  });
});

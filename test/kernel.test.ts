import assert from 'node:assert/strict';
import { Random } from '../src/input/random.js';
import { METRICS, pairScore, prepare, scoreRow, toMilli } from '../src/similarity/kernel.js';
import { referenceScore } from '../src/similarity/reference.js';

function randomMatrix(seed: number, n: number, d: number, missing: number): Float64Array {
  const r = new Random(seed);
  return Float64Array.from({ length: n * d }, () => (r.next() < missing ? Number.NaN : Math.round(r.normal() * 1000) / 100));
}

function row(values: Float64Array, d: number, i: number): number[] {
  return Array.from(values.subarray(i * d, i * d + d));
}

describe('similarity kernel', () => {
  for (const metric of METRICS) {
    for (const missing of [0, 0.1, 0.5]) {
      it(`${metric} matches the mathjs reference on a random matrix with ${missing * 100}% missing`, () => {
        const n = 30;
        const d = 12;
        const values = randomMatrix(7 + missing * 100, n, d, missing);
        const p = prepare(values, n, d, metric);
        const scores = new Int16Array(n);
        let compared = 0;
        let degenerate = 0;
        for (let i = 0; i < n; i++) {
          const reportedDegenerate = scoreRow(p, i, scores);
          let expectedDegenerate = 0;
          for (let j = i + 1; j < n; j++) {
            const ref = referenceScore(row(values, d, i), row(values, d, j), metric);
            if (Number.isNaN(ref)) {
              expectedDegenerate++;
              assert.equal(scores[j - i - 1], 0, `degenerate pair ${i},${j} scores 0`);
              continue;
            }
            // The exact value agrees to floating-point noise; the stored one is that value rounded.
            assert.ok(Math.abs(pairScore(p, i, j) - ref) < 1e-9, `pair ${i},${j}: ${pairScore(p, i, j)} vs ${ref}`);
            assert.ok(Math.abs(scores[j - i - 1]! - ref * 1000) <= 0.5 + 1e-6, `pair ${i},${j}: ${scores[j - i - 1]} vs ${ref}`);
            compared++;
          }
          assert.equal(reportedDegenerate, expectedDegenerate, `degenerate count of row ${i}`);
          degenerate += expectedDegenerate;
        }
        assert.ok(compared > 100, `compared ${compared} pairs`);
        if (missing === 0.5) assert.ok(degenerate > 0, 'half-missing data has pairs with under 2 shared dimensions');
      });
    }
  }

  it('scores 0 and counts pairs with fewer than 2 shared dimensions, a zero vector or (pearson) a constant one', () => {
    const nan = Number.NaN;
    const d = 4;
    const values = Float64Array.from([
      1, 2, nan, nan, // shares only dimension 0 with the next row
      3, nan, 4, 5,
      0, 0, 0, 0, // zero norm
      2, 2, 2, 2, // constant: fine for cosine, zero norm once centred
      1, 2, 3, 4,
    ]);
    const cosine = prepare(values, 5, d, 'cosine');
    const pearson = prepare(values, 5, d, 'pearson');
    const out = new Int16Array(5);
    assert.equal(scoreRow(cosine, 0, out), 2, 'row 0 with cosine: the 1-dimension pair and the zero vector');
    assert.equal(out[0], 0);
    assert.equal(scoreRow(cosine, 2, out), 2, 'the zero vector is degenerate with everything');
    assert.equal(scoreRow(cosine, 3, out), 0);
    assert.equal(out[0], toMilli(20 / (4 * Math.sqrt(30))));
    assert.equal(scoreRow(pearson, 3, out), 1, 'a constant vector has no pearson correlation');
  });

  it('identical and opposite vectors score 1 and -1', () => {
    const values = Float64Array.from([1, 2, 3, 2, 4, 6, -1, -2, -3]);
    for (const metric of METRICS) {
      const out = new Int16Array(3);
      scoreRow(prepare(values, 3, 3, metric), 0, out);
      assert.deepEqual(Array.from(out.subarray(0, 2)), [1000, -1000], metric);
    }
  });

  it('rounds to thousandths without a negative zero', () => {
    assert.equal(toMilli(0.12345), 123);
    assert.equal(toMilli(-0.0004), 0);
    assert.ok(!Object.is(toMilli(-0.0004), -0));
    assert.equal(toMilli(-0.9996), -1000);
    assert.equal(toMilli(1 + 1e-12), 1000);
  });
});

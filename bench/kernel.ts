import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { generateMatrix } from '../src/input/generate.js';
import { type Metric, METRICS, prepare, scoreRow } from '../src/similarity/kernel.js';

/**
 * The kernel alone, one thread: ns per pair over every upper-triangle row, for each metric
 * and missing share. No database, no encoding: what the missing-value path costs per pair.
 * node dist/bench/kernel.js --genes 3000 --datasets 128 --missing 0,0.02,0.2,0.6
 */
const { values: a } = parseArgs({
  options: { genes: { type: 'string', default: '3000' }, datasets: { type: 'string', default: '128' }, missing: { type: 'string', default: '0,0.02,0.2,0.6' } },
});
const n = Number(a.genes);
const d = Number(a.datasets);
const out = new Int16Array(n);
for (const metric of METRICS as readonly Metric[]) {
  for (const missing of a.missing!.split(',').map(Number)) {
    const m = generateMatrix({ genes: n, datasets: d, seed: 1, missing });
    const p = prepare(m.values, n, d, metric);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) scoreRow(p, i, out);
    const ms = performance.now() - t0;
    const pairs = (n * (n - 1)) / 2;
    console.log(`${metric}\tmissing ${missing}\t${n}x${d}\t${((ms * 1e6) / pairs).toFixed(1)} ns/pair\t${(ms / 1000).toFixed(2)} s`);
  }
}

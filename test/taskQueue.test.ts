import assert from 'node:assert/strict';
import { taskQueue } from '../src/strategies/taskQueue.js';

describe('the parallel engine task queue', () => {
  it('one thread: an emit queued once the first block is scored runs before the rest of the scoring backlog', async () => {
    const run = taskQueue(1);
    const started: string[] = [];
    const task = (name: string) => async () => {
      started.push(name);
      // A real task takes a while; the queue starts the next one only when this one ends.
      await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const scoring = Array.from({ length: 6 }, (_, k) => run('triangle', task(`triangle${k}`)));
    // As the engine does: block 0's emit is queued when block 0's scoring ends, after the whole backlog.
    const emit = scoring[0]!.then(() => run('emit', task('emit0')));
    await Promise.all([...scoring, emit]);
    // In arrival order it would run last, after triangle5.
    assert.ok(started.indexOf('emit0') <= 2, started.join(' '));
    assert.deepEqual(started.filter((s) => s.startsWith('triangle')), ['triangle0', 'triangle1', 'triangle2', 'triangle3', 'triangle4', 'triangle5']);
  });
});

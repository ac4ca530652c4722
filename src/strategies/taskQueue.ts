import PQueue from 'p-queue';

/**
 * The parallel engine's queue in front of its worker pool: tasks start only as threads free
 * up, and a task that feeds the COPY (anything but a block's scoring, `triangle`) goes before
 * the scoring backlog. In arrival order the clustered load's one COPY waited for every block
 * to be scored (at 6,500 genes it began 2.2-4.1 s into create_sims; now 0.4 s).
 */
export function taskQueue(concurrency: number): <T>(kind: string, work: () => Promise<T>) => Promise<T> {
  const queue = new PQueue({ concurrency });
  return (kind, work) => queue.add(work, { priority: kind === 'triangle' ? 0 : 1 });
}

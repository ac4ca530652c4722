import { classicStrategy } from './classic.js';
import { copySink, multiRowSink, singleRowSink } from './sinks.js';
import type { Strategy, StrategyName } from './types.js';

const classic: Record<Exclude<StrategyName, 'parallel'>, Strategy> = {
  baseline: classicStrategy('baseline', singleRowSink, { transactional: false, fileFirst: false }),
  bulk: classicStrategy('bulk', multiRowSink, { transactional: true, fileFirst: false }),
  copyfrom: classicStrategy('copyfrom', copySink, { transactional: true, fileFirst: false }),
  copyfromfile: classicStrategy('copyfromfile', copySink, { transactional: true, fileFirst: true }),
};

/** The parallel engine is loaded on demand: it brings the worker pool with it. */
export async function strategyNamed(name: StrategyName): Promise<Strategy> {
  if (name === 'parallel') return (await import('./parallel.js')).parallelStrategy;
  return classic[name];
}

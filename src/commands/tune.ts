import { availableParallelism } from 'node:os';
import { type Database, withClient } from '../db/connect.js';
import { readServerFacts } from '../db/serverFacts.js';
import type { ParallelOptions, ParallelRequest } from '../strategies/types.js';
import { chooseTuning, indexMemoryOf, MAX_AUTO_CONNECTIONS } from '../tuning.js';

/** The pool a run opens before it can ask the server: big enough for any connection count it may choose. */
export function poolSizeFor(request: ParallelRequest): number {
  return (request.connections ?? MAX_AUTO_CONNECTIONS) + 2;
}

/**
 * Decides what the request left open from this machine and the server, and says so when the
 * parallel engine will use it (the classic strategies use one connection and no threads).
 */
export async function tuneParallel(db: Database, request: ParallelRequest, say: (line: string) => void, engineRuns: boolean): Promise<ParallelOptions> {
  // Nothing to size for a run that never starts the engine: no query to the server for it.
  if (!engineRuns) {
    return { ...request, threads: request.threads ?? availableParallelism(), connections: request.connections ?? 1, indexWorkers: 0, indexMemoryMb: indexMemoryOf(request) };
  }
  const facts = await withClient(db.pool, (client) => readServerFacts(client, db.target.host));
  const tuning = chooseTuning(availableParallelism(), facts, request);
  say(tuning.summary);
  return { ...request, threads: tuning.threads, connections: tuning.connections, indexWorkers: tuning.indexWorkers, indexMemoryMb: tuning.indexMemoryMb };
}

import { RefusedError } from './errors.js';

/**
 * How the parallel engine sizes itself from the machine it runs on and the server it writes to.
 * Pure: the facts come from outside (os, db/serverFacts.ts), so every rule is testable for a
 * 2-core laptop and a 64-core VM alike.
 */

/** What the server says about itself, read at the start of a run. */
export interface ServerFacts {
  maxConnections: number;
  superuserReserved: number;
  /** Client backends connected now (the application's among them). */
  inUse: number;
  maxWorkerProcesses: number;
  maxParallelWorkers: number;
  /** The server's own setting: what a build gets when genesim cannot see the server's cores. */
  maxParallelMaintenanceWorkers: number;
  /** The server's cores when it runs on this machine (local socket, 127.0.0.1, the embedded one); else unknown. */
  cores: number | null;
}

export interface TuningRequest {
  /** --threads, or unset. */
  threads?: number;
  /** --connections, or unset. */
  connections?: number;
  /** --index-memory, or unset. */
  indexMemoryMb?: number;
}

export interface Tuning {
  threads: number;
  connections: number;
  /** Parallel maintenance workers each index build may use (SET max_parallel_maintenance_workers). */
  indexWorkers: number;
  /** maintenance_work_mem of each index build, MB. */
  indexMemoryMb: number;
  /** One line for the start of the run: what was chosen, and from what. */
  summary: string;
}

/**
 * More connections than this do not shorten a run: the similarity table has four indexes (its
 * key, the pair's unique constraint, one per gene column), so a fifth build connection idles,
 * and the clustered load is one COPY stream. Past it, big machines gain through parallel
 * workers inside each build.
 */
export const MAX_AUTO_CONNECTIONS = 4;

/**
 * Each index build's sort memory (maintenance_work_mem). More is not faster here: at 42M rows,
 * two builds at once on 2 cores, the four similarity-table builds took 43 s at 256 MB, 47 s at
 * 512 MB, 50 s at 64 MB, 65-76 s at 1 GB and 78 s at 3 GB (one run each but 1 GB's three; the
 * sorts spill to temp files at all but 3 GB, and the smaller runs sort faster than one big
 * array). The C builds at once need C times this from the server.
 */
export const DEFAULT_INDEX_MEMORY_MB = 256;

/** --index-memory, or the default. */
export const indexMemoryOf = (request: TuningRequest): number => request.indexMemoryMb ?? DEFAULT_INDEX_MEMORY_MB;

/** Connections left to the application however busy the server: at least 5, or a tenth of max_connections. */
export function applicationReserve(maxConnections: number): number {
  return Math.max(5, Math.ceil(maxConnections / 10));
}

/** genesim's own connections beside the work: the lock holder and the run's main connection. */
const OWN_CONNECTIONS = 2;

export function chooseTuning(cores: number, server: ServerFacts, request: TuningRequest = {}): Tuning {
  const threads = request.threads ?? cores;
  const free = server.maxConnections - server.superuserReserved - server.inUse - OWN_CONNECTIONS;
  if (free < 1) throw new RefusedError(`the server has no connection to spare (max_connections ${server.maxConnections}, ${server.inUse} in use): nothing was written`);
  const room = Math.max(1, free - applicationReserve(server.maxConnections));
  const connections = request.connections ?? Math.max(1, Math.min(threads, MAX_AUTO_CONNECTIONS, room));
  // Parallel workers come out of max_parallel_workers (and max_worker_processes) for the whole
  // server: the concurrent builds share what is there.
  const pool = Math.min(server.maxParallelWorkers, server.maxWorkerProcesses);
  const share = Math.floor(pool / connections);
  // Known cores: each build's leader already has one; the spare cores go to workers. On two cores
  // and two builds nothing is spare, and workers there measured slower than none.
  const byCores = server.cores === null ? server.maxParallelMaintenanceWorkers : Math.floor((server.cores - connections) / connections);
  const indexWorkers = Math.max(0, Math.min(share, byCores));
  const indexMemoryMb = indexMemoryOf(request);

  const connectionsWhy =
    request.connections !== undefined
      ? '--connections'
      : `${free} free of max_connections ${server.maxConnections}, ${applicationReserve(server.maxConnections)} kept for the application`;
  const workersWhy =
    server.cores === null
      ? `the server's max_parallel_maintenance_workers ${server.maxParallelMaintenanceWorkers}, max_parallel_workers ${server.maxParallelWorkers} shared by ${connections} builds`
      : `${server.cores} server cores, max_parallel_workers ${server.maxParallelWorkers} shared by ${connections} builds`;
  const summary =
    `tuning: ${threads} worker threads (${request.threads !== undefined ? '--threads' : `${cores} cores`}), ` +
    `${connections} connections (${connectionsWhy}), ` +
    `${indexWorkers === 0 ? 'index builds without parallel workers' : `${indexWorkers} parallel workers per index build`} (${workersWhy}), ` +
    `${indexMemoryMb} MB maintenance_work_mem per build (${request.indexMemoryMb !== undefined ? '--index-memory' : 'default'}; ${connections} at once)`;
  return { threads, connections, indexWorkers, indexMemoryMb, summary };
}

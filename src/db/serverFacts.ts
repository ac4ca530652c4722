import { availableParallelism } from 'node:os';
import type pg from 'pg';
import type { ServerFacts } from '../tuning.js';

/**
 * A server reached over a local socket or the loopback address runs on this machine's cores; a
 * Cloud SQL socket (/cloudsql/...) is a proxy to a server elsewhere.
 */
export function isLocalHost(host: string | undefined): boolean {
  if (host === undefined || host === '' || host === 'localhost' || host === '::1' || /^127\./.test(host)) return true;
  return host.startsWith('/') && !host.startsWith('/cloudsql/');
}

/** The settings the engine sizes itself by, and the connections in use now. */
export async function readServerFacts(client: pg.ClientBase, host: string | undefined): Promise<ServerFacts> {
  const { rows } = await client.query<Record<string, number>>(`
    SELECT current_setting('max_connections')::int AS max_connections,
           current_setting('superuser_reserved_connections')::int AS reserved,
           (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS in_use,
           current_setting('max_worker_processes')::int AS max_worker_processes,
           current_setting('max_parallel_workers')::int AS max_parallel_workers,
           current_setting('max_parallel_maintenance_workers')::int AS max_parallel_maintenance_workers`);
  const r = rows[0]!;
  return {
    maxConnections: r.max_connections!,
    superuserReserved: r.reserved!,
    inUse: r.in_use!,
    maxWorkerProcesses: r.max_worker_processes!,
    maxParallelWorkers: r.max_parallel_workers!,
    maxParallelMaintenanceWorkers: r.max_parallel_maintenance_workers!,
    cores: isLocalHost(host) ? availableParallelism() : null,
  };
}

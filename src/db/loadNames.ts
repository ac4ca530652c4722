import { randomBytes } from 'node:crypto';

/**
 * Names of the tables a run builds beside the live ones. Each carries the run's id, so two
 * runs never share a table and a table left by a killed run can be recognised (and its run
 * told apart from the current one) by the next.
 */

/** 8 hex digits, fresh for every run. */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

const PG_NAME_MAX = 63;

function checked(name: string): string {
  // PostgreSQL would silently truncate a longer name, and two runs' names could then collide.
  if (Buffer.byteLength(name) > PG_NAME_MAX) throw new Error(`internal: generated name ${name} is longer than ${PG_NAME_MAX} bytes`);
  return name;
}

/** The table a run fills beside `table`: `<table>__genesim_<run id>`. */
export function loadTableName(table: string, runId: string): string {
  return checked(`${table}__genesim_${runId}`);
}

/** What the live table is renamed to in the swap, until it is dropped after the commit. */
export function retiredTableName(table: string, runId: string): string {
  return checked(`${table}__genesim_${runId}_old`);
}

/** Temporary names of indexes and index-backed constraints (their names are schema-wide, so cannot coexist). */
export function tempIndexName(runId: string, kind: 'new' | 'old', k: number): string {
  return checked(`genesim_${runId}_${kind}${k}`);
}

const LOAD_TABLE_RE = /^(.+)__genesim_([0-9a-f]{8})(_old)?$/;

export interface LoadTableName {
  table: string;
  runId: string;
  /** The previous live table, renamed by a swap that committed; not yet dropped. */
  retired: boolean;
}

/** Parses a name made by loadTableName or retiredTableName; null for any other table. */
export function parseLoadTableName(name: string): LoadTableName | null {
  const m = LOAD_TABLE_RE.exec(name);
  return m ? { table: m[1]!, runId: m[2]!, retired: m[3] !== undefined } : null;
}

export function isGenesimLoadTable(name: string): boolean {
  return parseLoadTableName(name) !== null;
}

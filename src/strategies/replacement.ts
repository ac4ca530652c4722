import type pg from 'pg';
import { indexDefOn, type Replacement, replacementsFor, serialSequencesOf } from '../db/beside.js';
import { escapeIdentifier } from 'pg';
import { citusPlacements } from '../db/citus.js';
import { idColumn, readTableCatalog, type TableCatalog } from '../db/catalog.js';
import { DATASET_TABLES } from '../db/tables.js';
import { RefusedError } from '../errors.js';

/** The columns genesim writes in each table; any other column belongs to the application. */
export const KNOWN_COLUMNS: Record<string, string[]> = {
  datasets_dataset: ['id', 'name'],
  datasets_gene: ['id', 'systematic_name', 'common_name'],
  datasets_data: ['id', 'gene_id', 'dataset_id', 'value'],
  datasets_datasetsimilarity: ['id', 'dataset1_id', 'dataset2_id', 'metric', 'score'],
  datasets_genesimilarity: ['id', 'gene1_id', 'gene2_id', 'metric', 'score'],
};

/** What identifies a row across a rebuild, for carrying the application's own columns over. */
export const NATURAL_KEYS: Record<string, string[]> = {
  datasets_dataset: ['name'],
  datasets_gene: ['systematic_name'],
  datasets_data: ['gene_id', 'dataset_id'],
  datasets_datasetsimilarity: ['dataset1_id', 'dataset2_id', 'metric'],
  datasets_genesimilarity: ['gene1_id', 'gene2_id', 'metric'],
};

const INT4_MAX = 2_147_483_647;

export interface ReplacementPlan {
  runId: string;
  reps: Replacement[];
  /** Per table: the application's columns whose stored values are carried over to remaining rows (update). */
  carried: Map<string, string[]>;
}

export interface ReplacementOptions {
  mode: 'create' | 'update';
  genes: number;
  resetColumns: boolean;
  /** update: ids that will no longer exist, per table. */
  removedIds?: Record<string, number[]>;
}

export function replacementOf(plan: ReplacementPlan, table: string): Replacement {
  return plan.reps.find((r) => r.cat.name === table)!;
}

/** Live table name -> its load table, quoted: where a fill writes. */
export function loadTableNames(plan: ReplacementPlan): Record<string, string> {
  return Object.fromEntries(plan.reps.map((r) => [r.cat.name, r.load]));
}

/**
 * Reads the live tables' catalogs and refuses, before any work and naming the objects,
 * everything a rename-swap could not carry: nothing may fail half-way through the swap.
 */
export async function planReplacement(client: pg.ClientBase, runId: string, o: ReplacementOptions): Promise<ReplacementPlan> {
  const cats: TableCatalog[] = [];
  for (const t of DATASET_TABLES) cats.push(await readTableCatalog(client, t));
  const problems: string[] = cats.flatMap((c) => c.unsupported);
  const oids = new Set(cats.map((c) => c.oid));

  for (const cat of cats) {
    for (const i of cat.indexes) if (indexDefOn(i.def, 'x', 'y') === null) problems.push(`index ${i.name} (definition not understood: ${i.def})`);
    const known = KNOWN_COLUMNS[cat.name]!;
    for (const c of cat.columns) {
      if (!known.includes(c.name) && c.notNull && c.default === null && c.identity === '' && c.generated === null) {
        problems.push(`column ${cat.name}.${c.name} is NOT NULL without a default (genesim cannot fill it)`);
      }
    }
  }

  const owned = async (kind: string, name: string, oid: number) => {
    const { rows } = await client.query<{ ok: boolean }>(
      `SELECT pg_has_role(current_user, relowner, 'MEMBER') AS ok FROM pg_class WHERE oid = $1`,
      [oid],
    );
    if (!rows[0]?.ok) problems.push(`${kind} ${name} belongs to a role this user is not a member of`);
  };
  for (const cat of cats) {
    await owned('table', cat.quoted, cat.oid);
    for (const v of cat.views) await owned('view', v.quoted, v.oid);
    for (const k of cat.incomingForeignKeys) if (!oids.has(k.tableOid)) await owned('table', k.table, k.tableOid);
  }

  // Keys of the application's tables into replaced ones are re-added NOT VALID and validated after
  // the commit: their rows must still find what they reference, or the validation would fail then.
  for (const cat of cats) {
    for (const k of cat.incomingForeignKeys) {
      if (oids.has(k.tableOid)) continue;
      const anyRow = `SELECT 1 FROM ${k.table} WHERE ${k.columns.map((c) => `${c} IS NOT NULL`).join(' AND ')} LIMIT 1`;
      const removed = o.removedIds?.[cat.name];
      const byId = o.mode === 'update' && removed !== undefined && k.columns.length === 1 && / REFERENCES \S+\(id\)/.test(k.def);
      const { rowCount } = byId
        ? await client.query(`SELECT 1 FROM ${k.table} WHERE ${k.columns[0]} = ANY($1) LIMIT 1`, [removed])
        : await client.query(anyRow);
      if (rowCount) {
        problems.push(
          `${k.table} rows reference ${o.mode === 'create' ? '' : 'removed '}${cat.name} rows through foreign key ${k.name} (${o.mode === 'create' ? 'create gives every row a new id' : 'they would be left dangling'})`,
        );
      }
    }
  }
  if (problems.length > 0) throw new RefusedError(`refusing before any work: ${problems.join('; ')}`);

  const sims = cats.find((c) => c.name === 'datasets_genesimilarity')!;
  const id = idColumn(sims);
  if (id.typeName !== 'int8' && o.genes * o.genes > INT4_MAX) {
    throw new RefusedError(
      `${o.genes.toLocaleString('en-US')} genes make ${(o.genes * o.genes).toLocaleString('en-US')} similarity rows, more than ${sims.name}.id (${id.type}) can number (${INT4_MAX.toLocaleString('en-US')}, 46,340 genes); make it bigint`,
    );
  }

  const carried = new Map<string, string[]>();
  if (o.mode === 'update' && !o.resetColumns) {
    for (const cat of cats) {
      const known = KNOWN_COLUMNS[cat.name]!;
      const extra = cat.columns.filter((c) => !known.includes(c.name) && c.generated === null && c.identity === '');
      const holding: string[] = [];
      for (const c of extra) {
        const { rowCount } = await client.query(`SELECT 1 FROM ${cat.quoted} WHERE ${escapeIdentifier(c.name)} IS NOT NULL LIMIT 1`);
        if (rowCount) holding.push(c.name);
      }
      if (holding.length > 0) carried.set(cat.name, holding);
    }
  }
  const reps = replacementsFor(cats, runId);
  const placements = await citusPlacements(client);
  reps.forEach((r, k) => {
    r.citus = placements?.get(r.cat.oid);
    if (r.citus) r.serialSequences = serialSequencesOf(r.cat, runId, k);
  });
  return { runId, reps, carried };
}

/**
 * The application's values in its own columns, copied from the live table to the rows of the
 * load table with the same natural key (only rows that hold one: each copied row is rewritten).
 */
export async function carryColumns(client: pg.ClientBase, plan: ReplacementPlan, table: string): Promise<number> {
  const columns = plan.carried.get(table);
  if (!columns) return 0;
  const r = replacementOf(plan, table);
  const cols = columns.map(escapeIdentifier);
  const key = NATURAL_KEYS[table]!.map((k) => `l.${k} = o.${k}`).join(' AND ');
  const result = await client.query(
    `UPDATE ${r.load} l SET (${cols.join(', ')}) = ROW(${cols.map((c) => `o.${c}`).join(', ')}) FROM ${r.cat.quoted} o
      WHERE ${key} AND (${cols.map((c) => `o.${c} IS NOT NULL`).join(' OR ')})`,
  );
  return result.rowCount ?? 0;
}

/** Every row of a live table copied into its load table, the application's columns included. */
export async function copyLiveRows(client: pg.ClientBase, plan: ReplacementPlan, table: string): Promise<void> {
  const r = replacementOf(plan, table);
  const cols = r.cat.columns.filter((c) => c.generated === null).map((c) => escapeIdentifier(c.name));
  const overriding = r.cat.columns.some((c) => c.identity === 'a') ? ' OVERRIDING SYSTEM VALUE' : '';
  await client.query(`INSERT INTO ${r.load} (${cols.join(', ')})${overriding} SELECT ${cols.join(', ')} FROM ${r.cat.quoted} ORDER BY id`);
}

import type pg from 'pg';
import { commentLiteral, type ConstraintCatalog, type IndexCatalog, type TableCatalog } from './catalog.js';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { loadTableName, retiredTableName, tempIndexName } from './loadNames.js';
import { columnName, type IndexBuild, leadingColumn } from './indexOrder.js';
import { asCleanup } from './runGuard.js';
import { type CitusPlacement, placeLike } from './citus.js';

/**
 * One live table and the table built beside it from its catalog: same columns, types,
 * defaults, NOT NULL, identity, owner, grants, comments and storage options; its indexes and
 * constraints added after the load under temporary names, renamed to the live ones in the swap.
 */
export interface Replacement {
  cat: TableCatalog;
  runId: string;
  /** Unquoted names, in the live table's schema. */
  loadName: string;
  retiredName: string;
  /** schema-qualified, quoted. */
  load: string;
  retired: string;
  /** Temporary names of each index while beside (`fresh`) and of the live one's after the swap (`old`). */
  indexNames: { index: IndexCatalog; fresh: string; old: string }[];
  /** Identity columns: the load table's sequence name while beside, and the live one's after the swap. */
  identitySequences: { column: string; live: string; fresh: string; old: string }[];
  /**
   * On a Citus coordinator, where the live table is (src/db/citus.ts): the load table is placed
   * the same way, and its serial sequences are its own (`serialSequences`), since Citus refuses to
   * move a sequence's OWNED BY away from a distributed table.
   */
  citus?: CitusPlacement;
  /** Citus: serial columns' sequences made for the load table, renamed to the live names in the swap. */
  serialSequences?: { column: string; live: string; fresh: string; old: string }[];
}

const qualified = (schema: string, name: string) => `${escapeIdentifier(schema)}.${escapeIdentifier(name)}`;

/** Names of everything a run makes, numbered across tables so temporary index names never collide. */
export function replacementsFor(cats: TableCatalog[], runId: string): Replacement[] {
  let k = 0;
  let s = 0;
  return cats.map((cat) => {
    const loadName = loadTableName(cat.name, runId);
    const retiredName = retiredTableName(cat.name, runId);
    const indexNames = cat.indexes.map((index) => {
      k++;
      return { index, fresh: tempIndexName(runId, 'new', k), old: tempIndexName(runId, 'old', k) };
    });
    const identitySequences = cat.columns
      .filter((c) => c.identity !== '' && c.sequence !== null)
      .map((c) => {
        s++;
        return { column: c.name, live: c.sequence!, fresh: tempIndexName(runId, 'new', 1000 + s), old: tempIndexName(runId, 'old', 1000 + s) };
      });
    return {
      cat,
      runId,
      loadName,
      retiredName,
      load: qualified(cat.schema, loadName),
      retired: qualified(cat.schema, retiredName),
      indexNames,
      identitySequences,
    };
  });
}

const INDEX_HEAD = /^CREATE (UNIQUE )?INDEX (?:"(?:[^"]|"")+"|\S+) ON (?:ONLY )?(?:(?:"(?:[^"]|"")+"|[^\s."]+)\.)?(?:"(?:[^"]|"")+"|[^\s."]+) USING /;

/** The index's definition on another table under another name; null if pg_get_indexdef's output is not understood. */
export function indexDefOn(def: string, table: string, name: string): string | null {
  const m = INDEX_HEAD.exec(def);
  if (!m) return null;
  return `CREATE ${m[1] ?? ''}INDEX ${escapeIdentifier(name)} ON ${table} USING ${def.slice(m[0].length)}`;
}

/** The load table's columns only: no index, no constraint while rows stream in; autovacuum off until it is done. */
export async function createLoadTable(client: pg.ClientBase, r: Replacement): Promise<void> {
  const cat = r.cat;
  const ident = new Map(r.identitySequences.map((s) => [s.column, s]));
  const columns = cat.columns.map((c) => {
    const parts = [escapeIdentifier(c.name), c.type];
    if (c.collation) parts.push(`COLLATE ${c.collation}`);
    if (c.generated !== null) parts.push(`GENERATED ALWAYS AS (${c.generated}) STORED`);
    else if (c.identity !== '') {
      const seq = ident.get(c.name);
      const options = [seq ? `SEQUENCE NAME ${qualified(cat.schema, seq.fresh)}` : '', c.identityOptions ?? ''].join(' ').trim();
      parts.push(`GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${options ? ` (${options})` : ''}`);
    } else if (c.default !== null) parts.push(`DEFAULT ${c.default}`);
    if (c.notNull) parts.push('NOT NULL');
    return parts.join(' ');
  });
  const options = [...cat.reloptions.filter((o) => !o.startsWith('autovacuum_enabled=')), 'autovacuum_enabled=false'];
  await client.query(`CREATE TABLE ${r.load} (${columns.join(', ')}) WITH (${options.join(', ')})`);
  // An identity column gets a sequence of its own: it goes on from where the live one is, so rows
  // added without an id (an update's new data values) never collide with the ids copied over.
  for (const seq of r.identitySequences) {
    await client.query(`SELECT setval(${escapeLiteral(qualified(cat.schema, seq.fresh))}, last_value, is_called) FROM ${seq.live}`);
    await copySequenceGrants(client, seq.live, qualified(cat.schema, seq.fresh));
  }
  for (const seq of r.serialSequences ?? []) await ownSerialSequence(client, r, seq);
  const settings = cat.columns.flatMap((c) => c.settings);
  if (settings.length > 0) await client.query(`ALTER TABLE ${r.load} ${settings.join(', ')}`);
  await client.query(`ALTER TABLE ${r.load} OWNER TO ${escapeIdentifier(cat.owner)}`);
  // Default privileges may have granted something the live table does not have: start from none.
  const { rows } = await client.query<{ grantee: string }>(
    `SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
       FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = $1::regclass AND a.grantee <> c.relowner`,
    [r.load],
  );
  for (const g of rows) await client.query(`REVOKE ALL ON TABLE ${r.load} FROM ${g.grantee}`);
  for (const g of cat.grants) await client.query(g.replace('%TABLE%', r.load));
  if (cat.comment !== null) await client.query(`COMMENT ON TABLE ${r.load} IS ${commentLiteral(cat.comment)}`);
  for (const c of cat.columns) {
    if (c.comment !== null) await client.query(`COMMENT ON COLUMN ${r.load}.${escapeIdentifier(c.name)} IS ${commentLiteral(c.comment)}`);
  }
  // Last, once the table is complete: Citus copies its definition to the shards.
  if (r.citus) await placeLike(client, r.load, r.cat.quoted, r.citus);
}

/** Citus: serial sequences a Replacement gets a copy of (empty elsewhere: there the live one changes owner). */
export function serialSequencesOf(cat: TableCatalog, runId: string, table: number): NonNullable<Replacement['serialSequences']> {
  return cat.columns
    .filter((c) => c.identity === '' && c.sequence !== null)
    .map((c, k) => ({ column: c.name, live: c.sequence!, fresh: tempIndexName(runId, 'new', 2000 + 100 * table + k), old: tempIndexName(runId, 'old', 2000 + 100 * table + k) }));
}

/**
 * A copy of the live serial sequence (type, bounds, increment, cache, position, owner) owned by
 * the load table's column, which draws its default from it; made before the table is
 * distributed, as Citus requires of a sequence a distributed table owns.
 */
async function ownSerialSequence(client: pg.ClientBase, r: Replacement, seq: NonNullable<Replacement['serialSequences']>[number]): Promise<void> {
  const fresh = qualified(r.cat.schema, seq.fresh);
  const { rows } = await client.query<{ def: string; owner: string }>(
    `SELECT format('AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s %s', format_type(q.seqtypid, NULL), q.seqincrement, q.seqmin, q.seqmax,
                   q.seqstart, q.seqcache, CASE WHEN q.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END) AS def, pg_get_userbyid(c.relowner) AS owner
       FROM pg_sequence q JOIN pg_class c ON c.oid = q.seqrelid WHERE q.seqrelid = $1::regclass`,
    [seq.live],
  );
  await client.query(`CREATE SEQUENCE ${fresh} ${rows[0]!.def}`);
  await client.query(`SELECT setval('${fresh}', last_value, is_called) FROM ${seq.live}`);
  await client.query(`ALTER SEQUENCE ${fresh} OWNER TO ${escapeIdentifier(rows[0]!.owner)}`);
  await copySequenceGrants(client, seq.live, fresh);
  await client.query(`ALTER TABLE ${r.load} ALTER COLUMN ${escapeIdentifier(seq.column)} SET DEFAULT nextval(${escapeLiteral(fresh)}::regclass)`);
  await client.query(`ALTER SEQUENCE ${fresh} OWNED BY ${r.load}.${escapeIdentifier(seq.column)}`);
}

/**
 * The live sequence's grants on a sequence made for the load table (Citus' serial copy, or an
 * identity column's own), so the role the application reads and inserts with keeps its
 * USAGE/SELECT/UPDATE after the swap, as it keeps its grants on the table. Whatever default
 * privileges gave the new sequence is revoked first.
 */
async function copySequenceGrants(client: pg.ClientBase, live: string, fresh: string): Promise<void> {
  const acl = (seq: string) =>
    client.query<{ grantee: string; privilege: string; grantable: boolean }>(
      `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
         FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = $1::regclass AND a.grantee <> c.relowner`,
      [seq],
    );
  for (const g of new Set((await acl(fresh)).rows.map((r) => r.grantee))) await client.query(`REVOKE ALL ON SEQUENCE ${fresh} FROM ${g}`);
  for (const g of (await acl(live)).rows) await client.query(`GRANT ${g.privilege} ON SEQUENCE ${fresh} TO ${g.grantee}${g.grantable ? ' WITH GRANT OPTION' : ''}`);
}

/**
 * CREATE INDEX statements for the load table: every index of the live table, including the
 * ones backing PRIMARY KEY and UNIQUE constraints (attached by `addConstraints`), under
 * temporary names. Exclusion constraints build their own index in `addConstraints`.
 */
export function indexBuilds(r: Replacement): IndexBuild[] {
  return r.indexNames
    .filter((i) => i.index.constraint?.type !== 'x')
    .map((i) => {
      const sql = indexDefOn(i.index.def, r.load, i.fresh);
      if (sql === null) throw new Error(`cannot read the definition of index ${i.index.name}: ${i.index.def}`);
      return { name: i.index.name, sql };
    });
}

const deferral = (c: { deferrable: boolean; deferred: boolean }) => (c.deferrable ? ` DEFERRABLE INITIALLY ${c.deferred ? 'DEFERRED' : 'IMMEDIATE'}` : '');

/** Primary key, unique and exclusion constraints (temporary names) and CHECKs (their own names), once the indexes exist. */
export async function addConstraints(client: pg.ClientBase, r: Replacement): Promise<void> {
  const clauses: string[] = [];
  for (const { index, fresh } of r.indexNames) {
    const c = index.constraint;
    if (c === null) continue;
    const name = escapeIdentifier(fresh);
    if (c.type === 'x') clauses.push(`ADD CONSTRAINT ${name} ${c.def}`);
    else clauses.push(`ADD CONSTRAINT ${name} ${c.type === 'p' ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX ${name}${deferral(c)}`);
  }
  for (const c of r.cat.constraints) if (c.type === 'c') clauses.push(`ADD CONSTRAINT ${escapeIdentifier(c.name)} ${c.def}`);
  await alterTable(client, r, clauses);
  for (const { index, fresh } of r.indexNames) {
    if (index.comment !== null) await client.query(`COMMENT ON INDEX ${qualified(r.cat.schema, fresh)} IS ${commentLiteral(index.comment)}`);
    const c = index.constraint;
    if (c?.comment) await client.query(`COMMENT ON CONSTRAINT ${escapeIdentifier(fresh)} ON ${r.load} IS ${commentLiteral(c.comment)}`);
  }
  for (const c of r.cat.constraints) {
    if (c.type === 'c' && c.comment !== null) await client.query(`COMMENT ON CONSTRAINT ${escapeIdentifier(c.name)} ON ${r.load} IS ${commentLiteral(c.comment)}`);
  }
}

/**
 * The table's foreign keys, with their own names, checked here on the private tables: a key
 * into another replaced table points at that table's load table (the pair is renamed together).
 */
export async function addForeignKeys(client: pg.ClientBase, r: Replacement, all: Replacement[], how: { byIndex: boolean } = { byIndex: false }): Promise<void> {
  const keys = r.cat.constraints.filter((c) => c.type === 'f');
  if (keys.length === 0) return;
  if (how.byIndex) await checkByIndexes(client, () => addKeys(client, r, all, keys));
  else await addKeys(client, r, all, keys);
}

/**
 * Runs the foreign-key checks of `work` as merge anti joins of two index-only scans. The planner
 * alone picks a hash join over a scan of the whole table; on a table whose pages are all
 * visible (written by COPY FREEZE) the deduplicated index on the key column is a fraction of the
 * table's size. Only for such a table, and only when every key has its index (otherwise the
 * join would sort the table instead).
 */
async function checkByIndexes(client: pg.ClientBase, work: () => Promise<void>): Promise<void> {
  await client.query('SET enable_seqscan = off');
  await client.query('SET enable_hashjoin = off');
  try {
    await work();
  } finally {
    await asCleanup(() => client.query('RESET enable_seqscan')).catch(() => undefined);
    await asCleanup(() => client.query('RESET enable_hashjoin')).catch(() => undefined);
  }
}

/** Whether every foreign key of the table is on one column that leads one of its indexes. */
export function foreignKeysIndexed(r: Replacement): boolean {
  const leading = new Set(r.cat.indexes.map((i) => leadingColumn(i.def)));
  return r.cat.constraints
    .filter((c) => c.type === 'f')
    .every((c) => {
      const m = /^FOREIGN KEY \(([^,)]+)\)/.exec(c.def);
      return m !== null && leading.has(columnName(m[1]!.trim()));
    });
}

async function addKeys(client: pg.ClientBase, r: Replacement, all: Replacement[], keys: ConstraintCatalog[]): Promise<void> {
  const clauses = keys.map((c) => {
    const target = all.find((o) => o.cat.oid === c.referencedOid);
    let def = c.def;
    if (target) {
      const at = def.indexOf(` REFERENCES ${c.referencedName}(`);
      if (at < 0) throw new Error(`cannot read the definition of foreign key ${c.name}: ${c.def}`);
      def = `${def.slice(0, at)} REFERENCES ${target.load}(${def.slice(at + ` REFERENCES ${c.referencedName}(`.length)}`;
    }
    return `ADD CONSTRAINT ${escapeIdentifier(c.name)} ${def}`;
  });
  await alterTable(client, r, clauses);
  for (const c of keys) {
    if (c.comment !== null) await client.query(`COMMENT ON CONSTRAINT ${escapeIdentifier(c.name)} ON ${r.load} IS ${commentLiteral(c.comment)}`);
  }
}

/**
 * The clauses in one ALTER TABLE (one pass over the table), or on Citus one statement each:
 * it refuses ADD CONSTRAINT together with other subcommands on a distributed table.
 */
async function alterTable(client: pg.ClientBase, r: Replacement, clauses: string[]): Promise<void> {
  if (clauses.length === 0) return;
  if (!r.citus) return void (await client.query(`ALTER TABLE ${r.load} ${clauses.join(', ')}`));
  for (const clause of clauses) await client.query(`ALTER TABLE ${r.load} ${clause}`);
}

/** The live table's storage options, autovacuum included, now that the load is done. */
export async function restoreOptions(client: pg.ClientBase, r: Replacement): Promise<void> {
  await client.query(`ALTER TABLE ${r.load} RESET (autovacuum_enabled)`);
  const own = r.cat.reloptions.filter((o) => o.startsWith('autovacuum_enabled='));
  if (own.length > 0) await client.query(`ALTER TABLE ${r.load} SET (${own.join(', ')})`);
}

export async function dropLoadTables(client: pg.ClientBase, reps: Replacement[]): Promise<void> {
  if (reps.length > 0) await client.query(`DROP TABLE IF EXISTS ${reps.map((r) => r.load).join(', ')}`);
}

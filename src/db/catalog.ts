import type pg from 'pg';
import { escapeIdentifier, escapeLiteral } from 'pg';

/**
 * What PostgreSQL's catalog says about one table: enough to build an identical table beside
 * it and swap the two by renames. Names are kept as PostgreSQL prints them (`quoted` fields
 * are ready to paste into SQL).
 */
export interface TableCatalog {
  oid: number;
  /** The table's own name, unquoted (as genesim knows it). */
  name: string;
  schema: string;
  /** schema.table, quoted. */
  quoted: string;
  owner: string;
  reloptions: string[];
  comment: string | null;
  /** GRANTs that rebuild the table's privileges, with `%TABLE%` where the table name goes. */
  grants: string[];
  columns: ColumnCatalog[];
  indexes: IndexCatalog[];
  constraints: ConstraintCatalog[];
  views: ViewCatalog[];
  /** Foreign keys of other tables (not among the replaced ones) into this one. */
  incomingForeignKeys: IncomingForeignKey[];
  /** Objects tied to the table that a rename-swap cannot carry; refused before any work. */
  unsupported: string[];
}

export interface ColumnCatalog {
  name: string;
  type: string;
  /** The typed name (`bigint`, `integer`), for id range checks. */
  typeName: string;
  default: string | null;
  notNull: boolean;
  /** 'a' (ALWAYS), 'd' (BY DEFAULT) or '' */
  identity: string;
  /** Stored generated column expression, or null. */
  generated: string | null;
  collation: string | null;
  comment: string | null;
  /** ALTER TABLE ... ALTER COLUMN clauses that pg_dump would print (storage, statistics, compression, options). */
  settings: string[];
  /** Sequence owned by the column (serial) or behind its identity, quoted; null if none. */
  sequence: string | null;
  /** Identity sequence options as CREATE SEQUENCE takes them. */
  identityOptions: string | null;
}

export interface IndexCatalog {
  name: string;
  /** pg_get_indexdef: CREATE [UNIQUE] INDEX name ON schema.table USING ... */
  def: string;
  /** The constraint the index backs (PRIMARY KEY, UNIQUE, EXCLUDE), if any. */
  constraint: ConstraintCatalog | null;
  comment: string | null;
}

export interface ConstraintCatalog {
  name: string;
  /** p, u, x (index-backed), c (check), f (foreign key) */
  type: string;
  def: string;
  deferrable: boolean;
  deferred: boolean;
  /** Foreign keys: the referenced table's oid and name as pg_get_constraintdef prints it. */
  referencedOid: number | null;
  referencedName: string | null;
  comment: string | null;
}

export interface ViewCatalog {
  oid: number;
  quoted: string;
  /** CREATE OR REPLACE VIEW options (security_barrier, check_option, ...). */
  reloptions: string[];
}

export interface IncomingForeignKey {
  /** The referencing table, quoted, and its oid. */
  table: string;
  tableOid: number;
  name: string;
  def: string;
  validated: boolean;
  /** The referencing columns, quoted. */
  columns: string[];
}

// Every name is quoted, whatever it is: a lowercase name may still be a keyword (`order`, `user`).
export const commentLiteral = (c: string | null) => (c === null ? 'NULL' : escapeLiteral(c));

export async function readTableCatalog(client: pg.ClientBase, table: string): Promise<TableCatalog> {
  const { rows: rel } = await client.query(
    `SELECT c.oid::int AS oid, n.nspname AS schema, format('%I.%I', n.nspname, c.relname) AS quoted, c.relkind, c.relpersistence,
            pg_get_userbyid(c.relowner) AS owner, coalesce(c.reloptions, '{}') AS reloptions, obj_description(c.oid, 'pg_class') AS comment,
            c.reltablespace <> 0 AS own_tablespace, c.relrowsecurity, c.relreplident, c.relhasrules, c.reltype::int AS reltype
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
    [table],
  );
  const r = rel[0];
  if (!r) throw new Error(`table ${table} does not exist`);
  const oid: number = r.oid;
  const unsupported: string[] = [];
  if (r.relkind !== 'r') unsupported.push(`${r.quoted} is not a plain table (relkind ${r.relkind})`);
  if (r.relpersistence !== 'p') unsupported.push(`${r.quoted} is unlogged or temporary`);
  if (r.own_tablespace) unsupported.push(`${r.quoted} lives in a tablespace of its own`);
  if (r.relrowsecurity) unsupported.push(`${r.quoted} has row-level security`);
  if (r.relreplident !== 'd') unsupported.push(`${r.quoted} has a replica identity other than the default`);

  const grants = await client.query<{ grant: string }>(
    `SELECT format('GRANT %s ON TABLE %%TABLE%% TO %s%s', a.privilege_type,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
              CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS grant
       FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = $1 AND a.grantee <> c.relowner
     UNION ALL
     SELECT format('GRANT %s (%I) ON TABLE %%TABLE%% TO %s%s', a.privilege_type, t.attname,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
              CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
       FROM pg_attribute t, aclexplode(t.attacl) a WHERE t.attrelid = $1 AND t.attnum > 0 AND NOT t.attisdropped`,
    [oid],
  );

  const { rows: cols } = await client.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname AS type_name,
            CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default,
            CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END AS generated,
            a.attnotnull AS not_null, a.attidentity AS identity,
            CASE WHEN a.attcollation <> t.typcollation THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END AS collation,
            col_description(a.attrelid, a.attnum) AS comment,
            a.attstattarget, a.attstorage <> t.typstorage AS storage_differs, a.attstorage, a.attcompression, a.attoptions,
            (SELECT format('%I.%I', sn.nspname, s.relname) FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
               JOIN pg_namespace sn ON sn.oid = s.relnamespace
              WHERE dep.classid = 'pg_class'::regclass AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype IN ('a', 'i')
              LIMIT 1) AS sequence,
            (SELECT format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %s', q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache,
                           CASE WHEN q.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)
               FROM pg_depend dep JOIN pg_sequence q ON q.seqrelid = dep.objid
              WHERE a.attidentity <> '' AND dep.classid = 'pg_class'::regclass AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i'
              LIMIT 1) AS identity_options
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid],
  );
  const columns: ColumnCatalog[] = cols.map((c) => {
    const q = escapeIdentifier(c.name);
    const settings: string[] = [];
    if (c.attstattarget >= 0) settings.push(`ALTER COLUMN ${q} SET STATISTICS ${c.attstattarget}`);
    if (c.storage_differs) settings.push(`ALTER COLUMN ${q} SET STORAGE ${{ p: 'PLAIN', e: 'EXTERNAL', m: 'MAIN', x: 'EXTENDED' }[c.attstorage as string]}`);
    if (c.attcompression) settings.push(`ALTER COLUMN ${q} SET COMPRESSION ${c.attcompression === 'p' ? 'pglz' : 'lz4'}`);
    if (c.attoptions) settings.push(`ALTER COLUMN ${q} SET (${(c.attoptions as string[]).join(', ')})`);
    return {
      name: c.name,
      type: c.type,
      typeName: c.type_name,
      default: c.default,
      notNull: c.not_null,
      identity: c.identity,
      generated: c.generated,
      collation: c.collation,
      comment: c.comment,
      settings,
      sequence: c.sequence,
      identityOptions: c.identity_options,
    };
  });

  const { rows: cons } = await client.query(
    `SELECT conname AS name, contype AS type, pg_get_constraintdef(oid) AS def, condeferrable AS deferrable, condeferred AS deferred,
            nullif(confrelid, 0)::int AS referenced_oid, CASE WHEN confrelid <> 0 THEN confrelid::regclass::text END AS referenced_name,
            nullif(conindid, 0)::int AS index_oid, obj_description(oid, 'pg_constraint') AS comment
       FROM pg_constraint WHERE conrelid = $1 ORDER BY conname`,
    [oid],
  );
  const constraints: ConstraintCatalog[] = cons.map((c) => ({
    name: c.name,
    type: c.type,
    def: c.def,
    deferrable: c.deferrable,
    deferred: c.deferred,
    referencedOid: c.type === 'f' ? c.referenced_oid : null,
    referencedName: c.type === 'f' ? c.referenced_name : null,
    comment: c.comment,
  }));
  for (const c of cons) if (!'pucxf'.includes(c.type)) unsupported.push(`constraint ${c.name} on ${r.quoted} (type ${c.type})`);

  const { rows: idx } = await client.query(
    `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def, obj_description(i.indexrelid, 'pg_class') AS comment,
            ic.reltablespace <> 0 AS own_tablespace, (SELECT conname FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid) AS constraint
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = $1 ORDER BY ic.relname`,
    [oid],
  );
  const indexes: IndexCatalog[] = idx.map((i) => ({
    name: i.name,
    def: i.def,
    constraint: i.constraint === null ? null : (constraints.find((c) => c.name === i.constraint) ?? null),
    comment: i.comment,
  }));
  for (const i of idx) if (i.own_tablespace) unsupported.push(`index ${i.name} lives in a tablespace of its own`);

  // Views read the table through their rewrite rule; anything else depending on it by name or oid
  // (materialized views, rules, triggers, policies, functions, statistics, other tables' columns of its row type) cannot follow a rename-swap.
  const { rows: deps } = await client.query(
    `SELECT d.classid::regclass::text AS catalog, pg_describe_object(d.classid, d.objid, d.objsubid) AS what,
            v.oid::int AS view_oid, v.relkind AS view_kind, quote_ident(vn.nspname) || '.' || quote_ident(v.relname) AS view_quoted,
            coalesce(v.reloptions, '{}') AS view_options, k.contype AS con_type, k.confrelid::int AS con_ref, k.conrelid::int AS con_rel,
            (SELECT x.indrelid::int FROM pg_index x WHERE d.classid = 'pg_class'::regclass AND x.indexrelid = d.objid) AS index_of,
            (SELECT ad.adrelid::int FROM pg_attrdef ad WHERE d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid) AS default_of
       FROM pg_depend d
       LEFT JOIN pg_rewrite w ON d.classid = 'pg_rewrite'::regclass AND w.oid = d.objid
       LEFT JOIN pg_class v ON v.oid = w.ev_class LEFT JOIN pg_namespace vn ON vn.oid = v.relnamespace
       LEFT JOIN pg_constraint k ON d.classid = 'pg_constraint'::regclass AND k.oid = d.objid
      WHERE d.refclassid = 'pg_class'::regclass AND d.deptype = 'n' AND (d.refobjid = $1 OR d.refobjid IN (SELECT indexrelid FROM pg_index WHERE indrelid = $1))
     UNION ALL
     SELECT d.classid::regclass::text, pg_describe_object(d.classid, d.objid, d.objsubid), null, null, null, null, null, null, null, null, null
       FROM pg_depend d WHERE d.refclassid = 'pg_type'::regclass AND d.refobjid = $2 AND d.deptype = 'n'`,
    [oid, r.reltype],
  );
  const views = new Map<number, ViewCatalog>();
  for (const d of deps) {
    if (d.catalog === 'pg_rewrite' && d.view_kind === 'v' && d.view_oid !== oid) {
      views.set(d.view_oid, { oid: d.view_oid, quoted: d.view_quoted, reloptions: d.view_options });
    } else if (d.catalog === 'pg_constraint' && ((d.con_type === 'f' && d.con_ref === oid) || d.con_rel === oid)) {
      // Keys into the table are read below, with their definitions; the table's own constraints are rebuilt.
    } else if ((d.catalog === 'pg_class' && d.index_of === oid) || (d.catalog === 'pg_attrdef' && d.default_of === oid)) {
      // The table's own indexes (a partial index's predicate) and defaults (generated columns) are rebuilt.
    } else {
      unsupported.push(`${d.what} depends on ${r.quoted}`);
    }
  }
  const { rows: triggers } = await client.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal`, [oid]);
  for (const t of triggers) unsupported.push(`trigger ${t.tgname} on ${r.quoted}`);
  const { rows: misc } = await client.query(
    `SELECT 'rule ' || rulename AS what FROM pg_rewrite WHERE ev_class = $1
     UNION ALL SELECT 'policy ' || polname FROM pg_policy WHERE polrelid = $1
     UNION ALL SELECT 'statistics object ' || stxname FROM pg_statistic_ext WHERE stxrelid = $1
     UNION ALL SELECT 'inheritance link with ' || (CASE WHEN inhrelid = $1 THEN inhparent ELSE inhrelid END)::regclass::text FROM pg_inherits WHERE inhrelid = $1 OR inhparent = $1
     UNION ALL SELECT 'publication ' || p.pubname FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid WHERE pr.prrelid = $1`,
    [oid],
  );
  for (const m of misc) unsupported.push(`${m.what} on ${r.quoted}`);

  const { rows: incoming } = await client.query(
    `SELECT format('%I.%I', n.nspname, c.relname) AS table, k.conrelid::int AS table_oid, k.conname AS name, pg_get_constraintdef(k.oid) AS def,
            k.convalidated AS validated, ARRAY(SELECT quote_ident(a.attname) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, o)
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.o) AS columns
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.contype = 'f' AND k.confrelid = $1 AND k.conrelid <> $1 ORDER BY 1, 3`,
    [oid],
  );
  return {
    oid,
    name: table,
    schema: r.schema,
    quoted: r.quoted,
    owner: r.owner,
    reloptions: r.reloptions,
    comment: r.comment,
    grants: grants.rows.map((g) => g.grant),
    columns,
    indexes,
    constraints,
    views: [...views.values()],
    incomingForeignKeys: incoming.map((k) => ({ table: k.table, tableOid: k.table_oid, name: k.name, def: k.def, validated: k.validated, columns: k.columns })),
    unsupported,
  };
}

/** The id column's type decides how many rows the table can number. */
export function idColumn(cat: TableCatalog): ColumnCatalog {
  const id = cat.columns.find((c) => c.name === 'id');
  if (!id) throw new Error(`${cat.quoted} has no id column`);
  return id;
}

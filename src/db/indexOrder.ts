/** One index to build on a load table: its live name (for reports) and the statement that builds it. */
export interface IndexBuild {
  name: string;
  sql: string;
}

/** A column name as PostgreSQL prints it in a definition, as the catalog holds it. */
export function columnName(printed: string): string {
  return printed.startsWith('"') ? printed.slice(1, -1).replace(/""/g, '"') : printed.toLowerCase();
}

/** The first key column of a `CREATE INDEX ... USING method (a, b)` statement, unquoted; null for an expression. */
export function leadingColumn(sql: string): string | null {
  const m = / USING \w+ \(\s*("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*[,)\s]/.exec(sql);
  return m ? columnName(m[1]!) : null;
}

/**
 * The order in which C connections take the builds, each taking the next as it frees up: the
 * longest first, so no connection is left with a long build after the others are done.
 *
 * On the similarity table, stored in (gene1_id, gene2_id) order by the clustered load, a build
 * whose key starts with another column sorts unordered input and is the longest (at 42M rows
 * gene2_id 15 s and id 11 s against 12 s for the three-column unique and 8 s for gene1_id alone);
 * the wider of the sorted ones comes next. The other tables' are small and go last.
 */
export function orderIndexBuilds(builds: IndexBuild[], bigTable: string, clusteredOn: string | null): IndexBuild[] {
  const rank = (b: IndexBuild): number => {
    if (!b.sql.includes(bigTable)) return 3;
    if (clusteredOn === null || leadingColumn(b.sql) !== clusteredOn) return 0;
    return b.sql.includes(',', b.sql.indexOf(' USING ')) ? 1 : 2;
  };
  return builds
    .map((b, k) => ({ b, k, r: rank(b) }))
    .sort((x, y) => x.r - y.r || x.k - y.k)
    .map((x) => x.b);
}

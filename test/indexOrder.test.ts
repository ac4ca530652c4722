import assert from 'node:assert/strict';
import { foreignKeysIndexed, type Replacement } from '../src/db/beside.js';
import { leadingColumn, orderIndexBuilds } from '../src/db/indexOrder.js';

const T = 'public.datasets_genesimilarity__genesim_r1';
const build = (name: string, sql: string) => ({ name, sql });
// As pg_get_indexdef prints Django's indexes, moved to the load table.
const pkey = build('pkey', `CREATE UNIQUE INDEX x1 ON ${T} USING btree (id)`);
const uniq = build('uniq', `CREATE UNIQUE INDEX x2 ON ${T} USING btree (gene1_id, gene2_id, metric)`);
const gene1 = build('gene1', `CREATE INDEX "x 3" ON ${T} USING btree (gene1_id)`);
const gene2 = build('gene2', `CREATE INDEX x4 ON ${T} USING btree ("gene2_id")`);
const small = build('small', 'CREATE INDEX x5 ON public.datasets_data__genesim_r1 USING btree (gene_id)');

describe('index build order', () => {
  it('reads the first key column, quoted or not; an expression has none', () => {
    assert.equal(leadingColumn(uniq.sql), 'gene1_id');
    assert.equal(leadingColumn(gene2.sql), 'gene2_id');
    assert.equal(leadingColumn(`CREATE INDEX x ON t USING btree ("Odd ""Name"" col", b)`), 'Odd "Name" col');
    assert.equal(leadingColumn('CREATE INDEX x ON t USING btree (lower((name)::text))'), null);
  });

  it('clustered on gene1_id: unordered input first, then the wide sorted key, then gene1_id alone, the small tables last', () => {
    const order = orderIndexBuilds([small, pkey, uniq, gene1, gene2], 'datasets_genesimilarity', 'gene1_id');
    assert.deepEqual(order.map((b) => b.name), ['pkey', 'gene2', 'uniq', 'gene1', 'small']);
  });

  it('with no clustering every similarity index counts as unordered and keeps the catalog order, ahead of the small tables', () => {
    const order = orderIndexBuilds([small, pkey, uniq, gene1, gene2], 'datasets_genesimilarity', null);
    assert.deepEqual(order.map((b) => b.name), ['pkey', 'uniq', 'gene1', 'gene2', 'small']);
  });
});

describe('foreign keys checked by their indexes', () => {
  const table = (indexes: string[], fks: string[]) =>
    ({
      cat: {
        indexes: indexes.map((def, k) => ({ name: `i${k}`, def, constraint: null, comment: null })),
        constraints: fks.map((def, k) => ({ name: `f${k}`, type: 'f', def, deferrable: true, deferred: true })),
      },
    }) as unknown as Replacement;
  const fk1 = 'FOREIGN KEY (gene1_id) REFERENCES datasets_gene(id) DEFERRABLE INITIALLY DEFERRED';
  const fk2 = 'FOREIGN KEY ("gene2_id") REFERENCES datasets_gene(id) DEFERRABLE INITIALLY DEFERRED';

  it('only when every key column leads an index of its own table (Django indexes every ForeignKey)', () => {
    assert.equal(foreignKeysIndexed(table([uniq.sql, gene2.sql], [fk1, fk2])), true);
    assert.equal(foreignKeysIndexed(table([uniq.sql], [fk1, fk2])), false, 'gene2_id has no index: the merge join would sort the table');
    assert.equal(foreignKeysIndexed(table([pkey.sql], [])), true);
  });
});

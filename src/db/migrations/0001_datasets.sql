-- skip if exists: datasets_genesimilarity
-- The tables and constraints Django creates for the `datasets` app's models, with the names
-- Django would give them (minus the hash suffixes), so the application reads them unchanged.

CREATE TABLE datasets_dataset (
    id serial PRIMARY KEY,
    name varchar(500) NOT NULL,
    CONSTRAINT datasets_dataset_name_key UNIQUE (name)
);
CREATE INDEX datasets_dataset_name_like ON datasets_dataset (name varchar_pattern_ops);

CREATE TABLE datasets_gene (
    id serial PRIMARY KEY,
    systematic_name varchar(50) NOT NULL,
    common_name varchar(50) NULL,
    CONSTRAINT datasets_gene_systematic_name_key UNIQUE (systematic_name)
);
CREATE INDEX datasets_gene_systematic_name_like ON datasets_gene (systematic_name varchar_pattern_ops);

CREATE TABLE datasets_data (
    id serial PRIMARY KEY,
    gene_id integer NOT NULL,
    dataset_id integer NOT NULL,
    value double precision NOT NULL,
    CONSTRAINT datasets_data_gene_id_dataset_id_uniq UNIQUE (gene_id, dataset_id),
    CONSTRAINT datasets_data_gene_id_fk_datasets_gene_id FOREIGN KEY (gene_id)
        REFERENCES datasets_gene (id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT datasets_data_dataset_id_fk_datasets_dataset_id FOREIGN KEY (dataset_id)
        REFERENCES datasets_dataset (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX datasets_data_gene_id ON datasets_data (gene_id);
CREATE INDEX datasets_data_dataset_id ON datasets_data (dataset_id);

CREATE TABLE datasets_genesimilarity (
    id serial PRIMARY KEY,
    gene1_id integer NOT NULL,
    gene2_id integer NOT NULL,
    metric varchar(50) NOT NULL,
    score numeric(10, 3) NOT NULL,
    CONSTRAINT datasets_genesimilarity_gene1_id_gene2_id_metric_uniq UNIQUE (gene1_id, gene2_id, metric),
    CONSTRAINT datasets_genesimilarity_gene1_id_fk_datasets_gene_id FOREIGN KEY (gene1_id)
        REFERENCES datasets_gene (id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT datasets_genesimilarity_gene2_id_fk_datasets_gene_id FOREIGN KEY (gene2_id)
        REFERENCES datasets_gene (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX datasets_genesimilarity_gene1_id ON datasets_genesimilarity (gene1_id);
CREATE INDEX datasets_genesimilarity_gene2_id ON datasets_genesimilarity (gene2_id);

CREATE TABLE datasets_datasetsimilarity (
    id serial PRIMARY KEY,
    dataset1_id integer NOT NULL,
    dataset2_id integer NOT NULL,
    metric varchar(50) NOT NULL,
    score numeric(10, 3) NOT NULL,
    CONSTRAINT datasets_datasetsimilarity_dataset1_id_dataset2_id_metric_uniq UNIQUE (dataset1_id, dataset2_id, metric),
    CONSTRAINT datasets_datasetsimilarity_dataset1_id_fk_datasets_dataset_id FOREIGN KEY (dataset1_id)
        REFERENCES datasets_dataset (id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT datasets_datasetsimilarity_dataset2_id_fk_datasets_dataset_id FOREIGN KEY (dataset2_id)
        REFERENCES datasets_dataset (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX datasets_datasetsimilarity_dataset1_id ON datasets_datasetsimilarity (dataset1_id);
CREATE INDEX datasets_datasetsimilarity_dataset2_id ON datasets_datasetsimilarity (dataset2_id);

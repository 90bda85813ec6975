-- alloy install script, part 10: the series catalog (src/catalog, docs/catalog.md).
--
-- Tenants, interned labels (per tenant) and one row per series carrying the
-- sorted ids of its labels. The C code reads and writes these tables through
-- their indexes directly (no SPI) and finds them by name in schema alloy, so
-- table, column and index names here are part of the C code's contract.

-- Tenants. Tenant 0 is the default tenant, used when a request names none
-- (no X-Scope-OrgID header, tenant argument NULL or '').
CREATE TABLE alloy.tenants (
	tenant_id int4 NOT NULL,
	name text COLLATE "C" NOT NULL,
	created timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT tenants_pkey PRIMARY KEY (tenant_id),
	CONSTRAINT tenants_name_key UNIQUE (name)
);
CREATE SEQUENCE alloy.tenants_tenant_id_seq AS int4 MINVALUE 1 START 1 OWNED BY alloy.tenants.tenant_id;
INSERT INTO alloy.tenants (tenant_id, name) VALUES (0, 'default');

-- Interned label pairs. One id per (tenant, name, value): a tenant's
-- postings never mix with another's, and label_names()/label_values() of a
-- tenant read only its own rows.
CREATE TABLE alloy.labels (
	label_id int4 NOT NULL,
	tenant_id int4 NOT NULL,
	name text COLLATE "C" NOT NULL,
	value text COLLATE "C" NOT NULL,
	CONSTRAINT labels_pkey PRIMARY KEY (label_id),
	CONSTRAINT labels_tenant_name_value_key UNIQUE (tenant_id, name, value)
);
CREATE SEQUENCE alloy.labels_label_id_seq AS int4 MINVALUE 1 START 1 OWNED BY alloy.labels.label_id;

-- One row per series. hash is AlloyLabelsHash() of the sorted label set
-- (src/catalog/labels_hash.h) and hash2 the same with the second seed: the
-- pair identifies the label set (a lookup reads no label rows). label_ids
-- are the interned ids, ascending. The unique index finds a series by hash
-- and keeps (tenant, hash pair) unique: with 128 bits of hash two label sets
-- never share a pair in practice, and if they ever did the insert would fail
-- rather than merge them. Keying on the hashes instead of label_ids keeps the
-- index at about a quarter of the size (a few dozen bytes per series). The
-- GIN index is the inverted index (postings) used by label matchers. Its
-- pending list is kept at the 64 kB minimum: with the default 4 MB the
-- list's pages, once merged, stay in the file and the index grew to about
-- 150 bytes per series; merged often it stays near 18 (and a lookup never
-- has to scan a long pending list).
CREATE TABLE alloy.series_catalog (
	series_id int8 NOT NULL,
	tenant_id int4 NOT NULL,
	hash int8 NOT NULL,
	hash2 int8 NOT NULL,
	label_ids int4[] NOT NULL,
	created timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT series_catalog_pkey PRIMARY KEY (series_id)
);
CREATE UNIQUE INDEX series_catalog_tenant_hash_key
	ON alloy.series_catalog (tenant_id, hash, hash2);
CREATE INDEX series_catalog_label_ids_idx
	ON alloy.series_catalog USING gin (label_ids) WITH (gin_pending_list_limit = 64);
CREATE SEQUENCE alloy.series_catalog_series_id_seq MINVALUE 1 START 1 OWNED BY alloy.series_catalog.series_id;

-- The label set of a series as a jsonb object (name -> value, __name__
-- included), and its metric name. C, with the labels read once per query.
CREATE FUNCTION alloy.series_labels(label_ids int4[]) RETURNS jsonb
AS 'MODULE_PATHNAME', 'alloy_series_labels'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION alloy.series_metric(label_ids int4[]) RETURNS text
AS 'MODULE_PATHNAME', 'alloy_series_metric'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- The contract's view of the catalog: one row per series.
CREATE VIEW alloy.series AS
SELECT s.series_id,
	   alloy.series_metric(s.label_ids) AS metric,
	   alloy.series_labels(s.label_ids) AS labels,
	   t.name AS tenant,
	   s.created
FROM alloy.series_catalog s
JOIN alloy.tenants t ON t.tenant_id = s.tenant_id;

-- Label names of a tenant's series, sorted bytewise as Prometheus sorts.
-- C: a skip scan of the (tenant_id, name, value) index (series/series_labels.c).
CREATE FUNCTION alloy.label_names(tenant text DEFAULT NULL) RETURNS SETOF text
AS 'MODULE_PATHNAME', 'alloy_label_names'
LANGUAGE C STABLE PARALLEL SAFE;

-- Values of one label over a tenant's series, sorted bytewise.
CREATE FUNCTION alloy.label_values(name text, tenant text DEFAULT NULL) RETURNS SETOF text
AS 'MODULE_PATHNAME', 'alloy_label_values'
LANGUAGE C STABLE PARALLEL SAFE;

-- Write one sample. labels is a jsonb object of string values (__name__
-- included); empty values mean "label absent" and are dropped. time is
-- truncated to milliseconds. Returns the number of samples written (1).
CREATE FUNCTION alloy.write(labels jsonb, "time" timestamptz, value double precision,
							tenant text DEFAULT NULL) RETURNS bigint
AS 'MODULE_PATHNAME', 'alloy_write'
LANGUAGE C VOLATILE;

-- Write many samples of one series; the arrays must have the same length.
CREATE FUNCTION alloy.write(labels jsonb, "time" timestamptz[], value double precision[],
							tenant text DEFAULT NULL) RETURNS bigint
AS 'MODULE_PATHNAME', 'alloy_write_array'
LANGUAGE C VOLATILE;

-- The series id of a label set, creating the series if needed.
CREATE FUNCTION alloy.series_get_or_create(labels jsonb, tenant text DEFAULT NULL) RETURNS bigint
AS 'MODULE_PATHNAME', 'alloy_series_get_or_create'
LANGUAGE C VOLATILE;

-- The series id of a label set, or NULL if there is no such series.
CREATE FUNCTION alloy.series_lookup(labels jsonb, tenant text DEFAULT NULL) RETURNS bigint
AS 'MODULE_PATHNAME', 'alloy_series_lookup'
LANGUAGE C STABLE;

-- Series selection as PromQL does it: matchers is a jsonb array of
-- [name, op, value] with op one of =, !=, =~, !~.
CREATE FUNCTION alloy.match_series(matchers jsonb, tenant text DEFAULT NULL)
RETURNS TABLE(series_id bigint, labels jsonb)
AS 'MODULE_PATHNAME', 'alloy_match_series'
LANGUAGE C STABLE;

-- State of the series cache (shared memory with shared_preload_libraries,
-- else this backend's own).
CREATE FUNCTION alloy.series_cache_stats(OUT shared boolean, OUT capacity bigint,
										 OUT entries bigint, OUT hits bigint, OUT misses bigint,
										 OUT inserts bigint, OUT evictions bigint,
										 OUT bytes bigint)
AS 'MODULE_PATHNAME', 'alloy_series_cache_stats'
LANGUAGE C VOLATILE;

-- These C functions read and write the catalog directly, bypassing table
-- privileges, so only roles granted EXECUTE may call them (superusers and the
-- alloy background workers always can).
REVOKE ALL ON FUNCTION alloy.write(jsonb, timestamptz, double precision, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION alloy.write(jsonb, timestamptz[], double precision[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION alloy.series_get_or_create(jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION alloy.series_lookup(jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION alloy.match_series(jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION alloy.series_labels(int4[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION alloy.series_metric(int4[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION alloy.label_names(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION alloy.label_values(text, text) FROM PUBLIC;

-- pg_dump keeps the catalog's rows (series ids must survive a dump and
-- restore, since samples refer to them) and the sequences' positions.
SELECT pg_catalog.pg_extension_config_dump('alloy.tenants', 'WHERE tenant_id <> 0');
SELECT pg_catalog.pg_extension_config_dump('alloy.tenants_tenant_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('alloy.labels', '');
SELECT pg_catalog.pg_extension_config_dump('alloy.labels_label_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('alloy.series_catalog', '');
SELECT pg_catalog.pg_extension_config_dump('alloy.series_catalog_series_id_seq', '');

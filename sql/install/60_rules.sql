-- alloy install script, part 60: Prometheus rule groups (src/rules, docs/rules.md).
--
-- Rule groups live in a table, per tenant and namespace (a namespace is what
-- Mimir's ruler API calls one, and one rule file when loaded from a file),
-- so rules survive restarts, replicate and are backed up with the database.
-- A group is stored as the canonical YAML the emitter writes
-- (rules_emit_group), checked before it is stored; interval_ms repeats the
-- group's interval for queries. position orders the groups of a namespace as
-- they were loaded.
CREATE TABLE alloy.rule_groups (
	tenant_id int4 NOT NULL REFERENCES alloy.tenants (tenant_id),
	namespace text COLLATE "C" NOT NULL,
	name text COLLATE "C" NOT NULL,
	interval_ms bigint NOT NULL DEFAULT 0,
	source text NOT NULL,
	position int4 NOT NULL,
	updated timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT rule_groups_pkey PRIMARY KEY (tenant_id, namespace, name)
);
SELECT pg_catalog.pg_extension_config_dump('alloy.rule_groups', '');

-- The rules of one stored group, parsed from its YAML: one row each, in order.
-- "for" and keep_firing_for are Prometheus durations ('5m'), NULL when not set.
CREATE FUNCTION alloy.rule_group_rules(source text)
RETURNS TABLE(rule_index int4, kind text, name text, expr text, "for" text,
			  keep_firing_for text, labels jsonb, annotations jsonb)
AS 'MODULE_PATHNAME', 'alloy_rule_group_rules'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;

-- One row per stored rule; built from the stored YAML, so it is always what
-- is stored. interval_ms 0 means the global evaluation interval.
CREATE VIEW alloy.rules AS
SELECT t.name AS tenant,
	   g.namespace,
	   g.name AS "group",
	   g.interval_ms,
	   r.rule_index,
	   r.kind,
	   r.name,
	   r.expr,
	   r."for",
	   r.keep_firing_for,
	   r.labels,
	   r.annotations
FROM alloy.rule_groups g
JOIN alloy.tenants t ON t.tenant_id = g.tenant_id
CROSS JOIN LATERAL alloy.rule_group_rules(g.source) r;

-- Load a Prometheus rule file as the groups of a namespace: the whole file is
-- parsed and checked first (an error changes nothing), then it replaces the
-- namespace's groups. Returns how many groups were stored.
CREATE FUNCTION alloy.rules_load(file text, namespace text, tenant text DEFAULT NULL)
RETURNS int4
AS 'MODULE_PATHNAME', 'alloy_rules_load'
LANGUAGE C VOLATILE CALLED ON NULL INPUT;

-- Insert or replace one group (YAML of a group: name, interval, rules), as
-- Mimir's ruler API does; a new group goes after the namespace's others.
CREATE FUNCTION alloy.rules_set_group(namespace text, "group" text, tenant text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'alloy_rules_set_group'
LANGUAGE C VOLATILE CALLED ON NULL INPUT;

-- Delete one group (true when it existed), or a whole namespace (how many groups).
CREATE FUNCTION alloy.rules_delete_group(namespace text, "group" text, tenant text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'alloy_rules_delete_group'
LANGUAGE C VOLATILE CALLED ON NULL INPUT;

CREATE FUNCTION alloy.rules_delete_namespace(namespace text, tenant text DEFAULT NULL)
RETURNS int4
AS 'MODULE_PATHNAME', 'alloy_rules_delete_namespace'
LANGUAGE C VOLATILE CALLED ON NULL INPUT;

-- The stored groups as one rule file (of one namespace, or all of the
-- tenant's in namespace then load order), in the emitter's canonical form.
CREATE FUNCTION alloy.rules_file(namespace text DEFAULT NULL, tenant text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'alloy_rules_file'
LANGUAGE C STABLE CALLED ON NULL INPUT;

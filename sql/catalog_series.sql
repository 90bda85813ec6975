-- Series catalog: get-or-create, lookups, validation, tenants, transactions.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS alloy;

-- The same label set gives the same series, whatever the key order in jsonb
-- and with empty values dropped (Prometheus: an empty value is no label).
SELECT alloy.series_get_or_create('{"__name__": "up", "job": "node", "instance": "a:9100"}', 'cat-series') AS s1 \gset
SELECT alloy.series_get_or_create('{"instance": "a:9100", "job": "node", "__name__": "up"}', 'cat-series') = :s1 AS same_order;
SELECT alloy.series_get_or_create('{"instance": "a:9100", "job": "node", "__name__": "up", "x": ""}', 'cat-series') = :s1 AS empty_dropped;
SELECT alloy.series_lookup('{"__name__": "up", "job": "node", "instance": "a:9100"}', 'cat-series') = :s1 AS lookup;
SELECT alloy.series_get_or_create('{"__name__": "up", "job": "node", "instance": "b:9100"}', 'cat-series') <> :s1 AS different;
SELECT alloy.series_lookup('{"__name__": "up", "job": "node", "instance": "c:9100"}', 'cat-series') IS NULL AS absent;
SELECT alloy.series_lookup('{"__name__": "up"}', 'cat-no-such-tenant') IS NULL AS no_tenant;

-- Series without __name__ are allowed, as in Prometheus.
SELECT alloy.series_get_or_create('{"job": "node"}', 'cat-series') > 0 AS no_metric_name;

-- The view: metric, labels with __name__, tenant.
SELECT metric, labels, tenant FROM alloy.series WHERE tenant = 'cat-series' ORDER BY series_id;
SELECT alloy.label_names('cat-series');
SELECT alloy.label_values('instance', 'cat-series');
SELECT alloy.label_values('nope', 'cat-series');

-- Tenants are separate: the same labels in another tenant are another series.
SELECT alloy.series_get_or_create('{"__name__": "up", "job": "node", "instance": "a:9100"}', 'cat-other') <> :s1 AS other_tenant;
SELECT alloy.label_values('instance', 'cat-other');
SELECT name FROM alloy.tenants WHERE name LIKE 'cat-%' OR tenant_id = 0 ORDER BY tenant_id;
-- NULL and '' are the default tenant, also by name.
SELECT alloy.series_get_or_create('{"__name__": "cat_default_probe"}') AS d1 \gset
SELECT alloy.series_get_or_create('{"__name__": "cat_default_probe"}', '') = :d1 AS empty_is_default,
       alloy.series_get_or_create('{"__name__": "cat_default_probe"}', NULL) = :d1 AS null_is_default,
       alloy.series_get_or_create('{"__name__": "cat_default_probe"}', 'default') = :d1 AS named_default;

-- Validation errors.
SELECT alloy.series_get_or_create('["up"]');
SELECT alloy.series_get_or_create('"up"');
SELECT alloy.series_get_or_create('{}');
SELECT alloy.series_get_or_create('{"a": ""}');
SELECT alloy.series_get_or_create('{"__name__": "up", "job": 1}');
SELECT alloy.series_get_or_create('{"__name__": "up", "job": null}');
SELECT alloy.series_get_or_create('{"__name__": "up", "job": {"a": "b"}}');
SELECT alloy.series_get_or_create('{"__name__": "up", "1abc": "x"}');
SELECT alloy.series_get_or_create('{"__name__": "up", "a-b": "x"}');
SELECT alloy.series_get_or_create('{"__name__": "up", "": "x"}');
SELECT alloy.series_get_or_create('{"__name__": "1up"}');
SELECT alloy.series_get_or_create('{"__name__": "up:rate5m", "_ok_Name9": "x"}', 'cat-series') > 0 AS valid_names;
SELECT alloy.series_get_or_create('{"__name__": "up"}', 'bad tenant');
SELECT alloy.series_get_or_create('{"__name__": "up"}', '..');
SELECT alloy.series_get_or_create('{"__name__": "up"}', repeat('t', 151));
SELECT alloy.series_get_or_create(('{"__name__": "up", "big": "' || repeat('x', 3000) || '"}')::jsonb);

-- Rolled-back series vanish, also from the cache: the same labels get a new
-- id afterwards, and that id exists.
BEGIN;
SELECT alloy.series_get_or_create('{"__name__": "cat_rollback"}', 'cat-series') AS r1 \gset
SELECT alloy.series_get_or_create('{"__name__": "cat_rollback"}', 'cat-series') = :r1 AS stable_in_xact;
ROLLBACK;
SELECT alloy.series_lookup('{"__name__": "cat_rollback"}', 'cat-series') IS NULL AS gone;
SELECT alloy.series_get_or_create('{"__name__": "cat_rollback"}', 'cat-series') <> :r1 AS new_id;
SELECT count(*) FROM alloy.series WHERE labels = '{"__name__": "cat_rollback"}' AND tenant = 'cat-series';

-- The same with a subtransaction: its series go, the outer ones stay.
BEGIN;
SELECT alloy.series_get_or_create('{"__name__": "cat_outer"}', 'cat-series') AS o1 \gset
SAVEPOINT sp;
SELECT alloy.series_get_or_create('{"__name__": "cat_inner"}', 'cat-series') AS i1 \gset
ROLLBACK TO SAVEPOINT sp;
SELECT alloy.series_lookup('{"__name__": "cat_inner"}', 'cat-series') IS NULL AS inner_gone;
SELECT alloy.series_get_or_create('{"__name__": "cat_inner"}', 'cat-series') <> :i1 AS inner_new_id;
SELECT alloy.series_get_or_create('{"__name__": "cat_outer"}', 'cat-series') = :o1 AS outer_kept;
SAVEPOINT sp2;
SELECT alloy.series_get_or_create('{"__name__": "cat_inner2"}', 'cat-series') AS i2 \gset
RELEASE SAVEPOINT sp2;
COMMIT;
SELECT alloy.series_lookup('{"__name__": "cat_inner2"}', 'cat-series') = :i2 AS released_kept;
SELECT count(*) FROM alloy.series WHERE tenant = 'cat-series' AND metric LIKE 'cat_%';

-- A tenant created in a rolled-back transaction does not exist afterwards.
BEGIN;
SELECT alloy.series_get_or_create('{"__name__": "up"}', 'cat-ghost') > 0 AS created;
ROLLBACK;
SELECT count(*) FROM alloy.tenants WHERE name = 'cat-ghost';
SELECT alloy.series_lookup('{"__name__": "up"}', 'cat-ghost') IS NULL AS ghost_gone;

-- Label ids are stored sorted.
SELECT label_ids = (SELECT array_agg(x ORDER BY x) FROM unnest(label_ids) x) AS sorted
FROM alloy.series_catalog WHERE series_id = :s1;

-- The cache answers known series.
SELECT alloy.series_lookup('{"__name__": "up", "job": "node", "instance": "a:9100"}', 'cat-series') = :s1 AS warm;
SELECT hits > 0 AS cache_hits, entries > 0 AS cache_entries FROM alloy.series_cache_stats();

-- The C functions bypass table privileges, so EXECUTE is not public.
CREATE ROLE regress_alloy_catalog;
GRANT USAGE ON SCHEMA alloy TO regress_alloy_catalog;
SET ROLE regress_alloy_catalog;
SELECT alloy.series_get_or_create('{"__name__": "up"}');
SELECT alloy.write('{"__name__": "up"}', now(), 1);
SELECT * FROM alloy.match_series('[["__name__", "=", "up"]]');
RESET ROLE;
GRANT EXECUTE ON FUNCTION alloy.series_lookup(jsonb, text) TO regress_alloy_catalog;
SET ROLE regress_alloy_catalog;
SELECT alloy.series_lookup('{"__name__": "up", "job": "node", "instance": "a:9100"}', 'cat-series') = :s1 AS granted;
RESET ROLE;
REVOKE ALL ON FUNCTION alloy.series_lookup(jsonb, text) FROM regress_alloy_catalog;
REVOKE USAGE ON SCHEMA alloy FROM regress_alloy_catalog;
DROP ROLE regress_alloy_catalog;

-- Label names and values without matchers (alloy.label_names, alloy.label_values):
-- sorted bytewise, per tenant, only committed labels, unknown tenants empty.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS alloy;

SELECT count(alloy.series_get_or_create(l::jsonb, 'cat-labels')) FROM (VALUES
	('{"__name__": "up", "job": "api", "zone": "B"}'),
	('{"__name__": "up", "job": "web", "zone": "a"}'),
	('{"__name__": "up", "job": "db", "zone": "Z"}'),
	('{"__name__": "up", "job": "db", "zone": "_"}'),
	('{"__name__": "up", "job": "db", "zone": "10"}'),
	('{"__name__": "up", "job": "db", "zone": "9"}'),
	('{"__name__": "Up", "job": "x", "Zone": "1"}'),
	('{"__name__": "node_load1", "instance": "n1", "env": ""}')
) v(l);
-- a name with many values, between others: the names are read by skipping
SELECT count(alloy.series_get_or_create(jsonb_build_object('__name__', 'many', 'i', i::text,
															'j', (i % 3)::text), 'cat-labels'))
FROM generate_series(1, 1000) i;
-- the same labels in another tenant, plus one of its own
SELECT alloy.series_get_or_create('{"__name__": "up", "job": "api", "other": "yes"}',
								  'cat-labels-2') > 0;
-- labels of an aborted series never show
BEGIN;
SELECT alloy.series_get_or_create('{"__name__": "aborted", "ghost": "boo", "job": "ghost"}',
								  'cat-labels') > 0;
ROLLBACK;

SELECT alloy.label_names('cat-labels');
SELECT * FROM alloy.label_names('cat-labels-2');
SELECT alloy.label_values('zone', 'cat-labels');
SELECT alloy.label_values('job', 'cat-labels');
SELECT * FROM alloy.label_values('__name__', 'cat-labels');
SELECT count(*), min(v), max(v) FROM alloy.label_values('i', 'cat-labels') v;
SELECT alloy.label_values('j', 'cat-labels');
SELECT alloy.label_values('job', 'cat-labels-2');
-- nothing: an empty value is no label, unknown names, tenants and NULL
SELECT count(*) FROM alloy.label_values('env', 'cat-labels');
SELECT count(*) FROM alloy.label_values('ghost', 'cat-labels');
SELECT count(*) FROM alloy.label_values('nosuch', 'cat-labels');
SELECT count(*) FROM alloy.label_values(NULL, 'cat-labels');
SELECT count(*) FROM alloy.label_names('cat-labels-nosuch');
SELECT count(*) FROM alloy.label_values('job', 'cat-labels-nosuch');
SELECT count(*) FROM alloy.label_names('not a valid/tenant name');
SELECT count(*) FROM alloy.label_values('job', '..');
-- NULL, '' and 'default' all name the default tenant
SELECT (SELECT array_agg(n) FROM alloy.label_names() n) IS NOT DISTINCT FROM
	   (SELECT array_agg(n) FROM alloy.label_names('') n) AS same_empty,
	   (SELECT array_agg(n) FROM alloy.label_names() n) IS NOT DISTINCT FROM
	   (SELECT array_agg(n) FROM alloy.label_names('default') n) AS same_default;
-- the order is bytewise (COLLATE "C"), whatever the database's collation
SELECT array_agg(v) = array_agg(v ORDER BY v COLLATE "C") AS sorted
FROM alloy.label_values('zone', 'cat-labels') v;

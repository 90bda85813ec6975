-- Rule groups stored in SQL (sql/install/60_rules.sql): alloy.rules_load,
-- the alloy.rules view, alloy.rules_file, set and delete of groups and
-- namespaces, tenants kept apart, refused files and privileges. The files
-- rules_file writes were checked with `promtool check rules` (Prometheus
-- 2.42): SUCCESS, 3 rules found (the round trip below) when written out.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS alloy;
\set VERBOSITY default

-- load a file into namespace "node" of tenant rules-a: two groups
SELECT alloy.rules_load($$
groups:
  - name: node.rules
    interval: 30s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          team: infra
  - name: node.alerts
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: page
        annotations:
          summary: "Instance {{ $labels.instance }} down"
      - alert: AlwaysOn
        expr: vector(1)
$$, 'node', 'rules-a');

SELECT tenant, namespace, "group", interval_ms, rule_index, kind, name, expr, "for",
       keep_firing_for, labels, annotations
FROM alloy.rules WHERE tenant = 'rules-a' ORDER BY namespace, "group" DESC, rule_index;

-- the group rows keep the load order and the canonical YAML
SELECT g.namespace, g.name, g.position, g.interval_ms FROM alloy.rule_groups g
JOIN alloy.tenants t USING (tenant_id) WHERE t.name = 'rules-a' ORDER BY position;

-- round trip: the written file loads again to the same rules
SELECT alloy.rules_file('node', 'rules-a');
SELECT alloy.rules_load(alloy.rules_file('node', 'rules-a'), 'copy', 'rules-a');
SELECT alloy.rules_file('copy', 'rules-a') = alloy.rules_file('node', 'rules-a') AS same;
SELECT count(*) FROM alloy.rules WHERE tenant = 'rules-a' AND namespace = 'copy';

-- replace: loading a namespace again replaces all its groups
SELECT alloy.rules_load($$
groups:
  - name: other
    rules:
      - record: x:sum
        expr: sum(x)
$$, 'copy', 'rules-a');
SELECT "group", name FROM alloy.rules WHERE tenant = 'rules-a' AND namespace = 'copy';

-- set a group: a new one goes last, an existing one is replaced in place
SELECT alloy.rules_set_group('node', $$
name: extra
rules:
  - record: y:sum
    expr: sum(y)
$$, 'rules-a');
SELECT alloy.rules_set_group('node', $$
name: node.rules
interval: 1m
rules:
  - record: job:up:count
    expr: count by (job) (up)
$$, 'rules-a');
SELECT g.name, g.position, g.interval_ms FROM alloy.rule_groups g
JOIN alloy.tenants t USING (tenant_id) WHERE t.name = 'rules-a' AND namespace = 'node' ORDER BY position;
SELECT "group", rule_index, name FROM alloy.rules
WHERE tenant = 'rules-a' AND namespace = 'node' AND "group" IN ('node.rules', 'extra') ORDER BY 1, 2;
-- a bad group is refused
SELECT alloy.rules_set_group('node', 'name: bad
rules:
  - record: z
    expr: sum(', 'rules-a');

-- delete a group, then a namespace
SELECT alloy.rules_delete_group('node', 'extra', 'rules-a');
SELECT alloy.rules_delete_group('node', 'extra', 'rules-a');
SELECT alloy.rules_delete_group('node', 'extra', 'no-such-tenant');
SELECT alloy.rules_delete_namespace('copy', 'rules-a');
SELECT alloy.rules_delete_namespace('copy', 'rules-a');
SELECT DISTINCT namespace FROM alloy.rules WHERE tenant = 'rules-a';

-- tenants are kept apart: the same namespace and group in rules-b
SELECT alloy.rules_load($$
groups:
  - name: node.rules
    rules:
      - record: b:sum
        expr: sum(b)
$$, 'node', 'rules-b');
SELECT tenant, "group", name FROM alloy.rules WHERE tenant IN ('rules-a', 'rules-b') AND "group" = 'node.rules'
ORDER BY tenant;
SELECT alloy.rules_delete_namespace('node', 'rules-b');
SELECT count(*) FROM alloy.rules WHERE tenant = 'rules-a';
SELECT alloy.rules_file(NULL, 'no-such-tenant');

-- bad files are refused with the parser's message; nothing changes
SELECT alloy.rules_load('groups: [', 'node', 'rules-a');
SELECT alloy.rules_load('groups:
  - name: g
    rules:
      - record: a
        expr: up
        colour: red', 'node', 'rules-a');
SELECT alloy.rules_load('groups:
  - name: g
    rules:
      - record: a
        expr: sum(up', 'node', 'rules-a');
SELECT alloy.rules_load('groups:
  - name: g
    rules:
      - alert: A
        expr: up
        annotations:
          summary: "{{ .Foo "', 'node', 'rules-a');
SELECT alloy.rules_load('groups:
  - name: g
    rules:
      - record: a
        expr: up
  - name: g
    rules:
      - record: b
        expr: up', 'node', 'rules-a');
SELECT alloy.rules_load(NULL, 'node', 'rules-a');
SELECT alloy.rules_load('groups: []', '', 'rules-a');
SELECT count(*), string_agg(DISTINCT "group", ',' ORDER BY "group") FROM alloy.rules WHERE tenant = 'rules-a';

-- the default tenant: an empty file stores no groups
SELECT alloy.rules_load('', 'empty');
SELECT alloy.rules_file('empty');

-- privileges: the functions are not public; a reader may list
CREATE ROLE regress_alloy_rules;
GRANT USAGE ON SCHEMA alloy TO regress_alloy_rules;
SET ROLE regress_alloy_rules;
SELECT alloy.rules_load('groups: []', 'node', 'rules-a');
SELECT alloy.rules_delete_namespace('node', 'rules-a');
SELECT alloy.rules_file('node', 'rules-a');
SELECT count(*) FROM alloy.rules;
RESET ROLE;
SELECT alloy.grant_reader('regress_alloy_rules');
SET ROLE regress_alloy_rules;
SELECT count(*) FROM alloy.rules WHERE tenant = 'rules-a';
SELECT length(alloy.rules_file('node', 'rules-a')) > 0 AS reads;
SELECT alloy.rules_set_group('node', 'name: x
rules: []', 'rules-a');
RESET ROLE;
DROP OWNED BY regress_alloy_rules;
DROP ROLE regress_alloy_rules;

SELECT alloy.rules_delete_namespace('node', 'rules-a');
SELECT count(*) FROM alloy.rule_groups g JOIN alloy.tenants t USING (tenant_id)
WHERE t.name IN ('rules-a', 'rules-b');

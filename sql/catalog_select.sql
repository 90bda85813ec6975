-- Series selection with PromQL label matchers (alloy.match_series).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS alloy;

SELECT count(alloy.series_get_or_create(l::jsonb, 'cat-select')) FROM (VALUES
	('{"__name__": "http_requests_total", "job": "api", "method": "GET", "code": "200"}'),
	('{"__name__": "http_requests_total", "job": "api", "method": "POST", "code": "200"}'),
	('{"__name__": "http_requests_total", "job": "api", "method": "GET", "code": "500"}'),
	('{"__name__": "http_requests_total", "job": "web", "method": "GET", "code": "200"}'),
	('{"__name__": "http_requests_total", "job": "web", "code": "404"}'),
	('{"__name__": "up", "job": "api"}'),
	('{"__name__": "up", "job": "web"}'),
	('{"__name__": "up", "job": "db", "env": ""}'),
	('{"__name__": "node_load1", "instance": "n1", "env": "prod"}'),
	('{"__name__": "node_load1", "instance": "n2", "env": "dev"}'),
	('{"__name__": "node_load1", "instance": "n3"}'),
	('{"job": "nameless"}')
) v(l);
-- The same label set in another tenant must never show up here.
SELECT alloy.series_get_or_create('{"__name__": "up", "job": "api"}', 'cat-select-other') > 0;

CREATE FUNCTION cat_match(m jsonb) RETURNS SETOF jsonb LANGUAGE sql AS
$$ SELECT labels FROM alloy.match_series(m, 'cat-select') $$;

-- equality, intersection
SELECT cat_match('[["__name__", "=", "up"]]');
SELECT cat_match('[["__name__", "=", "http_requests_total"], ["method", "=", "GET"], ["code", "=", "200"]]');
SELECT cat_match('[["__name__", "=", "nope"]]');
SELECT cat_match('[["__name__", "=", "up"], ["job", "=", "nope"]]');
-- != subtracts; series without the label match it
SELECT cat_match('[["__name__", "=", "http_requests_total"], ["method", "!=", "GET"]]');
-- ="" means "label absent"; !="" means "label present"
SELECT cat_match('[["__name__", "=", "node_load1"], ["env", "=", ""]]');
SELECT cat_match('[["__name__", "=", "node_load1"], ["env", "!=", ""]]');
-- regex: anchored, alternation, prefix, negation
SELECT cat_match('[["__name__", "=~", "up|node_load1"], ["job", "=~", "a.*"]]');
SELECT cat_match('[["__name__", "=", "http_requests_total"], ["code", "=~", "2.."]]');
SELECT cat_match('[["__name__", "=", "http_requests_total"], ["code", "=~", "0"]]');
SELECT cat_match('[["__name__", "=", "http_requests_total"], ["job", "=~", "ap"]]');
SELECT cat_match('[["__name__", "=~", "http_.*"], ["code", "!~", "2.*|4.*"]]');
SELECT cat_match('[["__name__", "=", "node_load1"], ["env", "=~", "prod|"]]');
SELECT cat_match('[["__name__", "=", "node_load1"], ["env", "!~", ".+"]]');
SELECT cat_match('[["__name__", "=", "node_load1"], ["env", "=~", ".+"]]');
SELECT cat_match('[["__name__", "=~", "(?i)UP"]]');
-- only negative matchers: every series of the tenant is a candidate
SELECT cat_match('[["__name__", "!=", "http_requests_total"], ["job", "!~", "web|api"]]');
-- no matchers at all: everything
SELECT count(*) FROM cat_match('[]');
-- the other tenant
SELECT labels FROM alloy.match_series('[["__name__", "=", "up"]]', 'cat-select-other');
SELECT count(*) FROM alloy.match_series('[["__name__", "=", "up"]]', 'cat-no-such-tenant');
-- bad input (regex messages come from the PromQL regex module: check the code)
CREATE FUNCTION cat_match_err(m jsonb) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN PERFORM cat_match(m); RETURN 'ok'; EXCEPTION WHEN others THEN RETURN SQLSTATE; END $$;
SELECT cat_match_err('[["job", "=~", "a(b"]]');
SELECT cat_match_err('[["job", "=~", "(?=a)"]]');
SELECT cat_match_err('[["job", "!~", "\\1"]]');
DROP FUNCTION cat_match_err(jsonb);
SELECT cat_match('[["job", "==", "a"]]');
SELECT cat_match('[["job", "="]]');
SELECT cat_match('{"job": "a"}');
SELECT cat_match('[["job", "=", 1]]');
-- ids come back with labels sorted by name, series sorted by label set
SELECT series_id = alloy.series_lookup(labels, 'cat-select') AS consistent, count(*)
FROM alloy.match_series('[["__name__", "=~", ".+"]]', 'cat-select') GROUP BY 1;
DROP FUNCTION cat_match(jsonb);

-- A dropped and re-created extension starts a new catalog: series ids cached
-- for the old one (in shared memory, or in this backend) must not be served.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS alloy;
SELECT alloy.series_get_or_create('{"__name__": "cat_epoch_a"}', 'cat-epoch') > 0 AS a;
SELECT alloy.series_get_or_create('{"__name__": "cat_epoch_b"}', 'cat-epoch') > 0 AS b;
SELECT alloy.series_lookup('{"__name__": "cat_epoch_b"}', 'cat-epoch') > 0 AS b_cached;
-- reuses the committed label __name__=cat_epoch_a (now in the label cache)
SELECT alloy.series_get_or_create('{"__name__": "cat_epoch_a", "x": "1"}', 'cat-epoch') > 0 AS a1;
DROP EXTENSION alloy CASCADE;
CREATE EXTENSION alloy;
-- b is not there any more, and its old id is not served from the cache
SELECT alloy.series_lookup('{"__name__": "cat_epoch_b"}', 'cat-epoch') IS NULL AS b_gone;
-- new series ids start again at 1, and each id names the right labels
SELECT alloy.series_get_or_create('{"__name__": "cat_epoch_b"}', 'cat-epoch') AS b_new;
SELECT alloy.series_get_or_create('{"__name__": "cat_epoch_a"}', 'cat-epoch') AS a_new;
-- committed now; then a series sharing its label must get the new label id
SELECT alloy.series_get_or_create('{"__name__": "cat_epoch_a", "x": "1"}', 'cat-epoch') AS a1_new;
SELECT series_id, labels, tenant FROM alloy.series ORDER BY series_id;

-- The series catalog's indexes stay small per series: the unique index is
-- keyed on the label-set hash pair (not on the label id array), and the GIN
-- label index merges its pending list often instead of leaving merged
-- pending-list pages behind.
CREATE EXTENSION IF NOT EXISTS alloy;
SELECT pg_get_indexdef(indexrelid) AS definition
FROM pg_index WHERE indrelid = 'alloy.series_catalog'::regclass
ORDER BY 1;

SELECT count(alloy.series_get_or_create(
         jsonb_build_object('__name__', 'index_size_metric', 'instance', 'host-' || (i / 20),
                            'cpu', (i % 20)::text, 'mode', 'user', 'job', 'node',
                            'env', 'prod', 'dc', 'dc' || (i % 3))))
FROM generate_series(1, 5000) i;
-- with the default 4 MB pending list this index takes well over 100 bytes per series
SELECT pg_relation_size('alloy.series_catalog_label_ids_idx') / count(*) < 40 AS gin_small
FROM alloy.series_catalog;

# src/series: the series catalog.
ALLOY_OBJS += src/series/series_catalog.o src/series/series_cache.o src/series/series_local.o \
	src/series/series_rels.o src/series/series_tables.o \
	src/series/series_labels.o src/series/series_labelidx.o src/series/series_matchers.o \
	src/series/series_postings.o src/series/series_select.o
REGRESS += catalog_series catalog_select catalog_write catalog_indexes catalog_epoch \
	catalog_labels

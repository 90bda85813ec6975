# Objects and regression tests of src/catalog (see the top-level Makefile).
CATALOG_OBJS += src/catalog/catalog.o src/catalog/catalog_cache.o src/catalog/catalog_tables.o \
	src/catalog/catalog_select.o src/catalog/catalog_sql.o \
	src/catalog/catalog_labelidx.o src/catalog/catalog_labels.o
REGRESS += catalog_series catalog_select catalog_write catalog_indexes catalog_epoch \
	catalog_labels

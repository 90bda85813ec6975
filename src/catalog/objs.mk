# Objects and regression tests of src/catalog (see the top-level Makefile).
CATALOG_OBJS +=

# Objects and regression tests of src/ingest (see the top-level Makefile).
INGEST_OBJS +=

# Objects and regression tests of src/storage (see the top-level Makefile).
STORAGE_OBJS +=

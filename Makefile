# alloy: a Prometheus-compatible metrics store inside PostgreSQL (PGXS build).
#
# Each subsystem lists its own objects and regression tests in src/<subsystem>/objs.mk,
# so the module list stays explicit without one file that every change must touch.

EXTENSION = alloy
EXTVERSION = 0.1.0
MODULE_big = alloy

# Folders from the bottom layer up (docs/design.md has the picture).
ALLOY_FOLDERS = base codec wire runtime store series promql query ingest rules httpd api

ALLOY_OBJS =
REGRESS = extension settings grafana_sql

include $(foreach f,$(ALLOY_FOLDERS),src/$(f)/objs.mk)

OBJS = src/alloy.o $(ALLOY_OBJS)

# The install script is assembled from one fragment per subsystem (sql/install/NN_*.sql)
# in file-name order; upgrade scripts (alloy--A--B.sql) ship as they are.
INSTALL_FRAGMENTS = $(sort $(wildcard sql/install/*.sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*--*.sql))

PG_CPPFLAGS = -I$(srcdir)/src -std=gnu11 -Wno-declaration-after-statement
SHLIB_LINK = -lmicrohttpd -lprotobuf-c -lsnappy -lpcre2-8 -lyaml -lz -lm
EXTRA_CLEAN = $(GENERATED_SRCS) test/unit/build test/fuzz/build

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_FRAGMENTS)
	cat $^ > $@

# Every object depends on the shared headers, so header edits rebuild what they must.
$(OBJS): $(wildcard src/*.h src/*/*.h) $(GENERATED_SRCS)

.PHONY: unit fuzz test conformance bench prove_installcheck

unit:
	$(MAKE) -C test/unit

fuzz:
	$(MAKE) -C test/fuzz

# The README's test command: every suite, one closing totals line.
test:
	test/run-all

conformance:
	test/promql/run-conformance $(if $(PROMQL_TESTS),--tests $(PROMQL_TESTS))

bench:
	bench/run

prove_installcheck:
	test/run-all --only tap

# Objects and regression tests of src/ingest (see the top-level Makefile).
#
# The protobuf-c message code is generated from our own .proto files at build
# time (never committed); `make clean` removes it through GENERATED_SRCS.

INGEST_PROTOS = src/ingest/types.proto src/ingest/remote.proto src/ingest/write_v2.proto
INGEST_PB_C = $(INGEST_PROTOS:.proto=.pb-c.c)
INGEST_PB_H = $(INGEST_PROTOS:.proto=.pb-c.h)
GENERATED_SRCS += $(INGEST_PB_C) $(INGEST_PB_H)

INGEST_OBJS += $(INGEST_PB_C:.c=.o) src/ingest/rw_decode.o

# This file is read before PGXS: name `all` first so the rule below does not
# become make's default goal (PGXS adds all's prerequisites later).
all:

# One protoc-c run writes every .pb-c.c/.h pair (a grouped target).
$(INGEST_PB_C) $(INGEST_PB_H) &: $(INGEST_PROTOS)
	protoc-c --proto_path=src/ingest --c_out=src/ingest $(notdir $(INGEST_PROTOS))
INGEST_OBJS += src/ingest/ingest_write.o src/ingest/ingest_limits.o src/ingest/ingest_metadata.o \
	src/ingest/ingest_exemplars.o
REGRESS += exemplars

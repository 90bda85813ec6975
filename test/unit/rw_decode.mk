# Unit test of the remote-write decoder (src/ingest/rw_decode.c). The protobuf-c
# sources are generated into src/ingest/ exactly as the top-level build does.

# Keep `all` the default goal of test/unit/Makefile (this file is read first).
all:

UNIT_TESTS += test_rw_decode

RWD_PROTOS = $(addprefix $(TOP)/src/ingest/,types.proto remote.proto write_v2.proto)
RWD_PB_C = $(RWD_PROTOS:.proto=.pb-c.c)
RWD_PB_H = $(RWD_PROTOS:.proto=.pb-c.h)

$(RWD_PB_C) $(RWD_PB_H) &: $(RWD_PROTOS)
	protoc-c --proto_path=$(TOP)/src/ingest --c_out=$(TOP)/src/ingest $(notdir $(RWD_PROTOS))

$(BUILD)/test_rw_decode: test_rw_decode.c rw_compare.h $(TOP)/src/ingest/rw_decode.c \
		$(TOP)/src/ingest/rw_decode.h $(TOP)/src/catalog/labels_hash.h $(RWD_PB_C) $(RWD_PB_H) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ test_rw_decode.c $(TOP)/src/ingest/rw_decode.c $(RWD_PB_C) \
		$(LDLIBS) -lprotobuf-c -lsnappy

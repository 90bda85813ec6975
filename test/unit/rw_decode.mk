# Unit tests of src/wire/: the remote-write decoder (rw_*.c) and the
# remote-read answer encoder (rr_encode.c). The protobuf-c sources are
# generated into src/wire/ exactly as the top-level build does.

# Keep `all` the default goal of test/unit/Makefile (this file is read first).
all:

UNIT_TESTS += test_rw_decode test_rr_encode

RWD_PROTOS = $(addprefix $(TOP)/src/wire/,types.proto remote.proto write_v2.proto)
RWD_PB_C = $(RWD_PROTOS:.proto=.pb-c.c)
RWD_PB_H = $(RWD_PROTOS:.proto=.pb-c.h)

$(RWD_PB_C) $(RWD_PB_H) &: $(RWD_PROTOS)
	protoc-c --proto_path=$(TOP)/src/wire --c_out=$(TOP)/src/wire $(notdir $(RWD_PROTOS))

# the decoder's files, as src/wire/objs.mk lists them
RWD_SRCS = $(addprefix $(TOP)/src/wire/,rw_error.c rw_labels.c rw_symbols.c rw_pb.c \
	rw_reference.c rw_fast_v1.c rw_fast_v2.c rw_decode.c)

$(BUILD)/test_rw_decode: test_rw_decode.c rw_compare.h $(RWD_SRCS) $(TOP)/src/base/labels.c $(TOP)/src/base/arena.c \
		$(TOP)/src/wire/wire.h $(TOP)/src/wire/wire_int.h $(TOP)/src/base/base.h $(RWD_PB_C) $(RWD_PB_H) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ test_rw_decode.c $(RWD_SRCS) $(TOP)/src/base/labels.c $(TOP)/src/base/arena.c $(RWD_PB_C) \
		$(LDLIBS) -lprotobuf-c -lsnappy

$(BUILD)/test_rr_encode: test_rr_encode.c $(TOP)/src/wire/rr_encode.c \
		$(TOP)/src/wire/wire.h $(TOP)/src/base/base.h $(RWD_PB_C) $(RWD_PB_H) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ test_rr_encode.c $(TOP)/src/wire/rr_encode.c $(RWD_PB_C) \
		$(LDLIBS) -lprotobuf-c

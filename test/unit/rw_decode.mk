# Unit test of the remote-write decoder (src/wire/rw_decode.c). The protobuf-c
# sources are generated into src/wire/ exactly as the top-level build does.

# Keep `all` the default goal of test/unit/Makefile (this file is read first).
all:

UNIT_TESTS += test_rw_decode

RWD_PROTOS = $(addprefix $(TOP)/src/wire/,types.proto remote.proto write_v2.proto)
RWD_PB_C = $(RWD_PROTOS:.proto=.pb-c.c)
RWD_PB_H = $(RWD_PROTOS:.proto=.pb-c.h)

$(RWD_PB_C) $(RWD_PB_H) &: $(RWD_PROTOS)
	protoc-c --proto_path=$(TOP)/src/wire --c_out=$(TOP)/src/wire $(notdir $(RWD_PROTOS))

$(BUILD)/test_rw_decode: test_rw_decode.c rw_compare.h $(TOP)/src/wire/rw_decode.c $(TOP)/src/base/labels.c \
		$(TOP)/src/wire/wire.h $(TOP)/src/base/base.h $(RWD_PB_C) $(RWD_PB_H) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ test_rw_decode.c $(TOP)/src/wire/rw_decode.c $(TOP)/src/base/labels.c $(RWD_PB_C) \
		$(LDLIBS) -lprotobuf-c -lsnappy

# libFuzzer target over the whole remote-write decode path (src/wire/rw_*.c).

# Keep `all` the default goal of test/fuzz/Makefile (this file is read first).
all:

FUZZERS += fuzz_rw_decode

RWF_PROTOS = $(addprefix $(TOP)/src/wire/,types.proto remote.proto write_v2.proto)
RWF_PB_C = $(RWF_PROTOS:.proto=.pb-c.c)
RWF_PB_H = $(RWF_PROTOS:.proto=.pb-c.h)

$(RWF_PB_C) $(RWF_PB_H) &: $(RWF_PROTOS)
	protoc-c --proto_path=$(TOP)/src/wire --c_out=$(TOP)/src/wire $(notdir $(RWF_PROTOS))

# the decoder's files, as src/wire/objs.mk lists them
RWF_SRCS = $(addprefix $(TOP)/src/wire/,rw_error.c rw_labels.c rw_symbols.c rw_pb.c \
	rw_reference.c rw_fast_v1.c rw_fast_v2.c rw_decode.c)

$(BUILD)/fuzz_rw_decode: fuzz_rw_decode.c $(TOP)/test/unit/rw_compare.h $(RWF_SRCS) $(TOP)/src/base/labels.c $(TOP)/src/base/arena.c \
		$(TOP)/src/wire/wire.h $(TOP)/src/wire/wire_int.h $(TOP)/src/base/base.h \
		$(RWF_PB_C) $(RWF_PB_H) | $(BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz_rw_decode.c $(RWF_SRCS) $(TOP)/src/base/labels.c $(TOP)/src/base/arena.c $(RWF_PB_C) \
		-lprotobuf-c -lsnappy

# libFuzzer target over the whole remote-write decode path (src/wire/rw_decode.c).

# Keep `all` the default goal of test/fuzz/Makefile (this file is read first).
all:

FUZZERS += fuzz_rw_decode

RWF_PROTOS = $(addprefix $(TOP)/src/wire/,types.proto remote.proto write_v2.proto)
RWF_PB_C = $(RWF_PROTOS:.proto=.pb-c.c)
RWF_PB_H = $(RWF_PROTOS:.proto=.pb-c.h)

$(RWF_PB_C) $(RWF_PB_H) &: $(RWF_PROTOS)
	protoc-c --proto_path=$(TOP)/src/wire --c_out=$(TOP)/src/wire $(notdir $(RWF_PROTOS))

$(BUILD)/fuzz_rw_decode: fuzz_rw_decode.c $(TOP)/test/unit/rw_compare.h $(TOP)/src/wire/rw_decode.c \
		$(TOP)/src/wire/wire.h $(TOP)/src/base/base.h \
		$(RWF_PB_C) $(RWF_PB_H) | $(BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz_rw_decode.c $(TOP)/src/wire/rw_decode.c $(TOP)/src/base/labels.c $(RWF_PB_C) \
		-lprotobuf-c -lsnappy

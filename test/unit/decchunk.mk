# Unit test of the decimal chunk codec (src/codec/decchunk.c): bit-exact
# round trips of every kind of value, sizes, error paths.
# `build/test_decchunk --bench` times it next to the XOR codec.
UNIT_TESTS += test_decchunk

$(BUILD)/test_decchunk: test_decchunk.c unit.h rng.h $(TOP)/src/codec/decchunk.c \
		$(TOP)/src/codec/codec.h $(TOP)/src/codec/xorchunk.c | $(BUILD)
	$(CC) $(CFLAGS) -o $@ test_decchunk.c $(TOP)/src/codec/decchunk.c \
		$(TOP)/src/codec/xorchunk.c $(LDLIBS)

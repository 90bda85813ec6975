# libFuzzer target of the XOR chunk codec (src/codec/xorchunk.c): decoding
# arbitrary bytes, and encode/decode round trips of samples made from the input.
FUZZERS += fuzz_xorchunk

$(BUILD)/fuzz_xorchunk: fuzz_xorchunk.c $(TOP)/src/codec/xorchunk.c \
		$(TOP)/src/codec/codec.h | $(BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz_xorchunk.c $(TOP)/src/codec/xorchunk.c

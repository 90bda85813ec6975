# libFuzzer target of the decimal chunk codec (src/codec/decchunk.c):
# decoding arbitrary bytes, and bit-exact round trips of samples made from
# the input.
FUZZERS += fuzz_decchunk

$(BUILD)/fuzz_decchunk: fuzz_decchunk.c $(TOP)/src/codec/decchunk.c \
		$(TOP)/src/codec/codec.h | $(BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz_decchunk.c $(TOP)/src/codec/decchunk.c -lm

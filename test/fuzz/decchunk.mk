# libFuzzer target of the decimal chunk codec (src/storage/decchunk.c):
# decoding arbitrary bytes, and bit-exact round trips of samples made from
# the input.
FUZZERS += fuzz_decchunk

$(BUILD)/fuzz_decchunk: fuzz_decchunk.c $(TOP)/src/storage/decchunk.c \
		$(TOP)/src/storage/decchunk.h | $(BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz_decchunk.c $(TOP)/src/storage/decchunk.c -lm

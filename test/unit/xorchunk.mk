# Unit test of the XOR chunk codec (src/codec/xorchunk.c): golden chunks from
# a real Prometheus (xorchunk_golden.h, see test/tools/golden_chunks.py), random
# round trips, error paths. `build/test_xorchunk --bench` times the codec.
UNIT_TESTS += test_xorchunk

$(BUILD)/test_xorchunk: test_xorchunk.c xorchunk_golden.h unit.h rng.h \
		$(TOP)/src/codec/xorchunk.c $(TOP)/src/codec/codec.h | $(BUILD)
	$(CC) $(CFLAGS) -o $@ test_xorchunk.c $(TOP)/src/codec/xorchunk.c $(LDLIBS)

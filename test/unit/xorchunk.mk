# Unit test of the XOR chunk codec (src/storage/xorchunk.c): golden chunks from
# a real Prometheus (xorchunk_golden.h, see test/tools/golden_chunks.py), random
# round trips, error paths. `build/test_xorchunk --bench` times the codec.
UNIT_TESTS += test_xorchunk

$(BUILD)/test_xorchunk: test_xorchunk.c xorchunk_golden.h unit.h rng.h \
		$(TOP)/src/storage/xorchunk.c $(TOP)/src/storage/xorchunk.h | $(BUILD)
	$(CC) $(CFLAGS) -o $@ test_xorchunk.c $(TOP)/src/storage/xorchunk.c $(LDLIBS)

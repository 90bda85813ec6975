# Unit test of the label-set hash shared by ingest and the series catalog.
UNIT_TESTS += test_labels_hash

$(BUILD)/test_labels_hash: test_labels_hash.c $(TOP)/src/base/base.h unit.h | $(BUILD)
	$(CC) $(CFLAGS) -o $@ test_labels_hash.c $(LDLIBS)

# Unit test of the HTTP API's JSON spelling (src/runtime/json.c), built against
# the frontend libpgcommon (StringInfo, Ryu). `build/test_json --bench [N]`
# measures the encoder alone; the default run only checks spellings.
UNIT_TESTS += test_json

PG_CONFIG ?= pg_config
JSON_PGINC := $(shell $(PG_CONFIG) --includedir-server)
JSON_PGLIB := $(shell $(PG_CONFIG) --pkglibdir)

$(BUILD)/test_json: test_json.c $(TOP)/src/runtime/json.c $(TOP)/src/runtime/runtime.h unit.h | $(BUILD)
	$(CC) $(CFLAGS) -DFRONTEND -isystem $(JSON_PGINC) -o $@ test_json.c $(TOP)/src/runtime/json.c \
		-L$(JSON_PGLIB) -lpgcommon -lpgport $(LDLIBS)

# Unit test of the common bump arena (src/base/arena.c): limits, reset, hooks.
UNIT_TESTS += test_arena

$(BUILD)/test_arena: test_arena.c $(TOP)/src/base/arena.c $(TOP)/src/base/base.h unit.h | $(BUILD)
	$(CC) $(CFLAGS) -DALLOY_ARENA_CLOBBER -o $@ test_arena.c $(TOP)/src/base/arena.c $(LDLIBS)

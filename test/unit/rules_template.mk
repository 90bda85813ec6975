# Rule templates (src/rules/tmpl_*.c): cases confirmed with promtool, refusals,
# execution errors and work bounds.  The engine's files are the ones
# src/rules/objs.mk lists (RULES_TEMPLATE_SRCS).
include $(TOP)/src/rules/objs.mk
RULES_TMPL_ENGINE = $(TOP)/src/base/arena.c $(TOP)/src/base/labels.c $(TOP)/src/base/regex.c \
	$(addprefix $(TOP)/,$(RULES_TEMPLATE_SRCS))

UNIT_TESTS += test_rules_template

$(BUILD)/test_rules_template: test_rules_template.c rules_template_cases.h $(RULES_TMPL_ENGINE) \
		$(TOP)/src/rules/rules_int.h $(TOP)/src/base/base.h | $(BUILD)
	$(CC) $(CFLAGS) -DALLOY_ARENA_CLOBBER -o $@ test_rules_template.c $(RULES_TMPL_ENGINE) $(LDLIBS) -lpcre2-8

# The cases confirmed again by Prometheus's promtool, when it is installed:
# one check, or a skip (not counted as a pass) without promtool.
UNIT_TESTS += rules_template_promtool

$(BUILD)/rules_template_promtool: rules_template.mk | $(BUILD)
	printf '%s\n' '#!/bin/sh' \
		'if ! command -v promtool >/dev/null 2>&1; then echo "promtool absent: template cases not rechecked"; echo "0 passed, 0 failed, 1 skipped"; exit 0; fi' \
		'd=$$(mktemp -d) || exit 1' \
		'if python3 $(TOP)/test/unit/rules_template/mkcases.py --out "$$d" >"$$d/log" 2>&1; then echo "1 passed, 0 failed"; rm -rf "$$d"; exit 0; fi' \
		'cat "$$d/log"; rm -rf "$$d"; echo "0 passed, 1 failed"; exit 1' > $@
	chmod +x $@

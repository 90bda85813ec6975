# src/rules: Prometheus rule files, Go-style templates and (to come) rule evaluation.
RULES_TEMPLATE_SRCS = src/rules/tmpl_lex.c src/rules/tmpl_parse.c src/rules/tmpl_value.c src/rules/tmpl_fmt.c src/rules/tmpl_printf.c src/rules/tmpl_funcs.c src/rules/tmpl_promfuncs.c src/rules/tmpl_strfuncs.c src/rules/tmpl_case.c src/rules/tmpl_linkfuncs.c src/rules/tmpl_regex.c src/rules/tmpl_exec.c
RULES_FILE_SRCS = src/rules/rules_yaml.c src/rules/rules_parse.c src/rules/rules_check.c src/rules/rules_emit.c
# Rule groups stored in SQL (PostgreSQL inside, so not linked by the unit tests).
RULES_STORE_SRCS = src/rules/rules_store.c
ALLOY_OBJS += $(RULES_TEMPLATE_SRCS:.c=.o) $(RULES_FILE_SRCS:.c=.o) $(RULES_STORE_SRCS:.c=.o)
REGRESS += rules

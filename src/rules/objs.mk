# src/rules: Prometheus rule files, Go-style templates and (to come) rule evaluation.
RULES_TEMPLATE_SRCS =
RULES_FILE_SRCS = src/rules/rules_yaml.c src/rules/rules_parse.c src/rules/rules_check.c src/rules/rules_emit.c
ALLOY_OBJS += $(RULES_TEMPLATE_SRCS:.c=.o) $(RULES_FILE_SRCS:.c=.o)

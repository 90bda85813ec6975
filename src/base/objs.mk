# src/base: the plain-C common layer (labels, regex, arena). See the top-level Makefile.
ALLOY_OBJS += src/base/arena.o src/base/labels.o src/base/regex.o

# src/wire: Prometheus's remote-write and remote-read wire formats (plain C).
#
# The protobuf-c message code is generated from our own .proto files at build
# time (never committed); `make clean` removes it through GENERATED_SRCS.

WIRE_PROTOS = src/wire/types.proto src/wire/remote.proto src/wire/write_v2.proto
WIRE_PB_C = $(WIRE_PROTOS:.proto=.pb-c.c)
WIRE_PB_H = $(WIRE_PROTOS:.proto=.pb-c.h)
GENERATED_SRCS += $(WIRE_PB_C) $(WIRE_PB_H)

# The remote-write decoder, bottom up (see wire_int.h), and the remote-read
# response encoder.
WIRE_SRCS = $(addprefix src/wire/,rw_error.c rw_labels.c rw_symbols.c rw_pb.c \
	rw_reference.c rw_fast_v1.c rw_fast_v2.c rw_decode.c rr_encode.c)

ALLOY_OBJS += $(WIRE_PB_C:.c=.o) $(WIRE_SRCS:.c=.o)

# This file is read before PGXS: name `all` first so the rule below does not
# become make's default goal (PGXS adds all's prerequisites later).
all:

# One protoc-c run writes every .pb-c.c/.h pair (a grouped target).
$(WIRE_PB_C) $(WIRE_PB_H) &: $(WIRE_PROTOS)
	protoc-c --proto_path=src/wire --c_out=src/wire $(notdir $(WIRE_PROTOS))

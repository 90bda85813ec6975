# src/codec: the chunk codecs (plain C). See the top-level Makefile.
ALLOY_OBJS += src/codec/xorchunk.o src/codec/decchunk.o

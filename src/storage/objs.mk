# Objects and regression tests of src/storage (see the top-level Makefile).
STORAGE_OBJS +=
STORAGE_OBJS += src/storage/xorchunk.o src/storage/decchunk.o src/storage/chunk_codec.o src/storage/read_chunks.o
STORAGE_OBJS += src/storage/alloy_tableam.o src/storage/pages.o src/storage/head.o \
	src/storage/read.o src/storage/head_index.o src/storage/scan.o src/storage/seal.o src/storage/vacuum.o \
	src/storage/partition.o src/storage/sqlfuncs.o src/storage/worker.o \
	src/storage/copy_format.o
REGRESS += storage_basic storage_model storage_copy

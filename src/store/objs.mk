# src/store: the alloy table access method and sample storage.
ALLOY_OBJS += src/store/chunk_codec.o src/store/head_walk.o src/store/read_chunks.o \
	src/store/tableam.o src/store/pages.o src/store/head.o \
	src/store/read.o src/store/reader.o src/store/head_index.o src/store/scan.o src/store/seal.o src/store/vacuum.o \
	src/store/partition.o src/store/worker.o \
	src/store/copy_format.o
REGRESS += storage_basic storage_model storage_copy

# src/ingest: remote-write requests into series and samples.
ALLOY_OBJS += src/ingest/ingest_write.o src/ingest/ingest_limits.o src/ingest/ingest_metadata.o \
	src/ingest/ingest_exemplars.o
REGRESS += exemplars

# src/query: the PromQL engine inside the server, over the catalog and storage.
ALLOY_OBJS += src/query/query.o

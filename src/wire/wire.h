#ifndef ALLOY_WIRE_WIRE_H
#define ALLOY_WIRE_WIRE_H

/*
 * wire.h: Prometheus's remote-write and remote-read wire formats, the public
 * API of src/wire/ (plain C, no PostgreSQL calls).
 *
 * Decoding of remote-write request bodies (rw_decode.c and the files it
 * dispatches to, see wire_int.h):
 *
 * The HTTP worker hands us the raw POST /api/v1/write body together with its
 * Content-Type and Content-Encoding headers; we check the headers, undo the
 * snappy block compression, unpack the protobuf (remote write 1.0
 * prometheus.WriteRequest or 2.0 io.prometheus.write.v2.Request) and return one
 * flat, validated representation that the appender can walk without caring
 * which protocol version arrived: series with sorted label pairs and a
 * precomputed label-set hash, their float samples and exemplars, and
 * metadata entries.
 *
 * This layer is plain C with no PostgreSQL calls so unit tests and libFuzzer
 * can exercise it outside the server. All memory comes from a caller-supplied
 * allocator (the server passes palloc in a per-request memory context) and is
 * bounded by a constant factor of the decompressed size, which the caller caps.
 *
 * Errors carry the HTTP status the worker should answer with: 400 for a
 * malformed or invalid request (Prometheus drops it and never retries), 413
 * when the body or its decompressed form exceeds the limit, 415 for a content
 * type or encoding we do not speak. The message is one line, lower case.
 */

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/*
 * Allocator hooks of the request's arena (base.h): {alloc, free, arg}. alloc
 * returns NULL on failure (or does not return, as palloc); free may be NULL
 * when the memory lives in a context the caller resets anyway. The largest
 * single request is the decompressed body plus a 16-byte header, so with
 * palloc keep max_bytes below MaxAllocSize (1 GB) or allocate with
 * MCXT_ALLOC_HUGE.
 */
typedef AlloyAllocHooks RwAllocator;

typedef enum RwVersion
{
	RW_VERSION_1 = 1,			/* prometheus.WriteRequest */
	RW_VERSION_2 = 2			/* io.prometheus.write.v2.Request */
} RwVersion;

/*
 * One label pair: AlloyLabel from the catalog's plain-C hash header, so the
 * appender passes an RwSeries' labels to AlloySeriesGetOrCreate without
 * copying. Strings point into the decoded request, NOT NUL-terminated.
 */
typedef AlloyLabel RwLabel;

/* One float sample; value is copied bit-exact (stale-marker NaNs survive). */
typedef struct RwSample
{
	int64_t		t_ms;			/* milliseconds since the Unix epoch */
	double		value;
} RwSample;

/*
 * One exemplar (a sample of a trace, say, attached to a series). Its labels
 * passed the checks Prometheus's exemplar storage makes: names valid and
 * unique, empty values dropped, names plus values at most
 * RW_EXEMPLAR_MAX_LABEL_RUNES runes; values must also be valid UTF-8. An
 * exemplar failing them is dropped and counted (nexemplars_dropped), never
 * a reason to refuse the request, as Prometheus 2.42 only logs them.
 */
typedef struct RwExemplar
{
	const RwLabel *labels;		/* sorted by name; may be empty */
	int			nlabels;
	double		value;			/* bit-exact */
	int64_t		t_ms;			/* 0 when the sender gave none */
} RwExemplar;

/* Prometheus's exemplar.ExemplarMaxLabelSetLength (from OpenMetrics). */
#define RW_EXEMPLAR_MAX_LABEL_RUNES 128

/* Metric types, numbered as in both protocol versions. */
typedef enum RwMetricType
{
	RW_METRIC_UNKNOWN = 0,
	RW_METRIC_COUNTER = 1,
	RW_METRIC_GAUGE = 2,
	RW_METRIC_HISTOGRAM = 3,
	RW_METRIC_GAUGEHISTOGRAM = 4,
	RW_METRIC_SUMMARY = 5,
	RW_METRIC_INFO = 6,
	RW_METRIC_STATESET = 7
} RwMetricType;

typedef struct RwSeries
{
	uint64_t	hash;			/* AlloyLabelsHash() of labels */
	const RwLabel *labels;		/* sorted by name, unique names, >= 1 */
	int			nlabels;
	const char *metric;			/* value of __name__, or NULL if absent */
	int			metric_len;
	const RwSample *samples;	/* in request order */
	int			nsamples;
	const RwExemplar *exemplars;	/* the valid ones, in request order */
	int			nexemplars;
	int			nexemplars_dropped; /* invalid ones, not in exemplars */
	int			nhistograms;	/* native histograms: counted, not stored */
	int64_t		start_ms;		/* v2 start/created timestamp, 0 = unset */
} RwSeries;

typedef struct RwMetadata
{
	const char *family;			/* metric family name */
	int			family_len;
	RwMetricType type;
	const char *help;
	int			help_len;
	const char *unit;
	int			unit_len;
} RwMetadata;

typedef struct RwRequest
{
	RwVersion	version;
	int			nseries;
	RwSeries   *series;
	int			nmetadata;
	RwMetadata *metadata;
	/* totals, e.g. for the X-Prometheus-Remote-Write-*-Written headers */
	int64_t		nsamples;
	int64_t		nexemplars;		/* valid exemplars */
	int64_t		nexemplars_dropped; /* invalid exemplars, dropped */
	int64_t		nhistograms;
	size_t		decoded_bytes;	/* size of the decompressed protobuf */
	void	   *priv;			/* memory owned by the request */
} RwRequest;

typedef struct RwError
{
	int			http_status;	/* 400, 413 or 415; 0 when no error */
	char		message[200];	/* one line, lower case, no period */
} RwError;

/*
 * Content-type names.
 */
#define RW_CONTENT_TYPE_V1 "application/x-protobuf"
#define RW_CONTENT_TYPE_V2 "application/x-protobuf;proto=io.prometheus.write.v2.Request"

/*
 * Decode a whole HTTP request body.
 *
 * content_type and content_encoding may be NULL (header absent): a missing
 * Content-Type means remote write 1.0, a missing Content-Encoding means snappy
 * (as Prometheus's own receiver assumes). max_bytes caps both the compressed
 * body and the decompressed protobuf (never more than 1 GB is decoded). On
 * success returns a request that rw_request_free releases; on failure returns
 * NULL and fills *err. Thread-safe: no static state.
 */
extern RwRequest *rw_decode(const void *body, size_t body_len,
							const char *content_type,
							const char *content_encoding,
							size_t max_bytes,
							const RwAllocator *allocator,
							RwError *err);

/*
 * Decode an already-decompressed protobuf of the given version. Labels and
 * strings of the result point into buf, which must outlive the request.
 */
extern RwRequest *rw_decode_protobuf(const void *buf, size_t len,
									 RwVersion version,
									 const RwAllocator *allocator,
									 RwError *err);

/*
 * The same through protobuf-c's generic unpacker: slower (it allocates every
 * message), kept as the reference the fast zero-copy reader is tested and
 * fuzzed against. Same result and same accept/reject decisions.
 */
extern RwRequest *rw_decode_protobuf_reference(const void *buf, size_t len,
											   RwVersion version,
											   const RwAllocator *allocator,
											   RwError *err);

/*
 * Which protocol a Content-Type header selects: RW_VERSION_1, RW_VERSION_2,
 * or 0 when unsupported (answer 415).
 */
extern int	rw_content_type_version(const char *content_type);

/* Release everything a decoded request holds. NULL is allowed. */
extern void rw_request_free(RwRequest *req);

/*
 * The 64-bit hash of a sorted label set that maps label sets to series ids:
 * exactly AlloyLabelsHash() of src/catalog/labels_hash.h (the catalog's
 * contract), stored in RwSeries.hash so the catalog need not rehash.
 */
extern uint64_t rw_labels_hash(const RwLabel *labels, int nlabels);

/*
 * Check and normalise one exemplar's label pairs in place (names as sent,
 * values possibly empty): returns the number kept, sorted by name, or -1 when
 * the exemplar must be dropped (see RwExemplar).
 */
extern int	rw_exemplar_labels(RwLabel *labels, int nlabels);

/* ---- remote-read answers (rr_encode.c) ---- */

/*
 * The protobuf bytes of prometheus.ReadResponse (SAMPLES) and
 * prometheus.ChunkedReadResponse (STREAMED_XOR_CHUNKS). Each writer has a
 * size function: reserve that many bytes at out, then write; the writer
 * returns the bytes written, which equal the size. Labels are sorted by
 * name; zero-valued int64 fields are left out as proto3 asks.
 */

/* One XOR chunk of a streamed series (Prometheus's chunk encoding). */
typedef struct RrChunk
{
	int64_t		mint;			/* first sample's time, ms */
	int64_t		maxt;			/* last sample's time, ms */
	const uint8_t *data;
	size_t		len;
} RrChunk;

/* The room a series' labels take in a TimeSeries or ChunkedSeries. */
extern size_t rr_labels_size(const AlloyLabel *labels, int nlabels);

/*
 * One QueryResult.timeseries entry (field key, length and TimeSeries):
 * labels and the samples (t[j], v[j]); values are written bit-exact.
 */
extern size_t rr_timeseries_size(const AlloyLabel *labels, int nlabels,
								 const int64_t *t, const double *v, int n);
extern size_t rr_put_timeseries(uint8_t *out, const AlloyLabel *labels, int nlabels,
								const int64_t *t, const double *v, int n);

/*
 * The key and length of one ReadResponse.results entry, to put before a
 * QueryResult of result_len bytes (a concatenation of rr_put_timeseries
 * outputs). At most RR_RESULT_HEADER_MAX bytes.
 */
#define RR_RESULT_HEADER_MAX 11
extern size_t rr_put_result_header(uint8_t *out, size_t result_len);

/* The room one chunk takes in a ChunkedSeries, for cutting frames. */
extern size_t rr_chunk_size(const RrChunk *c);

/* One ChunkedReadResponse: one series' labels, its chunks, the query index. */
extern size_t rr_chunked_response_size(const AlloyLabel *labels, int nlabels,
									   const RrChunk *chunks, int nchunks,
									   int64_t query_index);
extern size_t rr_put_chunked_response(uint8_t *out, const AlloyLabel *labels, int nlabels,
									  const RrChunk *chunks, int nchunks,
									  int64_t query_index);

#endif							/* ALLOY_WIRE_WIRE_H */

/*
 * rr_encode.c: the protobuf encoding of remote-read answers
 * (prometheus.ReadResponse and prometheus.ChunkedReadResponse).
 *
 * The endpoint (src/api/api_read.c) gathers labels, samples and chunks;
 * this file turns them into protobuf bytes. The messages are written by hand
 * rather than through protobuf-c's packer: they are few and simple, and
 * building one protobuf-c struct per sample would cost several times the
 * memory of the encoded answer. Every message has a size function, so the
 * caller reserves room once and nested lengths are known before their
 * contents are written: nothing is encoded twice.
 *
 * Field numbers below are those of remote.proto and types.proto. proto3
 * leaves fields at their default (zero) out, as Prometheus's encoder does.
 *
 * Plain C, no PostgreSQL calls: the unit tests decode its output with the
 * protobuf-c unpackers.
 */
#include <string.h>

#include "wire/wire.h"
#include "wire/types.pb-c.h"

/* Protobuf wire types. */
#define PB_VARINT	0
#define PB_FIXED64	1
#define PB_LEN		2

/* A field key; every field number here is below 16, so it is one byte. */
static inline uint8_t *
put_key(uint8_t *p, int field, int wiretype)
{
	*p++ = (uint8_t) ((field << 3) | wiretype);
	return p;
}

static inline uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	return p + alloy_put_uvarint(p, v);
}

/* Size of a length-delimited field holding len bytes (key included). */
static inline size_t
len_field_size(size_t len)
{
	return 1 + alloy_uvarint_len(len) + len;
}

static inline uint8_t *
put_bytes(uint8_t *p, int field, const void *data, size_t len)
{
	p = put_key(p, field, PB_LEN);
	p = put_varint(p, len);
	if (len > 0)
		memcpy(p, data, len);
	return p + len;
}

/* A proto3 int64 field; zero is the default and is left out. */
static inline size_t
int64_size(int64_t v)
{
	return v == 0 ? 0 : 1 + alloy_uvarint_len((uint64_t) v);
}

static inline uint8_t *
put_int64(uint8_t *p, int field, int64_t v)
{
	if (v == 0)
		return p;
	p = put_key(p, field, PB_VARINT);
	return put_varint(p, (uint64_t) v);
}

/* ---------- labels ---------- */

/* Size of one prometheus.Label message (without its own key and length). */
static inline size_t
label_size(const AlloyLabel *l)
{
	return len_field_size(l->name_len) + len_field_size(l->value_len);
}

size_t
rr_labels_size(const AlloyLabel *labels, int nlabels)
{
	size_t		size = 0;

	for (int i = 0; i < nlabels; i++)
		size += len_field_size(label_size(&labels[i]));
	return size;
}

/* The labels of a series as repeated field 1 (TimeSeries and ChunkedSeries). */
static uint8_t *
put_labels(uint8_t *p, const AlloyLabel *labels, int nlabels)
{
	for (int i = 0; i < nlabels; i++)
	{
		const AlloyLabel *l = &labels[i];

		p = put_key(p, 1, PB_LEN);
		p = put_varint(p, label_size(l));
		p = put_bytes(p, 1, l->name, l->name_len);
		p = put_bytes(p, 2, l->value, l->value_len);
	}
	return p;
}

/* ---------- ReadResponse (SAMPLES) ---------- */

/*
 * Size of one prometheus.Sample (without its key and length). The value is
 * written unless its bits are all zero, so -0.0 and every NaN payload, the
 * stale marker included, reach the client bit-exact.
 */
static inline size_t
sample_size(int64_t t, double v)
{
	uint64_t	bits;

	memcpy(&bits, &v, sizeof(bits));
	return (bits != 0 ? 9 : 0) + int64_size(t);
}

/* One Sample as TimeSeries.samples (field 2). */
static uint8_t *
put_sample(uint8_t *p, int64_t t, double v)
{
	uint64_t	bits;

	memcpy(&bits, &v, sizeof(bits));
	p = put_key(p, 2, PB_LEN);
	p = put_varint(p, sample_size(t, v));
	if (bits != 0)
	{
		p = put_key(p, 1, PB_FIXED64);
		for (int i = 0; i < 8; i++)
			*p++ = (uint8_t) (bits >> (8 * i));
	}
	return put_int64(p, 2, t);
}

/* Size of the TimeSeries message itself (labels and samples). */
static size_t
timeseries_body_size(const AlloyLabel *labels, int nlabels,
					 const int64_t *t, const double *v, int n)
{
	size_t		size = rr_labels_size(labels, nlabels);

	for (int j = 0; j < n; j++)
		size += len_field_size(sample_size(t[j], v[j]));
	return size;
}

size_t
rr_timeseries_size(const AlloyLabel *labels, int nlabels,
				   const int64_t *t, const double *v, int n)
{
	return len_field_size(timeseries_body_size(labels, nlabels, t, v, n));
}

size_t
rr_put_timeseries(uint8_t *out, const AlloyLabel *labels, int nlabels,
				  const int64_t *t, const double *v, int n)
{
	uint8_t    *p = out;

	/* QueryResult.timeseries = 1 */
	p = put_key(p, 1, PB_LEN);
	p = put_varint(p, timeseries_body_size(labels, nlabels, t, v, n));
	p = put_labels(p, labels, nlabels);
	for (int j = 0; j < n; j++)
		p = put_sample(p, t[j], v[j]);
	return (size_t) (p - out);
}

size_t
rr_put_result_header(uint8_t *out, size_t result_len)
{
	/* ReadResponse.results = 1 */
	uint8_t    *p = put_key(out, 1, PB_LEN);

	return (size_t) (put_varint(p, result_len) - out);
}

/* ---------- ChunkedReadResponse (STREAMED_XOR_CHUNKS) ---------- */

/* Size of one prometheus.Chunk message (without its key and length). */
static inline size_t
chunk_body_size(const RrChunk *c)
{
	/* min_time_ms 1, max_time_ms 2, type 3 (XOR = 1, two bytes), data 4 */
	return int64_size(c->mint) + int64_size(c->maxt) + 2 + len_field_size(c->len);
}

size_t
rr_chunk_size(const RrChunk *c)
{
	return len_field_size(chunk_body_size(c));
}

/* Size of the ChunkedSeries message itself (labels and chunks). */
static size_t
chunked_series_body_size(const AlloyLabel *labels, int nlabels,
						 const RrChunk *chunks, int nchunks)
{
	size_t		size = rr_labels_size(labels, nlabels);

	for (int i = 0; i < nchunks; i++)
		size += rr_chunk_size(&chunks[i]);
	return size;
}

size_t
rr_chunked_response_size(const AlloyLabel *labels, int nlabels,
						 const RrChunk *chunks, int nchunks, int64_t query_index)
{
	return len_field_size(chunked_series_body_size(labels, nlabels, chunks, nchunks)) +
		int64_size(query_index);
}

size_t
rr_put_chunked_response(uint8_t *out, const AlloyLabel *labels, int nlabels,
						const RrChunk *chunks, int nchunks, int64_t query_index)
{
	uint8_t    *p = out;

	/* ChunkedReadResponse.chunked_series = 1 */
	p = put_key(p, 1, PB_LEN);
	p = put_varint(p, chunked_series_body_size(labels, nlabels, chunks, nchunks));
	p = put_labels(p, labels, nlabels);
	for (int i = 0; i < nchunks; i++)
	{
		const RrChunk *c = &chunks[i];

		/* ChunkedSeries.chunks = 2 */
		p = put_key(p, 2, PB_LEN);
		p = put_varint(p, chunk_body_size(c));
		p = put_int64(p, 1, c->mint);
		p = put_int64(p, 2, c->maxt);
		p = put_key(p, 3, PB_VARINT);
		p = put_varint(p, PROMETHEUS__CHUNK__ENCODING__XOR);
		p = put_bytes(p, 4, c->data, c->len);
	}
	/* ChunkedReadResponse.query_index = 2 */
	p = put_int64(p, 2, query_index);
	return (size_t) (p - out);
}

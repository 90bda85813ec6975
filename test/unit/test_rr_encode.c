/*
 * test_rr_encode.c: the remote-read answer encoder (src/wire/rr_encode.c),
 * checked by decoding its output with protobuf-c's generated unpackers and,
 * where proto3 leaves nothing out, by comparing it with protobuf-c's packer.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "wire/wire.h"
#include "wire/remote.pb-c.h"

static AlloyLabel
label(const char *name, const char *value)
{
	AlloyLabel	l = {name, (int) strlen(name), value, (int) strlen(value)};

	return l;
}

static bool
bytes_eq(const ProtobufCBinaryData *b, const char *s, int len)
{
	return b->len == (size_t) len && (len == 0 || memcmp(b->data, s, len) == 0);
}

static bool
bits_eq(double a, double b)
{
	return memcmp(&a, &b, sizeof(double)) == 0;
}

/* Two queries' ReadResponse: the sizes, the unpacked messages, protobuf-c's bytes. */
static void
test_read_response(void)
{
	AlloyLabel	l1[] = {label("__name__", "up"), label("job", "node")};
	AlloyLabel	l2[] = {label("__name__", "x"), label("empty", "")};
	int64_t		t1[] = {1764000000000, 0, -5};
	double		v1[] = {1.5, 0.0, -0.0};
	int64_t		t2[] = {7};
	double		v2[1];
	uint64_t	stale = UINT64_C(0x7ff0000000000002);
	uint8_t		q0[512],
				out[1024];
	size_t		n0,
				n1,
				len;
	Prometheus__ReadResponse *rr;

	memcpy(&v2[0], &stale, sizeof(double));
	n0 = rr_put_timeseries(q0, l1, 2, t1, v1, 3);
	CHECK(n0 == rr_timeseries_size(l1, 2, t1, v1, 3), "timeseries size %zu", n0);
	n1 = rr_put_timeseries(q0 + n0, l2, 2, t2, v2, 1);
	CHECK(n1 == rr_timeseries_size(l2, 2, t2, v2, 1), "second timeseries size %zu", n1);

	/* results[0] holds both series, results[1] is an empty QueryResult */
	len = rr_put_result_header(out, n0 + n1);
	CHECK(len <= RR_RESULT_HEADER_MAX, "result header of %zu bytes", len);
	memcpy(out + len, q0, n0 + n1);
	len += n0 + n1;
	len += rr_put_result_header(out + len, 0);

	rr = prometheus__read_response__unpack(NULL, len, out);
	CHECK(rr != NULL, "ReadResponse unpacks");
	if (rr == NULL)
		return;
	CHECK(rr->n_results == 2 && rr->results[0]->n_timeseries == 2 &&
		  rr->results[1]->n_timeseries == 0, "two results, two and no series");
	if (rr->n_results == 2 && rr->results[0]->n_timeseries == 2)
	{
		Prometheus__TimeSeries *a = rr->results[0]->timeseries[0];
		Prometheus__TimeSeries *b = rr->results[0]->timeseries[1];

		CHECK(a->n_labels == 2 && bytes_eq(&a->labels[0]->name, "__name__", 8) &&
			  bytes_eq(&a->labels[0]->value, "up", 2) &&
			  bytes_eq(&a->labels[1]->name, "job", 3) &&
			  bytes_eq(&a->labels[1]->value, "node", 4), "labels of series 0");
		CHECK(a->n_samples == 3, "three samples");
		for (size_t j = 0; j < a->n_samples && j < 3; j++)
			CHECK(a->samples[j]->timestamp == t1[j] && bits_eq(a->samples[j]->value, v1[j]),
				  "sample %zu bit-exact", j);
		CHECK(b->n_labels == 2 && bytes_eq(&b->labels[1]->value, "", 0), "an empty value survives");
		CHECK(b->n_samples == 1 && b->samples[0]->timestamp == 7 &&
			  bits_eq(b->samples[0]->value, v2[0]), "stale marker bit-exact");
	}
	prometheus__read_response__free_unpacked(rr, NULL);

	/*
	 * With no empty strings and no -0.0 (protobuf-c leaves it out as if it
	 * were 0.0; we keep it), the bytes are protobuf-c's own.
	 */
	{
		uint8_t		mine[512],
					theirs[512];
		size_t		m = rr_put_timeseries(mine + 2, l1, 2, t1, v1, 2);
		Prometheus__Label pl[2] = {PROMETHEUS__LABEL__INIT, PROMETHEUS__LABEL__INIT};
		Prometheus__Label *plp[2] = {&pl[0], &pl[1]};
		Prometheus__Sample ps[2] = {PROMETHEUS__SAMPLE__INIT, PROMETHEUS__SAMPLE__INIT};
		Prometheus__Sample *psp[2] = {&ps[0], &ps[1]};
		Prometheus__TimeSeries ts = PROMETHEUS__TIME_SERIES__INIT;
		Prometheus__TimeSeries *tsp = &ts;
		Prometheus__QueryResult qr = PROMETHEUS__QUERY_RESULT__INIT;
		Prometheus__QueryResult *qrp = &qr;
		Prometheus__ReadResponse resp = PROMETHEUS__READ_RESPONSE__INIT;
		size_t		h,
					p;

		for (int i = 0; i < 2; i++)
		{
			pl[i].name.data = (uint8_t *) l1[i].name;
			pl[i].name.len = l1[i].name_len;
			pl[i].value.data = (uint8_t *) l1[i].value;
			pl[i].value.len = l1[i].value_len;
		}
		for (int j = 0; j < 2; j++)
		{
			ps[j].timestamp = t1[j];
			ps[j].value = v1[j];
		}
		ts.n_labels = 2;
		ts.labels = plp;
		ts.n_samples = 2;
		ts.samples = psp;
		qr.n_timeseries = 1;
		qr.timeseries = &tsp;
		resp.n_results = 1;
		resp.results = &qrp;
		p = prometheus__read_response__pack(&resp, theirs);
		h = rr_put_result_header(mine, m);
		CHECK(h == 2, "short result header");
		CHECK(p == m + 2 && memcmp(mine, theirs, p) == 0,
			  "same bytes as protobuf-c's packer (%zu vs %zu)", m + 2, p);
	}
}

/* A ChunkedReadResponse: size, unpacked fields, protobuf-c's bytes. */
static void
test_chunked_response(void)
{
	AlloyLabel	l[] = {label("__name__", "up"), label("instance", "a:9100")};
	static const uint8_t d0[] = {0, 1, 2, 3},
				d1[] = {9};
	RrChunk		c[] = {{1000, 2000, d0, sizeof(d0)}, {0, 0, d1, sizeof(d1)}};
	uint8_t		out[256],
				theirs[256];
	size_t		n = rr_put_chunked_response(out, l, 2, c, 2, 3),
				p;
	Prometheus__ChunkedReadResponse *cr;

	CHECK(n == rr_chunked_response_size(l, 2, c, 2, 3), "chunked response size %zu", n);
	CHECK(rr_chunk_size(&c[0]) == 2 + 3 + 3 + 2 + 2 + sizeof(d0), "chunk field size %zu",
		  rr_chunk_size(&c[0]));
	cr = prometheus__chunked_read_response__unpack(NULL, n, out);
	CHECK(cr != NULL, "ChunkedReadResponse unpacks");
	if (cr == NULL)
		return;
	CHECK(cr->query_index == 3 && cr->n_chunked_series == 1, "one series, query 3");
	if (cr->n_chunked_series == 1)
	{
		Prometheus__ChunkedSeries *s = cr->chunked_series[0];

		CHECK(s->n_labels == 2 && bytes_eq(&s->labels[1]->name, "instance", 8) &&
			  bytes_eq(&s->labels[1]->value, "a:9100", 6), "labels");
		CHECK(s->n_chunks == 2, "two chunks");
		if (s->n_chunks == 2)
		{
			CHECK(s->chunks[0]->min_time_ms == 1000 && s->chunks[0]->max_time_ms == 2000 &&
				  s->chunks[0]->type == PROMETHEUS__CHUNK__ENCODING__XOR &&
				  bytes_eq(&s->chunks[0]->data, (const char *) d0, sizeof(d0)), "chunk 0");
			CHECK(s->chunks[1]->min_time_ms == 0 && s->chunks[1]->max_time_ms == 0 &&
				  s->chunks[1]->type == PROMETHEUS__CHUNK__ENCODING__XOR &&
				  bytes_eq(&s->chunks[1]->data, (const char *) d1, sizeof(d1)), "chunk 1");
		}
	}
	p = prometheus__chunked_read_response__pack(cr, theirs);
	CHECK(p == n && memcmp(out, theirs, n) == 0, "same bytes as protobuf-c's packer");
	prometheus__chunked_read_response__free_unpacked(cr, NULL);

	/* query index 0 is left out */
	n = rr_put_chunked_response(out, l, 2, c, 1, 0);
	CHECK(n == rr_chunked_response_size(l, 2, c, 1, 0), "size with query index 0");
	cr = prometheus__chunked_read_response__unpack(NULL, n, out);
	CHECK(cr != NULL && cr->query_index == 0 && cr->chunked_series[0]->n_chunks == 1,
		  "query index 0, one chunk");
	if (cr)
		prometheus__chunked_read_response__free_unpacked(cr, NULL);
}

int
main(void)
{
	test_read_response();
	test_chunked_response();
	return unit_finish();
}

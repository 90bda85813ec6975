/*
 * test_rw_decode.c: unit tests of the remote-write decoder.
 *
 * Requests are built here with protobuf-c and snappy exactly as a sender
 * would, then decoded through the public entry point, so each test exercises
 * header checks, decompression, unpacking and validation together. Ends with
 * a small timing of a realistic request (500 node-exporter-like series, one
 * sample each), printed for docs/ingest-decoding.md.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <snappy-c.h>

#include "wire/wire.h"
#include "wire/remote.pb-c.h"
#include "wire/write_v2.pb-c.h"
#include "rw_compare.h"
#include "unit.h"

#define MAXB (64 * 1024 * 1024)

/* ---------- a counting allocator, to prove everything is freed ---------- */

static long n_allocs,
			n_frees;

static void *
count_alloc(void *ctx, size_t size)
{
	(void) ctx;
	n_allocs++;
	return malloc(size);
}

static void
count_free(void *ctx, void *p)
{
	(void) ctx;
	n_frees++;
	free(p);
}

static const RwAllocator alloc = {count_alloc, count_free, NULL};

/* ---------- remote write 1.0 request builder ---------- */

#define MAXS 4096
#define MAXL 64

static Prometheus__WriteRequest v1;
static Prometheus__TimeSeries v1_ts[MAXS],
		   *v1_tsp[MAXS];
static Prometheus__Label v1_lab[MAXS][MAXL],
		   *v1_labp[MAXS][MAXL];
static Prometheus__Sample v1_smp[MAXS][4],
		   *v1_smpp[MAXS][4];
static Prometheus__Exemplar v1_ex,
		   *v1_exp[1] = {&v1_ex};
static Prometheus__Histogram v1_h,
		   *v1_hp[1] = {&v1_h};
static Prometheus__MetricMetadata v1_md[4],
		   *v1_mdp[4];

static ProtobufCBinaryData
bin(const char *s)
{
	ProtobufCBinaryData b = {strlen(s), (uint8_t *) s};

	return b;
}

static void
v1_reset(void)
{
	prometheus__write_request__init(&v1);
	v1.timeseries = v1_tsp;
	v1.metadata = v1_mdp;
}

/* Add a series given as NULL-terminated name, value, name, value, ... */
static void
v1_series(const char *first,...)
{
	va_list		ap;
	size_t		i = v1.n_timeseries++;
	Prometheus__TimeSeries *ts = &v1_ts[i];
	const char *n = first;

	prometheus__time_series__init(ts);
	v1_tsp[i] = ts;
	ts->labels = v1_labp[i];
	ts->samples = v1_smpp[i];
	va_start(ap, first);
	while (n != NULL)
	{
		const char *v = va_arg(ap, const char *);
		Prometheus__Label *l = &v1_lab[i][ts->n_labels];

		prometheus__label__init(l);
		l->name = bin(n);
		l->value = bin(v);
		v1_labp[i][ts->n_labels++] = l;
		n = va_arg(ap, const char *);
	}
	va_end(ap);
}

static void
v1_sample(double v, int64_t t)
{
	size_t		i = v1.n_timeseries - 1;
	Prometheus__TimeSeries *ts = &v1_ts[i];
	Prometheus__Sample *s = &v1_smp[i][ts->n_samples];

	prometheus__sample__init(s);
	s->value = v;
	s->timestamp = t;
	v1_smpp[i][ts->n_samples++] = s;
}

static uint8_t *
v1_pack(size_t *len)
{
	uint8_t    *buf;

	*len = prometheus__write_request__get_packed_size(&v1);
	buf = malloc(*len + 1);
	prometheus__write_request__pack(&v1, buf);
	return buf;
}

/* ---------- remote write 2.0 request builder ---------- */

static Io__Prometheus__Write__V2__Request v2;
static ProtobufCBinaryData v2_sym[MAXS];
static Io__Prometheus__Write__V2__TimeSeries v2_ts[MAXS],
		   *v2_tsp[MAXS];
static uint32_t v2_refs[MAXS][MAXL];
static Io__Prometheus__Write__V2__Sample v2_smp[MAXS][4],
		   *v2_smpp[MAXS][4];
static Io__Prometheus__Write__V2__Metadata v2_md[MAXS];
static Io__Prometheus__Write__V2__Exemplar v2_ex,
		   *v2_exp[1] = {&v2_ex};
static uint32_t v2_exrefs[4];
static Io__Prometheus__Write__V2__Histogram v2_h,
		   *v2_hp[1] = {&v2_h};

static void
v2_reset(void)
{
	io__prometheus__write__v2__request__init(&v2);
	v2.symbols = v2_sym;
	v2.timeseries = v2_tsp;
	v2_sym[0] = bin("");
	v2.n_symbols = 1;
}

static uint32_t
v2_ref(const char *s)
{
	size_t		i;

	for (i = 0; i < v2.n_symbols; i++)
		if (v2_sym[i].len == strlen(s) && memcmp(v2_sym[i].data, s, v2_sym[i].len) == 0)
			return (uint32_t) i;
	v2_sym[v2.n_symbols] = bin(s);
	return (uint32_t) v2.n_symbols++;
}

static void
v2_series(const char *first,...)
{
	va_list		ap;
	size_t		i = v2.n_timeseries++;
	Io__Prometheus__Write__V2__TimeSeries *ts = &v2_ts[i];
	const char *n = first;

	io__prometheus__write__v2__time_series__init(ts);
	v2_tsp[i] = ts;
	ts->labels_refs = v2_refs[i];
	ts->samples = v2_smpp[i];
	va_start(ap, first);
	while (n != NULL)
	{
		const char *v = va_arg(ap, const char *);

		v2_refs[i][ts->n_labels_refs++] = v2_ref(n);
		v2_refs[i][ts->n_labels_refs++] = v2_ref(v);
		n = va_arg(ap, const char *);
	}
	va_end(ap);
}

static void
v2_sample(double v, int64_t t, int64_t st)
{
	size_t		i = v2.n_timeseries - 1;
	Io__Prometheus__Write__V2__TimeSeries *ts = &v2_ts[i];
	Io__Prometheus__Write__V2__Sample *s = &v2_smp[i][ts->n_samples];

	io__prometheus__write__v2__sample__init(s);
	s->value = v;
	s->timestamp = t;
	s->start_timestamp = st;
	v2_smpp[i][ts->n_samples++] = s;
}

static uint8_t *
v2_pack(size_t *len)
{
	uint8_t    *buf;

	*len = io__prometheus__write__v2__request__get_packed_size(&v2);
	buf = malloc(*len + 1);
	io__prometheus__write__v2__request__pack(&v2, buf);
	return buf;
}

/* ---------- helpers ---------- */

static char *
compress(const uint8_t *buf, size_t len, size_t *out)
{
	size_t		cap = snappy_max_compressed_length(len);
	char	   *c = malloc(cap);

	*out = cap;
	if (snappy_compress((const char *) buf, len, c, out) != SNAPPY_OK)
		abort();
	return c;
}

static uint64_t
dbits(double d)
{
	uint64_t	u;

	memcpy(&u, &d, 8);
	return u;
}

static double
bitsd(uint64_t u)
{
	double		d;

	memcpy(&d, &u, 8);
	return d;
}

/*
 * Decode the packed protobuf with both readers and check they agree (same
 * verdict, same status, same content).
 */
static void
cross_check(const uint8_t *p, size_t plen, int version, const char *what)
{
	RwError		e1,
				e2;
	RwRequest  *a = rw_decode_protobuf(p, plen, (RwVersion) version, &alloc, &e1);
	RwRequest  *b = rw_decode_protobuf_reference(p, plen, (RwVersion) version, &alloc, &e2);

	CHECK((a == NULL) == (b == NULL), "%s: fast and reference disagree (%d \"%s\" vs %d \"%s\")",
		  what, e1.http_status, e1.message, e2.http_status, e2.message);
	if (a && b)
	{
		const char *d = request_diff(a, b);

		CHECK(d == NULL, "%s: fast and reference differ in %s", what, d ? d : "");
		for (int i = 0; i < a->nseries; i++)
			if (a->series[i].hash != AlloyLabelsHash(a->series[i].labels, a->series[i].nlabels))
			{
				CHECK(0, "%s: series %d hash is not AlloyLabelsHash", what, i);
				break;
			}
	}
	else if (!a && !b)
		CHECK(e1.http_status == e2.http_status, "%s: statuses %d vs %d", what,
			  e1.http_status, e2.http_status);
	rw_request_free(a);
	rw_request_free(b);
}

/* Decode the current v1 (or v2) request through the full HTTP-body path. */
static RwRequest *
decode_current(int version, const char *ctype, const char *cenc, RwError *err)
{
	size_t		plen,
				clen;
	uint8_t    *p = version == 2 ? v2_pack(&plen) : v1_pack(&plen);
	char	   *c = compress(p, plen, &clen);
	RwRequest  *r;

	cross_check(p, plen, version, ctype ? ctype : "(no content type)");
	r = rw_decode(c, clen, ctype, cenc, MAXB, &alloc, err);
	free(p);
	free(c);
	return r;
}

static int
label_is(const RwLabel *l, const char *n, const char *v)
{
	return l->name_len == (int) strlen(n) && memcmp(l->name, n, l->name_len) == 0 &&
		l->value_len == (int) strlen(v) && memcmp(l->value, v, l->value_len) == 0;
}

static int
expect_error(int version, int status, const char *what)
{
	RwError		err;
	RwRequest  *r = decode_current(version, version == 2 ? RW_CONTENT_TYPE_V2 : RW_CONTENT_TYPE_V1,
								   "snappy", &err);

	CHECK(r == NULL, "%s: expected error %d, got success", what, status);
	CHECK(err.http_status == status, "%s: expected status %d, got %d (%s)", what, status,
		  err.http_status, err.message);
	rw_request_free(r);
	return err.http_status;
}

static const uint64_t STALE = UINT64_C(0x7ff0000000000002);

/* ---------- tests ---------- */

static void
test_valid_v1(void)
{
	RwError		err;
	RwRequest  *r;
	RwLabel		ref[3];

	v1_reset();
	v1_series("__name__", "up", "job", "node", "instance", "a:9100", NULL);
	v1_sample(1.0, 1000);
	v1_sample(bitsd(STALE), 2000);
	/* unsorted on purpose, plus an empty value that must be dropped */
	v1_series("zone", "", "job", "api", "__name__", "http_requests_total", NULL);
	v1_sample(-0.0, 3000);
	v1_series("__name__", "cpu:rate5m", NULL);
	v1_ts[2].exemplars = v1_exp;
	v1_ts[2].n_exemplars = 1;
	prometheus__exemplar__init(&v1_ex);
	v1_ts[2].histograms = v1_hp;
	v1_ts[2].n_histograms = 1;
	prometheus__histogram__init(&v1_h);
	v1_h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
	v1_h.count_int = 3;
	prometheus__metric_metadata__init(&v1_md[0]);
	v1_md[0].type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER;
	v1_md[0].metric_family_name = bin("http_requests_total");
	v1_md[0].help = bin("Total requests é");
	v1_md[0].unit = bin("requests");
	v1_mdp[0] = &v1_md[0];
	v1.n_metadata = 1;

	n_allocs = n_frees = 0;
	r = decode_current(1, "application/x-protobuf", "snappy", &err);
	CHECK(r != NULL, "valid v1 decodes: %s", err.message);
	if (r == NULL)
		return;
	CHECK(err.http_status == 0, "no error status");
	CHECK(r->version == RW_VERSION_1, "version 1");
	CHECK(r->nseries == 3, "3 series, got %d", r->nseries);
	CHECK(r->nsamples == 3, "3 samples, got %ld", (long) r->nsamples);
	CHECK(r->nexemplars == 1 && r->nhistograms == 1, "exemplar and histogram counted");
	CHECK(r->series[2].nexemplars == 1 && r->series[2].nhistograms == 1, "per-series counts");

	/* series 0: sorted already */
	CHECK(r->series[0].nlabels == 3, "series 0 has 3 labels");
	CHECK(label_is(&r->series[0].labels[0], "__name__", "up"), "series 0 label 0");
	CHECK(label_is(&r->series[0].labels[1], "instance", "a:9100"), "series 0 label 1");
	CHECK(label_is(&r->series[0].labels[2], "job", "node"), "series 0 label 2");
	CHECK(r->series[0].metric_len == 2 && memcmp(r->series[0].metric, "up", 2) == 0, "metric up");
	CHECK(r->series[0].nsamples == 2, "series 0 has 2 samples");
	CHECK(r->series[0].samples[0].t_ms == 1000 && r->series[0].samples[0].value == 1.0, "sample 0");
	CHECK(dbits(r->series[0].samples[1].value) == STALE, "stale marker bit-exact: %016llx",
		  (unsigned long long) dbits(r->series[0].samples[1].value));
	CHECK(r->series[0].samples[1].t_ms == 2000, "stale marker timestamp");

	/* series 1: sorted by us, empty-valued zone dropped */
	CHECK(r->series[1].nlabels == 2, "empty-valued label dropped, got %d", r->series[1].nlabels);
	CHECK(label_is(&r->series[1].labels[0], "__name__", "http_requests_total"), "sorted 0");
	CHECK(label_is(&r->series[1].labels[1], "job", "api"), "sorted 1");

	/* hash of the decoded set equals the hash of the same set built by hand */
	ref[0] = (RwLabel) {"__name__", 8, "http_requests_total", 19};
	ref[1] = (RwLabel) {"job", 3, "api", 3};
	CHECK(r->series[1].hash == rw_labels_hash(ref, 2), "hash matches sorted reference");
	CHECK(r->series[0].hash != r->series[1].hash, "different sets, different hashes");
	CHECK(r->series[2].metric_len == 10, "metric name with colon accepted");

	CHECK(r->nmetadata == 1, "one metadata entry");
	CHECK(r->metadata[0].type == RW_METRIC_COUNTER, "metadata type");
	CHECK(r->metadata[0].family_len == 19 && memcmp(r->metadata[0].family, "http_requests_total", 19) == 0,
		  "metadata family");
	CHECK(r->metadata[0].help_len == (int) strlen("Total requests é"), "metadata help");
	CHECK(r->metadata[0].unit_len == 8 && memcmp(r->metadata[0].unit, "requests", 8) == 0, "metadata unit");

	rw_request_free(r);
	CHECK(n_allocs > 0 && n_allocs == n_frees, "every allocation freed (%ld allocs, %ld frees)",
		  n_allocs, n_frees);
}

static void
test_valid_v2(void)
{
	RwError		err;
	RwRequest  *r;
	uint64_t	hv1;

	/* the same label set through v1, to compare hashes across versions */
	v1_reset();
	v1_series("__name__", "node_cpu_seconds_total", "cpu", "0", "mode", "idle", NULL);
	v1_sample(12.5, 5000);
	r = decode_current(1, NULL, NULL, &err);
	CHECK(r != NULL, "v1 with no content type/encoding headers decodes: %s", err.message);
	hv1 = r ? r->series[0].hash : 0;
	rw_request_free(r);

	v2_reset();
	/* unsorted refs */
	v2_series("mode", "idle", "__name__", "node_cpu_seconds_total", "cpu", "0", NULL);
	v2_sample(12.5, 5000, 100);
	v2_sample(bitsd(STALE), 6000, 100);
	io__prometheus__write__v2__metadata__init(&v2_md[0]);
	v2_md[0].type = IO__PROMETHEUS__WRITE__V2__METADATA__METRIC_TYPE__METRIC_TYPE_COUNTER;
	v2_md[0].help_ref = v2_ref("Seconds the CPUs spent in each mode.");
	v2_md[0].unit_ref = v2_ref("seconds");
	v2_ts[0].metadata = &v2_md[0];
	v2_series("__name__", "node_cpu_seconds_total", "cpu", "1", "mode", "idle", NULL);
	v2_sample(7, 5000, 0);
	v2_ts[1].created_timestamp = 42;
	v2_ts[1].metadata = &v2_md[0];	/* same family: metadata kept once */
	io__prometheus__write__v2__exemplar__init(&v2_ex);
	v2_exrefs[0] = v2_ref("trace_id");
	v2_exrefs[1] = v2_ref("abc");
	v2_ex.labels_refs = v2_exrefs;
	v2_ex.n_labels_refs = 2;
	v2_ts[1].exemplars = v2_exp;
	v2_ts[1].n_exemplars = 1;
	io__prometheus__write__v2__histogram__init(&v2_h);
	v2_ts[1].histograms = v2_hp;
	v2_ts[1].n_histograms = 1;

	n_allocs = n_frees = 0;
	r = decode_current(2, "application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy", &err);
	CHECK(r != NULL, "valid v2 decodes: %s", err.message);
	if (r == NULL)
		return;
	CHECK(r->version == RW_VERSION_2, "version 2");
	CHECK(r->nseries == 2, "2 series");
	CHECK(r->nsamples == 3 && r->nexemplars == 1 && r->nhistograms == 1, "v2 totals");
	CHECK(r->series[0].nlabels == 3, "3 labels");
	CHECK(label_is(&r->series[0].labels[0], "__name__", "node_cpu_seconds_total"), "v2 sorted 0");
	CHECK(label_is(&r->series[0].labels[1], "cpu", "0"), "v2 sorted 1");
	CHECK(label_is(&r->series[0].labels[2], "mode", "idle"), "v2 sorted 2");
	CHECK(r->series[0].hash == hv1, "v1 and v2 give the same hash for the same label set");
	CHECK(r->series[0].samples[0].value == 12.5 && r->series[0].samples[0].t_ms == 5000, "v2 sample");
	CHECK(dbits(r->series[0].samples[1].value) == STALE, "v2 stale marker bit-exact");
	CHECK(r->series[0].start_ms == 100, "start timestamp from sample");
	CHECK(r->series[1].start_ms == 42, "start timestamp from created_timestamp");
	CHECK(r->nmetadata == 1, "v2 metadata deduplicated, got %d", r->nmetadata);
	CHECK(r->metadata[0].type == RW_METRIC_COUNTER && r->metadata[0].unit_len == 7 &&
		  r->metadata[0].help_len == 36, "v2 metadata fields");
	rw_request_free(r);
	CHECK(n_allocs == n_frees, "v2: every allocation freed");
}

static void
test_rejections_v1(void)
{
	v1_reset();
	v1_series(NULL);
	v1_sample(1, 1);
	expect_error(1, 400, "series with no labels");

	v1_reset();
	v1_series("job", "", NULL);
	expect_error(1, 400, "series whose only label is empty-valued");

	v1_reset();
	v1_series("__name__", "up", "", "x", NULL);
	expect_error(1, 400, "empty label name");

	v1_reset();
	v1_series("__name__", "up", "job", "a", "job", "b", NULL);
	expect_error(1, 400, "duplicate label names");

	v1_reset();
	v1_series("job", "a", "__name__", "up", "job", "b", NULL);
	expect_error(1, 400, "duplicate label names, unsorted");

	v1_reset();
	v1_series("__name__", "up", "job", "\xc0\x80", NULL);
	expect_error(1, 400, "overlong utf-8");

	v1_reset();
	v1_series("__name__", "up", "job", "\xed\xa0\x80", NULL);
	expect_error(1, 400, "surrogate utf-8");

	v1_reset();
	v1_series("__name__", "up", "job", "ab\xe2\x82", NULL);
	expect_error(1, 400, "truncated utf-8");

	v1_reset();
	v1_series("__name__", "up", "1job", "a", NULL);
	expect_error(1, 400, "label name starting with a digit");

	v1_reset();
	v1_series("__name__", "up", "j\xc3\xa9", "a", NULL);
	expect_error(1, 400, "non-ascii label name");

	v1_reset();
	v1_series("__name__", "up", "a:b", "a", NULL);
	expect_error(1, 400, "colon in label name");

	v1_reset();
	v1_series("__name__", "http-requests", NULL);
	expect_error(1, 400, "invalid metric name");

	v1_reset();
	v1_series("__name__", "", "job", "x", NULL);
	expect_error(1, 400, "empty metric name");

	v1_reset();
	prometheus__metric_metadata__init(&v1_md[0]);
	v1_md[0].metric_family_name = bin("x\xff");
	v1_mdp[0] = &v1_md[0];
	v1.n_metadata = 1;
	expect_error(1, 400, "metadata with invalid utf-8");
}

static void
test_rejections_v2(void)
{
	v2_reset();
	v2_series("__name__", "up", NULL);
	v2_sym[0] = bin("x");
	expect_error(2, 400, "symbols[0] not empty");

	v2_reset();
	v2.n_symbols = 0;
	v2_series(NULL);
	expect_error(2, 400, "no symbols at all");

	v2_reset();
	v2_series("__name__", "up", NULL);
	v2_refs[0][1] = 99;
	expect_error(2, 400, "label ref out of range");

	v2_reset();
	v2_series("__name__", "up", NULL);
	v2_ts[0].n_labels_refs = 3;
	v2_refs[0][2] = 1;
	expect_error(2, 400, "odd number of label refs");

	v2_reset();
	v2_series("__name__", "up", NULL);
	io__prometheus__write__v2__metadata__init(&v2_md[0]);
	v2_md[0].help_ref = 1000;
	v2_ts[0].metadata = &v2_md[0];
	expect_error(2, 400, "metadata ref out of range");

	v2_reset();
	v2_series("__name__", "up", NULL);
	io__prometheus__write__v2__exemplar__init(&v2_ex);
	v2_exrefs[0] = 1;
	v2_exrefs[1] = 77;
	v2_ex.labels_refs = v2_exrefs;
	v2_ex.n_labels_refs = 2;
	v2_ts[0].exemplars = v2_exp;
	v2_ts[0].n_exemplars = 1;
	expect_error(2, 400, "exemplar ref out of range");

	v2_reset();
	v2_series("__name__", "up", "job", "a", "job", "b", NULL);
	expect_error(2, 400, "v2 duplicate label names");

	v2_reset();
	v2_series("__name__", "up", "job", "\xff", NULL);
	expect_error(2, 400, "v2 invalid utf-8");

	v2_reset();
	v2_series("", "up", NULL);
	/* "" is symbol 0: an empty name */
	expect_error(2, 400, "v2 empty label name");

	v2_reset();
	v2_series("__name__", "up", NULL);
	v2.n_timeseries = 1;
	{
		RwError		err;
		RwRequest  *r = decode_current(2, RW_CONTENT_TYPE_V2, "snappy", &err);

		CHECK(r != NULL && r->nseries == 1, "v2 control case decodes: %s", err.message);
		rw_request_free(r);
	}
}

static void
test_transport(void)
{
	RwError		err;
	RwRequest  *r;
	size_t		plen,
				clen;
	uint8_t    *p;
	char	   *c;
	static const char *ok_types[] = {
		"application/x-protobuf", "Application/X-Protobuf", " application/x-protobuf ",
		"application/x-protobuf;proto=prometheus.WriteRequest",
		"application/x-protobuf; proto=\"prometheus.WriteRequest\"",
		"application/x-protobuf; charset=utf-8", ""
	};
	static const char *bad_types[] = {
		"text/plain", "application/json", "application/x-protobuf;proto=foo.Bar",
		"application/x-protobufx", "application/x-protobuf;proto=io.prometheus.write.v2.request"
	};
	size_t		i;
	char		bogus[16];
	unsigned char *big;

	v1_reset();
	v1_series("__name__", "up", NULL);
	v1_sample(1, 1);
	p = v1_pack(&plen);
	c = compress(p, plen, &clen);

	for (i = 0; i < sizeof(ok_types) / sizeof(ok_types[0]); i++)
	{
		r = rw_decode(c, clen, ok_types[i], "snappy", MAXB, &alloc, &err);
		CHECK(r != NULL && r->version == RW_VERSION_1, "content type \"%s\" is 1.0: %s",
			  ok_types[i], err.message);
		rw_request_free(r);
	}
	CHECK(rw_content_type_version("application/x-protobuf;proto=io.prometheus.write.v2.Request") == 2,
		  "v2 content type");
	CHECK(rw_content_type_version("application/x-protobuf ; proto=io.prometheus.write.v2.Request") == 2,
		  "v2 content type with spaces");
	for (i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++)
	{
		r = rw_decode(c, clen, bad_types[i], "snappy", MAXB, &alloc, &err);
		CHECK(r == NULL && err.http_status == 415, "content type \"%s\" -> 415, got %d",
			  bad_types[i], err.http_status);
	}
	r = rw_decode(c, clen, NULL, "gzip", MAXB, &alloc, &err);
	CHECK(r == NULL && err.http_status == 415, "gzip encoding -> 415, got %d", err.http_status);
	r = rw_decode(c, clen, NULL, "identity", MAXB, &alloc, &err);
	CHECK(r == NULL && err.http_status == 415, "identity encoding -> 415");
	r = rw_decode(c, clen, NULL, "SNAPPY", MAXB, &alloc, &err);
	CHECK(r != NULL, "SNAPPY (any case) accepted");
	rw_request_free(r);
	r = rw_decode(c, clen, NULL, NULL, MAXB, &alloc, &err);
	CHECK(r != NULL, "missing Content-Encoding means snappy");
	rw_request_free(r);

	/* uncompressed protobuf sent as if snappy: corrupt */
	r = rw_decode(p, plen, NULL, "snappy", MAXB, &alloc, &err);
	CHECK(r == NULL && err.http_status == 400, "uncompressed body -> 400, got %d (%s)",
		  err.http_status, err.message);

	/* truncated snappy */
	r = rw_decode(c, clen - 1, NULL, "snappy", MAXB, &alloc, &err);
	CHECK(r == NULL && err.http_status == 400, "truncated snappy -> 400, got %d", err.http_status);

	/* empty body: snappy of nothing is one byte; zero bytes is invalid */
	r = rw_decode("", 0, NULL, "snappy", MAXB, &alloc, &err);
	CHECK(r == NULL && err.http_status == 400, "empty body -> 400, got %d", err.http_status);

	/* body larger than the limit */
	r = rw_decode(c, clen, NULL, "snappy", clen - 1, &alloc, &err);
	CHECK(r == NULL && err.http_status == 413, "body over the limit -> 413, got %d", err.http_status);

	/* decompressed size over the limit, judged from the header before allocating */
	r = rw_decode(c, clen, NULL, "snappy", plen - 1, &alloc, &err);
	CHECK(r == NULL && err.http_status == 413, "decompressed over the limit -> 413, got %d",
		  err.http_status);
	/* a 5-byte body claiming 4 GB: 413 and not a single allocation */
	memcpy(bogus, "\xff\xff\xff\xff\x0f", 5);
	n_allocs = 0;
	r = rw_decode(bogus, 5, NULL, "snappy", MAXB, &alloc, &err);
	CHECK(r == NULL && err.http_status == 413 && n_allocs == 0,
		  "huge declared length -> 413 without allocating, got %d, %ld allocs",
		  err.http_status, n_allocs);

	/* garbage that is valid snappy but not protobuf */
	{
		static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
		char	   *jc = compress(junk, sizeof(junk), &clen);

		r = rw_decode(jc, clen, NULL, "snappy", MAXB, &alloc, &err);
		CHECK(r == NULL && err.http_status == 400, "bad protobuf -> 400, got %d", err.http_status);
		r = rw_decode(jc, clen, RW_CONTENT_TYPE_V2, "snappy", MAXB, &alloc, &err);
		CHECK(r == NULL && err.http_status == 400, "bad protobuf v2 -> 400, got %d", err.http_status);
		free(jc);
	}

	/* many empty messages: the memory cap answers 413 and frees everything */
	big = malloc(4 * 1024 * 1024);
	for (i = 0; i < 4 * 1024 * 1024; i += 2)
	{
		big[i] = 0x0a;
		big[i + 1] = 0x00;
	}
	n_allocs = n_frees = 0;
	r = rw_decode_protobuf(big, 4 * 1024 * 1024, RW_VERSION_1, &alloc, &err);
	CHECK(r == NULL && err.http_status == 413, "empty-message bomb -> 413, got %d (%s)",
		  err.http_status, err.message);
	CHECK(n_allocs == n_frees, "bomb: everything freed");
	free(big);

	free(p);
	free(c);
}

static void
test_helpers(void)
{
	RwLabel		a[2] = {{"__name__", 8, "up", 2}, {"job", 3, "x", 1}};
	RwLabel		b[2] = {{"__name__", 8, "up", 2}, {"job", 3, "y", 1}};
	RwLabel		c[1] = {{"__name__", 8, "upjob", 5}};
	RwLabel		d[2] = {{"__name__", 8, "upj", 3}, {"ob", 2, "x", 1}};

	CHECK(alloy_valid_utf8("", 0), "empty is utf-8");
	CHECK(alloy_valid_utf8("plain ascii text, longer than eight", 35), "ascii");
	CHECK(alloy_valid_utf8("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", 9), "2,3,4-byte sequences");
	CHECK(alloy_valid_utf8("\xf4\x8f\xbf\xbf", 4), "U+10FFFF");
	CHECK(!alloy_valid_utf8("\xf4\x90\x80\x80", 4), "above U+10FFFF");
	CHECK(!alloy_valid_utf8("\xe0\x80\xaf", 3), "overlong 3-byte");
	CHECK(!alloy_valid_utf8("\xf0\x80\x80\xaf", 4), "overlong 4-byte");
	CHECK(!alloy_valid_utf8("\x80", 1), "lone continuation");
	CHECK(!alloy_valid_utf8("abcdefgh\xc3", 9), "truncated after ascii run");
	CHECK(alloy_valid_label_name("_", 1) && alloy_valid_label_name("a_B9", 4), "label names");
	CHECK(!alloy_valid_label_name("", 0) && !alloy_valid_label_name("9a", 2) &&
		  !alloy_valid_label_name("a.b", 3), "bad label names");
	CHECK(alloy_valid_metric_name(":a:b_1", 6) && !alloy_valid_metric_name("1a", 2), "metric names");

	/* hash: stable (pinned), order of fields matters, no concatenation aliasing */
	CHECK(rw_labels_hash(a, 2) == rw_labels_hash(a, 2), "hash deterministic");
	CHECK(rw_labels_hash(a, 2) != rw_labels_hash(b, 2), "value change changes hash");
	CHECK(rw_labels_hash(c, 1) != rw_labels_hash(d, 2), "boundaries are part of the hash");
	CHECK(rw_labels_hash(a, 2) == AlloyLabelsHash(a, 2), "decoder hash is the catalog hash");
	/* pinned: the value is shared state (catalog cache, stored hashes); a change must be deliberate */
	CHECK(rw_labels_hash(a, 2) == UINT64_C(0x38271133bbd693c8), "hash(__name__=up, job=x) is pinned, got 0x%016llx",
		  (unsigned long long) rw_labels_hash(a, 2));
}

/* ---------- hand-encoded wire edge cases ---------- */

typedef struct WBuf
{
	uint8_t		b[4096];
	size_t		n;
} WBuf;

static void
w_raw(WBuf *w, const void *p, size_t n)
{
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void
w_varint(WBuf *w, uint64_t v)
{
	while (v >= 0x80)
	{
		w->b[w->n++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	w->b[w->n++] = (uint8_t) v;
}

static void
w_key(WBuf *w, uint32_t field, int wt)
{
	w_varint(w, ((uint64_t) field << 3) | (uint64_t) wt);
}

/* A length-delimited field holding another buffer (or a string). */
static void
w_sub(WBuf *w, uint32_t field, const void *p, size_t n)
{
	w_key(w, field, 2);
	w_varint(w, n);
	w_raw(w, p, n);
}

static void
w_str(WBuf *w, uint32_t field, const char *s)
{
	w_sub(w, field, s, strlen(s));
}

static void
w_double(WBuf *w, uint32_t field, double d)
{
	w_key(w, field, 1);
	w_raw(w, &d, 8);
}

/* Decode raw protobuf with both readers; expect the given status (0 = ok). */
static RwRequest *
wire_expect(const WBuf *w, int version, int status, const char *what)
{
	RwError		err;
	RwRequest  *r;

	cross_check(w->b, w->n, version, what);
	r = rw_decode_protobuf(w->b, w->n, (RwVersion) version, &alloc, &err);
	CHECK((r == NULL ? err.http_status : 0) == status, "%s: expected %d, got %d (%s)", what,
		  status, r == NULL ? err.http_status : 0, err.message);
	return r;
}

static void
test_wire(void)
{
	WBuf		req,
				ts,
				lab,
				smp;
	RwRequest  *r;

	/* v1 with unknown fields at every level, fields out of order */
	memset(&req, 0, sizeof(req));
	memset(&ts, 0, sizeof(ts));
	memset(&smp, 0, sizeof(smp));
	w_key(&smp, 2, 0);
	w_varint(&smp, 1234);
	w_key(&smp, 7, 5);
	w_raw(&smp, "abcd", 4);		/* unknown fixed32 */
	w_double(&smp, 1, 2.5);
	w_sub(&ts, 2, smp.b, smp.n);
	memset(&lab, 0, sizeof(lab));
	w_str(&lab, 2, "up");
	w_str(&lab, 9, "ignored");	/* unknown */
	w_str(&lab, 1, "__name__");
	w_sub(&ts, 1, lab.b, lab.n);
	w_key(&ts, 15, 0);
	w_varint(&ts, UINT64_MAX);	/* unknown 10-byte varint */
	w_str(&req, 2, "reserved field 2 is skipped");
	w_sub(&req, 1, ts.b, ts.n);
	r = wire_expect(&req, 1, 0, "v1 unknown fields everywhere");
	if (r)
	{
		CHECK(r->nseries == 1 && r->series[0].nsamples == 1 &&
			  r->series[0].samples[0].t_ms == 1234 && r->series[0].samples[0].value == 2.5 &&
			  label_is(&r->series[0].labels[0], "__name__", "up"), "v1 unknown fields: content");
		rw_request_free(r);
	}

	/* a label given with the wrong wire type */
	memset(&req, 0, sizeof(req));
	memset(&ts, 0, sizeof(ts));
	w_key(&ts, 1, 0);
	w_varint(&ts, 5);
	w_sub(&req, 1, ts.b, ts.n);
	r = wire_expect(&req, 1, 400, "v1 label with varint wire type");
	rw_request_free(r);

	/* truncated: a length running past the end */
	memset(&req, 0, sizeof(req));
	w_key(&req, 1, 2);
	w_varint(&req, 10);
	w_raw(&req, "\x0a\x00", 2);
	r = wire_expect(&req, 1, 400, "v1 truncated series");
	rw_request_free(r);

	/* group wire types are refused */
	memset(&req, 0, sizeof(req));
	w_key(&req, 9, 3);
	w_key(&req, 9, 4);
	r = wire_expect(&req, 1, 400, "group wire type");
	rw_request_free(r);

	/* a sample value with the wrong wire type */
	memset(&req, 0, sizeof(req));
	memset(&ts, 0, sizeof(ts));
	memset(&lab, 0, sizeof(lab));
	w_str(&lab, 1, "__name__");
	w_str(&lab, 2, "up");
	w_sub(&ts, 1, lab.b, lab.n);
	memset(&smp, 0, sizeof(smp));
	w_key(&smp, 1, 0);
	w_varint(&smp, 3);
	w_sub(&ts, 2, smp.b, smp.n);
	w_sub(&req, 1, ts.b, ts.n);
	r = wire_expect(&req, 1, 400, "v1 sample value as varint");
	rw_request_free(r);

	/* a malformed histogram is refused even though histograms are only counted */
	memset(&req, 0, sizeof(req));
	memset(&ts, 0, sizeof(ts));
	w_sub(&ts, 1, lab.b, lab.n);
	w_sub(&ts, 4, "\x52\x03\x01\x02\x03", 5);	/* positive_counts: 3 bytes, not 8k */
	w_sub(&req, 1, ts.b, ts.n);
	r = wire_expect(&req, 1, 400, "v1 histogram with a bad packed double");
	rw_request_free(r);

	/* v2: timeseries before symbols, refs unpacked, start timestamp */
	memset(&req, 0, sizeof(req));
	memset(&ts, 0, sizeof(ts));
	w_key(&ts, 1, 0);
	w_varint(&ts, 1);
	w_key(&ts, 1, 0);
	w_varint(&ts, 2);
	memset(&smp, 0, sizeof(smp));
	w_double(&smp, 1, 4.0);
	w_key(&smp, 2, 0);
	w_varint(&smp, 99);
	w_key(&smp, 3, 0);
	w_varint(&smp, 7);
	w_sub(&ts, 2, smp.b, smp.n);
	w_sub(&req, 5, ts.b, ts.n);
	w_sub(&req, 4, "", 0);
	w_str(&req, 4, "__name__");
	w_str(&req, 4, "up");
	r = wire_expect(&req, 2, 0, "v2 series before symbols, unpacked refs");
	if (r)
	{
		CHECK(r->nseries == 1 && label_is(&r->series[0].labels[0], "__name__", "up") &&
			  r->series[0].samples[0].t_ms == 99 && r->series[0].start_ms == 7,
			  "v2 unpacked refs: content");
		rw_request_free(r);
	}

	/* v2: a packed ref list whose last varint never ends */
	memset(&req, 0, sizeof(req));
	memset(&ts, 0, sizeof(ts));
	w_sub(&ts, 1, "\x01\x82", 2);
	w_sub(&req, 4, "", 0);
	w_sub(&req, 5, ts.b, ts.n);
	r = wire_expect(&req, 2, 400, "v2 unterminated packed ref");
	rw_request_free(r);

	/* v2: a 1.0 body sent with the 2.0 content type decodes to nothing */
	memset(&req, 0, sizeof(req));
	memset(&ts, 0, sizeof(ts));
	w_sub(&ts, 1, lab.b, lab.n);
	w_sub(&req, 1, ts.b, ts.n);
	r = wire_expect(&req, 2, 0, "v1 body as v2");
	if (r)
	{
		CHECK(r->nseries == 0, "v1 body as v2: no series (fields 1-3 are reserved in 2.0)");
		rw_request_free(r);
	}
}

/*
 * Decode time of a realistic request: 500 series of node-exporter-like
 * metrics (9-11 labels), one sample each, as Prometheus 2.42 sends them.
 */
static void
bench_realistic(void)
{
	static char names[500][64],
				cpus[500][8],
				devs[500][16];
	static const char *metrics[] = {
		"node_cpu_seconds_total", "node_network_receive_bytes_total",
		"node_filesystem_avail_bytes", "node_memory_MemAvailable_bytes",
		"node_disk_read_bytes_total"
	};
	static const char *modes[] = {"idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"};
	size_t		plen,
				clen;
	uint8_t    *p;
	char	   *c;
	int			i,
				iters = 2000;
	struct timespec t0,
				t1;
	double		ns;
	RwError		err;
	RwRequest  *r;

	v1_reset();
	for (i = 0; i < 500; i++)
	{
		snprintf(names[i], sizeof(names[i]), "%s", metrics[i % 5]);
		snprintf(cpus[i], sizeof(cpus[i]), "%d", i / 8 % 64);
		snprintf(devs[i], sizeof(devs[i]), "nvme%dn1", i % 4);
		/* sorted by name, as Prometheus sends them */
		v1_series("__name__", names[i], "cluster", "eu-west-1", "cpu", cpus[i],
				  "device", devs[i], "env", "production",
				  "instance", "node-17.prod.example.com:9100", "job", "node",
				  "mode", modes[i % 8], "region", "eu", "team", "infra", NULL);
		v1_sample(123456.789 + i * 0.25, INT64_C(1764000000000) + i);
	}
	p = v1_pack(&plen);
	c = compress(p, plen, &clen);
	r = rw_decode(c, clen, RW_CONTENT_TYPE_V1, "snappy", MAXB, &alloc, &err);
	CHECK(r != NULL && r->nseries == 500, "realistic request decodes: %s", err.message);
	rw_request_free(r);

	/* CPU time of this thread: the build machine is shared, wall time is noise */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (i = 0; i < iters; i++)
	{
		r = rw_decode(c, clen, RW_CONTENT_TYPE_V1, "snappy", MAXB, &alloc, &err);
		rw_request_free(r);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / iters;
	printf("# bench v1: 500 series x 1 sample, 10 labels each, %zu bytes snappy, %zu bytes protobuf: "
		   "%.1f us/request, %.0f ns/sample (CPU time, snappy included)\n", clen, plen, ns / 1000, ns / 500);
	{
		char	   *u = malloc(plen);

		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		for (i = 0; i < iters; i++)
		{
			size_t		ol = plen;

			snappy_uncompress(c, clen, u, &ol);
		}
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
		printf("# bench:   of which snappy_uncompress %.1f us/request\n",
			   ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / iters / 1000);
		free(u);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (i = 0; i < iters / 4; i++)
	{
		r = rw_decode_protobuf_reference(p, plen, RW_VERSION_1, &alloc, &err);
		rw_request_free(r);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	printf("# bench:   protobuf-c reference reader (no snappy): %.1f us/request\n",
		   ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (iters / 4) / 1000);
	free(p);
	free(c);
}

/* ---------- exemplars ---------- */

#define MAXE 12

static Prometheus__Exemplar v1_exs[MAXE],
		   *v1_exsp[MAXE];
static Prometheus__Label v1_exlab[MAXE][40],
		   *v1_exlabp[MAXE][40];
static Io__Prometheus__Write__V2__Exemplar v2_exs[MAXE],
		   *v2_exsp[MAXE];
static uint32_t v2_exsrefs[MAXE][80];
static int	next_ex;			/* exemplar slots used by the current request */

/* Add an exemplar to the last v1 and v2 series: NULL-terminated name, value, ... */
static void
add_exemplar(double v, int64_t t, const char *first,...)
{
	va_list		ap;
	Prometheus__TimeSeries *ts1 = &v1_ts[v1.n_timeseries - 1];
	Io__Prometheus__Write__V2__TimeSeries *ts2 = &v2_ts[v2.n_timeseries - 1];
	int			i = next_ex++;
	Prometheus__Exemplar *e1 = &v1_exs[i];
	Io__Prometheus__Write__V2__Exemplar *e2 = &v2_exs[i];
	const char *n = first;

	prometheus__exemplar__init(e1);
	io__prometheus__write__v2__exemplar__init(e2);
	e1->labels = v1_exlabp[i];
	e1->value = e2->value = v;
	e1->timestamp = e2->timestamp = t;
	e2->labels_refs = v2_exsrefs[i];
	va_start(ap, first);
	while (n != NULL)
	{
		const char *val = va_arg(ap, const char *);
		Prometheus__Label *l = &v1_exlab[i][e1->n_labels];

		prometheus__label__init(l);
		l->name = bin(n);
		l->value = bin(val);
		v1_exlabp[i][e1->n_labels++] = l;
		v2_exsrefs[i][e2->n_labels_refs++] = v2_ref(n);
		v2_exsrefs[i][e2->n_labels_refs++] = v2_ref(val);
		n = va_arg(ap, const char *);
	}
	va_end(ap);
	if (ts1->n_exemplars == 0)
	{
		ts1->exemplars = &v1_exsp[i];
		ts2->exemplars = &v2_exsp[i];
	}
	v1_exsp[i] = e1;
	v2_exsp[i] = e2;
	ts1->n_exemplars++;
	ts2->n_exemplars++;
}

/*
 * Exemplars come out of both protocol versions and both readers the same:
 * labels sorted with empty values dropped, value and timestamp bit-exact,
 * and invalid ones (bad or duplicate names, bad UTF-8, labels over 128
 * runes) dropped and counted without failing the request.
 */
static void
test_exemplars(void)
{
	/* 128 runes exactly: name (8) + 120 two-byte runes (240 bytes); one more is too many */
	static char long_ok[300],
				long_bad[300];
	char		name8[] = "trace_id";

	for (int i = 0; i < 120; i++)
		memcpy(long_ok + 2 * i, "\xc3\xa9", 2);
	long_ok[240] = '\0';
	memcpy(long_bad, long_ok, 241);
	strcat(long_bad, "x");

	for (int version = 1; version <= 2; version++)
	{
		RwError		err;
		RwRequest  *r;
		const RwSeries *s;

		v1_reset();
		v2_reset();
		next_ex = 0;
		v1_series("__name__", "rpc_seconds_bucket", "le", "0.5", NULL);
		v2_series("__name__", "rpc_seconds_bucket", "le", "0.5", NULL);
		v1_sample(3, 1000);
		v2_sample(3, 1000, 0);
		add_exemplar(0.25, 1600096945479, "trace_id", "abc", "span_id", "", "a_first", "1", NULL);
		add_exemplar(bitsd(STALE), 0, NULL);	/* no labels, no timestamp */
		add_exemplar(1, 2, "bad-name", "x", NULL);
		add_exemplar(1, 3, "trace_id", "\xff", NULL);
		add_exemplar(1, 4, "trace_id", "a", "trace_id", "b", NULL);
		add_exemplar(1, 5, name8, long_bad, NULL);
		add_exemplar(-7.5, -1, name8, long_ok, NULL);
		/* a second series with many exemplar labels but few series labels */
		v1_series("__name__", "x", NULL);
		v2_series("__name__", "x", NULL);
		add_exemplar(2, 10, "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6",
					 "g", "7", "h", "8", "i", "9", "j", "10", "k", "11", "l", "12", NULL);

		r = decode_current(version, version == 2 ? RW_CONTENT_TYPE_V2 : RW_CONTENT_TYPE_V1,
						   "snappy", &err);
		CHECK(r != NULL, "v%d exemplars decode: %s", version, err.message);
		if (r == NULL)
			continue;
		s = &r->series[0];
		CHECK(r->nexemplars == 4 && r->nexemplars_dropped == 4,
			  "v%d: 4 kept, 4 dropped (got %ld, %ld)", version, (long) r->nexemplars,
			  (long) r->nexemplars_dropped);
		CHECK(s->nexemplars == 3 && s->nexemplars_dropped == 4, "v%d: series 0 counts", version);
		CHECK(s->exemplars[0].nlabels == 2 &&
			  label_is(&s->exemplars[0].labels[0], "a_first", "1") &&
			  label_is(&s->exemplars[0].labels[1], "trace_id", "abc"),
			  "v%d: exemplar labels sorted, empty value dropped", version);
		CHECK(s->exemplars[0].value == 0.25 && s->exemplars[0].t_ms == 1600096945479,
			  "v%d: exemplar value and timestamp", version);
		CHECK(s->exemplars[1].nlabels == 0 && dbits(s->exemplars[1].value) == STALE &&
			  s->exemplars[1].t_ms == 0, "v%d: exemplar without labels, value bit-exact", version);
		CHECK(s->exemplars[2].nlabels == 1 && s->exemplars[2].t_ms == -1 &&
			  s->exemplars[2].value == -7.5, "v%d: 128 runes accepted", version);
		CHECK(r->series[1].nexemplars == 1 && r->series[1].exemplars[0].nlabels == 12 &&
			  label_is(&r->series[1].exemplars[0].labels[11], "l", "12"),
			  "v%d: exemplar with more labels than its series", version);
		rw_request_free(r);
	}

	/* the helper alone */
	{
		RwLabel		l[3] = {{"b", 1, "", 0}, {"a", 1, "x", 1}, {"c", 1, "y", 1}};

		CHECK(rw_exemplar_labels(l, 3) == 2 && l[0].name[0] == 'a' && l[1].name[0] == 'c',
			  "rw_exemplar_labels drops empty values and sorts");
		l[0] = (RwLabel) {"", 0, "x", 1};
		CHECK(rw_exemplar_labels(l, 1) == -1, "empty exemplar label name refused");
		CHECK(rw_exemplar_labels(l, 0) == 0, "no labels is fine");
	}
}

int
main(void)
{
	test_helpers();
	test_valid_v1();
	test_valid_v2();
	test_rejections_v1();
	test_rejections_v2();
	test_transport();
	test_wire();
	test_exemplars();
	bench_realistic();
	return unit_finish();
}

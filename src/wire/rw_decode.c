/*
 * rw_decode.c: remote-write request decoding (headers, snappy, protobuf,
 * validation, normalisation into RwRequest). See rw_decode.h for the API and
 * docs/ingest-decoding.md for the rules and measurements.
 *
 * Layout of this file: the arena; error helpers; validation (UTF-8, names);
 * label sets (sort, hash, per-series checks); the protobuf-c reference
 * decoders for 1.0 and 2.0; the fast zero-copy reader used in production
 * (same behaviour, checked against the reference by tests and fuzzing); the
 * entry points with header and snappy handling.
 *
 * Memory. Everything a request needs (the decompressed buffer, our flat
 * arrays, the structs protobuf-c unpacks on the reference path) comes from
 * one bump arena whose blocks come from the caller's allocator. Freeing is
 * one walk over a short block list, and the arena enforces a hard cap
 * proportional to the decompressed size, so a small body that unpacks into
 * many empty messages cannot make us allocate without bound (we answer 413).
 *
 * Plain C, no PostgreSQL calls: unit tests and libFuzzer link this directly.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>
#include <snappy-c.h>

#include "wire/wire.h"
#include "wire/remote.pb-c.h"
#include "wire/write_v2.pb-c.h"

/*
 * Arena limits. A realistic request needs about 3 times its decompressed size
 * (9 on the protobuf-c reference path); the pathological case (every message
 * empty) would need about 100 times. We allow RW_ARENA_FACTOR times plus a
 * fixed slack and reject the rest as too large.
 */
#define RW_ARENA_FACTOR		16
#define RW_ARENA_SLACK		(1024 * 1024)
#define RW_BLOCK_MIN		(64 * 1024)
#define RW_BLOCK_MAX		(1024 * 1024)
#define RW_BLOCK_BIG		(16 * 1024)	/* own block from this size on */
#define RW_ALIGN			8

/* Counts and lengths are ints in RwRequest: refuse anything that could overflow them. */
#define RW_MAX_DECODED		((size_t) 1 << 30)

typedef struct RwBlock
{
	struct RwBlock *next;
	size_t		size;			/* usable bytes after the header */
	size_t		used;
} RwBlock;

#define RW_BLOCK_HDR	((sizeof(RwBlock) + RW_ALIGN - 1) & ~(size_t) (RW_ALIGN - 1))

typedef struct RwArena
{
	RwAllocator alloc;
	RwBlock    *head;
	size_t		total;			/* bytes obtained from alloc */
	size_t		limit;
	size_t		next_block;
	bool		over_limit;
	char	   *scratch;		/* reusable buffer for series_hash */
	size_t		scratch_cap;
} RwArena;

/* Symbol validation cache flags (remote write 2.0). */
#define SYM_UTF8_CHECKED	0x01
#define SYM_UTF8_OK			0x02
#define SYM_NAME_CHECKED	0x04
#define SYM_NAME_OK			0x08
#define SYM_METRIC_CHECKED	0x10
#define SYM_METRIC_OK		0x20

static const char RW_METRIC_NAME_LABEL[] = "__name__";
#define RW_METRIC_NAME_LABEL_LEN 8

/* ---------- memory ---------- */

static void *
arena_alloc(RwArena *ar, size_t size)
{
	RwBlock    *b = ar->head;
	void	   *p;

	size = (size + RW_ALIGN - 1) & ~(size_t) (RW_ALIGN - 1);
	if (size == 0)
		size = RW_ALIGN;
	if (size >= RW_BLOCK_BIG && (b == NULL || b->size - b->used < size))
	{
		/*
		 * A big array (the decompressed body, the label array) gets a block
		 * of its own, linked behind the current one, so neither the current
		 * block's free tail nor a doubled block is wasted on it.
		 */
		RwBlock    *big;

		if (ar->total + RW_BLOCK_HDR + size > ar->limit)
		{
			ar->over_limit = true;
			return NULL;
		}
		big = ar->alloc.alloc(ar->alloc.ctx, RW_BLOCK_HDR + size);
		if (big == NULL)
			return NULL;
		big->size = big->used = size;
		ar->total += RW_BLOCK_HDR + size;
		if (b == NULL)
		{
			big->next = NULL;
			ar->head = big;
		}
		else
		{
			big->next = b->next;
			b->next = big;
		}
		return (char *) big + RW_BLOCK_HDR;
	}
	if (b == NULL || b->size - b->used < size)
	{
		size_t		bsize = ar->next_block;

		if (bsize < size)
			bsize = size;
		if (ar->total + RW_BLOCK_HDR + bsize > ar->limit)
		{
			/* the last block may be cut down to what the limit still allows */
			if (ar->total + RW_BLOCK_HDR + size > ar->limit)
			{
				ar->over_limit = true;
				return NULL;
			}
			bsize = ar->limit - ar->total - RW_BLOCK_HDR;
		}
		b = ar->alloc.alloc(ar->alloc.ctx, RW_BLOCK_HDR + bsize);
		if (b == NULL)
			return NULL;
		b->size = bsize;
		b->used = 0;
		b->next = ar->head;
		ar->head = b;
		ar->total += RW_BLOCK_HDR + bsize;
		if (ar->next_block < RW_BLOCK_MAX)
			ar->next_block *= 2;
	}
	p = (char *) b + RW_BLOCK_HDR + b->used;
	b->used += size;
	return p;
}

static void
arena_destroy(RwArena *ar)
{
	RwBlock    *b = ar->head;
	RwAllocator a = ar->alloc;

	while (b != NULL)
	{
		RwBlock    *next = b->next;

		if (a.free)
			a.free(a.ctx, b);
		b = next;
	}
	if (a.free)
		a.free(a.ctx, ar);
}

static RwArena *
arena_create(const RwAllocator *allocator, size_t limit)
{
	RwArena    *ar = allocator->alloc(allocator->ctx, sizeof(RwArena));

	if (ar == NULL)
		return NULL;
	ar->alloc = *allocator;
	ar->head = NULL;
	ar->total = 0;
	ar->limit = limit;
	ar->next_block = RW_BLOCK_MIN;
	ar->over_limit = false;
	ar->scratch = NULL;
	ar->scratch_cap = 0;
	return ar;
}

/* protobuf-c allocator hooks: bump-allocate, never free individually. */
static void *
pbc_arena_alloc(void *data, size_t size)
{
	return arena_alloc((RwArena *) data, size);
}

static void
pbc_arena_free(void *data, void *ptr)
{
	(void) data;
	(void) ptr;
}

/* ---------- errors ---------- */

static void
set_error(RwError *err, int status, const char *fmt,...)
	__attribute__((format(printf, 3, 4)));

static void
set_error(RwError *err, int status, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return;
	err->http_status = status;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/*
 * Copy untrusted bytes into a message safely: printable ASCII only, at most
 * 48 characters, so a hostile label cannot inject newlines into logs.
 */
static const char *
excerpt(const char *s, size_t len, char *buf, size_t bufsize)
{
	size_t		i,
				o = 0;

	for (i = 0; i < len && o + 4 < bufsize && i < 48; i++)
	{
		unsigned char c = (unsigned char) s[i];

		buf[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char) c : '?';
	}
	if (i < len && o + 3 < bufsize)
	{
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* ---------- validation ---------- */

/* ---------- label sets ---------- */

static inline int
name_cmp(const RwLabel *a, const RwLabel *b)
{
	const unsigned char *x = (const unsigned char *) a->name;
	const unsigned char *y = (const unsigned char *) b->name;
	int			n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int			i;

	/* names are short: a byte loop beats a memcmp call */
	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return (int) x[i] - (int) y[i];
	return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/*
 * Sort a series' labels by name. Senders are supposed to sort them already,
 * so one check pass usually suffices. Otherwise a Shell sort: in place, no
 * allocation, insertion-sort speed for the 5-30 labels real series carry,
 * and no quadratic blow-up for a hostile series with thousands of labels.
 */
static void
sort_labels(RwLabel *l, int n)
{
	static const int gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
	int			g,
				i,
				j;

	for (i = 1; i < n; i++)
		if (name_cmp(&l[i - 1], &l[i]) > 0)
			break;
	if (i >= n)
		return;
	for (g = 0; g < (int) (sizeof(gaps) / sizeof(gaps[0])); g++)
	{
		int			gap = gaps[g];

		if (gap >= n)
			continue;
		for (i = gap; i < n; i++)
		{
			RwLabel		t = l[i];

			for (j = i; j >= gap && name_cmp(&l[j - gap], &t) > 0; j -= gap)
				l[j] = l[j - gap];
			l[j] = t;
		}
	}
}

/* The catalog's label-set hash; see labels_hash.h for its definition. */
uint64_t
rw_labels_hash(const RwLabel *labels, int nlabels)
{
	return AlloyLabelsHash(labels, nlabels);
}

/*
 * The label-set hash of sorted labels, bit-identical to AlloyLabelsHash().
 * Its definition depends only on the byte stream name 0xFF value 0xFF ...,
 * so we lay that stream out in a scratch buffer and feed it in one call,
 * letting the hash run whole 8-byte words instead of byte-wise tails per
 * string (the unit tests compare both ways on every decoded series).
 */
static bool
series_hash(RwArena *ar, const RwLabel *l, int n, uint64_t *out)
{
	size_t		need = 0,
				o = 0;
	int			i;
	AlloyLabelsHashState st;

	for (i = 0; i < n; i++)
		need += (size_t) l[i].name_len + (size_t) l[i].value_len + 2;
	if (need > ar->scratch_cap)
	{
		size_t		cap = need < 4096 ? 4096 : need * 2;
		char	   *p = arena_alloc(ar, cap);

		if (p == NULL)
			return false;
		ar->scratch = p;
		ar->scratch_cap = cap;
	}
	for (i = 0; i < n; i++)
	{
		memcpy(ar->scratch + o, l[i].name, l[i].name_len);
		o += l[i].name_len;
		ar->scratch[o++] = (char) 0xff;
		memcpy(ar->scratch + o, l[i].value, l[i].value_len);
		o += l[i].value_len;
		ar->scratch[o++] = (char) 0xff;
	}
	alloy_labels_hash_init(&st, ALLOY_LABELS_HASH_SEED);
	alloy_labels_hash_update(&st, ar->scratch, o);
	*out = alloy_labels_hash_final(&st);
	return true;
}

/*
 * Validate, sort and hash one series' labels in place (l has n entries whose
 * empty-valued ones were already dropped). Senders sort labels, so one pass
 * checking that names strictly increase usually proves both "sorted" and "no
 * duplicates"; only otherwise do we sort and look for duplicates.
 */
static bool
finish_series(RwArena *ar, RwSeries *s, RwLabel *l, int n, int index, RwError *err)
{
	int			i;
	char		buf[64];

	if (n == 0)
	{
		set_error(err, 400, "series %d has no labels", index);
		return false;
	}
	for (i = 1; i < n; i++)
		if (name_cmp(&l[i - 1], &l[i]) >= 0)
			break;
	if (i < n)
	{
		sort_labels(l, n);
		for (i = 1; i < n; i++)
			if (name_cmp(&l[i - 1], &l[i]) == 0)
			{
				set_error(err, 400, "series %d has duplicate label name \"%s\"", index,
						  excerpt(l[i].name, l[i].name_len, buf, sizeof(buf)));
				return false;
			}
	}
	s->metric = NULL;
	s->metric_len = 0;
	for (i = 0; i < n; i++)
		if (l[i].name_len == RW_METRIC_NAME_LABEL_LEN && l[i].name[0] == '_' &&
			memcmp(l[i].name, RW_METRIC_NAME_LABEL, RW_METRIC_NAME_LABEL_LEN) == 0)
		{
			s->metric = l[i].value;
			s->metric_len = l[i].value_len;
			break;
		}
	s->labels = l;
	s->nlabels = n;
	if (!series_hash(ar, l, n, &s->hash))
	{
		set_error(err, 413, "decoded request needs more than %zu bytes of memory", ar->limit);
		return false;
	}
	return true;
}

/*
 * Check one label (v1 path; v2 caches per symbol). Returns 0 when it is fine,
 * 1 when it must be dropped (empty value means "no such label"), -1 on error.
 */
static int
check_label(const char *name, size_t nlen, const char *value, size_t vlen,
			int index, RwError *err)
{
	char		buf[64];

	if (nlen == 0)
	{
		set_error(err, 400, "series %d has a label with an empty name", index);
		return -1;
	}
	if (!alloy_valid_label_name(name, nlen))
	{
		set_error(err, 400, "series %d has invalid label name \"%s\"", index,
				  excerpt(name, nlen, buf, sizeof(buf)));
		return -1;
	}
	if (!alloy_valid_utf8(value, vlen))
	{
		set_error(err, 400, "series %d label \"%s\" has a value that is not valid utf-8",
				  index, excerpt(name, nlen, buf, sizeof(buf)));
		return -1;
	}
	if (nlen == RW_METRIC_NAME_LABEL_LEN &&
		memcmp(name, RW_METRIC_NAME_LABEL, RW_METRIC_NAME_LABEL_LEN) == 0)
	{
		if (!alloy_valid_metric_name(value, vlen))
		{
			set_error(err, 400, "series %d has invalid metric name \"%s\"", index,
					  excerpt(value, vlen, buf, sizeof(buf)));
			return -1;
		}
	}
	else if (vlen == 0)
		return 1;
	return 0;
}

static inline const char *
bin_ptr(const ProtobufCBinaryData *b)
{
	return b->data ? (const char *) b->data : "";
}

/* ---------- exemplars ---------- */

/* Code points of valid UTF-8: every byte that does not continue a sequence. */
static size_t
utf8_runes(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *) str;
	size_t		i,
				n = 0;

	for (i = 0; i < len; i++)
		n += (s[i] & 0xc0) != 0x80;
	return n;
}

/*
 * Exemplar labels follow Prometheus's exemplar storage, not the series rules:
 * a bad exemplar is dropped on its own while the request goes on (Prometheus
 * 2.42 logs such exemplars and still answers 2xx). Empty values are dropped
 * first, as its appender does, then the remaining names and values may hold
 * at most RW_EXEMPLAR_MAX_LABEL_RUNES code points together. Invalid names,
 * duplicate names and invalid UTF-8 are dropped too: Prometheus would store
 * them, but they could not be queried back as a label set.
 */
int
rw_exemplar_labels(RwLabel *l, int n)
{
	int			i,
				k = 0;
	size_t		runes = 0;

	for (i = 0; i < n; i++)
	{
		if (!alloy_valid_label_name(l[i].name, l[i].name_len) ||
			!alloy_valid_utf8(l[i].value, l[i].value_len))
			return -1;
		if (l[i].value_len > 0)
			l[k++] = l[i];
	}
	sort_labels(l, k);
	for (i = 0; i < k; i++)
	{
		if (i > 0 && name_cmp(&l[i - 1], &l[i]) == 0)
			return -1;
		runes += (size_t) l[i].name_len + utf8_runes(l[i].value, l[i].value_len);
		if (runes > RW_EXEMPLAR_MAX_LABEL_RUNES)
			return -1;
	}
	return k;
}

/*
 * Keep or drop one exemplar of series s whose nl raw label pairs were just
 * written at *labels. Kept exemplars go to base[s->nexemplars] and their
 * labels stay where they are (*labels moves past them).
 */
static void
keep_exemplar(RwExemplar *base, RwSeries *s, RwLabel **labels, int nl,
			  double value, int64_t t)
{
	int			n = rw_exemplar_labels(*labels, nl);
	RwExemplar *e;

	if (n < 0)
	{
		s->nexemplars_dropped++;
		return;
	}
	e = &base[s->nexemplars++];
	e->labels = *labels;
	e->nlabels = n;
	e->value = value;
	e->t_ms = t;
	*labels += n;
}

/* Point series s at its exemplars and add its counts to the request's. */
static void
finish_exemplars(RwRequest *req, RwSeries *s, RwExemplar **base)
{
	s->exemplars = *base;
	*base += s->nexemplars;
	req->nexemplars += s->nexemplars;
	req->nexemplars_dropped += s->nexemplars_dropped;
}

/* ---------- reference decoder (protobuf-c): remote write 1.0 ---------- */

static bool
decode_v1(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len, RwError *err)
{
	ProtobufCAllocator pa = {pbc_arena_alloc, pbc_arena_free, ar};
	Prometheus__WriteRequest *wr;
	size_t		i,
				j,
				total_labels = 0,
				total_samples = 0,
				total_ex = 0,
				total_exlabels = 0;
	RwLabel    *labels;
	RwLabel    *exlabels;
	RwSample   *samples;
	RwExemplar *exemplars;
	char		b1[64];

	wr = prometheus__write_request__unpack(&pa, len, buf);
	if (wr == NULL)
	{
		if (ar->over_limit)
			set_error(err, 413, "decoded request needs more than %zu bytes of memory", ar->limit);
		else
			set_error(err, 400, "cannot parse prometheus.WriteRequest protobuf");
		return false;
	}
	for (i = 0; i < wr->n_timeseries; i++)
	{
		total_labels += wr->timeseries[i]->n_labels;
		total_samples += wr->timeseries[i]->n_samples;
		total_ex += wr->timeseries[i]->n_exemplars;
		for (j = 0; j < wr->timeseries[i]->n_exemplars; j++)
			total_exlabels += wr->timeseries[i]->exemplars[j]->n_labels;
	}
	req->series = arena_alloc(ar, sizeof(RwSeries) * (wr->n_timeseries + 1));
	labels = arena_alloc(ar, sizeof(RwLabel) * (total_labels + 1));
	samples = arena_alloc(ar, sizeof(RwSample) * (total_samples + 1));
	req->metadata = arena_alloc(ar, sizeof(RwMetadata) * (wr->n_metadata + 1));
	exemplars = arena_alloc(ar, sizeof(RwExemplar) * (total_ex + 1));
	exlabels = arena_alloc(ar, sizeof(RwLabel) * (total_exlabels + 1));
	if (!req->series || !labels || !samples || !req->metadata || !exemplars || !exlabels)
		goto nomem;

	for (i = 0; i < wr->n_timeseries; i++)
	{
		Prometheus__TimeSeries *ts = wr->timeseries[i];
		RwSeries   *s = &req->series[i];
		int			n = 0;

		for (j = 0; j < ts->n_labels; j++)
		{
			const Prometheus__Label *pl = ts->labels[j];
			int			r = check_label(bin_ptr(&pl->name), pl->name.len,
										bin_ptr(&pl->value), pl->value.len,
										(int) i, err);

			if (r < 0)
				return false;
			if (r > 0)
				continue;
			labels[n].name = bin_ptr(&pl->name);
			labels[n].name_len = (int) pl->name.len;
			labels[n].value = bin_ptr(&pl->value);
			labels[n].value_len = (int) pl->value.len;
			n++;
		}
		if (!finish_series(ar, s, labels, n, (int) i, err))
			return false;
		labels += n;

		for (j = 0; j < ts->n_samples; j++)
		{
			samples[j].t_ms = ts->samples[j]->timestamp;
			samples[j].value = ts->samples[j]->value;
		}
		s->samples = samples;
		s->nsamples = (int) ts->n_samples;
		samples += ts->n_samples;
		s->nexemplars = s->nexemplars_dropped = 0;
		for (j = 0; j < ts->n_exemplars; j++)
		{
			const Prometheus__Exemplar *pe = ts->exemplars[j];
			size_t		k;

			for (k = 0; k < pe->n_labels; k++)
			{
				exlabels[k].name = bin_ptr(&pe->labels[k]->name);
				exlabels[k].name_len = (int) pe->labels[k]->name.len;
				exlabels[k].value = bin_ptr(&pe->labels[k]->value);
				exlabels[k].value_len = (int) pe->labels[k]->value.len;
			}
			keep_exemplar(exemplars, s, &exlabels, (int) pe->n_labels,
						  pe->value, pe->timestamp);
		}
		finish_exemplars(req, s, &exemplars);
		s->nhistograms = (int) ts->n_histograms;
		s->start_ms = 0;
		req->nsamples += ts->n_samples;
		req->nhistograms += ts->n_histograms;
	}
	req->nseries = (int) wr->n_timeseries;

	for (i = 0; i < wr->n_metadata; i++)
	{
		const Prometheus__MetricMetadata *m = wr->metadata[i];
		RwMetadata *md = &req->metadata[i];

		if (!alloy_valid_utf8(bin_ptr(&m->metric_family_name), m->metric_family_name.len) ||
			!alloy_valid_utf8(bin_ptr(&m->help), m->help.len) ||
			!alloy_valid_utf8(bin_ptr(&m->unit), m->unit.len))
		{
			set_error(err, 400, "metadata %zu for \"%s\" is not valid utf-8", i,
					  excerpt(bin_ptr(&m->metric_family_name), m->metric_family_name.len,
							  b1, sizeof(b1)));
			return false;
		}
		md->family = bin_ptr(&m->metric_family_name);
		md->family_len = (int) m->metric_family_name.len;
		md->type = (m->type >= 0 && m->type <= 7) ? (RwMetricType) m->type : RW_METRIC_UNKNOWN;
		md->help = bin_ptr(&m->help);
		md->help_len = (int) m->help.len;
		md->unit = bin_ptr(&m->unit);
		md->unit_len = (int) m->unit.len;
	}
	req->nmetadata = (int) wr->n_metadata;
	return true;

nomem:
	set_error(err, 413, "decoded request needs more than %zu bytes of memory", ar->limit);
	return false;
}

/* ---------- reference decoder (protobuf-c): remote write 2.0 ---------- */

typedef struct V2Symbols
{
	const ProtobufCBinaryData *sym;
	size_t		n;
	unsigned char *flags;
} V2Symbols;

/*
 * Validate symbol r once with check, remembering the verdict in its flags
 * (checked_bit says it ran, ok_bit what it said): requests repeat the same
 * symbols in every series.
 */
static inline bool
sym_check(V2Symbols *st, uint32_t r, unsigned char checked_bit, unsigned char ok_bit,
		  bool (*check) (const char *, size_t))
{
	unsigned char f = st->flags[r];

	if (!(f & checked_bit))
	{
		f |= checked_bit;
		if (check(bin_ptr(&st->sym[r]), st->sym[r].len))
			f |= ok_bit;
		st->flags[r] = f;
	}
	return (f & ok_bit) != 0;
}

static inline bool
sym_utf8(V2Symbols *st, uint32_t r)
{
	return sym_check(st, r, SYM_UTF8_CHECKED, SYM_UTF8_OK, alloy_valid_utf8);
}

static inline bool
sym_label_name(V2Symbols *st, uint32_t r)
{
	return sym_check(st, r, SYM_NAME_CHECKED, SYM_NAME_OK, alloy_valid_label_name);
}

static inline bool
sym_metric_name(V2Symbols *st, uint32_t r)
{
	return sym_check(st, r, SYM_METRIC_CHECKED, SYM_METRIC_OK, alloy_valid_metric_name);
}

/*
 * The labels of one 2.0 series from its (name, value) symbol refs, checked
 * with the per-symbol cache. Returns the number kept, or -1 with *err set.
 */
static int
v2_labels(V2Symbols *st, const uint32_t *refs, size_t nrefs, RwLabel *out,
		  size_t i, RwError *err)
{
	size_t		j;
	int			n = 0;
	char		b1[64];

	if (nrefs % 2 != 0)
	{
		set_error(err, 400, "series %zu has an odd number of label refs", i);
		return -1;
	}
	for (j = 0; j < nrefs; j += 2)
	{
		uint32_t	nr = refs[j];
		uint32_t	vr = refs[j + 1];
		const ProtobufCBinaryData *nm,
				   *vl;

		if (nr >= st->n || vr >= st->n)
		{
			set_error(err, 400, "series %zu has label ref %u out of range (%zu symbols)",
					  i, nr >= st->n ? nr : vr, st->n);
			return -1;
		}
		nm = &st->sym[nr];
		vl = &st->sym[vr];
		if (nm->len == 0)
		{
			set_error(err, 400, "series %zu has a label with an empty name", i);
			return -1;
		}
		if (!sym_label_name(st, nr))
		{
			set_error(err, 400, "series %zu has invalid label name \"%s\"", i,
					  excerpt(bin_ptr(nm), nm->len, b1, sizeof(b1)));
			return -1;
		}
		if (!sym_utf8(st, vr))
		{
			set_error(err, 400, "series %zu label \"%s\" has a value that is not valid utf-8",
					  i, excerpt(bin_ptr(nm), nm->len, b1, sizeof(b1)));
			return -1;
		}
		if (nm->len == RW_METRIC_NAME_LABEL_LEN &&
			memcmp(nm->data, RW_METRIC_NAME_LABEL, RW_METRIC_NAME_LABEL_LEN) == 0)
		{
			if (!sym_metric_name(st, vr))
			{
				set_error(err, 400, "series %zu has invalid metric name \"%s\"", i,
						  excerpt(bin_ptr(vl), vl->len, b1, sizeof(b1)));
				return -1;
			}
		}
		else if (vl->len == 0)
			continue;
		out[n].name = bin_ptr(nm);
		out[n].name_len = (int) nm->len;
		out[n].value = bin_ptr(vl);
		out[n].value_len = (int) vl->len;
		n++;
	}
	return n;
}

static bool
v2_exemplar_refs(V2Symbols *st, const uint32_t *refs, size_t nrefs, size_t i,
				 size_t j, RwError *err)
{
	size_t		k;

	if (nrefs % 2 != 0)
	{
		set_error(err, 400, "series %zu exemplar %zu has an odd number of label refs", i, j);
		return false;
	}
	for (k = 0; k < nrefs; k++)
		if (refs[k] >= st->n)
		{
			set_error(err, 400, "series %zu exemplar %zu has label ref %u out of range (%zu symbols)",
					  i, j, refs[k], st->n);
			return false;
		}
	return true;
}

/* The raw (name, value) pairs of checked exemplar refs, for rw_exemplar_labels. */
static void
v2_exemplar_pairs(const V2Symbols *st, const uint32_t *refs, size_t nrefs, RwLabel *out)
{
	size_t		k;

	for (k = 0; k + 1 < nrefs; k += 2)
	{
		const ProtobufCBinaryData *nm = &st->sym[refs[k]];
		const ProtobufCBinaryData *vl = &st->sym[refs[k + 1]];

		out->name = bin_ptr(nm);
		out->name_len = (int) nm->len;
		out->value = bin_ptr(vl);
		out->value_len = (int) vl->len;
		out++;
	}
}

/*
 * 2.0 metadata rides on each series; the appender wants it per family, so
 * keep one entry per run of series of the same family with equal metadata.
 */
static bool
v2_metadata(RwRequest *req, V2Symbols *st, const RwSeries *s, int32_t type,
			uint32_t help_ref, uint32_t unit_ref, size_t i, RwError *err)
{
	const ProtobufCBinaryData *help,
			   *unit;
	RwMetadata *prev,
			   *md;
	RwMetricType t;

	if (help_ref >= st->n || unit_ref >= st->n)
	{
		set_error(err, 400, "series %zu has metadata ref %u out of range (%zu symbols)",
				  i, help_ref >= st->n ? help_ref : unit_ref, st->n);
		return false;
	}
	if (!sym_utf8(st, help_ref) || !sym_utf8(st, unit_ref))
	{
		set_error(err, 400, "series %zu has metadata that is not valid utf-8", i);
		return false;
	}
	if (s->metric == NULL || (type == 0 && help_ref == 0 && unit_ref == 0))
		return true;
	help = &st->sym[help_ref];
	unit = &st->sym[unit_ref];
	t = (type >= 0 && type <= 7) ? (RwMetricType) type : RW_METRIC_UNKNOWN;
	prev = req->nmetadata > 0 ? &req->metadata[req->nmetadata - 1] : NULL;
	if (prev != NULL && prev->family_len == s->metric_len &&
		memcmp(prev->family, s->metric, s->metric_len) == 0 &&
		prev->type == t &&
		prev->help_len == (int) help->len && memcmp(prev->help, bin_ptr(help), help->len) == 0 &&
		prev->unit_len == (int) unit->len && memcmp(prev->unit, bin_ptr(unit), unit->len) == 0)
		return true;
	md = &req->metadata[req->nmetadata++];
	md->family = s->metric;
	md->family_len = s->metric_len;
	md->type = t;
	md->help = bin_ptr(help);
	md->help_len = (int) help->len;
	md->unit = bin_ptr(unit);
	md->unit_len = (int) unit->len;
	return true;
}

static bool
decode_v2(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len, RwError *err)
{
	ProtobufCAllocator pa = {pbc_arena_alloc, pbc_arena_free, ar};
	Io__Prometheus__Write__V2__Request *r;
	V2Symbols	st;
	size_t		i,
				j,
				total_pairs = 0,
				total_samples = 0,
				total_ex = 0,
				total_expairs = 0;
	RwLabel    *labels;
	RwLabel    *exlabels;
	RwSample   *samples;
	RwExemplar *exemplars;

	r = io__prometheus__write__v2__request__unpack(&pa, len, buf);
	if (r == NULL)
	{
		if (ar->over_limit)
			set_error(err, 413, "decoded request needs more than %zu bytes of memory", ar->limit);
		else
			set_error(err, 400, "cannot parse io.prometheus.write.v2.Request protobuf");
		return false;
	}
	if (r->n_timeseries > 0 && (r->n_symbols == 0 || r->symbols[0].len != 0))
	{
		set_error(err, 400, "symbols[0] must be the empty string");
		return false;
	}
	for (i = 0; i < r->n_timeseries; i++)
	{
		total_pairs += r->timeseries[i]->n_labels_refs / 2;
		total_samples += r->timeseries[i]->n_samples;
		total_ex += r->timeseries[i]->n_exemplars;
		for (j = 0; j < r->timeseries[i]->n_exemplars; j++)
			total_expairs += r->timeseries[i]->exemplars[j]->n_labels_refs / 2;
	}
	st.sym = r->symbols;
	st.n = r->n_symbols;
	st.flags = arena_alloc(ar, r->n_symbols + 1);
	req->series = arena_alloc(ar, sizeof(RwSeries) * (r->n_timeseries + 1));
	labels = arena_alloc(ar, sizeof(RwLabel) * (total_pairs + 1));
	samples = arena_alloc(ar, sizeof(RwSample) * (total_samples + 1));
	req->metadata = arena_alloc(ar, sizeof(RwMetadata) * (r->n_timeseries + 1));
	exemplars = arena_alloc(ar, sizeof(RwExemplar) * (total_ex + 1));
	exlabels = arena_alloc(ar, sizeof(RwLabel) * (total_expairs + 1));
	if (!st.flags || !req->series || !labels || !samples || !req->metadata ||
		!exemplars || !exlabels)
	{
		set_error(err, 413, "decoded request needs more than %zu bytes of memory", ar->limit);
		return false;
	}
	memset(st.flags, 0, r->n_symbols + 1);

	for (i = 0; i < r->n_timeseries; i++)
	{
		Io__Prometheus__Write__V2__TimeSeries *ts = r->timeseries[i];
		RwSeries   *s = &req->series[i];
		int			n = v2_labels(&st, ts->labels_refs, ts->n_labels_refs, labels, i, err);

		if (n < 0 || !finish_series(ar, s, labels, n, (int) i, err))
			return false;
		labels += n;

		s->start_ms = ts->created_timestamp;
		for (j = 0; j < ts->n_samples; j++)
		{
			const Io__Prometheus__Write__V2__Sample *sm = ts->samples[j];

			samples[j].t_ms = sm->timestamp;
			samples[j].value = sm->value;
			if (s->start_ms == 0)
				s->start_ms = sm->start_timestamp;
		}
		s->samples = samples;
		s->nsamples = (int) ts->n_samples;
		samples += ts->n_samples;

		s->nexemplars = s->nexemplars_dropped = 0;
		for (j = 0; j < ts->n_exemplars; j++)
		{
			const Io__Prometheus__Write__V2__Exemplar *pe = ts->exemplars[j];

			if (!v2_exemplar_refs(&st, pe->labels_refs, pe->n_labels_refs, i, j, err))
				return false;
			v2_exemplar_pairs(&st, pe->labels_refs, pe->n_labels_refs, exlabels);
			keep_exemplar(exemplars, s, &exlabels, (int) (pe->n_labels_refs / 2),
						  pe->value, pe->timestamp);
		}
		finish_exemplars(req, s, &exemplars);
		s->nhistograms = (int) ts->n_histograms;
		req->nsamples += ts->n_samples;
		req->nhistograms += ts->n_histograms;

		if (ts->metadata &&
			!v2_metadata(req, &st, s, ts->metadata->type, ts->metadata->help_ref,
						 ts->metadata->unit_ref, i, err))
			return false;
	}
	req->nseries = (int) r->n_timeseries;
	return true;
}

/* ---------- the fast path: a zero-copy protobuf reader ---------- */

/*
 * Why a second decoder: protobuf-c allocates and copies every Label and
 * Sample message (about 6,000 small objects for a typical 500-sample
 * request) and that dominated decode time. The requests we accept have a
 * fixed, tiny schema, so this reader walks the decompressed bytes directly:
 * labels and symbols point into the buffer, nothing is copied, and the only
 * allocations are the flat output arrays. It accepts and rejects exactly what
 * the protobuf-c decoder above does (both follow the protobuf wire rules;
 * the unit tests and the fuzz target compare the two on every input), and
 * the protobuf-c decoder stays as that reference (rw_decode_protobuf_reference).
 */

typedef struct Pb
{
	const uint8_t *p;
	const uint8_t *end;
} Pb;

enum
{
	WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5
};

/* A varint of at most 10 bytes; excess high bits are dropped, as protobuf-c does. */
static inline bool
pb_varint(Pb *b, uint64_t *out)
{
	const uint8_t *p = b->p;
	uint64_t	v = 0;
	int			shift;

	if (p < b->end && *p < 0x80)
	{
		*out = *p;
		b->p = p + 1;
		return true;
	}
	for (shift = 0; shift < 70 && p < b->end; shift += 7)
	{
		uint8_t		c = *p++;

		if (shift < 64)
			v |= (uint64_t) (c & 0x7f) << shift;
		if (c < 0x80)
		{
			*out = v;
			b->p = p;
			return true;
		}
	}
	return false;
}

/*
 * Field key: number and wire type, at most 5 bytes, the number kept to 32
 * bits. These are protobuf-c's exact acceptance rules (it only refuses a
 * first byte with no number bits, and does not range-check the number), so
 * both decoders skip the same unknown fields.
 */
static inline bool
pb_key(Pb *b, uint32_t *field, int *wt)
{
	const uint8_t *p = b->p;
	uint32_t	tag;
	int			shift = 4,
				i;

	if (p >= b->end || (p[0] & 0xf8) == 0)
		return false;
	*wt = p[0] & 7;
	tag = (uint32_t) (p[0] & 0x7f) >> 3;
	if (p[0] < 0x80)
	{
		*field = tag;
		b->p = p + 1;
		return true;
	}
	for (i = 1; i < 5 && p + i < b->end; i++, shift += 7)
	{
		tag |= (uint32_t) (p[i] & 0x7f) << shift;
		if (p[i] < 0x80)
		{
			*field = tag;
			b->p = p + i + 1;
			return true;
		}
	}
	return false;
}

/* A length prefix (at most 5 bytes, as protobuf-c reads it) and its bytes. */
static inline bool
pb_len(Pb *b, Pb *sub)
{
	const uint8_t *start = b->p;
	uint64_t	n;

	if (!pb_varint(b, &n) || b->p - start > 5 || n > (uint64_t) (b->end - b->p))
		return false;
	sub->p = b->p;
	sub->end = b->p + n;
	b->p += n;
	return true;
}

static inline bool
pb_fixed64(Pb *b, uint64_t *out)
{
	if (b->end - b->p < 8)
		return false;
	memcpy(out, b->p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	*out = __builtin_bswap64(*out);
#endif
	b->p += 8;
	return true;
}

/* Skip a field of an unknown number; groups and reserved wire types fail. */
static bool
pb_skip(Pb *b, int wt)
{
	uint64_t	v;
	Pb			sub;

	switch (wt)
	{
		case WT_VARINT:
			return pb_varint(b, &v);
		case WT_FIXED64:
			return pb_fixed64(b, &v);
		case WT_LEN:
			return pb_len(b, &sub);
		case WT_FIXED32:
			if (b->end - b->p < 4)
				return false;
			b->p += 4;
			return true;
		default:
			return false;
	}
}

/* Count the varints of a packed field, checking each terminates. */
static inline bool
pb_count_packed_varints(const Pb *sub, size_t *count)
{
	const uint8_t *p;
	size_t		n = 0;
	int			run = 0;

	for (p = sub->p; p < sub->end; p++)
	{
		if (++run > 10)
			return false;
		if (*p < 0x80)
		{
			n++;
			run = 0;
		}
	}
	if (run != 0)
		return false;
	*count = n;
	return true;
}

/*
 * Schema-driven validation of the nested messages we only count (exemplars,
 * histograms) or read lightly, so a malformed one is rejected exactly as the
 * full unpack would reject it.
 */
typedef enum PbKind
{
	K_VARINT, K_FIXED64, K_BYTES, K_MSG, K_REP_VARINT, K_REP_FIXED64, K_REP_MSG
} PbKind;

typedef struct PbField
{
	uint32_t	num;
	PbKind		kind;
	const struct PbSchema *sub;
} PbField;

typedef struct PbSchema
{
	const PbField *fields;
	int			nfields;
} PbSchema;

static const PbField f_label[] = {{1, K_BYTES, NULL}, {2, K_BYTES, NULL}};
static const PbSchema s_label = {f_label, 2};
static const PbField f_span[] = {{1, K_VARINT, NULL}, {2, K_VARINT, NULL}};
static const PbSchema s_span = {f_span, 2};
static const PbField f_ex_v1[] = {{1, K_REP_MSG, &s_label}, {2, K_FIXED64, NULL}, {3, K_VARINT, NULL}};
static const PbSchema s_ex_v1 = {f_ex_v1, 3};
static const PbField f_ex_v2[] = {{1, K_REP_VARINT, NULL}, {2, K_FIXED64, NULL}, {3, K_VARINT, NULL}};
static const PbSchema s_ex_v2 = {f_ex_v2, 3};
static const PbField f_hist[] = {
	{1, K_VARINT, NULL}, {2, K_FIXED64, NULL}, {3, K_FIXED64, NULL}, {4, K_VARINT, NULL},
	{5, K_FIXED64, NULL}, {6, K_VARINT, NULL}, {7, K_FIXED64, NULL}, {8, K_REP_MSG, &s_span},
	{9, K_REP_VARINT, NULL}, {10, K_REP_FIXED64, NULL}, {11, K_REP_MSG, &s_span},
	{12, K_REP_VARINT, NULL}, {13, K_REP_FIXED64, NULL}, {14, K_VARINT, NULL},
	{15, K_VARINT, NULL}, {16, K_REP_FIXED64, NULL}, {17, K_VARINT, NULL}
};
static const PbSchema s_hist_v1 = {f_hist, 16};
static const PbSchema s_hist_v2 = {f_hist, 17};
static const PbField f_md_v1[] = {{1, K_VARINT, NULL}, {2, K_BYTES, NULL}, {4, K_BYTES, NULL}, {5, K_BYTES, NULL}};
static const PbSchema s_md_v1 = {f_md_v1, 4};
static const PbField f_md_v2[] = {{1, K_VARINT, NULL}, {3, K_VARINT, NULL}, {4, K_VARINT, NULL}};
static const PbSchema s_md_v2 = {f_md_v2, 3};

static bool
pb_validate(Pb b, const PbSchema *schema)
{
	while (b.p < b.end)
	{
		uint32_t	num;
		int			wt,
					i;
		const PbField *f = NULL;
		uint64_t	v;
		Pb			sub;

		if (!pb_key(&b, &num, &wt))
			return false;
		for (i = 0; i < schema->nfields; i++)
			if (schema->fields[i].num == num)
			{
				f = &schema->fields[i];
				break;
			}
		if (f == NULL)
		{
			if (!pb_skip(&b, wt))
				return false;
			continue;
		}
		switch (f->kind)
		{
			case K_VARINT:
				if (wt != WT_VARINT || !pb_varint(&b, &v))
					return false;
				break;
			case K_FIXED64:
				if (wt != WT_FIXED64 || !pb_fixed64(&b, &v))
					return false;
				break;
			case K_BYTES:
				if (wt != WT_LEN || !pb_len(&b, &sub))
					return false;
				break;
			case K_MSG:
			case K_REP_MSG:
				if (wt != WT_LEN || !pb_len(&b, &sub) || !pb_validate(sub, f->sub))
					return false;
				break;
			case K_REP_VARINT:
				if (wt == WT_VARINT)
				{
					if (!pb_varint(&b, &v))
						return false;
				}
				else
				{
					size_t		n;

					if (wt != WT_LEN || !pb_len(&b, &sub) || !pb_count_packed_varints(&sub, &n))
						return false;
				}
				break;
			case K_REP_FIXED64:
				if (wt == WT_FIXED64)
				{
					if (!pb_fixed64(&b, &v))
						return false;
				}
				else if (wt != WT_LEN || !pb_len(&b, &sub) || (sub.end - sub.p) % 8 != 0)
					return false;
				break;
		}
	}
	return true;
}

static bool
fast_fail(RwError *err, const char *what)
{
	set_error(err, 400, "cannot parse %s protobuf", what);
	return false;
}

static bool
fast_nomem(RwArena *ar, RwError *err)
{
	set_error(err, 413, "decoded request needs more than %zu bytes of memory", ar->limit);
	return false;
}

/* One Sample message (both versions): value 1, timestamp 2, start 3 (v2). */
static inline bool
fast_sample(Pb sub, RwSample *out, int64_t *start, bool v2)
{
	uint64_t	v;
	double		d = 0;
	int64_t		t = 0,
				st = 0;

	while (sub.p < sub.end)
	{
		uint32_t	num;
		int			wt;

		if (!pb_key(&sub, &num, &wt))
			return false;
		if (num == 1)
		{
			if (wt != WT_FIXED64 || !pb_fixed64(&sub, &v))
				return false;
			memcpy(&d, &v, 8);
		}
		else if (num == 2 || (num == 3 && v2))
		{
			if (wt != WT_VARINT || !pb_varint(&sub, &v))
				return false;
			if (num == 2)
				t = (int64_t) v;
			else
				st = (int64_t) v;
		}
		else if (!pb_skip(&sub, wt))
			return false;
	}
	out->t_ms = t;
	out->value = d;
	if (start != NULL && *start == 0)
		*start = st;
	return true;
}

/* How often field number num occurs in a message (any wire type); false if malformed. */
static bool
pb_count_field(Pb sub, uint32_t num, size_t *count)
{
	size_t		n = 0;

	while (sub.p < sub.end)
	{
		uint32_t	f;
		int			wt;

		if (!pb_key(&sub, &f, &wt) || !pb_skip(&sub, wt))
			return false;
		n += (f == num);
	}
	*count = n;
	return true;
}

/*
 * The label refs of a 2.0 exemplar (field 1, packed or not), an upper bound
 * when the message is malformed (pb_validate rejects it then anyway).
 */
static size_t
pb_v2_exemplar_nrefs(Pb sub)
{
	size_t		n = 0;

	while (sub.p < sub.end)
	{
		uint32_t	f;
		int			wt;
		Pb			packed;
		uint64_t	v;
		size_t		k;

		if (!pb_key(&sub, &f, &wt))
			break;
		if (f == 1 && wt == WT_VARINT)
		{
			if (!pb_varint(&sub, &v))
				break;
			n++;
		}
		else if (f == 1 && wt == WT_LEN)
		{
			if (!pb_len(&sub, &packed) || !pb_count_packed_varints(&packed, &k))
				break;
			n += k;
		}
		else if (!pb_skip(&sub, wt))
			break;
	}
	return n;
}

/*
 * One validated 1.0 Exemplar message: its raw label pairs into labels (room
 * for every field-1 entry), the number written into *nl. It was validated
 * already, so false (malformed) cannot happen; the checks keep that honest.
 */
static bool
fast_v1_exemplar(Pb ex, RwLabel *labels, int *nl, double *value, int64_t *t)
{
	int			n = 0;

	*value = 0;
	*t = 0;
	while (ex.p < ex.end)
	{
		uint32_t	num;
		int			wt;
		uint64_t	v;
		Pb			sub;

		if (!pb_key(&ex, &num, &wt))
			return false;
		if (num == 1)
		{
			const char *nm = "",
					   *vl = "";
			size_t		nlen = 0,
						vlen = 0;

			if (!pb_len(&ex, &sub))
				return false;
			while (sub.p < sub.end)
			{
				uint32_t	ln;
				int			lwt;
				Pb			str;

				if (!pb_key(&sub, &ln, &lwt))
					return false;
				if (ln != 1 && ln != 2)
				{
					if (!pb_skip(&sub, lwt))
						return false;
					continue;
				}
				if (!pb_len(&sub, &str))
					return false;
				if (ln == 1)
					nm = (const char *) str.p, nlen = str.end - str.p;
				else
					vl = (const char *) str.p, vlen = str.end - str.p;
			}
			labels[n].name = nm;
			labels[n].name_len = (int) nlen;
			labels[n].value = vl;
			labels[n].value_len = (int) vlen;
			n++;
		}
		else if (num == 2)
		{
			if (!pb_fixed64(&ex, &v))
				return false;
			memcpy(value, &v, 8);
		}
		else if (num == 3)
		{
			if (!pb_varint(&ex, &v))
				return false;
			*t = (int64_t) v;
		}
		else if (!pb_skip(&ex, wt))
			return false;
	}
	*nl = n;
	return true;
}

/*
 * Pass 2 re-walks bytes pass 1 already checked, so these calls cannot fail;
 * MUST keeps that assumption checked (and the compiler informed) anyway.
 */
#define MUST(x) do { if (!(x)) return fast_fail(err, what); } while (0)

static bool
fast_v1(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len, RwError *err)
{
	static const char what[] = "prometheus.WriteRequest";
	Pb			b = {buf, buf + len};
	size_t		nts = 0,
				nlab = 0,
				nsmp = 0,
				nmd = 0,
				nex = 0,
				nexlab = 0;
	RwLabel    *labels;
	RwLabel    *exlabels;
	RwSample   *samples;
	RwExemplar *exemplars;
	char		b1[64];

	/* pass 1: shape, so the output arrays are allocated once */
	while (b.p < b.end)
	{
		uint32_t	num;
		int			wt;
		Pb			ts;

		if (!pb_key(&b, &num, &wt))
			return fast_fail(err, what);
		if (num == 1 || num == 3)
		{
			if (wt != WT_LEN || !pb_len(&b, &ts))
				return fast_fail(err, what);
			if (num == 3)
			{
				if (!pb_validate(ts, &s_md_v1))
					return fast_fail(err, what);
				nmd++;
				continue;
			}
			nts++;
			while (ts.p < ts.end)
			{
				Pb			ex;
				size_t		k;

				if (!pb_key(&ts, &num, &wt))
					return fast_fail(err, what);
				if (num == 3 && wt == WT_LEN)
				{
					if (!pb_len(&ts, &ex) || !pb_count_field(ex, 1, &k))
						return fast_fail(err, what);
					nex++;
					nexlab += k;
					continue;
				}
				if (!pb_skip(&ts, wt))
					return fast_fail(err, what);
				if (wt == WT_LEN)
				{
					nlab += (num == 1);
					nsmp += (num == 2);
				}
			}
		}
		else if (!pb_skip(&b, wt))
			return fast_fail(err, what);
	}
	req->series = arena_alloc(ar, sizeof(RwSeries) * (nts + 1));
	labels = arena_alloc(ar, sizeof(RwLabel) * (nlab + 1));
	samples = arena_alloc(ar, sizeof(RwSample) * (nsmp + 1));
	req->metadata = arena_alloc(ar, sizeof(RwMetadata) * (nmd + 1));
	exemplars = arena_alloc(ar, sizeof(RwExemplar) * (nex + 1));
	exlabels = arena_alloc(ar, sizeof(RwLabel) * (nexlab + 1));
	if (!req->series || !labels || !samples || !req->metadata || !exemplars || !exlabels)
		return fast_nomem(ar, err);

	/* pass 2: fill */
	b.p = buf;
	while (b.p < b.end)
	{
		uint32_t	num;
		int			wt;
		Pb			ts;

		MUST(pb_key(&b, &num, &wt));
		if (num == 3)
		{
			RwMetadata *md = &req->metadata[req->nmetadata];
			uint64_t	v = 0;

			MUST(pb_len(&b, &ts));
			memset(md, 0, sizeof(*md));
			md->family = md->help = md->unit = "";
			while (ts.p < ts.end)
			{
				Pb			str;

				MUST(pb_key(&ts, &num, &wt));
				if (num == 1 && wt == WT_VARINT)
				{
					MUST(pb_varint(&ts, &v));
					md->type = ((int32_t) v >= 0 && (int32_t) v <= 7) ? (RwMetricType) (int32_t) v : RW_METRIC_UNKNOWN;
				}
				else if ((num == 2 || num == 4 || num == 5) && wt == WT_LEN)
				{
					MUST(pb_len(&ts, &str));
					if (num == 2)
						md->family = (const char *) str.p, md->family_len = (int) (str.end - str.p);
					else if (num == 4)
						md->help = (const char *) str.p, md->help_len = (int) (str.end - str.p);
					else
						md->unit = (const char *) str.p, md->unit_len = (int) (str.end - str.p);
				}
				else
					MUST(pb_skip(&ts, wt));
			}
			if (!alloy_valid_utf8(md->family, md->family_len) ||
				!alloy_valid_utf8(md->help, md->help_len) || !alloy_valid_utf8(md->unit, md->unit_len))
			{
				set_error(err, 400, "metadata %d for \"%s\" is not valid utf-8", req->nmetadata,
						  excerpt(md->family, md->family_len, b1, sizeof(b1)));
				return false;
			}
			req->nmetadata++;
			continue;
		}
		if (num != 1)
		{
			MUST(pb_skip(&b, wt));
			continue;
		}
		MUST(pb_len(&b, &ts));
		{
			int			i = req->nseries;
			RwSeries   *s = &req->series[i];
			int			n = 0,
						ns = 0,
						nh = 0;

			s->nexemplars = s->nexemplars_dropped = 0;
			while (ts.p < ts.end)
			{
				Pb			sub;

				MUST(pb_key(&ts, &num, &wt));
				if (num < 1 || num > 4)
				{
					MUST(pb_skip(&ts, wt));
					continue;
				}
				if (wt != WT_LEN)
					return fast_fail(err, what);
				MUST(pb_len(&ts, &sub));
				if (num == 1)
				{
					const char *nm = "",
							   *vl = "";
					size_t		nlen = 0,
								vlen = 0;
					int			r;

					while (sub.p < sub.end)
					{
						Pb			str;
						uint32_t	ln;
						int			lwt;

						if (!pb_key(&sub, &ln, &lwt))
							return fast_fail(err, what);
						if (ln == 1 || ln == 2)
						{
							if (lwt != WT_LEN || !pb_len(&sub, &str))
								return fast_fail(err, what);
							if (ln == 1)
								nm = (const char *) str.p, nlen = str.end - str.p;
							else
								vl = (const char *) str.p, vlen = str.end - str.p;
						}
						else if (!pb_skip(&sub, lwt))
							return fast_fail(err, what);
					}
					r = check_label(nm, nlen, vl, vlen, i, err);
					if (r < 0)
						return false;
					if (r == 0)
					{
						labels[n].name = nm;
						labels[n].name_len = (int) nlen;
						labels[n].value = vl;
						labels[n].value_len = (int) vlen;
						n++;
					}
				}
				else if (num == 2)
				{
					if (!fast_sample(sub, &samples[ns], NULL, false))
						return fast_fail(err, what);
					ns++;
				}
				else if (num == 3)
				{
					int			nl;
					double		ev;
					int64_t		et;

					if (!pb_validate(sub, &s_ex_v1))
						return fast_fail(err, what);
					MUST(fast_v1_exemplar(sub, exlabels, &nl, &ev, &et));
					keep_exemplar(exemplars, s, &exlabels, nl, ev, et);
				}
				else
				{
					if (!pb_validate(sub, &s_hist_v1))
						return fast_fail(err, what);
					nh++;
				}
			}
			if (!finish_series(ar, s, labels, n, i, err))
				return false;
			labels += n;
			s->samples = samples;
			s->nsamples = ns;
			samples += ns;
			finish_exemplars(req, s, &exemplars);
			s->nhistograms = nh;
			s->start_ms = 0;
			req->nsamples += ns;
			req->nhistograms += nh;
			req->nseries++;
		}
	}
	return true;
}

static bool
fast_v2(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len, RwError *err)
{
	static const char what[] = "io.prometheus.write.v2.Request";
	Pb			b = {buf, buf + len};
	size_t		nts = 0,
				nrefs = 0,
				nsmp = 0,
				nsym = 0,
				maxrefs = 0,
				nex = 0,
				nexrefs = 0,
				i = 0;
	ProtobufCBinaryData *syms;
	V2Symbols	st;
	RwLabel    *labels;
	RwLabel    *exlabels;
	RwSample   *samples;
	RwExemplar *exemplars;
	uint32_t   *refs;

	/* pass 1: shape; also check every nested message is well formed */
	while (b.p < b.end)
	{
		uint32_t	num;
		int			wt;
		Pb			ts;

		if (!pb_key(&b, &num, &wt))
			return fast_fail(err, what);
		if (num == 4)
		{
			if (wt != WT_LEN || !pb_len(&b, &ts))
				return fast_fail(err, what);
			nsym++;
		}
		else if (num == 5)
		{
			size_t		tsrefs = 0;

			if (wt != WT_LEN || !pb_len(&b, &ts))
				return fast_fail(err, what);
			nts++;
			while (ts.p < ts.end)
			{
				Pb			sub;
				uint64_t	v;
				size_t		n;

				if (!pb_key(&ts, &num, &wt))
					return fast_fail(err, what);
				switch (num)
				{
					case 1:
						if (wt == WT_VARINT)
						{
							if (!pb_varint(&ts, &v))
								return fast_fail(err, what);
							tsrefs++;
						}
						else if (wt != WT_LEN || !pb_len(&ts, &sub) ||
								 !pb_count_packed_varints(&sub, &n))
							return fast_fail(err, what);
						else
							tsrefs += n;
						break;
					case 2:
					case 3:
					case 4:
					case 5:
						if (wt != WT_LEN || !pb_len(&ts, &sub))
							return fast_fail(err, what);
						if (num == 2)
						{
							RwSample	tmp;
							int64_t		stt = 0;

							if (!fast_sample(sub, &tmp, &stt, true))
								return fast_fail(err, what);
							nsmp++;
						}
						else if (!pb_validate(sub, num == 3 ? &s_hist_v2 :
											  num == 4 ? &s_ex_v2 : &s_md_v2))
							return fast_fail(err, what);
						else if (num == 4)
						{
							/* the refs buffer holds an exemplar's refs too */
							n = pb_v2_exemplar_nrefs(sub);
							nex++;
							nexrefs += n;
							if (n > maxrefs)
								maxrefs = n;
						}
						break;
					case 6:
						if (wt != WT_VARINT || !pb_varint(&ts, &v))
							return fast_fail(err, what);
						break;
					default:
						if (!pb_skip(&ts, wt))
							return fast_fail(err, what);
				}
			}
			nrefs += tsrefs;
			if (tsrefs > maxrefs)
				maxrefs = tsrefs;
		}
		else if (!pb_skip(&b, wt))
			return fast_fail(err, what);
	}

	syms = arena_alloc(ar, sizeof(ProtobufCBinaryData) * (nsym + 1));
	st.flags = arena_alloc(ar, nsym + 1);
	req->series = arena_alloc(ar, sizeof(RwSeries) * (nts + 1));
	labels = arena_alloc(ar, sizeof(RwLabel) * (nrefs / 2 + 1));
	samples = arena_alloc(ar, sizeof(RwSample) * (nsmp + 1));
	req->metadata = arena_alloc(ar, sizeof(RwMetadata) * (nts + 1));
	refs = arena_alloc(ar, sizeof(uint32_t) * (maxrefs + 1));
	exemplars = arena_alloc(ar, sizeof(RwExemplar) * (nex + 1));
	exlabels = arena_alloc(ar, sizeof(RwLabel) * (nexrefs / 2 + 1));
	if (!syms || !st.flags || !req->series || !labels || !samples || !req->metadata || !refs ||
		!exemplars || !exlabels)
		return fast_nomem(ar, err);
	memset(st.flags, 0, nsym + 1);
	st.sym = syms;
	st.n = nsym;

	/* symbols first: series may come before them on the wire */
	b.p = buf;
	while (b.p < b.end)
	{
		uint32_t	num;
		int			wt;
		Pb			str;

		MUST(pb_key(&b, &num, &wt));
		if (num == 4)
		{
			MUST(pb_len(&b, &str));
			syms[i].len = str.end - str.p;
			syms[i].data = (uint8_t *) str.p;
			i++;
		}
		else
			MUST(pb_skip(&b, wt));
	}
	if (nts > 0 && (nsym == 0 || syms[0].len != 0))
	{
		set_error(err, 400, "symbols[0] must be the empty string");
		return false;
	}

	/* pass 2: series */
	b.p = buf;
	while (b.p < b.end)
	{
		uint32_t	num;
		int			wt;
		Pb			ts;
		size_t		si = req->nseries;
		RwSeries   *s;
		size_t		nr = 0;
		int			ns = 0,
					nh = 0,
					n;
		bool		have_md = false;
		int32_t		md_type = 0;
		uint32_t	md_help = 0,
					md_unit = 0;
		int64_t		created = 0,
					start = 0;

		MUST(pb_key(&b, &num, &wt));
		if (num != 5)
		{
			MUST(pb_skip(&b, wt));
			continue;
		}
		MUST(pb_len(&b, &ts));
		s = &req->series[si];
		s->nexemplars = s->nexemplars_dropped = 0;
		/* labels need all refs; gather them, then the rest in one more walk */
		{
			Pb			t2 = ts;

			while (t2.p < t2.end)
			{
				Pb			sub;
				uint64_t	v;

				MUST(pb_key(&t2, &num, &wt));
				if (num == 1)
				{
					if (wt == WT_VARINT)
					{
						MUST(pb_varint(&t2, &v));
						refs[nr++] = (uint32_t) v;
					}
					else
					{
						MUST(pb_len(&t2, &sub));
						while (sub.p < sub.end)
						{
							MUST(pb_varint(&sub, &v));
							refs[nr++] = (uint32_t) v;
						}
					}
				}
				else
					MUST(pb_skip(&t2, wt));
			}
		}
		n = v2_labels(&st, refs, nr, labels, si, err);
		if (n < 0 || !finish_series(ar, s, labels, n, (int) si, err))
			return false;
		labels += n;

		while (ts.p < ts.end)
		{
			Pb			sub;
			uint64_t	v;

			MUST(pb_key(&ts, &num, &wt));
			if (num == 2)
			{
				MUST(pb_len(&ts, &sub));
				MUST(fast_sample(sub, &samples[ns], &start, true));
				ns++;
			}
			else if (num == 3)
			{
				MUST(pb_len(&ts, &sub));
				nh++;
			}
			else if (num == 4)
			{
				size_t		ne = 0;
				Pb			ex;
				double		ev = 0;
				int64_t		et = 0;

				MUST(pb_len(&ts, &ex));
				while (ex.p < ex.end)
				{
					uint32_t	en;
					int			ewt;

					MUST(pb_key(&ex, &en, &ewt));
					if (en == 2)
					{
						MUST(pb_fixed64(&ex, &v));
						memcpy(&ev, &v, 8);
					}
					else if (en == 3)
					{
						MUST(pb_varint(&ex, &v));
						et = (int64_t) v;
					}
					else if (en == 1 && ewt == WT_VARINT)
					{
						MUST(pb_varint(&ex, &v));
						refs[ne++] = (uint32_t) v;
					}
					else if (en == 1)
					{
						MUST(pb_len(&ex, &sub));
						while (sub.p < sub.end)
						{
							MUST(pb_varint(&sub, &v));
							refs[ne++] = (uint32_t) v;
						}
					}
					else
						MUST(pb_skip(&ex, ewt));
				}
				if (!v2_exemplar_refs(&st, refs, ne, si,
									  (size_t) (s->nexemplars + s->nexemplars_dropped), err))
					return false;
				v2_exemplar_pairs(&st, refs, ne, exlabels);
				keep_exemplar(exemplars, s, &exlabels, (int) (ne / 2), ev, et);
			}
			else if (num == 5)
			{
				/* a repeated singular message: the last one wins whole, as in protobuf-c */
				MUST(pb_len(&ts, &sub));
				have_md = true;
				md_type = 0;
				md_help = md_unit = 0;
				while (sub.p < sub.end)
				{
					uint32_t	mn;
					int			mwt;

					MUST(pb_key(&sub, &mn, &mwt));
					if (mwt == WT_VARINT && (mn == 1 || mn == 3 || mn == 4))
					{
						MUST(pb_varint(&sub, &v));
						if (mn == 1)
							md_type = (int32_t) v;
						else if (mn == 3)
							md_help = (uint32_t) v;
						else
							md_unit = (uint32_t) v;
					}
					else
						MUST(pb_skip(&sub, mwt));
				}
			}
			else if (num == 6)
			{
				MUST(pb_varint(&ts, &v));
				created = (int64_t) v;
			}
			else
				MUST(pb_skip(&ts, wt));
		}
		s->start_ms = created != 0 ? created : start;
		s->samples = samples;
		s->nsamples = ns;
		samples += ns;
		finish_exemplars(req, s, &exemplars);
		s->nhistograms = nh;
		req->nsamples += ns;
		req->nhistograms += nh;
		req->nseries++;
		if (have_md && !v2_metadata(req, &st, s, md_type, md_help, md_unit, si, err))
			return false;
	}
	return true;
}

#undef MUST

/* ---------- entry points ---------- */

static bool
decode_into(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len,
			RwVersion version, bool reference, RwError *err)
{
	req->version = version;
	req->decoded_bytes = len;
	if (reference)
		return version == RW_VERSION_2 ? decode_v2(ar, req, buf, len, err) :
			decode_v1(ar, req, buf, len, err);
	return version == RW_VERSION_2 ? fast_v2(ar, req, buf, len, err) :
		fast_v1(ar, req, buf, len, err);
}

static RwRequest *
new_request(RwArena *ar)
{
	RwRequest  *req = arena_alloc(ar, sizeof(RwRequest));

	if (req != NULL)
	{
		memset(req, 0, sizeof(*req));
		req->priv = ar;
	}
	return req;
}

static RwRequest *
decode_protobuf(const void *buf, size_t len, RwVersion version, bool reference,
				const RwAllocator *allocator, RwError *err)
{
	RwArena    *ar;
	RwRequest  *req;

	if (err)
	{
		err->http_status = 0;
		err->message[0] = '\0';
	}
	if (len > RW_MAX_DECODED)
	{
		set_error(err, 413, "decoded request of %zu bytes exceeds the limit of %zu bytes",
				  len, RW_MAX_DECODED);
		return NULL;
	}
	ar = arena_create(allocator, RW_ARENA_FACTOR * len + RW_ARENA_SLACK);
	if (ar == NULL)
	{
		set_error(err, 413, "out of memory");
		return NULL;
	}
	req = new_request(ar);
	if (req == NULL || !decode_into(ar, req, buf, len, version, reference, err))
	{
		if (req == NULL)
			set_error(err, 413, "out of memory");
		arena_destroy(ar);
		return NULL;
	}
	return req;
}

RwRequest *
rw_decode_protobuf(const void *buf, size_t len, RwVersion version,
				   const RwAllocator *allocator, RwError *err)
{
	return decode_protobuf(buf, len, version, false, allocator, err);
}

RwRequest *
rw_decode_protobuf_reference(const void *buf, size_t len, RwVersion version,
							 const RwAllocator *allocator, RwError *err)
{
	return decode_protobuf(buf, len, version, true, allocator, err);
}

static int
ascii_casecmp_n(const char *a, const char *b, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned char ca = (unsigned char) a[i],
					cb = (unsigned char) b[i];

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return 1;
	}
	return 0;
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t'))
	{
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/*
 * Media type application/x-protobuf (case-insensitive), optional parameters;
 * proto=prometheus.WriteRequest or none selects 1.0,
 * proto=io.prometheus.write.v2.Request selects 2.0. A missing header means
 * 1.0, as the 2.0 specification asks receivers to assume.
 */
int
rw_content_type_version(const char *ct)
{
	const char *p,
			   *semi;
	size_t		len;
	int			version = RW_VERSION_1;

	if (ct == NULL)
		return RW_VERSION_1;
	len = strlen(ct);
	trim(&ct, &len);
	if (len == 0)
		return RW_VERSION_1;
	semi = memchr(ct, ';', len);
	{
		const char *mt = ct;
		size_t		mlen = semi ? (size_t) (semi - ct) : len;

		trim(&mt, &mlen);
		if (mlen != strlen(RW_CONTENT_TYPE_V1) ||
			ascii_casecmp_n(mt, RW_CONTENT_TYPE_V1, mlen) != 0)
			return 0;
	}
	p = semi;
	while (p != NULL)
	{
		const char *param = p + 1;
		const char *next = memchr(param, ';', len - (param - ct));
		size_t		plen = next ? (size_t) (next - param) : len - (param - ct);
		const char *eq = memchr(param, '=', plen);

		if (eq != NULL)
		{
			const char *key = param,
					   *val = eq + 1;
			size_t		klen = eq - param,
						vlen = plen - klen - 1;

			trim(&key, &klen);
			trim(&val, &vlen);
			if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"')
			{
				val++;
				vlen -= 2;
			}
			if (klen == 5 && ascii_casecmp_n(key, "proto", 5) == 0)
			{
				if (vlen == 23 && memcmp(val, "prometheus.WriteRequest", 23) == 0)
					version = RW_VERSION_1;
				else if (vlen == 30 && memcmp(val, "io.prometheus.write.v2.Request", 30) == 0)
					version = RW_VERSION_2;
				else
					return 0;
			}
		}
		p = next;
	}
	return version;
}

RwRequest *
rw_decode(const void *body, size_t body_len, const char *content_type,
		  const char *content_encoding, size_t max_bytes,
		  const RwAllocator *allocator, RwError *err)
{
	int			version;
	size_t		ulen;
	RwArena    *ar;
	RwRequest  *req;
	char	   *ubuf;
	char		b1[64];

	if (err)
	{
		err->http_status = 0;
		err->message[0] = '\0';
	}
	version = rw_content_type_version(content_type);
	if (version == 0)
	{
		set_error(err, 415, "unsupported content type \"%s\"; use %s or %s",
				  excerpt(content_type, strlen(content_type), b1, sizeof(b1)),
				  RW_CONTENT_TYPE_V1, RW_CONTENT_TYPE_V2);
		return NULL;
	}
	if (content_encoding != NULL)
	{
		const char *ce = content_encoding;
		size_t		celen = strlen(ce);

		trim(&ce, &celen);
		if (celen != 0 && (celen != 6 || ascii_casecmp_n(ce, "snappy", 6) != 0))
		{
			set_error(err, 415, "unsupported content encoding \"%s\"; only snappy is accepted",
					  excerpt(ce, celen, b1, sizeof(b1)));
			return NULL;
		}
	}
	if (body_len > max_bytes)
	{
		set_error(err, 413, "request body of %zu bytes exceeds the limit of %zu bytes",
				  body_len, max_bytes);
		return NULL;
	}
	/* the length header first: never allocate for a size we would refuse */
	if (snappy_uncompressed_length(body, body_len, &ulen) != SNAPPY_OK)
	{
		set_error(err, 400, "body is not snappy block-compressed data");
		return NULL;
	}
	if (ulen > max_bytes || ulen > RW_MAX_DECODED)
	{
		set_error(err, 413, "decompressed request of %zu bytes exceeds the limit of %zu bytes",
				  ulen, max_bytes < RW_MAX_DECODED ? max_bytes : RW_MAX_DECODED);
		return NULL;
	}
	ar = arena_create(allocator, ulen + RW_BLOCK_HDR + RW_ALIGN +
					  RW_ARENA_FACTOR * ulen + RW_ARENA_SLACK);
	if (ar == NULL)
	{
		set_error(err, 413, "out of memory");
		return NULL;
	}
	ubuf = arena_alloc(ar, ulen + 1);
	req = ubuf ? new_request(ar) : NULL;
	if (req == NULL)
	{
		set_error(err, 413, "out of memory");
		arena_destroy(ar);
		return NULL;
	}
	{
		size_t		outlen = ulen;

		if (snappy_uncompress(body, body_len, ubuf, &outlen) != SNAPPY_OK ||
			outlen != ulen)
		{
			set_error(err, 400, "corrupt snappy block-compressed data");
			arena_destroy(ar);
			return NULL;
		}
	}
	if (!decode_into(ar, req, (const uint8_t *) ubuf, ulen, (RwVersion) version, false, err))
	{
		arena_destroy(ar);
		return NULL;
	}
	return req;
}

void
rw_request_free(RwRequest *req)
{
	if (req != NULL && req->priv != NULL)
		arena_destroy((RwArena *) req->priv);
}

/*
 * rw_labels.c: the label sets of decoded series and exemplars.
 *
 * Both protocol versions and both readers come through here, so they agree
 * on every rule: which labels are valid, that an empty value means "no such
 * label", that names are unique, the order labels are kept in (by name) and
 * the label-set hash that maps them to series ids. Exemplar labels follow
 * Prometheus's exemplar storage instead: a bad exemplar is dropped, never a
 * reason to refuse the request.
 */
#include "wire/wire_int.h"

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
		char	   *p = rw_arena_alloc(ar, cap);

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
bool
rw_finish_series(RwArena *ar, RwSeries *s, RwLabel *l, int n, int index, RwError *err)
{
	int			i;
	char		buf[64];

	if (n == 0)
	{
		rw_set_error(err, 400, "series %d has no labels", index);
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
				rw_set_error(err, 400, "series %d has duplicate label name \"%s\"", index,
						  rw_excerpt(l[i].name, l[i].name_len, buf, sizeof(buf)));
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
		return rw_fail_nomem(ar, err);
	return true;
}

/*
 * Check one label (v1 path; v2 caches per symbol). Returns 0 when it is fine,
 * 1 when it must be dropped (empty value means "no such label"), -1 on error.
 */
int
rw_check_label(const char *name, size_t nlen, const char *value, size_t vlen,
			int index, RwError *err)
{
	char		buf[64];

	if (nlen == 0)
	{
		rw_set_error(err, 400, "series %d has a label with an empty name", index);
		return -1;
	}
	if (!alloy_valid_label_name(name, nlen))
	{
		rw_set_error(err, 400, "series %d has invalid label name \"%s\"", index,
				  rw_excerpt(name, nlen, buf, sizeof(buf)));
		return -1;
	}
	if (!alloy_valid_utf8(value, vlen))
	{
		rw_set_error(err, 400, "series %d label \"%s\" has a value that is not valid utf-8",
				  index, rw_excerpt(name, nlen, buf, sizeof(buf)));
		return -1;
	}
	if (nlen == RW_METRIC_NAME_LABEL_LEN &&
		memcmp(name, RW_METRIC_NAME_LABEL, RW_METRIC_NAME_LABEL_LEN) == 0)
	{
		if (!alloy_valid_metric_name(value, vlen))
		{
			rw_set_error(err, 400, "series %d has invalid metric name \"%s\"", index,
					  rw_excerpt(value, vlen, buf, sizeof(buf)));
			return -1;
		}
	}
	else if (vlen == 0)
		return 1;
	return 0;
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
void
rw_keep_exemplar(RwExemplar *base, RwSeries *s, RwLabel **labels, int nl,
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
void
rw_finish_exemplars(RwRequest *req, RwSeries *s, RwExemplar **base)
{
	s->exemplars = *base;
	*base += s->nexemplars;
	req->nexemplars += s->nexemplars;
	req->nexemplars_dropped += s->nexemplars_dropped;
}

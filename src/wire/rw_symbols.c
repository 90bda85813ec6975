/*
 * rw_symbols.c: the symbol table of remote write 2.0, shared by the
 * reference decoder and the fast reader.
 *
 * A 2.0 request sends every string once, in symbols, and series refer to
 * them by index. Requests repeat the same symbols in every series, so each
 * check (valid UTF-8, valid label name, valid metric name) runs at most once
 * per symbol and its verdict is cached in V2Symbols.flags.
 */
#include "wire/wire_int.h"

/* Symbol validation cache flags. */
#define SYM_UTF8_CHECKED	0x01
#define SYM_UTF8_OK			0x02
#define SYM_NAME_CHECKED	0x04
#define SYM_NAME_OK			0x08
#define SYM_METRIC_CHECKED	0x10
#define SYM_METRIC_OK		0x20

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
		if (check(rw_bin_ptr(&st->sym[r]), st->sym[r].len))
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
int
rw_v2_labels(V2Symbols *st, const uint32_t *refs, size_t nrefs, RwLabel *out,
		  size_t i, RwError *err)
{
	size_t		j;
	int			n = 0;
	char		b1[64];

	if (nrefs % 2 != 0)
	{
		rw_set_error(err, 400, "series %zu has an odd number of label refs", i);
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
			rw_set_error(err, 400, "series %zu has label ref %u out of range (%zu symbols)",
					  i, nr >= st->n ? nr : vr, st->n);
			return -1;
		}
		nm = &st->sym[nr];
		vl = &st->sym[vr];
		if (nm->len == 0)
		{
			rw_set_error(err, 400, "series %zu has a label with an empty name", i);
			return -1;
		}
		if (!sym_label_name(st, nr))
		{
			rw_set_error(err, 400, "series %zu has invalid label name \"%s\"", i,
					  rw_excerpt(rw_bin_ptr(nm), nm->len, b1, sizeof(b1)));
			return -1;
		}
		if (!sym_utf8(st, vr))
		{
			rw_set_error(err, 400, "series %zu label \"%s\" has a value that is not valid utf-8",
					  i, rw_excerpt(rw_bin_ptr(nm), nm->len, b1, sizeof(b1)));
			return -1;
		}
		if (nm->len == RW_METRIC_NAME_LABEL_LEN &&
			memcmp(nm->data, RW_METRIC_NAME_LABEL, RW_METRIC_NAME_LABEL_LEN) == 0)
		{
			if (!sym_metric_name(st, vr))
			{
				rw_set_error(err, 400, "series %zu has invalid metric name \"%s\"", i,
						  rw_excerpt(rw_bin_ptr(vl), vl->len, b1, sizeof(b1)));
				return -1;
			}
		}
		else if (vl->len == 0)
			continue;
		out[n].name = rw_bin_ptr(nm);
		out[n].name_len = (int) nm->len;
		out[n].value = rw_bin_ptr(vl);
		out[n].value_len = (int) vl->len;
		n++;
	}
	return n;
}

/* Check an exemplar's refs: pairs, each within the symbol table. */
bool
rw_v2_exemplar_refs(const V2Symbols *st, const uint32_t *refs, size_t nrefs, size_t i,
				 size_t j, RwError *err)
{
	size_t		k;

	if (nrefs % 2 != 0)
	{
		rw_set_error(err, 400, "series %zu exemplar %zu has an odd number of label refs", i, j);
		return false;
	}
	for (k = 0; k < nrefs; k++)
		if (refs[k] >= st->n)
		{
			rw_set_error(err, 400, "series %zu exemplar %zu has label ref %u out of range (%zu symbols)",
					  i, j, refs[k], st->n);
			return false;
		}
	return true;
}

/* The raw (name, value) pairs of checked exemplar refs, for rw_exemplar_labels. */
void
rw_v2_exemplar_pairs(const V2Symbols *st, const uint32_t *refs, size_t nrefs, RwLabel *out)
{
	size_t		k;

	for (k = 0; k + 1 < nrefs; k += 2)
	{
		const ProtobufCBinaryData *nm = &st->sym[refs[k]];
		const ProtobufCBinaryData *vl = &st->sym[refs[k + 1]];

		out->name = rw_bin_ptr(nm);
		out->name_len = (int) nm->len;
		out->value = rw_bin_ptr(vl);
		out->value_len = (int) vl->len;
		out++;
	}
}

/*
 * 2.0 metadata rides on each series; the appender wants it per family, so
 * keep one entry per run of series of the same family with equal metadata.
 */
bool
rw_v2_metadata(RwRequest *req, V2Symbols *st, const RwSeries *s, int32_t type,
			uint32_t help_ref, uint32_t unit_ref, size_t i, RwError *err)
{
	const ProtobufCBinaryData *help,
			   *unit;
	RwMetadata *prev,
			   *md;
	RwMetricType t;

	if (help_ref >= st->n || unit_ref >= st->n)
	{
		rw_set_error(err, 400, "series %zu has metadata ref %u out of range (%zu symbols)",
				  i, help_ref >= st->n ? help_ref : unit_ref, st->n);
		return false;
	}
	if (!sym_utf8(st, help_ref) || !sym_utf8(st, unit_ref))
	{
		rw_set_error(err, 400, "series %zu has metadata that is not valid utf-8", i);
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
		prev->help_len == (int) help->len && memcmp(prev->help, rw_bin_ptr(help), help->len) == 0 &&
		prev->unit_len == (int) unit->len && memcmp(prev->unit, rw_bin_ptr(unit), unit->len) == 0)
		return true;
	md = &req->metadata[req->nmetadata++];
	md->family = s->metric;
	md->family_len = s->metric_len;
	md->type = t;
	md->help = rw_bin_ptr(help);
	md->help_len = (int) help->len;
	md->unit = rw_bin_ptr(unit);
	md->unit_len = (int) unit->len;
	return true;
}

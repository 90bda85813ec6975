/*
 * rw_pb.c: checks of nested messages the fast readers count or read only
 * lightly (exemplars, histograms, metadata), so that a malformed one is
 * rejected exactly as protobuf-c's full unpack would reject it, and the
 * counts the readers size their arrays with.
 *
 * The primitives these use (pb_key, pb_varint, ...) are inline in
 * wire_int.h.
 */
#include "wire/wire_int.h"

/* The schemas: field number, kind and, for messages, their own schema. */
static const PbField f_label[] = {{1, K_BYTES, NULL}, {2, K_BYTES, NULL}};
static const PbSchema s_label = {f_label, 2};
static const PbField f_span[] = {{1, K_VARINT, NULL}, {2, K_VARINT, NULL}};
static const PbSchema s_span = {f_span, 2};
static const PbField f_ex_v1[] = {{1, K_REP_MSG, &s_label}, {2, K_FIXED64, NULL}, {3, K_VARINT, NULL}};
const PbSchema rw_schema_exemplar_v1 = {f_ex_v1, 3};
static const PbField f_ex_v2[] = {{1, K_REP_VARINT, NULL}, {2, K_FIXED64, NULL}, {3, K_VARINT, NULL}};
const PbSchema rw_schema_exemplar_v2 = {f_ex_v2, 3};
static const PbField f_hist[] = {
	{1, K_VARINT, NULL}, {2, K_FIXED64, NULL}, {3, K_FIXED64, NULL}, {4, K_VARINT, NULL},
	{5, K_FIXED64, NULL}, {6, K_VARINT, NULL}, {7, K_FIXED64, NULL}, {8, K_REP_MSG, &s_span},
	{9, K_REP_VARINT, NULL}, {10, K_REP_FIXED64, NULL}, {11, K_REP_MSG, &s_span},
	{12, K_REP_VARINT, NULL}, {13, K_REP_FIXED64, NULL}, {14, K_VARINT, NULL},
	{15, K_VARINT, NULL}, {16, K_REP_FIXED64, NULL}, {17, K_VARINT, NULL}
};
const PbSchema rw_schema_histogram_v1 = {f_hist, 16};
const PbSchema rw_schema_histogram_v2 = {f_hist, 17};
static const PbField f_md_v1[] = {{1, K_VARINT, NULL}, {2, K_BYTES, NULL}, {4, K_BYTES, NULL}, {5, K_BYTES, NULL}};
const PbSchema rw_schema_metadata_v1 = {f_md_v1, 4};
static const PbField f_md_v2[] = {{1, K_VARINT, NULL}, {3, K_VARINT, NULL}, {4, K_VARINT, NULL}};
const PbSchema rw_schema_metadata_v2 = {f_md_v2, 3};

/* Is b a well-formed message of this schema (unknown fields skipped)? */
bool
rw_pb_validate(Pb b, const PbSchema *schema)
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
				if (wt != WT_LEN || !pb_len(&b, &sub) || !rw_pb_validate(sub, f->sub))
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

/* How often field number num occurs in a message (any wire type); false if malformed. */
bool
rw_pb_count_field(Pb sub, uint32_t num, size_t *count)
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
size_t
rw_pb_v2_exemplar_nrefs(Pb sub)
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

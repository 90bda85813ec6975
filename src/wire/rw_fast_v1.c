/*
 * rw_fast_v1.c: the zero-copy reader of remote write 1.0
 * (prometheus.WriteRequest) used in production.
 *
 * Why a reader of our own: protobuf-c allocates and copies every Label and
 * Sample message (about 6,000 small objects for a typical 500-sample
 * request) and that dominated decode time. The requests we accept have a
 * fixed, tiny schema, so this reader walks the decompressed bytes directly:
 * labels and symbols point into the buffer, nothing is copied, and the only
 * allocations are the flat output arrays. It accepts and rejects exactly
 * what the protobuf-c reference decoder (rw_reference.c) does: both follow
 * the protobuf wire rules, and the unit tests and the fuzz target compare
 * the two on every input.
 *
 * Two passes: the first checks the shape and counts, so each output array is
 * allocated once; the second fills them.
 */
#include "wire/wire_int.h"

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

/* Decode a remote write 1.0 prometheus.WriteRequest into req. */
bool
rw_fast_v1(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len, RwError *err)
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
			return rw_fail_parse(err, what);
		if (num == 1 || num == 3)
		{
			if (wt != WT_LEN || !pb_len(&b, &ts))
				return rw_fail_parse(err, what);
			if (num == 3)
			{
				if (!rw_pb_validate(ts, &rw_schema_metadata_v1))
					return rw_fail_parse(err, what);
				nmd++;
				continue;
			}
			nts++;
			while (ts.p < ts.end)
			{
				Pb			ex;
				size_t		k;

				if (!pb_key(&ts, &num, &wt))
					return rw_fail_parse(err, what);
				if (num == 3 && wt == WT_LEN)
				{
					if (!pb_len(&ts, &ex) || !rw_pb_count_field(ex, 1, &k))
						return rw_fail_parse(err, what);
					nex++;
					nexlab += k;
					continue;
				}
				if (!pb_skip(&ts, wt))
					return rw_fail_parse(err, what);
				if (wt == WT_LEN)
				{
					nlab += (num == 1);
					nsmp += (num == 2);
				}
			}
		}
		else if (!pb_skip(&b, wt))
			return rw_fail_parse(err, what);
	}
	req->series = rw_arena_alloc(ar, sizeof(RwSeries) * (nts + 1));
	labels = rw_arena_alloc(ar, sizeof(RwLabel) * (nlab + 1));
	samples = rw_arena_alloc(ar, sizeof(RwSample) * (nsmp + 1));
	req->metadata = rw_arena_alloc(ar, sizeof(RwMetadata) * (nmd + 1));
	exemplars = rw_arena_alloc(ar, sizeof(RwExemplar) * (nex + 1));
	exlabels = rw_arena_alloc(ar, sizeof(RwLabel) * (nexlab + 1));
	if (!req->series || !labels || !samples || !req->metadata || !exemplars || !exlabels)
		return rw_fail_nomem(ar, err);

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
				rw_set_error(err, 400, "metadata %d for \"%s\" is not valid utf-8", req->nmetadata,
						  rw_excerpt(md->family, md->family_len, b1, sizeof(b1)));
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
					return rw_fail_parse(err, what);
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
							return rw_fail_parse(err, what);
						if (ln == 1 || ln == 2)
						{
							if (lwt != WT_LEN || !pb_len(&sub, &str))
								return rw_fail_parse(err, what);
							if (ln == 1)
								nm = (const char *) str.p, nlen = str.end - str.p;
							else
								vl = (const char *) str.p, vlen = str.end - str.p;
						}
						else if (!pb_skip(&sub, lwt))
							return rw_fail_parse(err, what);
					}
					r = rw_check_label(nm, nlen, vl, vlen, i, err);
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
					if (!pb_sample(sub, &samples[ns], NULL, false))
						return rw_fail_parse(err, what);
					ns++;
				}
				else if (num == 3)
				{
					int			nl;
					double		ev;
					int64_t		et;

					if (!rw_pb_validate(sub, &rw_schema_exemplar_v1))
						return rw_fail_parse(err, what);
					MUST(fast_v1_exemplar(sub, exlabels, &nl, &ev, &et));
					rw_keep_exemplar(exemplars, s, &exlabels, nl, ev, et);
				}
				else
				{
					if (!rw_pb_validate(sub, &rw_schema_histogram_v1))
						return rw_fail_parse(err, what);
					nh++;
				}
			}
			if (!rw_finish_series(ar, s, labels, n, i, err))
				return false;
			labels += n;
			s->samples = samples;
			s->nsamples = ns;
			samples += ns;
			rw_finish_exemplars(req, s, &exemplars);
			s->nhistograms = nh;
			s->start_ms = 0;
			req->nsamples += ns;
			req->nhistograms += nh;
			req->nseries++;
		}
	}
	return true;
}

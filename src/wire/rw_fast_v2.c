/*
 * rw_fast_v2.c: the zero-copy reader of remote write 2.0
 * (io.prometheus.write.v2.Request) used in production.
 *
 * Same design as rw_fast_v1.c (see there for why we do not use protobuf-c
 * here): it walks the decompressed bytes, copies nothing, and accepts and
 * rejects exactly what the protobuf-c reference decoder does.
 * Labels are symbol refs, resolved and checked in rw_symbols.c.
 */
#include "wire/wire_int.h"

/*
 * Decode a remote write 2.0 io.prometheus.write.v2.Request into req: pass 1
 * sizes the arrays and checks every nested message, then the symbols are
 * collected (series may precede them on the wire), then pass 2 fills the
 * series.
 */
bool
rw_fast_v2(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len, RwError *err)
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
			return rw_fail_parse(err, what);
		if (num == 4)
		{
			if (wt != WT_LEN || !pb_len(&b, &ts))
				return rw_fail_parse(err, what);
			nsym++;
		}
		else if (num == 5)
		{
			size_t		tsrefs = 0;

			if (wt != WT_LEN || !pb_len(&b, &ts))
				return rw_fail_parse(err, what);
			nts++;
			while (ts.p < ts.end)
			{
				Pb			sub;
				uint64_t	v;
				size_t		n;

				if (!pb_key(&ts, &num, &wt))
					return rw_fail_parse(err, what);
				switch (num)
				{
					case 1:
						if (wt == WT_VARINT)
						{
							if (!pb_varint(&ts, &v))
								return rw_fail_parse(err, what);
							tsrefs++;
						}
						else if (wt != WT_LEN || !pb_len(&ts, &sub) ||
								 !pb_count_packed_varints(&sub, &n))
							return rw_fail_parse(err, what);
						else
							tsrefs += n;
						break;
					case 2:
					case 3:
					case 4:
					case 5:
						if (wt != WT_LEN || !pb_len(&ts, &sub))
							return rw_fail_parse(err, what);
						if (num == 2)
						{
							RwSample	tmp;
							int64_t		stt = 0;

							if (!pb_sample(sub, &tmp, &stt, true))
								return rw_fail_parse(err, what);
							nsmp++;
						}
						else if (!rw_pb_validate(sub, num == 3 ? &rw_schema_histogram_v2 :
											  num == 4 ? &rw_schema_exemplar_v2 : &rw_schema_metadata_v2))
							return rw_fail_parse(err, what);
						else if (num == 4)
						{
							/* the refs buffer holds an exemplar's refs too */
							n = rw_pb_v2_exemplar_nrefs(sub);
							nex++;
							nexrefs += n;
							if (n > maxrefs)
								maxrefs = n;
						}
						break;
					case 6:
						if (wt != WT_VARINT || !pb_varint(&ts, &v))
							return rw_fail_parse(err, what);
						break;
					default:
						if (!pb_skip(&ts, wt))
							return rw_fail_parse(err, what);
				}
			}
			nrefs += tsrefs;
			if (tsrefs > maxrefs)
				maxrefs = tsrefs;
		}
		else if (!pb_skip(&b, wt))
			return rw_fail_parse(err, what);
	}

	syms = rw_arena_alloc(ar, sizeof(ProtobufCBinaryData) * (nsym + 1));
	st.flags = rw_arena_alloc(ar, nsym + 1);
	req->series = rw_arena_alloc(ar, sizeof(RwSeries) * (nts + 1));
	labels = rw_arena_alloc(ar, sizeof(RwLabel) * (nrefs / 2 + 1));
	samples = rw_arena_alloc(ar, sizeof(RwSample) * (nsmp + 1));
	req->metadata = rw_arena_alloc(ar, sizeof(RwMetadata) * (nts + 1));
	refs = rw_arena_alloc(ar, sizeof(uint32_t) * (maxrefs + 1));
	exemplars = rw_arena_alloc(ar, sizeof(RwExemplar) * (nex + 1));
	exlabels = rw_arena_alloc(ar, sizeof(RwLabel) * (nexrefs / 2 + 1));
	if (!syms || !st.flags || !req->series || !labels || !samples || !req->metadata || !refs ||
		!exemplars || !exlabels)
		return rw_fail_nomem(ar, err);
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
		rw_set_error(err, 400, "symbols[0] must be the empty string");
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
		n = rw_v2_labels(&st, refs, nr, labels, si, err);
		if (n < 0 || !rw_finish_series(ar, s, labels, n, (int) si, err))
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
				MUST(pb_sample(sub, &samples[ns], &start, true));
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
				if (!rw_v2_exemplar_refs(&st, refs, ne, si,
									  (size_t) (s->nexemplars + s->nexemplars_dropped), err))
					return false;
				rw_v2_exemplar_pairs(&st, refs, ne, exlabels);
				rw_keep_exemplar(exemplars, s, &exlabels, (int) (ne / 2), ev, et);
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
		rw_finish_exemplars(req, s, &exemplars);
		s->nhistograms = nh;
		req->nsamples += ns;
		req->nhistograms += nh;
		req->nseries++;
		if (have_md && !rw_v2_metadata(req, &st, s, md_type, md_help, md_unit, si, err))
			return false;
	}
	return true;
}

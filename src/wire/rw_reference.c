/*
 * rw_reference.c: remote-write decoding through protobuf-c's generated
 * unpackers (rw_decode_protobuf_reference).
 *
 * Slower than the zero-copy readers of rw_fast_v1.c and rw_fast_v2.c (it
 * allocates every Label and Sample message), it is kept as the reference
 * they are tested and fuzzed against: same result, same accept and reject
 * decisions. protobuf-c allocates from the request's arena, so its cap holds
 * here too and the unpacked structs die with the request.
 */
#include "wire/wire_int.h"
#include "wire/remote.pb-c.h"
#include "wire/write_v2.pb-c.h"

/* protobuf-c allocator hooks: bump-allocate, never free individually. */
static void *
pbc_arena_alloc(void *data, size_t size)
{
	return rw_arena_alloc((RwArena *) data, size);
}

static void
pbc_arena_free(void *data, void *ptr)
{
	(void) data;
	(void) ptr;
}

/* Remote write 1.0 through prometheus__write_request__unpack. */
bool
rw_reference_v1(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len, RwError *err)
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
		if (ar->mem->over_limit)
			return rw_fail_nomem(ar, err);
		return rw_fail_parse(err, "prometheus.WriteRequest");
	}
	for (i = 0; i < wr->n_timeseries; i++)
	{
		total_labels += wr->timeseries[i]->n_labels;
		total_samples += wr->timeseries[i]->n_samples;
		total_ex += wr->timeseries[i]->n_exemplars;
		for (j = 0; j < wr->timeseries[i]->n_exemplars; j++)
			total_exlabels += wr->timeseries[i]->exemplars[j]->n_labels;
	}
	req->series = rw_arena_alloc(ar, sizeof(RwSeries) * (wr->n_timeseries + 1));
	labels = rw_arena_alloc(ar, sizeof(RwLabel) * (total_labels + 1));
	samples = rw_arena_alloc(ar, sizeof(RwSample) * (total_samples + 1));
	req->metadata = rw_arena_alloc(ar, sizeof(RwMetadata) * (wr->n_metadata + 1));
	exemplars = rw_arena_alloc(ar, sizeof(RwExemplar) * (total_ex + 1));
	exlabels = rw_arena_alloc(ar, sizeof(RwLabel) * (total_exlabels + 1));
	if (!req->series || !labels || !samples || !req->metadata || !exemplars || !exlabels)
		return rw_fail_nomem(ar, err);

	for (i = 0; i < wr->n_timeseries; i++)
	{
		Prometheus__TimeSeries *ts = wr->timeseries[i];
		RwSeries   *s = &req->series[i];
		int			n = 0;

		for (j = 0; j < ts->n_labels; j++)
		{
			const Prometheus__Label *pl = ts->labels[j];
			int			r = rw_check_label(rw_bin_ptr(&pl->name), pl->name.len,
										rw_bin_ptr(&pl->value), pl->value.len,
										(int) i, err);

			if (r < 0)
				return false;
			if (r > 0)
				continue;
			labels[n].name = rw_bin_ptr(&pl->name);
			labels[n].name_len = (int) pl->name.len;
			labels[n].value = rw_bin_ptr(&pl->value);
			labels[n].value_len = (int) pl->value.len;
			n++;
		}
		if (!rw_finish_series(ar, s, labels, n, (int) i, err))
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
				exlabels[k].name = rw_bin_ptr(&pe->labels[k]->name);
				exlabels[k].name_len = (int) pe->labels[k]->name.len;
				exlabels[k].value = rw_bin_ptr(&pe->labels[k]->value);
				exlabels[k].value_len = (int) pe->labels[k]->value.len;
			}
			rw_keep_exemplar(exemplars, s, &exlabels, (int) pe->n_labels,
						  pe->value, pe->timestamp);
		}
		rw_finish_exemplars(req, s, &exemplars);
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

		if (!alloy_valid_utf8(rw_bin_ptr(&m->metric_family_name), m->metric_family_name.len) ||
			!alloy_valid_utf8(rw_bin_ptr(&m->help), m->help.len) ||
			!alloy_valid_utf8(rw_bin_ptr(&m->unit), m->unit.len))
		{
			rw_set_error(err, 400, "metadata %zu for \"%s\" is not valid utf-8", i,
					  rw_excerpt(rw_bin_ptr(&m->metric_family_name), m->metric_family_name.len,
							  b1, sizeof(b1)));
			return false;
		}
		md->family = rw_bin_ptr(&m->metric_family_name);
		md->family_len = (int) m->metric_family_name.len;
		md->type = (m->type >= 0 && m->type <= 7) ? (RwMetricType) m->type : RW_METRIC_UNKNOWN;
		md->help = rw_bin_ptr(&m->help);
		md->help_len = (int) m->help.len;
		md->unit = rw_bin_ptr(&m->unit);
		md->unit_len = (int) m->unit.len;
	}
	req->nmetadata = (int) wr->n_metadata;
	return true;
}

/* Remote write 2.0 through io__prometheus__write__v2__request__unpack. */
bool
rw_reference_v2(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len, RwError *err)
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
		if (ar->mem->over_limit)
			return rw_fail_nomem(ar, err);
		return rw_fail_parse(err, "io.prometheus.write.v2.Request");
	}
	if (r->n_timeseries > 0 && (r->n_symbols == 0 || r->symbols[0].len != 0))
	{
		rw_set_error(err, 400, "symbols[0] must be the empty string");
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
	st.flags = rw_arena_alloc(ar, r->n_symbols + 1);
	req->series = rw_arena_alloc(ar, sizeof(RwSeries) * (r->n_timeseries + 1));
	labels = rw_arena_alloc(ar, sizeof(RwLabel) * (total_pairs + 1));
	samples = rw_arena_alloc(ar, sizeof(RwSample) * (total_samples + 1));
	req->metadata = rw_arena_alloc(ar, sizeof(RwMetadata) * (r->n_timeseries + 1));
	exemplars = rw_arena_alloc(ar, sizeof(RwExemplar) * (total_ex + 1));
	exlabels = rw_arena_alloc(ar, sizeof(RwLabel) * (total_expairs + 1));
	if (!st.flags || !req->series || !labels || !samples || !req->metadata ||
		!exemplars || !exlabels)
		return rw_fail_nomem(ar, err);
	memset(st.flags, 0, r->n_symbols + 1);

	for (i = 0; i < r->n_timeseries; i++)
	{
		Io__Prometheus__Write__V2__TimeSeries *ts = r->timeseries[i];
		RwSeries   *s = &req->series[i];
		int			n = rw_v2_labels(&st, ts->labels_refs, ts->n_labels_refs, labels, i, err);

		if (n < 0 || !rw_finish_series(ar, s, labels, n, (int) i, err))
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

			if (!rw_v2_exemplar_refs(&st, pe->labels_refs, pe->n_labels_refs, i, j, err))
				return false;
			rw_v2_exemplar_pairs(&st, pe->labels_refs, pe->n_labels_refs, exlabels);
			rw_keep_exemplar(exemplars, s, &exlabels, (int) (pe->n_labels_refs / 2),
						  pe->value, pe->timestamp);
		}
		rw_finish_exemplars(req, s, &exemplars);
		s->nhistograms = (int) ts->n_histograms;
		req->nsamples += ts->n_samples;
		req->nhistograms += ts->n_histograms;

		if (ts->metadata &&
			!rw_v2_metadata(req, &st, s, ts->metadata->type, ts->metadata->help_ref,
						 ts->metadata->unit_ref, i, err))
			return false;
	}
	req->nseries = (int) r->n_timeseries;
	return true;
}

/*
 * rw_compare.h: compare two decoded remote-write requests, for the unit test
 * and the fuzzer that both check the fast reader against the protobuf-c
 * reference decoder.
 */
#ifndef ALLOY_RW_COMPARE_H
#define ALLOY_RW_COMPARE_H

#include <string.h>

#include "wire/wire.h"

/*
 * Whether two decoded requests are identical in content (labels, hashes,
 * samples and exemplars bit for bit, counts, metadata); names the first difference.
 */
static int
same_bytes(const char *a, int alen, const char *b, int blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static const char *
request_diff(const RwRequest *a, const RwRequest *b)
{
	if (a->version != b->version || a->nseries != b->nseries ||
		a->nmetadata != b->nmetadata || a->nsamples != b->nsamples ||
		a->nexemplars != b->nexemplars || a->nexemplars_dropped != b->nexemplars_dropped ||
		a->nhistograms != b->nhistograms)
		return "shape";
	for (int i = 0; i < a->nseries; i++)
	{
		const RwSeries *x = &a->series[i],
				   *y = &b->series[i];

		if (x->hash != y->hash || x->nlabels != y->nlabels || x->nsamples != y->nsamples ||
			x->nexemplars != y->nexemplars || x->nexemplars_dropped != y->nexemplars_dropped ||
			x->nhistograms != y->nhistograms ||
			x->start_ms != y->start_ms)
			return "series header";
		if ((x->metric == NULL) != (y->metric == NULL) ||
			(x->metric && !same_bytes(x->metric, x->metric_len, y->metric, y->metric_len)))
			return "metric";
		for (int j = 0; j < x->nlabels; j++)
			if (!same_bytes(x->labels[j].name, x->labels[j].name_len,
							y->labels[j].name, y->labels[j].name_len) ||
				!same_bytes(x->labels[j].value, x->labels[j].value_len,
							y->labels[j].value, y->labels[j].value_len))
				return "labels";
		for (int j = 0; j < x->nsamples; j++)
			if (x->samples[j].t_ms != y->samples[j].t_ms ||
				memcmp(&x->samples[j].value, &y->samples[j].value, sizeof(double)) != 0)
				return "samples";
		for (int j = 0; j < x->nexemplars; j++)
		{
			const RwExemplar *ex = &x->exemplars[j],
					   *ey = &y->exemplars[j];

			if (ex->t_ms != ey->t_ms || ex->nlabels != ey->nlabels ||
				memcmp(&ex->value, &ey->value, sizeof(double)) != 0)
				return "exemplars";
			for (int k = 0; k < ex->nlabels; k++)
				if (!same_bytes(ex->labels[k].name, ex->labels[k].name_len,
								ey->labels[k].name, ey->labels[k].name_len) ||
					!same_bytes(ex->labels[k].value, ex->labels[k].value_len,
								ey->labels[k].value, ey->labels[k].value_len))
					return "exemplar labels";
		}
	}
	for (int i = 0; i < a->nmetadata; i++)
	{
		const RwMetadata *x = &a->metadata[i],
				   *y = &b->metadata[i];

		if (x->type != y->type || !same_bytes(x->family, x->family_len, y->family, y->family_len) ||
			!same_bytes(x->help, x->help_len, y->help, y->help_len) ||
			!same_bytes(x->unit, x->unit_len, y->unit, y->unit_len))
			return "metadata";
	}
	return NULL;
}

#endif							/* ALLOY_RW_COMPARE_H */

/*
 * fuzz_rw_decode.c: libFuzzer target over the remote-write decode path.
 *
 * The first input byte picks how the rest is fed in: as a snappy body with
 * the 1.0 or 2.0 content type (exercising header checks and decompression),
 * or as an already-decompressed 1.0 or 2.0 protobuf (so the fuzzer reaches
 * deep protobuf and validation states without having to learn snappy); the
 * raw modes decode with both the fast reader and the protobuf-c reference
 * and require the same verdict and content. Every accepted request is then
 * checked against the invariants the appender relies on (exemplars included),
 * so a validation gap shows up as a crash, not just a leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"
#include "rw_compare.h"

#define FUZZ_MAX_BYTES (1024 * 1024)

static void *
fuzz_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size);
}

static void
fuzz_free(void *ctx, void *p)
{
	(void) ctx;
	free(p);
}

static const RwAllocator allocator = {fuzz_alloc, fuzz_free, NULL};

static void
check_invariants(const RwRequest *r)
{
	int64_t		nsamples = 0,
				nexemplars = 0,
				nexdropped = 0;

	for (int i = 0; i < r->nseries; i++)
	{
		const RwSeries *s = &r->series[i];

		if (s->nlabels < 1)
			abort();
		for (int j = 0; j < s->nlabels; j++)
		{
			const RwLabel *l = &s->labels[j];

			if (!alloy_valid_label_name(l->name, l->name_len) ||
				!alloy_valid_utf8(l->value, l->value_len))
				abort();
			if (j > 0)
			{
				const RwLabel *p = &s->labels[j - 1];
				int			n = p->name_len < l->name_len ? p->name_len : l->name_len;
				int			c = memcmp(p->name, l->name, n);

				if (c > 0 || (c == 0 && p->name_len >= l->name_len))
					abort();	/* not strictly increasing */
			}
		}
		if (s->metric != NULL && !alloy_valid_metric_name(s->metric, s->metric_len))
			abort();
		if (s->hash != rw_labels_hash(s->labels, s->nlabels))
			abort();
		for (int j = 0; j < s->nsamples; j++)
		{
			volatile double v = s->samples[j].value;

			(void) v;
		}
		nsamples += s->nsamples;
		for (int j = 0; j < s->nexemplars; j++)
		{
			const RwExemplar *e = &s->exemplars[j];
			size_t		len = 0;

			for (int k = 0; k < e->nlabels; k++)
			{
				const RwLabel *l = &e->labels[k];

				if (!alloy_valid_label_name(l->name, l->name_len) || l->value_len == 0 ||
					!alloy_valid_utf8(l->value, l->value_len))
					abort();
				if (k > 0 && (e->labels[k - 1].name_len == l->name_len &&
							  memcmp(e->labels[k - 1].name, l->name, l->name_len) == 0))
					abort();	/* duplicate name */
				len += l->name_len + l->value_len;
			}
			/* runes <= bytes <= 4 runes */
			if (len > 4 * RW_EXEMPLAR_MAX_LABEL_RUNES)
				abort();
		}
		nexemplars += s->nexemplars;
		nexdropped += s->nexemplars_dropped;
	}
	if (nsamples != r->nsamples || nexemplars != r->nexemplars ||
		nexdropped != r->nexemplars_dropped)
		abort();
	for (int i = 0; i < r->nmetadata; i++)
	{
		const RwMetadata *m = &r->metadata[i];

		if (!alloy_valid_utf8(m->family, m->family_len) ||
			!alloy_valid_utf8(m->help, m->help_len) || !alloy_valid_utf8(m->unit, m->unit_len))
			abort();
	}
}

/*
 * Differential check of the fast reader against the protobuf-c reference:
 * same decision, and the same content when both accept. The reference may
 * alone give up with 413 (it needs far more memory), nothing else may differ.
 */
static void
differential(const uint8_t *data, size_t size, RwVersion v)
{
	RwError		e1,
				e2;
	RwRequest  *fast = rw_decode_protobuf(data, size, v, &allocator, &e1);
	RwRequest  *ref = rw_decode_protobuf_reference(data, size, v, &allocator, &e2);

	if (fast && ref)
	{
		if (request_diff(fast, ref) != NULL)
			abort();
	}
	else if (fast && !ref)
	{
		if (e2.http_status != 413)
			abort();
	}
	else if (!fast && ref)
		abort();
	else if (e1.http_status != e2.http_status && e2.http_status != 413)
		abort();
	if (fast)
		check_invariants(fast);
	rw_request_free(fast);
	rw_request_free(ref);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	RwError		err;
	RwRequest  *r = NULL;
	int			mode;

	if (size < 1)
		return 0;
	mode = data[0] & 3;
	data++;
	size--;
	switch (mode)
	{
		case 0:
			r = rw_decode(data, size, RW_CONTENT_TYPE_V1, "snappy", FUZZ_MAX_BYTES,
						  &allocator, &err);
			break;
		case 1:
			r = rw_decode(data, size, RW_CONTENT_TYPE_V2, "snappy", FUZZ_MAX_BYTES,
						  &allocator, &err);
			break;
		case 2:
			differential(data, size, RW_VERSION_1);
			return 0;
		case 3:
			differential(data, size, RW_VERSION_2);
			return 0;
	}
	if (r != NULL)
	{
		if (err.http_status != 0)
			abort();
		check_invariants(r);
		rw_request_free(r);
	}
	else if (err.http_status != 400 && err.http_status != 413 && err.http_status != 415)
		abort();
	else if (strchr(err.message, '\n') != NULL)
		abort();
	return 0;
}

/*
 * read_chunks.c: a series' samples as Prometheus XOR chunks, for remote read.
 *
 * Remote read's STREAMED_XOR_CHUNKS answer is made of XOR chunks, and sealed
 * XOR chunks are stored in exactly that format. So a sealed XOR chunk that
 * lies wholly inside the asked range, and that no unsealed sample of the
 * series overrides, goes out as it is stored: no decoding, no encoding.
 * Everything else (decimal chunks, unsealed samples, chunks the range cuts)
 * is decoded, merged with the head with the usual rule (the latest write
 * wins) and re-encoded in chunks of up to ALLOY_CHUNK_SAMPLES. The result is
 * the same samples AlloySamplesReadSeries returns.
 *
 * Partitions of a range-partitioned table do not overlap in time, so chunks
 * come out in time order partition after partition; only a default partition
 * can interleave, and then the series falls back to decoding everything.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "store/store_int.h"
#include "codec/codec.h"

typedef struct AlloyChunkList
{
	AlloyXorChunk *chunks;
	int			n;
	int			cap;
	int64		nsamples;
	/* samples waiting to be encoded */
	int64	   *ts;
	double	   *vs;
	int			npending;
	int			pending_cap;
	/* time order check across partitions */
	bool		any;
	int64		last_t;
	bool		unordered;
} AlloyChunkList;

static void
AlloyChunkListAdd(AlloyChunkList *l, int64 mint, int64 maxt, const uint8 *data,
				  size_t len, int nsamples, bool stored)
{
	AlloyXorChunk *c;

	if (l->any && mint <= l->last_t)
		l->unordered = true;
	l->any = true;
	l->last_t = maxt;
	if (l->n >= l->cap)
	{
		l->cap = Max(l->cap * 2, 8);
		l->chunks = l->chunks ? repalloc(l->chunks, sizeof(AlloyXorChunk) * l->cap)
			: palloc(sizeof(AlloyXorChunk) * l->cap);
	}
	c = &l->chunks[l->n++];
	c->mint = mint;
	c->maxt = maxt;
	c->data = palloc(len);
	memcpy(c->data, data, len);
	c->len = len;
	c->nsamples = nsamples;
	c->stored = stored;
	l->nsamples += nsamples;
}

/* Encode the pending samples into chunks of up to ALLOY_CHUNK_SAMPLES. */
static void
AlloyChunkListFlush(AlloyChunkList *l)
{
	uint8		buf[XOR_HEADER_BYTES + ALLOY_CHUNK_SAMPLES * XOR_MAX_SAMPLE_BYTES + 8];

	for (int lo = 0; lo < l->npending; lo += ALLOY_CHUNK_SAMPLES)
	{
		int			hi = Min(l->npending, lo + ALLOY_CHUNK_SAMPLES);
		XorAppender app;

		if (xor_appender_init(&app, buf, sizeof(buf)) != XOR_OK)
			elog(ERROR, "XOR chunk buffer too small");
		for (int j = lo; j < hi; j++)
		{
			int			rc = xor_append(&app, l->ts[j], l->vs[j]);

			if (rc != XOR_OK)
				elog(ERROR, "XOR chunk append failed with status %d", rc);
		}
		AlloyChunkListAdd(l, l->ts[lo], l->ts[hi - 1], buf, xor_appender_bytes(&app),
						  hi - lo, false);
	}
	l->npending = 0;
}

static void
AlloyChunkListPend(AlloyChunkList *l, int64 t, double v)
{
	if (l->npending >= l->pending_cap)
	{
		l->pending_cap = Max(l->pending_cap * 2, 256);
		l->ts = l->ts ? repalloc_huge(l->ts, sizeof(int64) * l->pending_cap)
			: palloc(sizeof(int64) * l->pending_cap);
		l->vs = l->vs ? repalloc_huge(l->vs, sizeof(double) * l->pending_cap)
			: palloc(sizeof(double) * l->pending_cap);
	}
	l->ts[l->npending] = t;
	l->vs[l->npending] = v;
	l->npending++;
}

/*
 * Pend the head sample at *hpos (the last of its equal-time run: the latest
 * write) if it is in range, and move past the run.
 */
static void
AlloyPendHead(AlloyChunkList *l, AlloyPartReader *pr, int64 *hpos, int64 hhi)
{
	int64		j = *hpos;

	while (j + 1 < hhi && pr->head[j + 1].t == pr->head[j].t)
		j++;
	if (pr->head[j].t >= pr->mint && pr->head[j].t <= pr->maxt)
		AlloyChunkListPend(l, pr->head[j].t, AlloyBitsToDouble(pr->head[j].vbits));
	*hpos = j + 1;
}

/* The chunks of series sid in one partition. */
static void
AlloyPartReadSeriesXor(AlloyPartReader *pr, int64 sid, AlloyChunkList *l)
{
	AlloySealedCursor *cur = NULL;
	int64		hpos;
	int64		hhi;
	int64	   *ts = NULL;
	double	   *vs = NULL;

	if (pr->empty)
		return;
	hpos = AlloyHeadLowerBound(pr->head, pr->nhead, sid);
	hhi = hpos;
	while (hhi < pr->nhead && pr->head[hhi].series_id == sid)
		hhi++;

	if (pr->meta.sealed_npages > 0)
	{
		const AlloyChunkHeader *hdr;
		uint8		encoding;
		const uint8 *data;
		size_t		len;

		cur = AlloyPartSeriesCursor(pr, sid);
		ts = palloc(sizeof(int64) * ALLOY_CHUNK_MAX_SAMPLES);
		vs = palloc(sizeof(double) * ALLOY_CHUNK_MAX_SAMPLES);

		while (AlloySealedNextChunk(cur, &hdr, &encoding, &data, &len))
		{
			int			n;
			int			i;

			CHECK_FOR_INTERRUPTS();
			while (hpos < hhi && pr->head[hpos].t < hdr->min_t)
				AlloyPendHead(l, pr, &hpos, hhi);

			if (encoding == ALLOY_ENC_XOR &&
				hdr->min_t >= pr->mint && hdr->max_t <= pr->maxt &&
				!(hpos < hhi && pr->head[hpos].t <= hdr->max_t))
			{
				AlloyChunkListFlush(l);
				AlloyChunkListAdd(l, hdr->min_t, hdr->max_t, data, len,
								  xor_chunk_count(data, len), true);
				continue;
			}

			n = AlloyChunkDecode(encoding, data, len, ts, vs, ALLOY_CHUNK_MAX_SAMPLES);
			if (n < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("corrupt chunk of series %lld", (long long) sid)));
			/* merge with the head samples inside the chunk; the head wins */
			i = 0;
			while (i < n)
			{
				if (hpos < hhi && pr->head[hpos].t <= ts[i])
				{
					if (pr->head[hpos].t == ts[i])
						i++;	/* overwritten by a later write */
					AlloyPendHead(l, pr, &hpos, hhi);
					continue;
				}
				if (ts[i] >= pr->mint && ts[i] <= pr->maxt)
					AlloyChunkListPend(l, ts[i], vs[i]);
				i++;
			}
		}
		AlloySealedCursorEnd(cur);
		pfree(cur);
		pfree(ts);
		pfree(vs);
	}
	while (hpos < hhi)
		AlloyPendHead(l, pr, &hpos, hhi);
	AlloyChunkListFlush(l);
}

int
AlloySamplesReadSeriesXor(AlloySamplesReader *r, int64 series_id,
						  AlloyXorChunk **chunks, int64 *nsamples)
{
	AlloyChunkList l;

	memset(&l, 0, sizeof(l));
	for (int i = 0; i < r->nparts; i++)
		AlloyPartReadSeriesXor(r->parts[i], series_id, &l);
	if (l.ts)
	{
		pfree(l.ts);
		pfree(l.vs);
	}

	if (l.unordered)
	{
		/* a default partition interleaves: decode everything, in time order */
		int64	   *ts;
		double	   *vs;
		int			n;

		for (int i = 0; i < l.n; i++)
			pfree(l.chunks[i].data);
		pfree(l.chunks);
		memset(&l, 0, sizeof(l));
		n = AlloySamplesReadSeries(r, series_id, &ts, &vs);
		l.ts = ts;
		l.vs = vs;
		l.npending = n;
		l.pending_cap = n;
		AlloyChunkListFlush(&l);
		if (n > 0)
		{
			pfree(ts);
			pfree(vs);
		}
	}
	*chunks = l.chunks;
	*nsamples = l.nsamples;
	return l.n;
}

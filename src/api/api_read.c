/*
 * api_read.c: POST /api/v1/read, Prometheus remote read.
 *
 * A Prometheus configured with `remote_read` sends a snappy block holding a
 * prometheus.ReadRequest: one or more queries (a time range in ms, both ends
 * inclusive, and label matchers) and the response types it accepts, in order
 * of preference. We answer with the first type we support:
 *
 *  - SAMPLES: one prometheus.ReadResponse (one QueryResult per query, each a
 *    list of TimeSeries with labels and float samples), snappy block
 *    compressed, Content-Type application/x-protobuf, Content-Encoding snappy.
 *  - STREAMED_XOR_CHUNKS: a stream of frames, each a uvarint length, the
 *    big-endian CRC32C (Castagnoli) of the message and one
 *    prometheus.ChunkedReadResponse holding part of one series: its labels
 *    and XOR chunks of at most 120 samples (the size Prometheus cuts at).
 *    As in Prometheus, a frame holds at most about 1MB (we keep the message
 *    at or under 1MiB exactly), so a long series spans several frames, and a
 *    frame never mixes series.
 *
 * Series come from the catalog's label index for the request's tenant
 * (X-Scope-OrgID), in Prometheus's label-set order, which the streamed format
 * requires; a series with no sample in the query's range is left out.
 *
 * The protobuf answers are encoded by src/wire/rr_encode.c (rr_* of wire.h),
 * straight into room reserved in a StringInfo: this file only gathers the
 * labels, samples and chunks.
 *
 * Chunks come from storage (store/read_chunks.c): a sealed XOR chunk inside
 * the range goes out as it is stored; everything else is re-encoded by our
 * XOR codec, byte-compatible with Prometheus's.
 *
 * Every query is read in one transaction with one snapshot, before the
 * status line goes out, so the sample limit (alloy.query_max_samples over
 * the whole request; going over answers 400 "exceeded sample limit", as
 * Prometheus does for its --storage.remote.read-sample-limit) and a timeout
 * (503) can still be answered. The streamed answer is framed while it is
 * read, into a chain of blocks (AlloyReadFrames) that outlives the
 * transaction, and then sent piece by piece through AlloyHttpStreamBody,
 * each block freed once it is out: one copy of the frames at most, instead
 * of the two or three a buffered answer cost. A transaction cannot stay open
 * across the fill calls: the worker serves other connections, with their own
 * transactions, between them (docs/remote-read.md). SAMPLES is one snappy
 * block by protocol, so it is built whole; only its compressed form is
 * streamed out.
 */
#include "postgres.h"

#include <protobuf-c/protobuf-c.h>
#include <snappy-c.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "runtime/runtime.h"
#include "series/series.h"
#include "api/api_int.h"
#include "httpd/httpd.h"
#include "wire/remote.pb-c.h"
#include "wire/wire.h"
#include "base/base.h"
#include "store/store.h"
#include "codec/codec.h"

/* Samples per XOR chunk, as Prometheus's head cuts its chunks. */
#define ALLOY_READ_CHUNK_SAMPLES	120
/* Prometheus's default --storage.remote.read-max-bytes-in-frame. */
#define ALLOY_READ_MAX_FRAME_BYTES	(1024 * 1024)
/* Room in a frame for the chunked_series key and length and the query_index. */
#define ALLOY_READ_FRAME_SLACK		16
/*
 * protobuf-c may allocate this many times the decoded request (plus a
 * slack); a small body that unpacks into millions of empty messages is
 * refused instead of exhausting memory.
 */
#define ALLOY_READ_UNPACK_FACTOR	16
#define ALLOY_READ_UNPACK_SLACK		(1024 * 1024)

#define ALLOY_READ_SAMPLES_TYPE "application/x-protobuf"
#define ALLOY_READ_STREAMED_TYPE \
	"application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"

/* protobuf-c's allocations, in the request's memory context, bounded. */
typedef struct AlloyReadAlloc
{
	Size		used;
	Size		limit;
	bool		over_limit;
} AlloyReadAlloc;

/* One decoded query, ready for the catalog. */
typedef struct AlloyReadQuery
{
	int64		start_ms;
	int64		end_ms;
	int			nmatchers;
	AlloyMatcher *matchers;
} AlloyReadQuery;

/* ---------- protobuf writing ---------- */

/*
 * Reserve size bytes at the end of out for a wire encoder, which writes
 * them; returns where to write. AlloyReadWritten closes the string again.
 */
static uint8 *
AlloyReadReserve(StringInfo out, Size size)
{
	if (size >= MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("remote read message of %zu bytes is too large", size)));
	enlargeStringInfo(out, (int) size);
	return (uint8 *) out->data + out->len;
}

static void
AlloyReadWritten(StringInfo out, Size written)
{
	out->len += (int) written;
	out->data[out->len] = '\0';
}

/* ---------- request decoding ---------- */

static void *
AlloyReadUnpackAlloc(void *data, size_t size)
{
	AlloyReadAlloc *a = data;

	if (a->used + size > a->limit)
	{
		a->over_limit = true;
		return NULL;
	}
	a->used += size;
	return MemoryContextAllocHuge(CurrentMemoryContext, size);
}

static void
AlloyReadUnpackFree(void *data, void *ptr)
{
	/* the request's memory context goes as a whole */
	(void) data;
	(void) ptr;
}

/*
 * Untrusted bytes for an error message: at most 64, printable ASCII only, so
 * a hostile label name cannot break the one-line answer.
 */
static char *
AlloyReadPrintable(const char *s, int len)
{
	char	   *out = pnstrdup(s, Min(len, 64));

	for (char *p = out; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return out;
}

/* Answer an invalid request as Prometheus does: status and a one-line reason. */
static void
AlloyReadReject(AlloyHttpResponse *resp, int status, const char *msg)
{
	resp->status = status;
	resp->content_type = "text/plain; charset=utf-8";
	resp->content_encoding = NULL;
	resetStringInfo(&resp->body);
	/* one line, whatever bytes of the request the message quotes */
	for (const char *p = msg; *p; p++)
		appendStringInfoChar(&resp->body, (*p == '\n' || *p == '\r') ? ' ' : *p);
	appendStringInfoChar(&resp->body, '\n');
}

static const char *
AlloyReadTypeName(int type)
{
	switch (type)
	{
		case PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES:
			return "SAMPLES";
		case PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS:
			return "STREAMED_XOR_CHUNKS";
		default:
			return psprintf("%d", type);
	}
}

/*
 * The first accepted response type we support (none listed means SAMPLES,
 * for old clients); -1 after answering 400 when none is supported.
 */
static int
AlloyReadNegotiate(const Prometheus__ReadRequest *rr, AlloyHttpResponse *resp)
{
	StringInfoData list;

	if (rr->n_accepted_response_types == 0)
		return PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES;
	for (size_t i = 0; i < rr->n_accepted_response_types; i++)
	{
		int			t = rr->accepted_response_types[i];

		if (t == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES ||
			t == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS)
			return t;
	}
	initStringInfo(&list);
	for (size_t i = 0; i < rr->n_accepted_response_types; i++)
	{
		if (i == 8)
		{
			appendStringInfoString(&list, " ...");
			break;
		}
		appendStringInfo(&list, "%s%s", i > 0 ? " " : "",
						 AlloyReadTypeName(rr->accepted_response_types[i]));
	}
	AlloyReadReject(resp, 400,
					psprintf("server does not support any of the requested response types: [%s]; "
							 "supported: [SAMPLES STREAMED_XOR_CHUNKS]", list.data));
	return -1;
}

/* Allocation hooks for compiling the regexes of matchers. */
static void *
AlloyReadRegexAlloc(void *arg, size_t size)
{
	(void) arg;
	return MemoryContextAllocHuge(CurrentMemoryContext, size);
}

static void
AlloyReadRegexFree(void *arg, void *ptr)
{
	(void) arg;
	pfree(ptr);
}

/*
 * Turn the request's matchers into the catalog's. Regexes are compiled once
 * here (RE2 syntax, anchored at both ends, as the PromQL parser compiles
 * them) so a bad one is a 400 naming it, not an error deep in the catalog.
 * Returns false after answering 400.
 */
static bool
AlloyReadQueries(const Prometheus__ReadRequest *rr, AlloyReadQuery *out,
				 AlloyHttpResponse *resp)
{
	AlloyAllocHooks hooks = {AlloyReadRegexAlloc, AlloyReadRegexFree, NULL};

	for (size_t i = 0; i < rr->n_queries; i++)
	{
		const Prometheus__Query *q = rr->queries[i];
		AlloyReadQuery *rq = &out[i];

		rq->start_ms = q->start_timestamp_ms;
		rq->end_ms = q->end_timestamp_ms;
		rq->nmatchers = (int) q->n_matchers;
		rq->matchers = palloc0(sizeof(AlloyMatcher) * Max(q->n_matchers, 1));
		for (size_t j = 0; j < q->n_matchers; j++)
		{
			const Prometheus__LabelMatcher *m = q->matchers[j];
			AlloyMatcher *am = &rq->matchers[j];

			if (m->name.len > MaxAllocSize / 2 || m->value.len > MaxAllocSize / 2)
			{
				AlloyReadReject(resp, 400, "label matcher too long");
				return false;
			}
			am->name = m->name.len ? (const char *) m->name.data : "";
			am->name_len = (int) m->name.len;
			am->value = m->value.len ? (const char *) m->value.data : "";
			am->value_len = (int) m->value.len;
			switch (m->type)
			{
				case PROMETHEUS__LABEL_MATCHER__TYPE__EQ:
					am->op = ALLOY_MATCH_EQ;
					break;
				case PROMETHEUS__LABEL_MATCHER__TYPE__NEQ:
					am->op = ALLOY_MATCH_NEQ;
					break;
				case PROMETHEUS__LABEL_MATCHER__TYPE__RE:
					am->op = ALLOY_MATCH_RE;
					break;
				case PROMETHEUS__LABEL_MATCHER__TYPE__NRE:
					am->op = ALLOY_MATCH_NRE;
					break;
				default:
					AlloyReadReject(resp, 400,
									psprintf("invalid matcher type %d", (int) m->type));
					return false;
			}
			if (am->op == ALLOY_MATCH_RE || am->op == ALLOY_MATCH_NRE)
			{
				char		errbuf[256];
				AlloyRegex *rx;

				rx = alloy_regex_compile(am->value, am->value_len, &hooks,
										  errbuf, sizeof(errbuf));
				if (rx == NULL)
				{
					AlloyReadReject(resp, 400,
									psprintf("invalid regular expression in matcher for label \"%s\": %s",
											 AlloyReadPrintable(am->name, am->name_len), errbuf));
					return false;
				}
				alloy_regex_free(rx);
			}
		}
	}
	return true;
}

/* ---------- answers ---------- */

/* Counts samples against alloy.query_max_samples over the whole request. */
typedef struct AlloyReadBudget
{
	int64		samples;
	int64		limit;
} AlloyReadBudget;

static bool
AlloyReadCharge(AlloyReadBudget *b, int64 n)
{
	b->samples += n;
	return b->limit <= 0 || b->samples <= b->limit;
}

/*
 * One query's prometheus.QueryResult (without its own key and length).
 * Returns false when the sample limit is exceeded.
 */
static bool
AlloyReadQueryResult(StringInfo out, AlloySelectedSeries *sel, int nsel,
					 const AlloyReadQuery *q, AlloyReadBudget *budget)
{
	AlloySamplesReader *reader = AlloySamplesBeginRead(q->start_ms, q->end_ms);

	for (int i = 0; i < nsel; i++)
	{
		int64	   *ts;
		double	   *vs;
		int			n;
		Size		size;

		CHECK_FOR_INTERRUPTS();
		n = AlloySamplesReadSeries(reader, sel[i].series_id, &ts, &vs);
		if (n == 0)
			continue;
		if (!AlloyReadCharge(budget, n))
		{
			AlloySamplesEndRead(reader);
			return false;
		}
		size = rr_timeseries_size(sel[i].labels, sel[i].nlabels, ts, vs, n);
		AlloyReadWritten(out, rr_put_timeseries(AlloyReadReserve(out, size),
												sel[i].labels, sel[i].nlabels, ts, vs, n));
		pfree(ts);
		pfree(vs);
	}
	AlloySamplesEndRead(reader);
	return true;
}

/*
 * An answer between the transaction that reads it and the fill calls that
 * send it (see AlloyReadFramesFill): a chain of blocks in the request's
 * memory context, each freed as soon as its last byte is handed to the HTTP
 * layer. Frames are appended back to back and may straddle blocks. Unlike
 * one StringInfo, the chain never copies itself to grow (no transient
 * doubling) and has no 1GB limit.
 */
#define ALLOY_READ_BLOCK_BYTES	(1024 * 1024)

typedef struct AlloyReadBlock
{
	struct AlloyReadBlock *next;
	char	   *data;
	Size		len;
	Size		cap;
} AlloyReadBlock;

typedef struct AlloyReadFrames
{
	MemoryContext cxt;			/* the request's: outlives the transaction */
	AlloyReadBlock *head;		/* the next block to send */
	AlloyReadBlock *tail;		/* the block being appended to */
	Size		off;			/* bytes of head already sent */
} AlloyReadFrames;

static AlloyReadFrames *
AlloyReadFramesCreate(MemoryContext cxt)
{
	AlloyReadFrames *f = MemoryContextAllocZero(cxt, sizeof(AlloyReadFrames));

	f->cxt = cxt;
	return f;
}

/* Add a block of cap bytes (data NULL: allocate it) at the end of the chain. */
static AlloyReadBlock *
AlloyReadFramesAddBlock(AlloyReadFrames *f, char *data, Size len, Size cap)
{
	AlloyReadBlock *b = MemoryContextAlloc(f->cxt, sizeof(AlloyReadBlock));

	b->next = NULL;
	b->data = data ? data : MemoryContextAllocHuge(f->cxt, cap);
	b->len = len;
	b->cap = cap;
	if (f->tail)
		f->tail->next = b;
	else
		f->head = b;
	f->tail = b;
	return b;
}

static void
AlloyReadFramesAppend(AlloyReadFrames *f, const char *data, Size len)
{
	while (len > 0)
	{
		AlloyReadBlock *b = f->tail;
		Size		n;

		if (b == NULL || b->len == b->cap)
			b = AlloyReadFramesAddBlock(f, NULL, 0, ALLOY_READ_BLOCK_BYTES);
		n = Min(len, b->cap - b->len);
		memcpy(b->data + b->len, data, n);
		b->len += n;
		data += n;
		len -= n;
	}
}

/*
 * Fill function of AlloyHttpStreamBody: the next ALLOY_HTTP_STREAM_CHUNK
 * bytes of the chain, freeing each block once it is out.
 */
static bool
AlloyReadFramesFill(void *arg, StringInfo out)
{
	AlloyReadFrames *f = arg;

	while (f->head != NULL && out->len < ALLOY_HTTP_STREAM_CHUNK)
	{
		AlloyReadBlock *b = f->head;
		Size		n = Min(b->len - f->off, (Size) (ALLOY_HTTP_STREAM_CHUNK - out->len));

		appendBinaryStringInfo(out, b->data + f->off, n);
		f->off += n;
		if (f->off >= b->len)
		{
			f->head = b->next;
			if (f->head == NULL)
				f->tail = NULL;
			f->off = 0;
			pfree(b->data);
			pfree(b);
		}
	}
	return f->head == NULL;
}

/* One frame of the streamed answer: uvarint length, CRC32C, message. */
static void
AlloyReadFrame(AlloyReadFrames *out, const StringInfo msg)
{
	uint8		hdr[ALLOY_UVARINT_MAX_BYTES + 4];
	int			hlen;
	pg_crc32c	crc;
	char		be[4];

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, msg->data, msg->len);
	FIN_CRC32C(crc);
	be[0] = (char) (crc >> 24);
	be[1] = (char) (crc >> 16);
	be[2] = (char) (crc >> 8);
	be[3] = (char) crc;
	hlen = alloy_put_uvarint(hdr, (uint64) msg->len);
	memcpy(hdr + hlen, be, 4);
	AlloyReadFramesAppend(out, (char *) hdr, hlen + 4);
	AlloyReadFramesAppend(out, msg->data, msg->len);
}

/* An encoded chunk waiting for its frame. */
/* The chunks of a series come from storage (store.h) as they go out. */
typedef AlloyXorChunk AlloyReadChunk;

/* Chunks streamed as stored on disk, and chunks encoded for the answer. */
static int	m_read_chunks_stored;
static int	m_read_chunks_encoded;

/* The wire encoder's view of a series' chunks (palloc'd, pointing into them). */
static RrChunk *
AlloyReadRrChunks(const AlloyReadChunk *chunks, int nchunks)
{
	RrChunk    *rc = palloc(sizeof(RrChunk) * Max(nchunks, 1));

	for (int c = 0; c < nchunks; c++)
	{
		rc[c].mint = chunks[c].mint;
		rc[c].maxt = chunks[c].maxt;
		rc[c].data = chunks[c].data;
		rc[c].len = chunks[c].len;
	}
	return rc;
}

/* Write one ChunkedReadResponse frame for chunks[0..n) of series s. */
static void
AlloyReadSeriesFrame(AlloyReadFrames *out, StringInfo msg, const AlloySelectedSeries *s,
					 const RrChunk *chunks, int n, int64 query_index)
{
	Size		size = rr_chunked_response_size(s->labels, s->nlabels, chunks, n, query_index);

	resetStringInfo(msg);
	AlloyReadWritten(msg, rr_put_chunked_response(AlloyReadReserve(msg, size),
												  s->labels, s->nlabels, chunks, n,
												  query_index));
	AlloyReadFrame(out, msg);
}

/*
 * The frames of one query: every series with samples in range, cut into
 * chunks of at most ALLOY_READ_CHUNK_SAMPLES samples, in frames of at most
 * ALLOY_READ_MAX_FRAME_BYTES. Returns false when the sample limit is
 * exceeded.
 */
static bool
AlloyReadStreamQuery(AlloyReadFrames *out, AlloySelectedSeries *sel, int nsel,
					 const AlloyReadQuery *q, int64 query_index,
					 AlloyReadBudget *budget)
{
	AlloySamplesReader *reader = AlloySamplesBeginRead(q->start_ms, q->end_ms);
	StringInfoData msg;

	initStringInfo(&msg);
	for (int i = 0; i < nsel; i++)
	{
		int64		n;
		int			nchunks;
		AlloyReadChunk *chunks;
		RrChunk    *rc;
		int			first = 0;	/* first chunk not yet framed */
		int64		budget_bytes;
		int64		used;
		int64		nstored = 0;

		CHECK_FOR_INTERRUPTS();
		/* stored XOR chunks come as they are, everything else re-encoded */
		nchunks = AlloySamplesReadSeriesXor(reader, sel[i].series_id, &chunks, &n);
		if (nchunks == 0)
			continue;
		if (!AlloyReadCharge(budget, n))
		{
			AlloySamplesEndRead(reader);
			return false;
		}
		for (int c = 0; c < nchunks; c++)
			nstored += chunks[c].stored ? 1 : 0;
		AlloyMetricAdd(m_read_chunks_stored, nstored);
		AlloyMetricAdd(m_read_chunks_encoded, nchunks - nstored);

		/*
		 * Frames: one series each, a new frame whenever the next chunk would
		 * take the message past ALLOY_READ_MAX_FRAME_BYTES. Prometheus lets a
		 * frame overshoot by up to a chunk; counting whole fields keeps ours
		 * within the limit (a frame always takes at least one chunk).
		 */
		budget_bytes = ALLOY_READ_MAX_FRAME_BYTES - ALLOY_READ_FRAME_SLACK -
			(int64) rr_labels_size(sel[i].labels, sel[i].nlabels);
		used = 0;
		rc = AlloyReadRrChunks(chunks, nchunks);
		for (int c = 0; c < nchunks; c++)
		{
			int64		csize = rr_chunk_size(&rc[c]);

			if (c > first && used + csize > budget_bytes)
			{
				AlloyReadSeriesFrame(out, &msg, &sel[i], &rc[first], c - first,
									 query_index);
				first = c;
				used = 0;
			}
			used += csize;
		}
		AlloyReadSeriesFrame(out, &msg, &sel[i], &rc[first], nchunks - first,
							 query_index);
		pfree(rc);
		for (int c = 0; c < nchunks; c++)
			pfree(chunks[c].data);
		pfree(chunks);
	}
	pfree(msg.data);
	AlloySamplesEndRead(reader);
	return true;
}

/* The tenant's series matching a query's matchers (NULL, 0 for an unknown tenant). */
static AlloySelectedSeries *
AlloyReadSelect(int32 tenant_id, const AlloyReadQuery *q, int *nsel)
{
	*nsel = 0;
	if (tenant_id == ALLOY_INVALID_TENANT_ID || q->start_ms > q->end_ms)
		return NULL;
	return AlloySeriesSelect(tenant_id, q->matchers, q->nmatchers, nsel);
}

/*
 * Answer every query, in the current transaction: the frames of a streamed
 * answer into frames, a SAMPLES answer's ReadResponse into out. Returns false
 * when the request reads more than alloy.query_max_samples samples.
 */
static bool
AlloyReadRun(AlloyHttpRequest *req, const Prometheus__ReadRequest *rr,
			 const AlloyReadQuery *queries, int type, StringInfo out,
			 AlloyReadFrames *frames)
{
	AlloyReadBudget budget;
	int32		tenant_id;

	budget.samples = 0;
	budget.limit = alloy_query_max_samples;
	tenant_id = AlloyTenantLookup(AlloyHttpTenant(req), false);
	for (size_t i = 0; i < rr->n_queries; i++)
	{
		AlloySelectedSeries *sel;
		int			nsel;
		bool		ok;

		CHECK_FOR_INTERRUPTS();
		sel = AlloyReadSelect(tenant_id, &queries[i], &nsel);
		if (type == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS)
			ok = AlloyReadStreamQuery(frames, sel, nsel, &queries[i], (int64) i, &budget);
		else
		{
			StringInfoData result;

			initStringInfo(&result);
			ok = AlloyReadQueryResult(&result, sel, nsel, &queries[i], &budget);
			/* ReadResponse.results, one per query even when empty */
			AlloyReadWritten(out, rr_put_result_header(AlloyReadReserve(out, RR_RESULT_HEADER_MAX),
													   result.len));
			appendBinaryStringInfo(out, result.data, result.len);
			pfree(result.data);
		}
		if (!ok)
			return false;
	}
	return true;
}

static void
AlloyReadHandler(AlloyHttpRequest *req, AlloyHttpResponse *resp)
{
	size_t		len;
	const char *body = AlloyHttpBody(req, &len);
	const char *encoding = AlloyHttpHeader(req, "Content-Encoding");
	size_t		raw_len;
	char	   *raw;
	AlloyReadAlloc abudget;
	ProtobufCAllocator pbc_alloc;
	Prometheus__ReadRequest *rr;
	AlloyReadQuery *queries;
	int			type;
	bool		within_limit;
	StringInfoData out;
	AlloyReadFrames *frames;
	MemoryContext reqcxt = CurrentMemoryContext;

	/*
	 * Prometheus's read handler takes the body as snappy whatever the
	 * headers say; we do the same, except that a body announced in another
	 * encoding cannot be decoded and gets 415 rather than a confusing 400.
	 */
	if (encoding != NULL && *encoding != '\0' && pg_strcasecmp(encoding, "snappy") != 0)
	{
		AlloyReadReject(resp, 415,
						psprintf("unsupported content encoding \"%s\": remote read requests are snappy-compressed",
								 AlloyReadPrintable(encoding, strlen(encoding))));
		return;
	}
	if (body == NULL || len == 0)
	{
		AlloyReadReject(resp, 400, "empty remote read request");
		return;
	}
	if (snappy_uncompressed_length(body, len, &raw_len) != SNAPPY_OK)
	{
		AlloyReadReject(resp, 400, "snappy: corrupt input");
		return;
	}
	if (raw_len > (size_t) alloy_max_request_bytes || raw_len >= MaxAllocHugeSize)
	{
		AlloyReadReject(resp, 413,
						psprintf("decompressed request of %zu bytes exceeds alloy.max_request_bytes (%d)",
								 raw_len, alloy_max_request_bytes));
		return;
	}
	raw = MemoryContextAllocHuge(CurrentMemoryContext, Max(raw_len, 1));
	if (snappy_uncompress(body, len, raw, &raw_len) != SNAPPY_OK)
	{
		AlloyReadReject(resp, 400, "snappy: corrupt input");
		return;
	}

	abudget.used = 0;
	abudget.limit = raw_len * ALLOY_READ_UNPACK_FACTOR + ALLOY_READ_UNPACK_SLACK;
	abudget.over_limit = false;
	pbc_alloc.alloc = AlloyReadUnpackAlloc;
	pbc_alloc.free = AlloyReadUnpackFree;
	pbc_alloc.allocator_data = &abudget;
	rr = prometheus__read_request__unpack(&pbc_alloc, raw_len, (const uint8_t *) raw);
	if (rr == NULL)
	{
		if (abudget.over_limit)
			AlloyReadReject(resp, 413, "remote read request unpacks into too many messages");
		else
			AlloyReadReject(resp, 400, "proto: cannot parse prometheus.ReadRequest");
		return;
	}
	if ((type = AlloyReadNegotiate(rr, resp)) < 0)
		return;
	queries = palloc0(sizeof(AlloyReadQuery) * Max(rr->n_queries, 1));
	if (!AlloyReadQueries(rr, queries, resp))
		return;

	initStringInfo(&out);
	frames = AlloyReadFramesCreate(reqcxt);

	/*
	 * Starting a transaction switches to its own memory context; the answer
	 * must outlive the commit, so everything is allocated in the request's.
	 * alloy.query_timeout bounds the read as it bounds PromQL queries; the
	 * timer must not outlive an error, or it would fire in an idle worker.
	 */
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	MemoryContextSwitchTo(reqcxt);
	if (alloy_query_timeout > 0)
		enable_timeout_after(STATEMENT_TIMEOUT, alloy_query_timeout);
	PG_TRY();
	{
		within_limit = AlloyReadRun(req, rr, queries, type, &out, frames);
	}
	PG_CATCH();
	{
		disable_timeout(STATEMENT_TIMEOUT, false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	disable_timeout(STATEMENT_TIMEOUT, false);
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(reqcxt);

	if (!within_limit)
	{
		AlloyReadReject(resp, 400,
						psprintf("exceeded sample limit (%d)", alloy_query_max_samples));
		return;
	}

	resp->status = 200;
	if (type == PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS)
	{
		/* the frames go out as the client reads them, each block freed once sent */
		resp->content_type = ALLOY_READ_STREAMED_TYPE;
		pfree(out.data);
		AlloyHttpStreamBody(req, resp, AlloyReadFramesFill, frames);
	}
	else
	{
		size_t		clen = snappy_max_compressed_length(out.len);
		char	   *compressed;

		if (clen >= MaxAllocSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("remote read response of %d bytes is too large", out.len),
					 errhint("Narrow the query or lower alloy.query_max_samples.")));
		compressed = palloc(clen + 1);
		if (snappy_compress(out.data, out.len, compressed, &clen) != SNAPPY_OK)
			elog(ERROR, "snappy_compress failed");
		pfree(out.data);

		/*
		 * One snappy block by protocol, so it is built whole; handing it out
		 * through the stream saves the copy a buffered answer costs.
		 */
		resp->content_type = ALLOY_READ_SAMPLES_TYPE;
		resp->content_encoding = "snappy";
		AlloyReadFramesAddBlock(frames, compressed, clen, clen + 1);
		AlloyHttpStreamBody(req, resp, AlloyReadFramesFill, frames);
	}
}

void
AlloyApiReadRoutes(void)
{
	AlloyHttpRoute("/api/v1/read", ALLOY_ROUTE_POST | ALLOY_ROUTE_RAW_BODY, "/api/v1/read",
				   AlloyReadHandler);
	m_read_chunks_stored = AlloyMetricRegister(ALLOY_METRIC_COUNTER,
											   "alloy_remote_read_chunks_total",
											   "XOR chunks streamed by remote read: sent as stored on disk, or encoded for the answer.",
											   "source=\"stored\"");
	m_read_chunks_encoded = AlloyMetricRegister(ALLOY_METRIC_COUNTER,
												"alloy_remote_read_chunks_total",
												"XOR chunks streamed by remote read: sent as stored on disk, or encoded for the answer.",
												"source=\"encoded\"");
}

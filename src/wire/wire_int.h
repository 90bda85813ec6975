/*
 * wire_int.h: declarations shared by the files of src/wire/ only.
 *
 * The remote-write decoder is split by concern, bottom up (a file calls only
 * files listed above it):
 *
 *   rw_error.c      RwError messages and safe excerpts of untrusted bytes
 *   rw_labels.c     label sets: per-label checks, sort, hash, exemplar labels
 *   rw_symbols.c    remote write 2.0 symbol table: refs to checked labels
 *   rw_pb.c         schema checks of nested messages the fast readers skip
 *   rw_reference.c  the protobuf-c reference decoders (1.0 and 2.0)
 *   rw_fast_v1.c    the zero-copy remote write 1.0 reader used in production
 *   rw_fast_v2.c    the zero-copy remote write 2.0 reader used in production
 *   rw_decode.c     entry points: content type, snappy, dispatch
 *
 * The zero-copy protobuf primitives (Pb*) are static inline here: they run
 * for every byte of every request, and a call per field would cost more than
 * the field.
 *
 * A request's memory is one limited arena of src/base/arena.c, capped in
 * proportion to the request's size.
 */
#ifndef ALLOY_WIRE_WIRE_INT_H
#define ALLOY_WIRE_WIRE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "wire/wire.h"

/* ---------- the request's memory ---------- */

/*
 * Arena limits. A realistic request needs about 3 times its decompressed size
 * (9 on the protobuf-c reference path); the pathological case (every message
 * empty) would need about 100 times. We allow RW_ARENA_FACTOR times plus a
 * fixed slack (which also covers block headers) and reject the rest as too
 * large.
 */
#define RW_ARENA_FACTOR		16
#define RW_ARENA_SLACK		(1024 * 1024)

/* Counts and lengths are ints in RwRequest: refuse anything that could overflow them. */
#define RW_MAX_DECODED		((size_t) 1 << 30)

/*
 * What one decode allocates from: the limited arena the request lives in,
 * and a scratch buffer reused for every series' hash input.
 */
typedef struct RwArena
{
	AlloyArena *mem;
	char	   *scratch;
	size_t		scratch_cap;
} RwArena;

/* NULL (with mem's over_limit set) past the arena's limit, or when out of memory */
static inline void *
rw_arena_alloc(RwArena *ar, size_t size)
{
	return alloy_arena_alloc(ar->mem, size);
}

/* ---------- errors (rw_error.c) ---------- */

extern void rw_set_error(RwError *err, int status, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern const char *rw_excerpt(const char *s, size_t len, char *buf, size_t bufsize);
/* 400 "cannot parse <what> protobuf"; returns false */
extern bool rw_fail_parse(RwError *err, const char *what);
/* 413: the arena's cap was reached; returns false */
extern bool rw_fail_nomem(const RwArena *ar, RwError *err);

/* ---------- label sets (rw_labels.c) ---------- */

#define RW_METRIC_NAME_LABEL		"__name__"
#define RW_METRIC_NAME_LABEL_LEN	8

extern int	rw_check_label(const char *name, size_t nlen, const char *value, size_t vlen,
						   int index, RwError *err);
extern bool rw_finish_series(RwArena *ar, RwSeries *s, RwLabel *l, int n, int index,
							 RwError *err);
extern void rw_keep_exemplar(RwExemplar *base, RwSeries *s, RwLabel **labels, int nl,
							 double value, int64_t t);
extern void rw_finish_exemplars(RwRequest *req, RwSeries *s, RwExemplar **base);

/* protobuf-c leaves empty bytes fields with a NULL pointer */
static inline const char *
rw_bin_ptr(const ProtobufCBinaryData *b)
{
	return b->data ? (const char *) b->data : "";
}

/* ---------- remote write 2.0 symbols (rw_symbols.c) ---------- */

/* The symbol table with one byte of cached check verdicts per symbol. */
typedef struct V2Symbols
{
	const ProtobufCBinaryData *sym;
	size_t		n;
	unsigned char *flags;		/* n bytes, zeroed by the caller */
} V2Symbols;

extern int	rw_v2_labels(V2Symbols *st, const uint32_t *refs, size_t nrefs, RwLabel *out,
						 size_t i, RwError *err);
extern bool rw_v2_exemplar_refs(const V2Symbols *st, const uint32_t *refs, size_t nrefs,
								size_t i, size_t j, RwError *err);
extern void rw_v2_exemplar_pairs(const V2Symbols *st, const uint32_t *refs, size_t nrefs,
								 RwLabel *out);
extern bool rw_v2_metadata(RwRequest *req, V2Symbols *st, const RwSeries *s, int32_t type,
						   uint32_t help_ref, uint32_t unit_ref, size_t i, RwError *err);

/* ---------- the reference decoders (rw_reference.c) ---------- */

extern bool rw_reference_v1(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len,
							RwError *err);
extern bool rw_reference_v2(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len,
							RwError *err);

/* ---------- the fast readers (rw_fast_v1.c, rw_fast_v2.c) ---------- */

/*
 * Their pass 2 re-walks bytes pass 1 already checked, so these calls cannot
 * fail; MUST keeps that assumption checked (and the compiler informed)
 * anyway. It needs RwError *err and const char what[] in scope.
 */
#define MUST(x) do { if (!(x)) return rw_fail_parse(err, what); } while (0)

extern bool rw_fast_v1(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len,
					   RwError *err);
extern bool rw_fast_v2(RwArena *ar, RwRequest *req, const uint8_t *buf, size_t len,
					   RwError *err);

/* ---------- zero-copy protobuf primitives (inline) and schemas (rw_pb.c) ---------- */

/* The unread part of a message. */
typedef struct Pb
{
	const uint8_t *p;
	const uint8_t *end;
} Pb;

enum
{
	WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5
};

/* A varint of at most 10 bytes; excess high bits are dropped, as protobuf-c does. */
static inline bool
pb_varint(Pb *b, uint64_t *out)
{
	const uint8_t *p = b->p;
	uint64_t	v = 0;
	int			shift;

	if (p < b->end && *p < 0x80)
	{
		*out = *p;
		b->p = p + 1;
		return true;
	}
	for (shift = 0; shift < 70 && p < b->end; shift += 7)
	{
		uint8_t		c = *p++;

		if (shift < 64)
			v |= (uint64_t) (c & 0x7f) << shift;
		if (c < 0x80)
		{
			*out = v;
			b->p = p;
			return true;
		}
	}
	return false;
}

/*
 * Field key: number and wire type, at most 5 bytes, the number kept to 32
 * bits. These are protobuf-c's exact acceptance rules (it only refuses a
 * first byte with no number bits, and does not range-check the number), so
 * both decoders skip the same unknown fields.
 */
static inline bool
pb_key(Pb *b, uint32_t *field, int *wt)
{
	const uint8_t *p = b->p;
	uint32_t	tag;
	int			shift = 4,
				i;

	if (p >= b->end || (p[0] & 0xf8) == 0)
		return false;
	*wt = p[0] & 7;
	tag = (uint32_t) (p[0] & 0x7f) >> 3;
	if (p[0] < 0x80)
	{
		*field = tag;
		b->p = p + 1;
		return true;
	}
	for (i = 1; i < 5 && p + i < b->end; i++, shift += 7)
	{
		tag |= (uint32_t) (p[i] & 0x7f) << shift;
		if (p[i] < 0x80)
		{
			*field = tag;
			b->p = p + i + 1;
			return true;
		}
	}
	return false;
}

/* A length prefix (at most 5 bytes, as protobuf-c reads it) and its bytes. */
static inline bool
pb_len(Pb *b, Pb *sub)
{
	const uint8_t *start = b->p;
	uint64_t	n;

	if (!pb_varint(b, &n) || b->p - start > 5 || n > (uint64_t) (b->end - b->p))
		return false;
	sub->p = b->p;
	sub->end = b->p + n;
	b->p += n;
	return true;
}

static inline bool
pb_fixed64(Pb *b, uint64_t *out)
{
	if (b->end - b->p < 8)
		return false;
	memcpy(out, b->p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	*out = __builtin_bswap64(*out);
#endif
	b->p += 8;
	return true;
}

/* Skip a field of an unknown number; groups and reserved wire types fail. */
static inline bool
pb_skip(Pb *b, int wt)
{
	uint64_t	v;
	Pb			sub;

	switch (wt)
	{
		case WT_VARINT:
			return pb_varint(b, &v);
		case WT_FIXED64:
			return pb_fixed64(b, &v);
		case WT_LEN:
			return pb_len(b, &sub);
		case WT_FIXED32:
			if (b->end - b->p < 4)
				return false;
			b->p += 4;
			return true;
		default:
			return false;
	}
}

/* Count the varints of a packed field, checking each terminates. */
static inline bool
pb_count_packed_varints(const Pb *sub, size_t *count)
{
	const uint8_t *p;
	size_t		n = 0;
	int			run = 0;

	for (p = sub->p; p < sub->end; p++)
	{
		if (++run > 10)
			return false;
		if (*p < 0x80)
		{
			n++;
			run = 0;
		}
	}
	if (run != 0)
		return false;
	*count = n;
	return true;
}

/* One Sample message (both versions): value 1, timestamp 2, start 3 (v2). */
static inline bool
pb_sample(Pb sub, RwSample *out, int64_t *start, bool v2)
{
	uint64_t	v;
	double		d = 0;
	int64_t		t = 0,
				st = 0;

	while (sub.p < sub.end)
	{
		uint32_t	num;
		int			wt;

		if (!pb_key(&sub, &num, &wt))
			return false;
		if (num == 1)
		{
			if (wt != WT_FIXED64 || !pb_fixed64(&sub, &v))
				return false;
			memcpy(&d, &v, 8);
		}
		else if (num == 2 || (num == 3 && v2))
		{
			if (wt != WT_VARINT || !pb_varint(&sub, &v))
				return false;
			if (num == 2)
				t = (int64_t) v;
			else
				st = (int64_t) v;
		}
		else if (!pb_skip(&sub, wt))
			return false;
	}
	out->t_ms = t;
	out->value = d;
	if (start != NULL && *start == 0)
		*start = st;
	return true;
}

/*
 * Schemas of the nested messages the fast readers only count (exemplars,
 * histograms) or read lightly, for rw_pb_validate (rw_pb.c).
 */
typedef enum PbKind
{
	K_VARINT, K_FIXED64, K_BYTES, K_MSG, K_REP_VARINT, K_REP_FIXED64, K_REP_MSG
} PbKind;

typedef struct PbField
{
	uint32_t	num;
	PbKind		kind;
	const struct PbSchema *sub;
} PbField;

typedef struct PbSchema
{
	const PbField *fields;
	int			nfields;
} PbSchema;

extern const PbSchema rw_schema_exemplar_v1;
extern const PbSchema rw_schema_exemplar_v2;
extern const PbSchema rw_schema_histogram_v1;
extern const PbSchema rw_schema_histogram_v2;
extern const PbSchema rw_schema_metadata_v1;
extern const PbSchema rw_schema_metadata_v2;

extern bool rw_pb_validate(Pb b, const PbSchema *schema);
extern bool rw_pb_count_field(Pb sub, uint32_t num, size_t *count);
extern size_t rw_pb_v2_exemplar_nrefs(Pb sub);

#endif							/* ALLOY_WIRE_WIRE_INT_H */

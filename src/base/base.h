/*
 * base.h: alloy's common layer, plain C with no PostgreSQL calls, so the
 * server, the unit tests, the conformance harness and the libFuzzer targets
 * all build it: label sets (hash and validation), the RE2-compatible regex
 * wrapper, the arena allocator, varints and compensated sums.
 *
 * Nothing here includes another alloy header; every layer may use it.
 */
#ifndef ALLOY_BASE_BASE_H
#define ALLOY_BASE_BASE_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Labels: the 64-bit hash of a label set that keys the series cache.
 *
 * The ingest decoder (plain C, outside the server) hashes every decoded label
 * set once, and the catalog uses the same value to find the series id in the
 * shared-memory cache, so both sides must agree bit for bit.  That is why
 * it is static inline here, usable from unit tests and libFuzzer targets.
 *
 * Definition (the contract): the hash is taken over the byte stream
 *
 *     name_1 0xFF value_1 0xFF name_2 0xFF value_2 0xFF ...
 *
 * of the labels in the order given (callers sort them by name, bytewise, and
 * drop empty values first).  0xFF never occurs in valid UTF-8, so the stream
 * is unambiguous.  The stream is consumed as little-endian 64-bit words with
 * an xxHash64-style multiply-rotate round per word; the last 0..7 bytes are
 * folded in as one zero-padded word together with their count, then the total
 * length, then a full avalanche.  The result depends only on the bytes, not on
 * how they are split between calls, so the streaming interface below and the
 * one-shot alloy_labels_hash() always agree.
 *
 * A seed gives independent hash functions: the catalog stores a second hash
 * (ALLOY_LABELS_HASH_SEED2) next to the first in its cache, so a cache hit
 * needs a 128-bit match and a 64-bit collision can never return the wrong
 * series.
 */

#define ALLOY_LABELS_HASH_SEED	UINT64_C(0)
#define ALLOY_LABELS_HASH_SEED2 UINT64_C(0x9e3779b97f4a7c15)

#define ALLOY_LH_P1 UINT64_C(0x9E3779B185EBCA87)
#define ALLOY_LH_P2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define ALLOY_LH_P3 UINT64_C(0x165667B19E3779F9)
#define ALLOY_LH_P4 UINT64_C(0x85EBCA77C2B2AE63)

/* Streaming state: the running hash plus up to 7 bytes not yet a full word. */
typedef struct AlloyLabelsHashState
{
	uint64_t	h;
	uint64_t	total;			/* bytes consumed so far */
	uint64_t	pend;			/* pending bytes, little-endian packed */
	int			npend;			/* 0..7 */
} AlloyLabelsHashState;

static inline uint64_t
alloy_lh_rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t
alloy_lh_load64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t	w;

	memcpy(&w, p, 8);
	return w;
#else
	/* Assemble explicitly so the value is the same on any byte order. */
	return (uint64_t) p[0] | ((uint64_t) p[1] << 8) | ((uint64_t) p[2] << 16) |
		((uint64_t) p[3] << 24) | ((uint64_t) p[4] << 32) |
		((uint64_t) p[5] << 40) | ((uint64_t) p[6] << 48) |
		((uint64_t) p[7] << 56);
#endif
}

static inline uint64_t
alloy_lh_round(uint64_t h, uint64_t w)
{
	w *= ALLOY_LH_P2;
	w = alloy_lh_rotl(w, 31);
	w *= ALLOY_LH_P1;
	h ^= w;
	return alloy_lh_rotl(h, 27) * ALLOY_LH_P1 + ALLOY_LH_P4;
}

static inline void
alloy_labels_hash_init(AlloyLabelsHashState *st, uint64_t seed)
{
	st->h = seed + ALLOY_LH_P3;
	st->total = 0;
	st->pend = 0;
	st->npend = 0;
}

/*
 * The first n (< 8) bytes at p as the low bytes of a little-endian word, in
 * at most three loads instead of a byte loop: label names and values are
 * short, so partial words are the common case.
 */
static inline uint64_t
alloy_lh_loadn(const unsigned char *p, size_t n)
{
	uint64_t	w = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	size_t		i = 0;

	/* fixed-size copies compile to single loads */
	if (n & 4)
	{
		uint32_t	x;

		memcpy(&x, p, 4);
		w = x;
		i = 4;
	}
	if (n & 2)
	{
		uint16_t	x;

		memcpy(&x, p + i, 2);
		w |= (uint64_t) x << (8 * i);
		i += 2;
	}
	if (n & 1)
		w |= (uint64_t) p[i] << (8 * i);
#else
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t) p[i] << (8 * i);
#endif
	return w;
}

/* Feed bytes; whole words go straight through the round function. */
static inline void
alloy_labels_hash_update(AlloyLabelsHashState *st, const void *data, size_t len)
{
	const unsigned char *p = (const unsigned char *) data;

	st->total += len;

	/* Top up a partial word first. */
	if (st->npend > 0)
	{
		size_t		need = 8 - (size_t) st->npend;

		if (len < need)
		{
			st->pend |= alloy_lh_loadn(p, len) << (8 * st->npend);
			st->npend += (int) len;
			return;
		}
		st->pend |= alloy_lh_loadn(p, need) << (8 * st->npend);
		st->h = alloy_lh_round(st->h, st->pend);
		p += need;
		len -= need;
		st->pend = 0;
		st->npend = 0;
	}
	while (len >= 8)
	{
		st->h = alloy_lh_round(st->h, alloy_lh_load64(p));
		p += 8;
		len -= 8;
	}
	if (len > 0)
	{
		st->pend = alloy_lh_loadn(p, len);
		st->npend = (int) len;
	}
}

/* Feed the 0xFF separator (one byte, the most frequent update). */
static inline void
alloy_labels_hash_sep(AlloyLabelsHashState *st)
{
	st->total++;
	st->pend |= (uint64_t) 0xFF << (8 * st->npend);
	if (++st->npend == 8)
	{
		st->h = alloy_lh_round(st->h, st->pend);
		st->pend = 0;
		st->npend = 0;
	}
}

static inline uint64_t
alloy_labels_hash_final(const AlloyLabelsHashState *st)
{
	uint64_t	h = st->h;

	if (st->npend > 0)
		h = alloy_lh_round(h, st->pend ^ ((uint64_t) st->npend << 59));
	h ^= st->total * ALLOY_LH_P1;
	h ^= h >> 33;
	h *= ALLOY_LH_P2;
	h ^= h >> 29;
	h *= ALLOY_LH_P3;
	h ^= h >> 32;
	return h;
}

/* Add one label (name 0xFF value 0xFF) to a running hash. */
static inline void
alloy_labels_hash_add(AlloyLabelsHashState *st,
					  const char *name, size_t name_len,
					  const char *value, size_t value_len)
{
	alloy_labels_hash_update(st, name, name_len);
	alloy_labels_hash_sep(st);
	alloy_labels_hash_update(st, value, value_len);
	alloy_labels_hash_sep(st);
}

/*
 * A label as the catalog API takes it: pointers and lengths into the caller's
 * buffers, not NUL-terminated (remote-write strings are not).  Defined here
 * rather than in catalog.h so plain-C code can build and hash label sets.
 */
typedef struct AlloyLabel
{
	const char *name;
	int			name_len;
	const char *value;
	int			value_len;
} AlloyLabel;

/* The label-set hash with a given seed (see the definition at the top). */
static inline uint64_t
AlloyLabelsHashSeed(const AlloyLabel *labels, int nlabels, uint64_t seed)
{
	AlloyLabelsHashState st;

	alloy_labels_hash_init(&st, seed);
	for (int i = 0; i < nlabels; i++)
		alloy_labels_hash_add(&st, labels[i].name, (size_t) labels[i].name_len,
							  labels[i].value, (size_t) labels[i].value_len);
	return alloy_labels_hash_final(&st);
}

/* The hash AlloySeriesGetOrCreate expects: labels sorted by name. */
static inline uint64_t
AlloyLabelsHash(const AlloyLabel *labels, int nlabels)
{
	return AlloyLabelsHashSeed(labels, nlabels, ALLOY_LABELS_HASH_SEED);
}

/*
 * One-shot form over parallel arrays, for callers that do not use AlloyLabel
 * (the ingest decoder has its own label struct).
 */
static inline uint64_t
alloy_labels_hash_pairs(const char *const *names, const int *name_lens,
						const char *const *values, const int *value_lens,
						int n, uint64_t seed)
{
	AlloyLabelsHashState st;

	alloy_labels_hash_init(&st, seed);
	for (int i = 0; i < n; i++)
		alloy_labels_hash_add(&st, names[i], (size_t) name_lens[i],
							  values[i], (size_t) value_lens[i]);
	return alloy_labels_hash_final(&st);
}

/*
 * Label validation (labels.c), Prometheus's rules: label names
 * [a-zA-Z_][a-zA-Z0-9_]*, metric names [a-zA-Z_:][a-zA-Z0-9_:]*, and UTF-8
 * as Go's utf8.Valid accepts it (no overlong forms, no surrogates, nothing
 * above U+10FFFF). The one place these rules are written down.
 */
extern bool alloy_valid_utf8(const char *s, size_t len);

/*
 * Inline, since remote write checks every name of every request: bit 1 of a
 * byte's class = may start a label name, 2 = may continue one, 4/8 = the same
 * for metric names (which also allow ':').
 */
extern const unsigned char alloy_name_class[256];

static inline bool
alloy_name_matches_class(const char *str, size_t len, unsigned char first, unsigned char rest)
{
	const unsigned char *s = (const unsigned char *) str;

	if (len == 0 || !(alloy_name_class[s[0]] & first))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(alloy_name_class[s[i]] & rest))
			return false;
	return true;
}

static inline bool
alloy_valid_label_name(const char *s, size_t len)
{
	return alloy_name_matches_class(s, len, 1, 2);
}

static inline bool
alloy_valid_metric_name(const char *s, size_t len)
{
	return alloy_name_matches_class(s, len, 4, 8);
}

/*
 * Varints: protobuf's and Prometheus's base-128 unsigned integers, least
 * significant group first.
 */
#define ALLOY_UVARINT_MAX_BYTES 10

static inline int
alloy_uvarint_len(uint64_t x)
{
	int			n = 1;

	while (x >= 0x80)
	{
		x >>= 7;
		n++;
	}
	return n;
}

/* Write x at p (room for ALLOY_UVARINT_MAX_BYTES); returns the bytes written. */
static inline int
alloy_put_uvarint(uint8_t *p, uint64_t x)
{
	int			n = 0;

	while (x >= 0x80)
	{
		p[n++] = (uint8_t) ((x & 0x7f) | 0x80);
		x >>= 7;
	}
	p[n++] = (uint8_t) x;
	return n;
}

/*
 * Kahan-Neumaier compensated summation, Prometheus 3's variant: add inc to
 * *sum, keeping the lost low-order part in *c; the compensation resets once
 * the sum is infinite. The result is *sum + *c.
 */
static inline void
alloy_kahan_inc(double inc, double *sum, double *c)
{
	double		t = *sum + inc;

	if (isinf(t))
		*c = 0;
	else if (fabs(*sum) >= fabs(inc))
		*c += (*sum - t) + inc;
	else
		*c += (inc - t) + *sum;
	*sum = t;
}

/*
 * Arena: a bump allocator for work with one lifetime (a PromQL query, a
 * decoded request).  Every allocation comes from one arena whose blocks are obtained through caller-supplied
 * hooks: inside PostgreSQL those are palloc/pfree in a per-query memory
 * context, so an error that longjmps out of the evaluator loses nothing (the
 * context is reset); tests pass malloc/free and call alloy_arena_destroy.
 */

/*
 * Where the arena's blocks come from.  alloc either returns memory or reports
 * out-of-memory its own way (ereport, abort); only the hooks of a limited
 * arena (the remote-write decoder's) may return NULL, and their free may be
 * NULL when the memory dies with its context.
 */
typedef struct AlloyAllocHooks
{
	void	   *(*alloc) (void *arg, size_t size);
	void		(*free) (void *arg, void *ptr);
	void	   *arg;
} AlloyAllocHooks;

typedef struct AlloyArenaBlock AlloyArenaBlock;

typedef struct AlloyArena
{
	AlloyAllocHooks hooks;
	AlloyArenaBlock *blocks;	/* newest first */
	char	   *cur;			/* free space in the newest block */
	size_t		left;
	size_t		total;			/* bytes obtained from the hooks */
	AlloyArenaBlock *spare;	/* standard blocks kept by a reset */
	size_t		limit;			/* most bytes total may reach; 0 = none */
	bool		over_limit;		/* an allocation was refused for the limit */
} AlloyArena;

/* malloc/free hooks for tests and tools. */
extern const AlloyAllocHooks alloy_malloc_hooks;

/*
 * Hooks that allocate from the arena itself (free is a no-op), for
 * libraries such as PCRE2 whose objects should die with the query.
 */
extern AlloyAllocHooks alloy_arena_hooks(AlloyArena *arena);

extern AlloyArena *alloy_arena_create(const AlloyAllocHooks *hooks);
/*
 * An arena that obtains at most limit bytes in all, for input whose size is
 * the sender's choice: an allocation past the limit returns NULL and sets
 * over_limit, so the caller can answer "too large" rather than fail.  NULL
 * also comes back when the hooks return NULL.
 */
extern AlloyArena *alloy_arena_create_limited(const AlloyAllocHooks *hooks, size_t limit);
extern void alloy_arena_destroy(AlloyArena *arena);
/*
 * Release everything allocated so far but keep the arena usable; its
 * standard-size blocks are kept for reuse.
 */
extern void alloy_arena_reset(AlloyArena *arena);
extern void *alloy_arena_alloc(AlloyArena *arena, size_t size);
/* Does ptr point into memory arena handed out (and has not reset)? */
extern bool alloy_arena_owns(const AlloyArena *arena, const void *ptr);
extern void *alloy_arena_alloc0(AlloyArena *arena, size_t size);
extern void *alloy_arena_realloc(AlloyArena *arena, void *old, size_t oldsize, size_t newsize);
extern char *alloy_arena_strndup(AlloyArena *arena, const char *s, size_t len);
extern char *alloy_arena_strdup(AlloyArena *arena, const char *s);
extern char *alloy_arena_sprintf(AlloyArena *arena, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/*
 * Regex: Prometheus (RE2 syntax) regular expressions for label matchers,
 * shared by the PromQL engine, the series catalog and remote read.
 *
 * Prometheus anchors every matcher regex at both ends and uses Go's RE2
 * syntax.  We compile with PCRE2 after rejecting what RE2 rejects
 * (backreferences, lookaround, atomic groups, possessive quantifiers, \C...),
 * and recognise patterns that need no regex engine at all (a literal, an
 * alternation of literals, a literal prefix followed by .* or .+), because a
 * label matcher may be run against millions of label values.
 *
 * All memory, including PCRE2's, comes from the caller's hooks, so inside the
 * server an error escaping mid-query leaks nothing.
 */

typedef struct AlloyRegex AlloyRegex;

/*
 * Compile re (len bytes, not necessarily NUL-terminated).  On error returns
 * NULL and writes a message (Go's wording where practical) into errbuf.
 */
extern AlloyRegex *alloy_regex_compile(const char *re, size_t len,
										 const AlloyAllocHooks *hooks,
										 char *errbuf, size_t errlen);

/* Flags of alloy_regex_compile_flags. */
#define ALLOY_REGEX_DOTALL		0x01	/* '.' matches '\n' too (Prometheus 3) */

extern AlloyRegex *alloy_regex_compile_flags(const char *re, size_t len,
											   const AlloyAllocHooks *hooks, int flags,
											   char *errbuf, size_t errlen);

/* True when the whole of s matches. */
extern bool alloy_regex_match(const AlloyRegex *rx, const char *s, size_t len);

/* True when the regex matches the empty string (matters for =~ and !~). */
extern bool alloy_regex_matches_empty(const AlloyRegex *rx);

/*
 * When the regex is exactly a set of literal strings (`foo`, `foo|bar`),
 * return their count and fill lits and litlens (owned by rx); else -1.
 * Lets the series catalog look values up directly instead of scanning.
 */
extern int	alloy_regex_literals(const AlloyRegex *rx, const char *const **lits,
								  const size_t **litlens);

/* Literal prefix every match must start with (may be empty). */
extern const char *alloy_regex_prefix(const AlloyRegex *rx, size_t *len);

/*
 * Run the regex for its capture groups (label_replace).  Fills ovec with
 * start/end byte offsets of up to maxpairs groups (group 0 is the whole
 * match; unset groups get SIZE_MAX) and returns the number of pairs, or -1
 * when s does not match.
 */
extern int	alloy_regex_captures(const AlloyRegex *rx, const char *s, size_t len,
								  size_t *ovec, int maxpairs);

/* Number of the named group, or -1. */
extern int	alloy_regex_group_number(const AlloyRegex *rx, const char *name, size_t len);

extern void alloy_regex_free(AlloyRegex *rx);

#endif							/* ALLOY_BASE_BASE_H */

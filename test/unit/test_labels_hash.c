/*
 * test_labels_hash.c: unit tests of src/base/base.h.
 *
 * The ingest decoder and the catalog must compute the same hash for the same
 * label set, today and after any refactoring: the golden values below pin the
 * function, the split tests prove the streaming form equals the one-shot
 * form however the bytes are cut, and the collision test checks the mix on a
 * million realistic label sets.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "unit.h"

static AlloyLabel
mk(const char *n, const char *v)
{
	AlloyLabel	l;

	l.name = n;
	l.name_len = (int) strlen(n);
	l.value = v;
	l.value_len = (int) strlen(v);
	return l;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* Hash the concatenated stream fed in pieces of the given sizes. */
static uint64_t
hash_split(const unsigned char *buf, size_t len, size_t piece)
{
	AlloyLabelsHashState st;
	size_t		off = 0;

	alloy_labels_hash_init(&st, ALLOY_LABELS_HASH_SEED);
	while (off < len)
	{
		size_t		n = len - off < piece ? len - off : piece;

		alloy_labels_hash_update(&st, buf + off, n);
		off += n;
	}
	return alloy_labels_hash_final(&st);
}

static void
test_golden(void)
{
	AlloyLabel	l1[] = {mk("__name__", "up"), mk("instance", "localhost:9090"), mk("job", "prometheus")};
	AlloyLabel	l2[] = {mk("__name__", "up")};
	uint64_t	h1 = AlloyLabelsHash(l1, 3);
	uint64_t	h2 = AlloyLabelsHash(l2, 1);
	uint64_t	h0 = AlloyLabelsHash(NULL, 0);

	/* Pinned values: changing them breaks ingest/catalog agreement. */
	CHECK(h1 == UINT64_C(0x18907e8897d3ac79), "golden 1: %016" PRIx64, h1);
	CHECK(h2 == UINT64_C(0xe43fe0e23eaf535d), "golden 2: %016" PRIx64, h2);
	CHECK(h0 == UINT64_C(0xd8a310150df90781), "golden 0: %016" PRIx64, h0);
	CHECK(AlloyLabelsHashSeed(l1, 3, ALLOY_LABELS_HASH_SEED2) != h1, "seed changes the hash");
}

static void
test_pairs_and_stream(void)
{
	AlloyLabel	l[] = {mk("__name__", "node_cpu_seconds_total"), mk("cpu", "0"),
	mk("instance", "10.0.0.1:9100"), mk("job", "node"), mk("mode", "idle")};
	const char *names[5];
	const char *values[5];
	int			nl[5];
	int			vl[5];
	unsigned char buf[512];
	size_t		len = 0;
	uint64_t	h = AlloyLabelsHash(l, 5);

	for (int i = 0; i < 5; i++)
	{
		names[i] = l[i].name;
		values[i] = l[i].value;
		nl[i] = l[i].name_len;
		vl[i] = l[i].value_len;
		memcpy(buf + len, l[i].name, nl[i]);
		len += nl[i];
		buf[len++] = 0xFF;
		memcpy(buf + len, l[i].value, vl[i]);
		len += vl[i];
		buf[len++] = 0xFF;
	}
	CHECK(alloy_labels_hash_pairs(names, nl, values, vl, 5, 0) == h, "pairs form equals AlloyLabel form");
	for (size_t piece = 1; piece <= 17; piece++)
		CHECK(hash_split(buf, len, piece) == h, "split into %zu-byte pieces", piece);
	CHECK(hash_split(buf, len, len) == h, "one piece");
}

static void
test_ambiguity(void)
{
	AlloyLabel	a[] = {mk("a", "bc")};
	AlloyLabel	b[] = {mk("ab", "c")};
	AlloyLabel	e[] = {mk("a", "")};
	AlloyLabel	f[] = {mk("a", "x")};
	AlloyLabel	g[] = {mk("a", "y")};

	CHECK(AlloyLabelsHash(a, 1) != AlloyLabelsHash(b, 1), "name/value boundary matters");
	CHECK(AlloyLabelsHash(e, 1) != AlloyLabelsHash(NULL, 0), "empty value differs from no label");
	CHECK(AlloyLabelsHash(f, 1) != AlloyLabelsHash(g, 1), "one-byte difference");
}

/* A million node-exporter-like label sets: no 64-bit collision expected. */
static void
test_collisions(void)
{
	const int	n = 1000000;
	uint64_t   *hs = malloc(sizeof(uint64_t) * n);
	uint64_t   *hs2 = malloc(sizeof(uint64_t) * n);
	int			dups = 0;
	int			dups2 = 0;
	long		lowbits[64] = {0};

	for (int i = 0; i < n; i++)
	{
		char		inst[32];
		char		cpu[16];
		AlloyLabel	l[5];

		snprintf(inst, sizeof(inst), "10.0.%d.%d:9100", i / 2500, (i / 10) % 250);
		snprintf(cpu, sizeof(cpu), "%d", i % 10);
		l[0] = mk("__name__", "node_cpu_seconds_total");
		l[1] = mk("cpu", cpu);
		l[2] = mk("instance", inst);
		l[3] = mk("job", "node");
		l[4] = mk("mode", (i / 250000) % 2 ? "idle" : "user");
		hs[i] = AlloyLabelsHash(l, 5);
		hs2[i] = AlloyLabelsHashSeed(l, 5, ALLOY_LABELS_HASH_SEED2);
		for (int b = 0; b < 64; b++)
			lowbits[b] += (hs[i] >> b) & 1;
	}
	qsort(hs, n, sizeof(uint64_t), cmp_u64);
	qsort(hs2, n, sizeof(uint64_t), cmp_u64);
	for (int i = 1; i < n; i++)
	{
		dups += hs[i] == hs[i - 1];
		dups2 += hs2[i] == hs2[i - 1];
	}
	CHECK(dups == 0, "%d collisions among %d label sets", dups, n);
	CHECK(dups2 == 0, "%d collisions among %d label sets (seed 2)", dups2, n);
	/* Every bit should be set about half the time (the cache uses low bits). */
	for (int b = 0; b < 64; b++)
		CHECK(lowbits[b] > n * 0.49 && lowbits[b] < n * 0.51, "bit %d set %ld times", b, lowbits[b]);
	free(hs);
	free(hs2);
}

int
main(void)
{
	test_golden();
	test_pairs_and_stream();
	test_ambiguity();
	test_collisions();
	return unit_finish();
}

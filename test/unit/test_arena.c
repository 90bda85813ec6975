/*
 * test_arena.c: the common bump arena of src/base/arena.c.
 *
 * The PromQL engine relies on resets keeping the arena usable; the
 * remote-write decoder relies on a limited arena refusing softly (NULL and
 * over_limit, never an abort) and on hooks that may fail or not free.
 */
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "unit.h"

static long live_blocks;		/* obtained and not yet freed */
static size_t fail_after = SIZE_MAX;	/* bytes the counting hook still grants */

static void *
count_alloc(void *arg, size_t size)
{
	void	   *p;

	(void) arg;
	if (size > fail_after)
		return NULL;
	fail_after -= fail_after == SIZE_MAX ? 0 : size;
	p = malloc(size);
	if (p)
		live_blocks++;
	return p;
}

static void
count_free(void *arg, void *ptr)
{
	(void) arg;
	live_blocks--;
	free(ptr);
}

static const AlloyAllocHooks counting = {count_alloc, count_free, NULL};

/* Allocations are aligned, distinct and survive later allocations. */
static void
test_plain(void)
{
	AlloyArena *a = alloy_arena_create(&counting);
	char	   *p[1000];
	int			i;
	bool		ok = true;

	for (i = 0; i < 1000; i++)
	{
		p[i] = alloy_arena_alloc(a, (size_t) (i % 37) + 1);
		memset(p[i], i & 0xff, (size_t) (i % 37) + 1);
		ok &= ((uintptr_t) p[i] % 16) == 0;
	}
	CHECK(ok, "every allocation 16-byte aligned");
	for (i = 0; i < 1000; i++)
		ok &= (unsigned char) p[i][i % 37] == (i & 0xff);
	CHECK(ok, "no allocation overwrote another");
	CHECK(alloy_arena_owns(a, p[500]) && !alloy_arena_owns(a, &ok), "owns: inside yes, outside no");

	/* an oversized request gets its own block and small ones go on after it */
	p[0] = alloy_arena_alloc(a, 1 << 20);
	p[1] = alloy_arena_alloc(a, 8);
	CHECK(p[0] != NULL && p[1] != NULL && alloy_arena_owns(a, p[1]), "big then small");

	alloy_arena_reset(a);
	CHECK(a->total == 0 && !alloy_arena_owns(a, p[1]), "reset forgets everything");
	p[0] = alloy_arena_alloc(a, 100);
	CHECK(p[0] != NULL && alloy_arena_owns(a, p[0]), "usable after a reset");
	CHECK(strcmp(alloy_arena_sprintf(a, "%d-%s", 42, "x"), "42-x") == 0, "sprintf");
	alloy_arena_destroy(a);
	CHECK(live_blocks == 0, "destroy frees every block, %ld left", live_blocks);
}

/* A limited arena grants up to its limit, then refuses softly. */
static void
test_limited(void)
{
	size_t		limit = 200 * 1024;
	AlloyArena *a = alloy_arena_create_limited(&counting, limit);
	size_t		got = 0;
	void	   *p;

	while ((p = alloy_arena_alloc(a, 1000)) != NULL)
		got += 1000;
	CHECK(a->over_limit, "over_limit set when refused");
	CHECK(a->total <= limit, "never past the limit: %zu > %zu", a->total, limit);
	/* the last standard block is cut down, so almost all of the limit is used */
	CHECK(got > limit - 4096, "limit used up to the last block: %zu of %zu", got, limit);
	CHECK(alloy_arena_alloc(a, 1 << 20) == NULL, "big request past the limit refused");
	{
		static char big[8000];

		/* larger than any room left in the last block */
		CHECK(alloy_arena_alloc0(a, 8192) == NULL &&
			  alloy_arena_strndup(a, big, sizeof(big)) == NULL,
			  "helpers pass the refusal on");
	}
	alloy_arena_destroy(a);
	CHECK(live_blocks == 0, "destroy after refusal frees everything, %ld left", live_blocks);

	/* a big first request over the limit: refused without a block */
	a = alloy_arena_create_limited(&counting, limit);
	CHECK(alloy_arena_alloc(a, limit) == NULL && a->over_limit && live_blocks == 1,
		  "request of the whole limit refused, only the arena itself allocated");
	alloy_arena_destroy(a);
}

/* Hooks that fail, or do not free, are allowed for limited arenas. */
static void
test_hooks(void)
{
	AlloyAllocHooks nofree = {count_alloc, NULL, NULL};
	AlloyArena *a;
	long		before;

	fail_after = sizeof(AlloyArena) + 1000;
	a = alloy_arena_create_limited(&counting, 1 << 20);
	CHECK(a != NULL, "arena created");
	CHECK(alloy_arena_alloc(a, 64) == NULL && !a->over_limit,
		  "a failing hook gives NULL without over_limit");
	fail_after = SIZE_MAX;
	CHECK(alloy_arena_alloc(a, 64) != NULL, "usable again once the hook grants");
	alloy_arena_destroy(a);
	CHECK(live_blocks == 0, "all freed, %ld left", live_blocks);

	fail_after = 0;
	CHECK(alloy_arena_create_limited(&counting, 1 << 20) == NULL, "create: NULL when out of memory");
	fail_after = SIZE_MAX;

	before = live_blocks;
	a = alloy_arena_create_limited(&nofree, 1 << 20);
	(void) alloy_arena_alloc(a, 100);
	alloy_arena_destroy(a);
	CHECK(live_blocks == before + 2, "a NULL free hook is never called");
	live_blocks = 0;			/* those two are the caller's context's to free */
}

int
main(void)
{
	test_plain();
	test_limited();
	test_hooks();
	return unit_finish();
}

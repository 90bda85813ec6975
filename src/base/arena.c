/*
 * arena.c: the bump allocator for work with one lifetime: a PromQL query, a
 * decoded remote-write request.
 *
 * Individual frees are never needed: a query's AST, series and intermediate
 * vectors (or a request's body, labels and samples) all die together, so the
 * arena only grows and is released whole. A limited arena refuses to grow
 * past a cap, so a small request that unpacks into a huge one is answered
 * "too large" instead of exhausting memory.
 * Large requests get a block of their own so they do not waste the tail of
 * the current block. A range query resets its step arena at every step; a
 * reset keeps the standard blocks, so steps do not hand memory back to
 * malloc and fault fresh pages in again each time (about a tenth of a
 * range query's time went to page faults before).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

#define ARENA_BLOCK_SIZE	(64 * 1024)
#define ARENA_ALIGN			16

struct AlloyArenaBlock
{
	AlloyArenaBlock *next;
	size_t		size;			/* payload bytes; also keeps it 16-byte aligned */
};

static void *
malloc_hook(void *arg, size_t size)
{
	void	   *p;

	(void) arg;
	p = malloc(size);
	if (p == NULL)
	{
		fprintf(stderr, "promql: out of memory\n");
		abort();
	}
	return p;
}

static void
free_hook(void *arg, void *ptr)
{
	(void) arg;
	free(ptr);
}

const AlloyAllocHooks alloy_malloc_hooks = {malloc_hook, free_hook, NULL};

AlloyArena *
alloy_arena_create_limited(const AlloyAllocHooks *hooks, size_t limit)
{
	AlloyArena *a = hooks->alloc(hooks->arg, sizeof(AlloyArena));

	if (a == NULL)
		return NULL;
	memset(a, 0, sizeof(*a));
	a->hooks = *hooks;
	a->limit = limit;
	return a;
}

AlloyArena *
alloy_arena_create(const AlloyAllocHooks *hooks)
{
	return alloy_arena_create_limited(hooks, 0);
}

/*
 * May a new block of *bsize bytes (for a request of size bytes) be obtained
 * under the arena's limit?  A standard block that would cross the limit is cut
 * down to what is left, as long as the request itself still fits.
 */
static bool
block_fits(AlloyArena *arena, size_t *bsize, size_t size)
{
	size_t		hdr = sizeof(AlloyArenaBlock);

	if (arena->limit == 0 || arena->total + hdr + *bsize <= arena->limit)
		return true;
	if (arena->total + hdr + size <= arena->limit)
	{
		*bsize = (arena->limit - arena->total - hdr) & ~(size_t) (ARENA_ALIGN - 1);
		if (*bsize >= size)
			return true;
	}
	arena->over_limit = true;
	return false;
}

static void
free_blocks(AlloyArena *arena, AlloyArenaBlock *b)
{
	if (arena->hooks.free == NULL)
		return;
	while (b)
	{
		AlloyArenaBlock *next = b->next;

		arena->hooks.free(arena->hooks.arg, b);
		b = next;
	}
}

void
alloy_arena_destroy(AlloyArena *arena)
{
	free_blocks(arena, arena->blocks);
	free_blocks(arena, arena->spare);
	if (arena->hooks.free)
		arena->hooks.free(arena->hooks.arg, arena);
}

void
alloy_arena_reset(AlloyArena *arena)
{
	AlloyArenaBlock *b = arena->blocks;

	while (b)
	{
		AlloyArenaBlock *next = b->next;

#ifdef ALLOY_ARENA_CLOBBER
		/* tests: make a pointer kept across a reset read garbage */
		memset((char *) b + sizeof(AlloyArenaBlock), 0x7f, b->size);
#endif
		if (b->size == ARENA_BLOCK_SIZE)
		{
			b->next = arena->spare;
			arena->spare = b;
		}
		else if (arena->hooks.free)
			arena->hooks.free(arena->hooks.arg, b);
		b = next;
	}
	arena->blocks = NULL;
	arena->cur = NULL;
	arena->left = 0;
	arena->total = 0;
}

void *
alloy_arena_alloc(AlloyArena *arena, size_t size)
{
	void	   *p;

	size = (size + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1);
	if (size == 0)
		size = ARENA_ALIGN;
	if (size > arena->left)
	{
		size_t		bsize = size > ARENA_BLOCK_SIZE / 4 ? size : ARENA_BLOCK_SIZE;
		AlloyArenaBlock *b;

		if (bsize == ARENA_BLOCK_SIZE && arena->spare)
		{
			b = arena->spare;
			arena->spare = b->next;
		}
		else
		{
			if (!block_fits(arena, &bsize, size))
				return NULL;
			b = arena->hooks.alloc(arena->hooks.arg, sizeof(AlloyArenaBlock) + bsize);
			if (b == NULL)
				return NULL;
			b->size = bsize;
		}
		arena->total += sizeof(AlloyArenaBlock) + bsize;
		if (bsize == size && arena->blocks)
		{
			/* oversized request: keep the current block for small ones */
			b->next = arena->blocks->next;
			arena->blocks->next = b;
			return (char *) b + sizeof(AlloyArenaBlock);
		}
		b->next = arena->blocks;
		arena->blocks = b;
		arena->cur = (char *) b + sizeof(AlloyArenaBlock);
		arena->left = bsize;
	}
	p = arena->cur;
	arena->cur += size;
	arena->left -= size;
	return p;
}

bool
alloy_arena_owns(const AlloyArena *arena, const void *ptr)
{
	const char *p = ptr;

	for (const AlloyArenaBlock *b = arena->blocks; b; b = b->next)
	{
		const char *start = (const char *) b + sizeof(AlloyArenaBlock);

		if (p >= start && p < start + b->size)
			return true;
	}
	return false;
}

void *
alloy_arena_alloc0(AlloyArena *arena, size_t size)
{
	void	   *p = alloy_arena_alloc(arena, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void *
alloy_arena_realloc(AlloyArena *arena, void *old, size_t oldsize, size_t newsize)
{
	void	   *p;

	if (newsize <= oldsize)
		return old;
	p = alloy_arena_alloc(arena, newsize);
	if (p && old && oldsize)
		memcpy(p, old, oldsize);
	return p;
}

char *
alloy_arena_strndup(AlloyArena *arena, const char *s, size_t len)
{
	char	   *p = alloy_arena_alloc(arena, len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
alloy_arena_strdup(AlloyArena *arena, const char *s)
{
	return alloy_arena_strndup(arena, s, strlen(s));
}

char *
alloy_arena_sprintf(AlloyArena *arena, const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = alloy_arena_alloc(arena, (size_t) n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return p;
}

static void *
arena_hook_alloc(void *arg, size_t size)
{
	return alloy_arena_alloc((AlloyArena *) arg, size);
}

static void
arena_hook_free(void *arg, void *ptr)
{
	(void) arg;
	(void) ptr;
}

AlloyAllocHooks
alloy_arena_hooks(AlloyArena *arena)
{
	AlloyAllocHooks h = {arena_hook_alloc, arena_hook_free, arena};

	return h;
}

/*
 * rw_arena.c: the bump arena one decoded remote-write request lives in.
 *
 * Everything a request needs (the decompressed buffer, our flat arrays, the
 * structs protobuf-c unpacks on the reference path) comes from one arena
 * whose blocks come from the caller's allocator. Freeing is one walk over a
 * short block list, and the arena enforces a hard cap proportional to the
 * decompressed size, so a small body that unpacks into many empty messages
 * cannot make us allocate without bound (the caller answers 413).
 *
 * Why not the common arena of src/base/arena.c: that one has no cap (its
 * allocation hooks must not return NULL, and it never refuses), and its
 * hooks always free; here an allocation over the cap must fail softly and
 * set over_limit so the decoder can tell 413 from 400, the caller's free
 * hook may be NULL, and blocks grow from 64 kB to 1 MB as a request grows.
 */
#include "wire/wire_int.h"

void *
rw_arena_alloc(RwArena *ar, size_t size)
{
	RwBlock    *b = ar->head;
	void	   *p;

	size = (size + RW_ALIGN - 1) & ~(size_t) (RW_ALIGN - 1);
	if (size == 0)
		size = RW_ALIGN;
	if (size >= RW_BLOCK_BIG && (b == NULL || b->size - b->used < size))
	{
		/*
		 * A big array (the decompressed body, the label array) gets a block
		 * of its own, linked behind the current one, so neither the current
		 * block's free tail nor a doubled block is wasted on it.
		 */
		RwBlock    *big;

		if (ar->total + RW_BLOCK_HDR + size > ar->limit)
		{
			ar->over_limit = true;
			return NULL;
		}
		big = ar->alloc.alloc(ar->alloc.ctx, RW_BLOCK_HDR + size);
		if (big == NULL)
			return NULL;
		big->size = big->used = size;
		ar->total += RW_BLOCK_HDR + size;
		if (b == NULL)
		{
			big->next = NULL;
			ar->head = big;
		}
		else
		{
			big->next = b->next;
			b->next = big;
		}
		return (char *) big + RW_BLOCK_HDR;
	}
	if (b == NULL || b->size - b->used < size)
	{
		size_t		bsize = ar->next_block;

		if (bsize < size)
			bsize = size;
		if (ar->total + RW_BLOCK_HDR + bsize > ar->limit)
		{
			/* the last block may be cut down to what the limit still allows */
			if (ar->total + RW_BLOCK_HDR + size > ar->limit)
			{
				ar->over_limit = true;
				return NULL;
			}
			bsize = ar->limit - ar->total - RW_BLOCK_HDR;
		}
		b = ar->alloc.alloc(ar->alloc.ctx, RW_BLOCK_HDR + bsize);
		if (b == NULL)
			return NULL;
		b->size = bsize;
		b->used = 0;
		b->next = ar->head;
		ar->head = b;
		ar->total += RW_BLOCK_HDR + bsize;
		if (ar->next_block < RW_BLOCK_MAX)
			ar->next_block *= 2;
	}
	p = (char *) b + RW_BLOCK_HDR + b->used;
	b->used += size;
	return p;
}

void
rw_arena_destroy(RwArena *ar)
{
	RwBlock    *b = ar->head;
	RwAllocator a = ar->alloc;

	while (b != NULL)
	{
		RwBlock    *next = b->next;

		if (a.free)
			a.free(a.ctx, b);
		b = next;
	}
	if (a.free)
		a.free(a.ctx, ar);
}

/* An empty arena that will hand out at most limit bytes in all; NULL if out of memory. */
RwArena *
rw_arena_create(const RwAllocator *allocator, size_t limit)
{
	RwArena    *ar = allocator->alloc(allocator->ctx, sizeof(RwArena));

	if (ar == NULL)
		return NULL;
	ar->alloc = *allocator;
	ar->head = NULL;
	ar->total = 0;
	ar->limit = limit;
	ar->next_block = RW_BLOCK_MIN;
	ar->over_limit = false;
	ar->scratch = NULL;
	ar->scratch_cap = 0;
	return ar;
}

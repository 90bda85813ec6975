/*
 * promql_arena.h: per-query arena allocator of the PromQL engine.
 *
 * The engine is plain C so that unit tests and fuzzers can build it without
 * the server.  Every allocation made while parsing or evaluating one query
 * comes from one arena whose blocks are obtained through caller-supplied
 * hooks: inside PostgreSQL those are palloc/pfree in a per-query memory
 * context, so an error that longjmps out of the evaluator loses nothing (the
 * context is reset); tests pass malloc/free and call promql_arena_destroy.
 */
#ifndef PROMQL_ARENA_H
#define PROMQL_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the arena's blocks come from.  alloc must not return NULL silently:
 * it either returns memory or reports out-of-memory its own way (ereport). */
typedef struct PromqlAllocHooks
{
	void	   *(*alloc) (void *arg, size_t size);
	void		(*free) (void *arg, void *ptr);
	void	   *arg;
} PromqlAllocHooks;

typedef struct PromqlArenaBlock PromqlArenaBlock;

typedef struct PromqlArena
{
	PromqlAllocHooks hooks;
	PromqlArenaBlock *blocks;	/* newest first */
	char	   *cur;			/* free space in the newest block */
	size_t		left;
	size_t		total;			/* bytes obtained from the hooks */
	PromqlArenaBlock *spare;	/* standard blocks kept by a reset */
} PromqlArena;

/* malloc/free hooks for tests and tools. */
extern const PromqlAllocHooks promql_malloc_hooks;

/*
 * Hooks that allocate from the arena itself (free is a no-op), for
 * libraries such as PCRE2 whose objects should die with the query.
 */
extern PromqlAllocHooks promql_arena_hooks(PromqlArena *arena);

extern PromqlArena *promql_arena_create(const PromqlAllocHooks *hooks);
extern void promql_arena_destroy(PromqlArena *arena);
/*
 * Release everything allocated so far but keep the arena usable; its
 * standard-size blocks are kept for reuse.
 */
extern void promql_arena_reset(PromqlArena *arena);
extern void *promql_alloc(PromqlArena *arena, size_t size);
/* Does ptr point into memory arena handed out (and has not reset)? */
extern bool promql_arena_owns(const PromqlArena *arena, const void *ptr);
extern void *promql_alloc0(PromqlArena *arena, size_t size);
extern void *promql_realloc(PromqlArena *arena, void *old, size_t oldsize, size_t newsize);
extern char *promql_strndup(PromqlArena *arena, const char *s, size_t len);
extern char *promql_strdup(PromqlArena *arena, const char *s);
extern char *promql_sprintf(PromqlArena *arena, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

#endif							/* PROMQL_ARENA_H */

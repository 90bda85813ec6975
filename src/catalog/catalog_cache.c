/*
 * catalog_cache.c: the series cache, (tenant, label-set hash) -> series id.
 *
 * The ingest hot path asks this cache first, so a known series costs one
 * hash computation and one lock-partition probe instead of index scans.
 *
 * Layout: a set-associative table of ALLOY_CACHE_WAYS-entry sets; a key may
 * live in one of two sets, one chosen by each of its hashes, and goes to the
 * emptier; when both are full the least recently used of their entries is
 * evicted (approximately: each entry carries the value of a global clock at
 * its last use). The table never grows, so alloy.series_cache_size bounds the
 * memory.
 *
 * Correctness rules:
 *  - An entry matches only on both 64-bit hashes (two independent seeds), the
 *    tenant, the database and the OID of alloy.series_catalog, so a hash
 *    collision can only return the wrong series if 128 bits collide, and a
 *    dropped and re-created extension never sees its predecessor's ids.
 *  - Only series whose creating transaction committed are inserted (see the
 *    pending list in catalog_tables.c), so an aborted transaction never
 *    leaves an entry pointing at a series that does not exist.
 *  - Series are never deleted, so an entry never goes stale otherwise.
 *
 * Locking (shared cache): set s is protected by LWLock s % ALLOY_CACHE_PARTITIONS
 * of the "alloy_series_cache" tranche; a lookup takes one set's lock shared
 * at a time, an insert takes both sets' locks exclusive, lower number first. The LRU stamp is written under the shared lock: a lost update
 * only makes eviction slightly less exact. Counters are atomics.
 *
 * Without shared_preload_libraries the same table lives in this backend's
 * memory, at most ALLOY_LOCAL_CACHE_MAX entries, without locks.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "catalog/catalog_int.h"

/* 40 bytes: keep it so, the setting's description promises it. */
typedef struct AlloyCacheEntry
{
	uint64		hash;
	uint64		hash2;
	int64		series_id;		/* 0: empty */
	Oid			dbid;
	Oid			relid;
	int32		tenant_id;
	uint32		stamp;			/* clock value at last use */
} AlloyCacheEntry;

StaticAssertDecl(sizeof(AlloyCacheEntry) == 40, "cache entry size changed");

typedef struct AlloyCacheHeader
{
	uint64		nsets;
	bool		shared;
	pg_atomic_uint32 clock;
	pg_atomic_uint64 entries;
	pg_atomic_uint64 hits;
	pg_atomic_uint64 misses;
	pg_atomic_uint64 inserts;
	pg_atomic_uint64 evictions;
	AlloyCacheEntry slots[FLEXIBLE_ARRAY_MEMBER];
} AlloyCacheHeader;

static AlloyCacheHeader *shared_cache = NULL;
static LWLockPadded *shared_locks = NULL;
static AlloyCacheHeader *local_cache = NULL;

static uint64
alloy_cache_nsets(int64 entries)
{
	uint64		nsets = (uint64) (entries + ALLOY_CACHE_WAYS - 1) / ALLOY_CACHE_WAYS;

	return Max(nsets, 1);
}

static Size
alloy_cache_size(uint64 nsets)
{
	return add_size(offsetof(AlloyCacheHeader, slots),
					mul_size(mul_size(nsets, ALLOY_CACHE_WAYS), sizeof(AlloyCacheEntry)));
}

Size
AlloyCacheShmemSize(void)
{
	return alloy_cache_size(alloy_cache_nsets(alloy_series_cache_size));
}

static void
alloy_cache_init_header(AlloyCacheHeader *c, uint64 nsets, bool shared)
{
	c->nsets = nsets;
	c->shared = shared;
	pg_atomic_init_u32(&c->clock, 1);
	pg_atomic_init_u64(&c->entries, 0);
	pg_atomic_init_u64(&c->hits, 0);
	pg_atomic_init_u64(&c->misses, 0);
	pg_atomic_init_u64(&c->inserts, 0);
	pg_atomic_init_u64(&c->evictions, 0);
	memset(c->slots, 0, mul_size(mul_size(nsets, ALLOY_CACHE_WAYS), sizeof(AlloyCacheEntry)));
}

/* Called from the shmem startup hook, under AddinShmemInitLock. */
void
AlloyCacheShmemInit(void)
{
	bool		found;
	uint64		nsets = alloy_cache_nsets(alloy_series_cache_size);

	shared_cache = ShmemInitStruct("alloy series cache", alloy_cache_size(nsets), &found);
	if (!found)
		alloy_cache_init_header(shared_cache, nsets, true);
}

void
AlloyCacheLWLocksAssign(LWLockPadded *locks)
{
	shared_locks = locks;
}

/* The cache this backend uses: shared if attached, else its own. */
static AlloyCacheHeader *
alloy_cache_get(void)
{
	if (shared_cache != NULL && shared_locks != NULL)
		return shared_cache;
	if (local_cache == NULL)
	{
		int64		entries = Min(alloy_series_cache_size, ALLOY_LOCAL_CACHE_MAX);
		uint64		nsets = alloy_cache_nsets(entries);

		local_cache = MemoryContextAllocHuge(TopMemoryContext, alloy_cache_size(nsets));
		alloy_cache_init_header(local_cache, nsets, false);
	}
	return local_cache;
}

static inline bool
alloy_cache_entry_matches(const AlloyCacheEntry *e, const AlloyCacheKey *key)
{
	return e->series_id != 0 && e->hash == key->hash && e->hash2 == key->hash2 &&
		e->tenant_id == key->tenant_id && e->dbid == key->dbid &&
		e->relid == key->relid;
}

/*
 * Two candidate sets per key ("two-choice" hashing): one from each hash. A
 * new entry goes to the emptier of the two, which keeps sets from
 * overflowing long before the table is full (with one choice and 8 ways,
 * about 1% of entries were already evicted at half load).
 */
static inline void
alloy_cache_sets_of(const AlloyCacheHeader *c, const AlloyCacheKey *key,
					uint64 *set1, uint64 *set2)
{
	/* mix in the tenant so tenants with equal label sets spread out */
	uint64		t = (uint64) (uint32) key->tenant_id * UINT64CONST(0x9E3779B97F4A7C15);

	*set1 = (key->hash ^ t) % c->nsets;
	*set2 = (key->hash2 ^ t) % c->nsets;
}

static inline LWLock *
alloy_cache_lock_of(uint64 set)
{
	return &shared_locks[set % ALLOY_CACHE_PARTITIONS].lock;
}

/* Look for key in one set (its lock held); 0 if absent. */
static inline int64
alloy_cache_probe(AlloyCacheHeader *c, uint64 set, const AlloyCacheKey *key)
{
	AlloyCacheEntry *e = &c->slots[set * ALLOY_CACHE_WAYS];

	for (int i = 0; i < ALLOY_CACHE_WAYS; i++)
	{
		if (alloy_cache_entry_matches(&e[i], key))
		{
			uint32		now = pg_atomic_read_u32(&c->clock);

			if (e[i].stamp != now)
				e[i].stamp = now;
			return e[i].series_id;
		}
	}
	return 0;
}

/* The cached series id for key, or 0. */
int64
AlloyCacheLookup(const AlloyCacheKey *key)
{
	AlloyCacheHeader *c = alloy_cache_get();
	uint64		set1;
	uint64		set2;
	int64		result;

	alloy_cache_sets_of(c, key, &set1, &set2);
	if (c->shared)
	{
		LWLockAcquire(alloy_cache_lock_of(set1), LW_SHARED);
		result = alloy_cache_probe(c, set1, key);
		LWLockRelease(alloy_cache_lock_of(set1));
		if (result == 0 && set2 != set1)
		{
			LWLockAcquire(alloy_cache_lock_of(set2), LW_SHARED);
			result = alloy_cache_probe(c, set2, key);
			LWLockRelease(alloy_cache_lock_of(set2));
		}
	}
	else
	{
		result = alloy_cache_probe(c, set1, key);
		if (result == 0 && set2 != set1)
			result = alloy_cache_probe(c, set2, key);
	}

	if (result != 0)
		pg_atomic_fetch_add_u64(&c->hits, 1);
	else
		pg_atomic_fetch_add_u64(&c->misses, 1);
	return result;
}

/*
 * Remember key -> series_id. The caller guarantees the series is committed.
 * Never raises an error (it runs in the commit callback).
 */
void
AlloyCacheInsert(const AlloyCacheKey *key, int64 series_id)
{
	AlloyCacheHeader *c = alloy_cache_get();
	uint64		set1;
	uint64		set2;
	LWLock	   *lock1 = NULL;
	LWLock	   *lock2 = NULL;
	AlloyCacheEntry *victim = NULL;
	bool		inserted = false;
	bool		evicted = false;
	uint32		now = pg_atomic_fetch_add_u32(&c->clock, 1) + 1;
	uint64		sets[2];
	int			nsets;

	alloy_cache_sets_of(c, key, &set1, &set2);
	sets[0] = set1;
	sets[1] = set2;
	nsets = set1 == set2 ? 1 : 2;

	if (c->shared)
	{
		/* both partitions, in a fixed order so two inserters cannot deadlock */
		lock1 = alloy_cache_lock_of(Min(set1 % ALLOY_CACHE_PARTITIONS, set2 % ALLOY_CACHE_PARTITIONS));
		lock2 = alloy_cache_lock_of(Max(set1 % ALLOY_CACHE_PARTITIONS, set2 % ALLOY_CACHE_PARTITIONS));
		LWLockAcquire(lock1, LW_EXCLUSIVE);
		if (lock2 != lock1)
			LWLockAcquire(lock2, LW_EXCLUSIVE);
	}

	for (int s = 0; s < nsets; s++)
	{
		AlloyCacheEntry *e = &c->slots[sets[s] * ALLOY_CACHE_WAYS];

		for (int i = 0; i < ALLOY_CACHE_WAYS; i++)
		{
			if (alloy_cache_entry_matches(&e[i], key))
			{
				/* another backend was first; ids agree since series are unique */
				e[i].stamp = now;
				goto done;
			}
		}
	}
	/* an empty way in either set, else the least recently used of both */
	for (int s = 0; s < nsets && (victim == NULL || victim->series_id != 0); s++)
	{
		AlloyCacheEntry *e = &c->slots[sets[s] * ALLOY_CACHE_WAYS];

		for (int i = 0; i < ALLOY_CACHE_WAYS; i++)
		{
			if (e[i].series_id == 0)
			{
				victim = &e[i];
				break;
			}
			if (victim == NULL || (uint32) (now - e[i].stamp) > (uint32) (now - victim->stamp))
				victim = &e[i];
		}
	}
	evicted = victim->series_id != 0;
	victim->hash = key->hash;
	victim->hash2 = key->hash2;
	victim->dbid = key->dbid;
	victim->relid = key->relid;
	victim->tenant_id = key->tenant_id;
	victim->stamp = now;
	victim->series_id = series_id;
	inserted = true;

done:
	if (lock2 != NULL && lock2 != lock1)
		LWLockRelease(lock2);
	if (lock1 != NULL)
		LWLockRelease(lock1);
	if (inserted)
	{
		pg_atomic_fetch_add_u64(&c->inserts, 1);
		if (evicted)
			pg_atomic_fetch_add_u64(&c->evictions, 1);
		else
			pg_atomic_fetch_add_u64(&c->entries, 1);
	}
}

void
AlloyCacheGetStats(AlloyCacheStats *stats)
{
	AlloyCacheHeader *c = alloy_cache_get();

	stats->shared = c->shared;
	stats->capacity = (int64) (c->nsets * ALLOY_CACHE_WAYS);
	stats->entries = (int64) pg_atomic_read_u64(&c->entries);
	stats->hits = (int64) pg_atomic_read_u64(&c->hits);
	stats->misses = (int64) pg_atomic_read_u64(&c->misses);
	stats->inserts = (int64) pg_atomic_read_u64(&c->inserts);
	stats->evictions = (int64) pg_atomic_read_u64(&c->evictions);
	stats->bytes = (int64) alloy_cache_size(c->nsets);
}

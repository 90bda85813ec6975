/*
 * series_cache.c: the series cache, (tenant, label-set hash) -> series id.
 *
 * The ingest hot path asks this cache first, so a known series costs one
 * hash computation and one lock-partition probe instead of index scans.
 *
 * Layout: a set-associative table of ALLOY_CACHE_WAYS-entry sets; a key may
 * live in one of two sets, one chosen by each of its hashes, and goes to the
 * emptier; when both are full the least recently used of their entries is
 * evicted (approximately: each entry carries the value of a global clock at
 * its last use). The table never grows, so alloy.series_cache_size bounds the
 * memory. A set is five cache lines: the eight first hashes in the first, so
 * a probe that misses reads one line from memory and a hit two (the table is
 * far larger than the CPU caches, so memory reads are what a lookup costs).
 *
 * Correctness rules:
 *  - An entry matches only on both 64-bit hashes (two independent seeds), the
 *    tenant, the database and the OID of alloy.series_catalog, so a hash
 *    collision can only return the wrong series if 128 bits collide, and a
 *    dropped and re-created extension never sees its predecessor's ids.
 *  - Only series whose creating transaction committed are inserted (see the
 *    pending map in series_local.c), so an aborted transaction never
 *    leaves an entry pointing at a series that does not exist.
 *  - Series are never deleted, so an entry never goes stale otherwise.
 *
 * Locking (shared cache): set s is protected by LWLock s % ALLOY_CACHE_PARTITIONS
 * of the "alloy_series_cache" tranche; a lookup takes one set's lock shared
 * at a time, an insert takes both sets' locks exclusive, lower number first.
 * The LRU stamp is written under the shared lock: a lost update only makes
 * eviction slightly less exact. Counters are atomics, one cache line of them
 * per partition.
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

#include "series/series_int.h"

/* alloy.series_cache_size (the setting is defined by series_catalog.c). */
int			alloy_series_cache_size = 1048576;

/* The rest of an entry: 32 bytes, two to a cache line. */
typedef struct AlloyCacheWay
{
	uint64		hash2;
	int64		series_id;		/* 0: empty */
	Oid			dbid;
	Oid			relid;
	int32		tenant_id;
	uint32		stamp;			/* clock value at last use */
} AlloyCacheWay;

/* One set: 8 x (8 + 32) = 320 bytes, 40 per entry as documented. */
typedef struct AlloyCacheSet
{
	uint64		hash[ALLOY_CACHE_WAYS];
	AlloyCacheWay way[ALLOY_CACHE_WAYS];
} AlloyCacheSet;

StaticAssertDecl(sizeof(AlloyCacheSet) == 40 * ALLOY_CACHE_WAYS, "cache entry size changed");

/*
 * Counters, one cache line per lock partition: a single shared counter
 * bumped by every lookup of every backend would bounce its cache line
 * between CPUs on the ingest hot path.
 */
typedef union AlloyCacheCounters
{
	struct
	{
		pg_atomic_uint64 hits;
		pg_atomic_uint64 misses;
		pg_atomic_uint64 inserts;
		pg_atomic_uint64 evictions;
		pg_atomic_uint64 entries;
	}			c;
	char		pad[PG_CACHE_LINE_SIZE];
} AlloyCacheCounters;

typedef struct AlloyCacheHeader
{
	uint64		nsets;
	bool		shared;
	pg_atomic_uint32 clock;
	AlloyCacheSet *sets;		/* cache-line aligned, after the header */
	AlloyCacheCounters counters[ALLOY_CACHE_PARTITIONS];
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

/* Bytes for the header and the sets, with room to align both to cache lines. */
static Size
alloy_cache_size(uint64 nsets)
{
	return add_size(add_size(CACHELINEALIGN(sizeof(AlloyCacheHeader)), 2 * PG_CACHE_LINE_SIZE),
					mul_size(nsets, sizeof(AlloyCacheSet)));
}

Size
AlloyCacheShmemSize(void)
{
	return alloy_cache_size(alloy_cache_nsets(alloy_series_cache_size));
}

/* Lay out and clear a cache in raw memory of alloy_cache_size(nsets) bytes. */
static AlloyCacheHeader *
alloy_cache_init(void *raw, uint64 nsets, bool shared)
{
	AlloyCacheHeader *c = (AlloyCacheHeader *) CACHELINEALIGN(raw);

	c->nsets = nsets;
	c->shared = shared;
	c->sets = (AlloyCacheSet *) CACHELINEALIGN((char *) c + sizeof(AlloyCacheHeader));
	pg_atomic_init_u32(&c->clock, 1);
	for (int i = 0; i < ALLOY_CACHE_PARTITIONS; i++)
	{
		pg_atomic_init_u64(&c->counters[i].c.hits, 0);
		pg_atomic_init_u64(&c->counters[i].c.misses, 0);
		pg_atomic_init_u64(&c->counters[i].c.inserts, 0);
		pg_atomic_init_u64(&c->counters[i].c.evictions, 0);
		pg_atomic_init_u64(&c->counters[i].c.entries, 0);
	}
	memset(c->sets, 0, mul_size(nsets, sizeof(AlloyCacheSet)));
	return c;
}

/*
 * Called from the shmem startup hook, under AddinShmemInitLock. The header
 * holds a pointer into the segment, which is valid in every process since
 * shared memory is mapped at the same address everywhere.
 */
void
AlloyCacheShmemInit(void)
{
	bool		found;
	uint64		nsets = alloy_cache_nsets(alloy_series_cache_size);
	void	   *raw = ShmemInitStruct("alloy series cache", alloy_cache_size(nsets), &found);

	if (!found)
		shared_cache = alloy_cache_init(raw, nsets, true);
	else
		shared_cache = (AlloyCacheHeader *) CACHELINEALIGN(raw);
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

		local_cache = alloy_cache_init(MemoryContextAllocHuge(TopMemoryContext,
															  alloy_cache_size(nsets)),
									   nsets, false);
	}
	return local_cache;
}

static inline bool
alloy_cache_way_matches(const AlloyCacheSet *set, int i, const AlloyCacheKey *key)
{
	const AlloyCacheWay *w = &set->way[i];

	return set->hash[i] == key->hash && w->series_id != 0 && w->hash2 == key->hash2 &&
		w->tenant_id == key->tenant_id && w->dbid == key->dbid && w->relid == key->relid;
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
alloy_cache_probe(AlloyCacheHeader *c, uint64 setno, const AlloyCacheKey *key)
{
	AlloyCacheSet *set = &c->sets[setno];

	for (int i = 0; i < ALLOY_CACHE_WAYS; i++)
	{
		if (set->hash[i] == key->hash && alloy_cache_way_matches(set, i, key))
		{
			uint32		now = pg_atomic_read_u32(&c->clock);

			if (set->way[i].stamp != now)
				set->way[i].stamp = now;
			return set->way[i].series_id;
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
#ifdef __GNUC__
	/* half the keys live in their second set: start both memory reads now */
	__builtin_prefetch(&c->sets[set1].hash[0]);
	__builtin_prefetch(&c->sets[set2].hash[0]);
#endif
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
		pg_atomic_fetch_add_u64(&c->counters[set1 % ALLOY_CACHE_PARTITIONS].c.hits, 1);
	else
		pg_atomic_fetch_add_u64(&c->counters[set1 % ALLOY_CACHE_PARTITIONS].c.misses, 1);
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
	uint64		setnos[2];
	int			nsets;
	LWLock	   *lock1 = NULL;
	LWLock	   *lock2 = NULL;
	AlloyCacheSet *vset = NULL;
	int			vway = -1;
	bool		inserted = false;
	bool		evicted = false;
	uint32		now = pg_atomic_fetch_add_u32(&c->clock, 1) + 1;

	alloy_cache_sets_of(c, key, &setnos[0], &setnos[1]);
	nsets = setnos[0] == setnos[1] ? 1 : 2;

	if (c->shared)
	{
		/* both partitions, in a fixed order so two inserters cannot deadlock */
		uint64		p1 = setnos[0] % ALLOY_CACHE_PARTITIONS;
		uint64		p2 = setnos[1] % ALLOY_CACHE_PARTITIONS;

		lock1 = &shared_locks[Min(p1, p2)].lock;
		lock2 = &shared_locks[Max(p1, p2)].lock;
		LWLockAcquire(lock1, LW_EXCLUSIVE);
		if (lock2 != lock1)
			LWLockAcquire(lock2, LW_EXCLUSIVE);
	}

	for (int s = 0; s < nsets; s++)
	{
		AlloyCacheSet *set = &c->sets[setnos[s]];

		for (int i = 0; i < ALLOY_CACHE_WAYS; i++)
		{
			if (alloy_cache_way_matches(set, i, key))
			{
				/* another backend was first; ids agree since series are unique */
				set->way[i].stamp = now;
				goto done;
			}
		}
	}
	/* an empty way in either set, else the least recently used of both */
	for (int s = 0; s < nsets; s++)
	{
		AlloyCacheSet *set = &c->sets[setnos[s]];

		for (int i = 0; i < ALLOY_CACHE_WAYS; i++)
		{
			if (set->way[i].series_id == 0)
			{
				vset = set;
				vway = i;
				goto found;
			}
			if (vset == NULL ||
				(uint32) (now - set->way[i].stamp) > (uint32) (now - vset->way[vway].stamp))
			{
				vset = set;
				vway = i;
			}
		}
	}
found:
	evicted = vset->way[vway].series_id != 0;
	vset->hash[vway] = key->hash;
	vset->way[vway].hash2 = key->hash2;
	vset->way[vway].dbid = key->dbid;
	vset->way[vway].relid = key->relid;
	vset->way[vway].tenant_id = key->tenant_id;
	vset->way[vway].stamp = now;
	vset->way[vway].series_id = series_id;
	inserted = true;

done:
	if (lock2 != NULL && lock2 != lock1)
		LWLockRelease(lock2);
	if (lock1 != NULL)
		LWLockRelease(lock1);
	if (inserted)
	{
		AlloyCacheCounters *cnt = &c->counters[setnos[0] % ALLOY_CACHE_PARTITIONS];

		pg_atomic_fetch_add_u64(&cnt->c.inserts, 1);
		if (evicted)
			pg_atomic_fetch_add_u64(&cnt->c.evictions, 1);
		else
			pg_atomic_fetch_add_u64(&cnt->c.entries, 1);
	}
}

void
AlloyCacheGetStats(AlloyCacheStats *stats)
{
	AlloyCacheHeader *c = alloy_cache_get();

	stats->shared = c->shared;
	stats->capacity = (int64) (c->nsets * ALLOY_CACHE_WAYS);
	stats->entries = stats->hits = stats->misses = stats->inserts = stats->evictions = 0;
	for (int i = 0; i < ALLOY_CACHE_PARTITIONS; i++)
	{
		stats->entries += (int64) pg_atomic_read_u64(&c->counters[i].c.entries);
		stats->hits += (int64) pg_atomic_read_u64(&c->counters[i].c.hits);
		stats->misses += (int64) pg_atomic_read_u64(&c->counters[i].c.misses);
		stats->inserts += (int64) pg_atomic_read_u64(&c->counters[i].c.inserts);
		stats->evictions += (int64) pg_atomic_read_u64(&c->counters[i].c.evictions);
	}
	stats->bytes = (int64) alloy_cache_size(c->nsets);
}

/*
 * fakenow.c: LD_PRELOAD shim that pins gettimeofday() for rwclient --bench.
 *
 * rwclient --bench dates its traffic from the wall clock (the last round ends
 * "now"), so two runs a minute apart would write different timestamps and the
 * side-by-side query answers could not be compared point for point.  bench/run
 * preloads this shim with ALLOY_BENCH_NOW_MS set, so alloy and Prometheus get
 * byte-identical requests.  Only gettimeofday() is replaced: rwclient times
 * itself with CLOCK_MONOTONIC, which stays real.
 *
 * Built by bench/run into bench/build/fakenow.so; not part of the extension.
 */
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

int
gettimeofday(struct timeval *tv, void *tz)
{
	const char *pinned = getenv("ALLOY_BENCH_NOW_MS");
	struct timespec ts;

	(void) tz;
	if (pinned != NULL && *pinned != '\0')
	{
		long long	ms = atoll(pinned);

		tv->tv_sec = (time_t) (ms / 1000);
		tv->tv_usec = (suseconds_t) ((ms % 1000) * 1000);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

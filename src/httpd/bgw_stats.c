/*
 * bgw_stats.c: statistics reporting for alloy's background workers (the HTTP
 * workers and the WAL flusher), which have no client loop to do it for them.
 */
#include "postgres.h"

#include "access/xact.h"
#include "pgstat.h"
#include "utils/timestamp.h"

#include "httpd/httpd_int.h"

/*
 * Unlike backends, a background worker's pending statistics (its WAL, the
 * inserts into the catalog tables that autovacuum and autoanalyze go by)
 * reach the cumulative statistics only when it reports them. Forced, at most
 * once a second: pgstat's own rate limit measures time by the last
 * transaction's end, which stands still while a worker is idle, so unforced
 * reports of an idle worker would never go out.
 */
void
AlloyReportStats(void)
{
	static TimestampTz last = 0;
	TimestampTz now = GetCurrentTimestamp();

	if (IsTransactionOrTransactionBlock() || !TimestampDifferenceExceeds(last, now, 1000))
		return;
	last = now;
	pgstat_report_stat(true);
}

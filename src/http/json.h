/*
 * json.h: small helpers to write JSON into a StringInfo, for the HTTP API.
 *
 * The Prometheus API spells floats as strings ("NaN", "+Inf", shortest
 * round-trip decimal) and times as Unix seconds; these helpers keep that
 * spelling in one place.
 */
#ifndef ALLOY_JSON_H
#define ALLOY_JSON_H

#include "lib/stringinfo.h"

/* Append s as a quoted JSON string (invalid UTF-8 bytes become U+FFFD). */
extern void AlloyJsonString(StringInfo out, const char *s);
extern void AlloyJsonStringLen(StringInfo out, const char *s, size_t len);

/*
 * Prometheus's spelling of a sample value (without quotes): shortest
 * round-trip digits, fixed notation unless |v| < 1e-6 or |v| >= 1e21, and
 * NaN, +Inf, -Inf. buf needs ALLOY_FLOAT_BUFLEN bytes; returns the length.
 */
#define ALLOY_FLOAT_BUFLEN 400
extern int	AlloyFormatFloat(char *buf, double v);
extern void AlloyJsonFloat(StringInfo out, double v);	/* quoted */
/* Quoted, never in exponent form: how Prometheus spells a scalar result. */
extern void AlloyJsonFloatFixed(StringInfo out, double v);
/* Unix seconds as the shortest float (scalar and string results' times). */
extern void AlloyJsonSeconds(StringInfo out, int64 t_ms);

/* A millisecond timestamp as Prometheus writes it: Unix seconds, 3 decimals at most. */
extern void AlloyJsonTimestamp(StringInfo out, int64 t_ms);

/* One point of a query answer, [<timestamp>,"<value>"]: the hot path of large answers. */
extern void AlloyJsonSamplePair(StringInfo out, int64 t_ms, double v);

#endif							/* ALLOY_JSON_H */

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

#endif							/* ALLOY_JSON_H */

/*
 * api.h: the endpoints' one entry point for the rest of alloy.
 *
 * The HTTP handlers (api_*.c) reach the HTTP core through httpd/httpd.h; the
 * core never calls them. _PG_init calls AlloyApiInit, which registers every
 * handler's route in the table the HTTP workers inherit.
 */
#ifndef ALLOY_API_API_H
#define ALLOY_API_API_H

/* The API's settings and HTTP routes; called from _PG_init, after AlloyHttpInit. */
extern void AlloyApiInit(void);

#endif							/* ALLOY_API_API_H */

/*
 * alloy.c: library entry point. _PG_init defines the contract's settings and
 * initialises every module from the bottom layer up; it is the one file
 * that knows all of them.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "api/api.h"
#include "httpd/httpd.h"
#include "ingest/ingest.h"
#include "query/query.h"
#include "runtime/runtime.h"
#include "series/series.h"
#include "store/store.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(alloy_version);

void
_PG_init(void)
{
	AlloyDefineSettings();

	AlloyStorageInit();
	AlloyCatalogInit();
	AlloyHttpInit();
	AlloyIngestInit();
	AlloyApiInit();
	AlloyPromqlInit();

	MarkGUCPrefixReserved("alloy");
}

/*
 * alloy.version(): the version of the loaded shared library, which may differ
 * from the installed SQL version after an upgrade that has not run ALTER
 * EXTENSION yet.
 */
Datum
alloy_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(ALLOY_VERSION));
}

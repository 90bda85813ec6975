/*
 * sql_labels.c: alloy.label_names() and alloy.label_values(), the SQL face of
 * a tenant's label names and one label's values without matchers; the
 * answers come from series/ (AlloyTenantLabelNames, AlloyTenantLabelValues),
 * the same the HTTP API gives.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "series/series.h"

PG_FUNCTION_INFO_V1(alloy_label_names);
PG_FUNCTION_INFO_V1(alloy_label_values);

/* One row of a SETOF text result. */
static void
srf_put_text(ReturnSetInfo *rsinfo, const char *s, int len)
{
	Datum		value = PointerGetDatum(cstring_to_text_with_len(s, len));
	bool		isnull = false;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
}

/* alloy.label_names(tenant text DEFAULT NULL) RETURNS SETOF text */
Datum
alloy_label_names(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *tenant = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	AlloyLabel *names;
	int			n;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	names = AlloyTenantLabelNames(tenant, &n);
	for (int i = 0; i < n; i++)
		srf_put_text(rsinfo, names[i].name, names[i].name_len);
	return (Datum) 0;
}

/* alloy.label_values(name text, tenant text DEFAULT NULL) RETURNS SETOF text */
Datum
alloy_label_values(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *tenant = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	AlloyLabel *values;
	int			n = 0;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		return (Datum) 0;		/* no label is named NULL */
	{
		text	   *name = PG_GETARG_TEXT_PP(0);

		values = AlloyTenantLabelValues(tenant, VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name), &n);
	}
	for (int i = 0; i < n; i++)
		srf_put_text(rsinfo, values[i].value, values[i].value_len);
	return (Datum) 0;
}

/*
 * sql_args.c: the arguments the SQL functions of series share: a label set
 * given as a jsonb object, an optional tenant name, and the series they name
 * together (sql_write.c, sql_series.c).
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "api/api_int.h"
#include "series/series.h"

/*
 * Labels of argument argno, a jsonb object {"name": "value", ...}. The
 * strings point into the jsonb value. Returns the count after
 * AlloyLabelsValidate.
 */
int
AlloySqlLabelsArg(FunctionCallInfo fcinfo, int argno, AlloyLabel **labels_out)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(argno);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	AlloyLabel *labels;
	int			n = 0;
	int			cap;

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("labels must be a jsonb object"),
				 errdetail("Example: '{\"__name__\": \"up\", \"job\": \"node\"}'.")));
	cap = Max(JB_ROOT_COUNT(jb), 1);
	labels = palloc(sizeof(AlloyLabel) * cap);

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			Assert(n < cap);
			labels[n].name = v.val.string.val;
			labels[n].name_len = v.val.string.len;
		}
		else if (tok == WJB_VALUE)
		{
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("value of label \"%.*s\" must be a string",
								labels[n].name_len, labels[n].name)));
			labels[n].value = v.val.string.val;
			labels[n].value_len = v.val.string.len;
			n++;
		}
	}
	*labels_out = labels;
	return AlloyLabelsValidate(labels, n);
}

/*
 * The tenant id of argument argno: the default tenant when absent or NULL;
 * see AlloyTenantLookup for create.
 */
int32
AlloySqlTenantArg(FunctionCallInfo fcinfo, int argno, bool create)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return ALLOY_DEFAULT_TENANT_ID;
	return AlloyTenantLookup(text_to_cstring(PG_GETARG_TEXT_PP(argno)), create);
}

/* Raise an error when argument argno is NULL. */
void
AlloySqlRequireArg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/* The series of the labels argument (the first), created if new. */
int64
AlloySqlSeriesArg(FunctionCallInfo fcinfo, int tenant_argno)
{
	AlloyLabel *labels;
	int			n;
	int32		tenant_id;

	AlloySqlRequireArg(fcinfo, 0, "labels");
	n = AlloySqlLabelsArg(fcinfo, 0, &labels);
	tenant_id = AlloySqlTenantArg(fcinfo, tenant_argno, true);
	return AlloySeriesGetOrCreate(tenant_id, labels, n, AlloyLabelsHash(labels, n));
}

/*
 * sql_rules.c: the SQL face of stored rule groups (sql/install/60_rules.sql):
 * load a rule file into a namespace, set and delete groups, write them back
 * as a rule file, and the rows of the alloy.rules view. Storage and checks
 * are src/rules' (rules_store.c); this file reads arguments and builds rows.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "api/api_int.h"
#include "rules/rules.h"
#include "series/series.h"

PG_FUNCTION_INFO_V1(alloy_rules_load);
PG_FUNCTION_INFO_V1(alloy_rules_set_group);
PG_FUNCTION_INFO_V1(alloy_rules_delete_group);
PG_FUNCTION_INFO_V1(alloy_rules_delete_namespace);
PG_FUNCTION_INFO_V1(alloy_rules_file);
PG_FUNCTION_INFO_V1(alloy_rule_group_rules);

/* The namespace argument: required and not empty. */
static char *
rules_namespace_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *ns;

	AlloySqlRequireArg(fcinfo, argno, "namespace");
	ns = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (ns[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("namespace must not be empty")));
	return ns;
}

/* alloy.rules_load(file text, namespace text, tenant text) */
Datum
alloy_rules_load(PG_FUNCTION_ARGS)
{
	text	   *file;
	char	   *ns;
	int32		tenant_id;

	AlloySqlRequireArg(fcinfo, 0, "file");
	file = PG_GETARG_TEXT_PP(0);
	ns = rules_namespace_arg(fcinfo, 1);
	tenant_id = AlloySqlTenantArg(fcinfo, 2, true);
	PG_RETURN_INT32(rules_store_load(tenant_id, ns, VARDATA_ANY(file), VARSIZE_ANY_EXHDR(file)));
}

/* alloy.rules_set_group(namespace text, group text, tenant text) */
Datum
alloy_rules_set_group(PG_FUNCTION_ARGS)
{
	char	   *ns = rules_namespace_arg(fcinfo, 0);
	text	   *group;
	int32		tenant_id;

	AlloySqlRequireArg(fcinfo, 1, "group");
	group = PG_GETARG_TEXT_PP(1);
	tenant_id = AlloySqlTenantArg(fcinfo, 2, true);
	rules_store_set_group(tenant_id, ns, VARDATA_ANY(group), VARSIZE_ANY_EXHDR(group));
	PG_RETURN_VOID();
}

/* alloy.rules_delete_group(namespace text, group text, tenant text) */
Datum
alloy_rules_delete_group(PG_FUNCTION_ARGS)
{
	char	   *ns = rules_namespace_arg(fcinfo, 0);
	char	   *name;
	int32		tenant_id;

	AlloySqlRequireArg(fcinfo, 1, "group");
	name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	tenant_id = AlloySqlTenantArg(fcinfo, 2, false);
	if (tenant_id == ALLOY_INVALID_TENANT_ID)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(rules_store_delete_group(tenant_id, ns, name));
}

/* alloy.rules_delete_namespace(namespace text, tenant text) */
Datum
alloy_rules_delete_namespace(PG_FUNCTION_ARGS)
{
	char	   *ns = rules_namespace_arg(fcinfo, 0);
	int32		tenant_id = AlloySqlTenantArg(fcinfo, 1, false);

	if (tenant_id == ALLOY_INVALID_TENANT_ID)
		PG_RETURN_INT32(0);
	PG_RETURN_INT32(rules_store_delete_namespace(tenant_id, ns));
}

/* alloy.rules_file(namespace text, tenant text): an unknown tenant has no groups. */
Datum
alloy_rules_file(PG_FUNCTION_ARGS)
{
	char	   *ns = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	/* an unknown tenant's id (-1) matches no row: a file of no groups */
	int32		tenant_id = AlloySqlTenantArg(fcinfo, 1, false);

	PG_RETURN_TEXT_P(cstring_to_text(rules_store_file(tenant_id, ns)));
}

/* Labels or annotations as a jsonb object. */
static Datum
rules_pairs_jsonb(const RulesPair *pairs, int n)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, pairs[i].name);
		appendStringInfoString(&buf, ": ");
		escape_json(&buf, pairs[i].value);
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/* A duration column: NULL when not set. */
static void
rules_duration_col(int64 ms, Datum *value, bool *isnull)
{
	char		buf[64];

	*isnull = (ms == 0);
	if (ms != 0)
		*value = CStringGetTextDatum(rules_format_duration(ms, buf));
}

/* alloy.rule_group_rules(source text): the rules of one stored group. */
Datum
alloy_rule_group_rules(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *source = PG_GETARG_TEXT_PP(0);
	AlloyArena *arena;
	RulesGroup	g;
	const char *err = NULL;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	arena = rules_store_arena();
	if (!rules_parse_group(arena, VARDATA_ANY(source), VARSIZE_ANY_EXHDR(source), &g, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid rule group"),
				 errdetail("%s", err)));
	for (i = 0; i < g.nrules; i++)
	{
		const RulesRule *r = &g.rules[i];
		Datum		values[8];
		bool		nulls[8] = {0};

		values[0] = Int32GetDatum(i);
		values[1] = CStringGetTextDatum(r->record ? "recording" : "alerting");
		values[2] = CStringGetTextDatum(r->record ? r->record : r->alert);
		values[3] = CStringGetTextDatum(r->expr);
		rules_duration_col(r->for_ms, &values[4], &nulls[4]);
		rules_duration_col(r->keep_firing_for_ms, &values[5], &nulls[5]);
		values[6] = rules_pairs_jsonb(r->labels, r->nlabels);
		values[7] = rules_pairs_jsonb(r->annotations, r->nannotations);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	alloy_arena_destroy(arena);
	return (Datum) 0;
}

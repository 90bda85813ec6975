/*
 * ingest_metadata.c: metric metadata (type, help, unit) from remote write.
 *
 * Prometheus sends metadata in separate, infrequent requests (every minute by
 * default), so an upsert through SPI costs nothing that matters; rows only
 * change when the metadata does, so steady senders cause no table churn.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "ingest/ingest_int.h"

static const char *const alloy_metric_type_names[] = {
	"unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset"
};

static Datum
AlloyTextArray(Datum *elems, int n)
{
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

void
AlloyIngestStoreMetadata(int32 tenant_id, const RwRequest *rw)
{
	Datum	   *metric;
	Datum	   *type;
	Datum	   *help;
	Datum	   *unit;
	Datum		args[5];
	Oid			types[5] = {INT4OID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	int			n = 0;

	if (rw->nmetadata == 0)
		return;
	metric = palloc(sizeof(Datum) * rw->nmetadata);
	type = palloc(sizeof(Datum) * rw->nmetadata);
	help = palloc(sizeof(Datum) * rw->nmetadata);
	unit = palloc(sizeof(Datum) * rw->nmetadata);
	for (int i = 0; i < rw->nmetadata; i++)
	{
		const RwMetadata *m = &rw->metadata[i];
		int			t = (int) m->type;

		if (m->family_len == 0)
			continue;
		if (t < 0 || t >= (int) lengthof(alloy_metric_type_names))
			t = 0;
		metric[n] = PointerGetDatum(cstring_to_text_with_len(m->family, m->family_len));
		type[n] = CStringGetTextDatum(alloy_metric_type_names[t]);
		help[n] = PointerGetDatum(cstring_to_text_with_len(m->help ? m->help : "", m->help_len));
		unit[n] = PointerGetDatum(cstring_to_text_with_len(m->unit ? m->unit : "", m->unit_len));
		n++;
	}
	if (n == 0)
		return;
	args[0] = Int32GetDatum(tenant_id);
	args[1] = AlloyTextArray(metric, n);
	args[2] = AlloyTextArray(type, n);
	args[3] = AlloyTextArray(help, n);
	args[4] = AlloyTextArray(unit, n);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the last entry of a family wins when a request repeats one */
	if (SPI_execute_with_args(
							  "INSERT INTO alloy.metadata AS m (tenant_id, metric, type, help, unit) "
							  "SELECT DISTINCT ON (metric) $1, metric, type, help, unit "
							  "FROM unnest($2, $3, $4, $5) WITH ORDINALITY AS u(metric, type, help, unit, ord) "
							  "ORDER BY metric, ord DESC "
							  "ON CONFLICT (tenant_id, metric) DO UPDATE "
							  "SET type = excluded.type, help = excluded.help, unit = excluded.unit, updated = now() "
							  "WHERE (m.type, m.help, m.unit) IS DISTINCT FROM (excluded.type, excluded.help, excluded.unit)",
							  5, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "storing metric metadata failed");
	SPI_finish();
}

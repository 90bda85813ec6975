
-- Metric metadata (type, help, unit) as remote-write senders report it, one
-- row per tenant and metric family; served by /api/v1/metadata.
CREATE TABLE alloy.metadata (
	tenant_id int4 NOT NULL,
	metric text COLLATE "C" NOT NULL,
	type text NOT NULL,
	help text NOT NULL DEFAULT '',
	unit text NOT NULL DEFAULT '',
	updated timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, metric)
);
SELECT pg_catalog.pg_extension_config_dump('alloy.metadata', '');

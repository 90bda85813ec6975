-- alloy install script, part 20: sample storage (src/storage, docs/storage.md).
--
-- alloy.samples is range-partitioned by time; partitions are created on
-- demand by the C code (one per alloy.partition_interval) and each uses the
-- alloy table access method: a write head plus sealed XOR chunks.

CREATE FUNCTION alloy.alloy_tableam_handler(internal) RETURNS table_am_handler
AS 'MODULE_PATHNAME', 'alloy_tableam_handler'
LANGUAGE C STRICT;

CREATE ACCESS METHOD alloy TYPE TABLE HANDLER alloy.alloy_tableam_handler;
COMMENT ON ACCESS METHOD alloy IS 'alloy sample storage: write head plus sealed Prometheus XOR chunks';

-- The partitioned parent. A partitioned table cannot name an access method
-- itself; its partitions do (USING alloy).
CREATE TABLE alloy.samples (
	series_id bigint NOT NULL,
	"time" timestamptz NOT NULL,
	value double precision NOT NULL
) PARTITION BY RANGE ("time");
COMMENT ON TABLE alloy.samples IS 'every sample: one partition per alloy.partition_interval, access method alloy';

-- Seal every open head into compressed chunks now; returns the samples sealed.
CREATE FUNCTION alloy.seal() RETURNS bigint
AS 'MODULE_PATHNAME', 'alloy_seal'
LANGUAGE C VOLATILE;

-- Drop every partition whose samples are all older than the given time.
CREATE FUNCTION alloy.drop_before(timestamptz) RETURNS integer
AS 'MODULE_PATHNAME', 'alloy_drop_before'
LANGUAGE C VOLATILE STRICT;

-- Direct access to the storage C API (tests, operators, bulk loads that
-- already hold series ids).
CREATE FUNCTION alloy.storage_append(series_id bigint[], "time" timestamptz[], value double precision[])
RETURNS bigint
AS 'MODULE_PATHNAME', 'alloy_storage_append'
LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION alloy.storage_read(series_id bigint, mint timestamptz, maxt timestamptz)
RETURNS TABLE("time" timestamptz, value double precision)
AS 'MODULE_PATHNAME', 'alloy_storage_read'
LANGUAGE C STABLE STRICT;

CREATE FUNCTION alloy.storage_info(partition regclass,
	OUT blocks bigint, OUT sealed_pages bigint, OUT index_pages bigint,
	OUT head_pages bigint, OUT chunks bigint, OUT sealed_samples bigint,
	OUT seals bigint, OUT decimal_chunks bigint)
AS 'MODULE_PATHNAME', 'alloy_storage_info'
LANGUAGE C VOLATILE STRICT;

-- Make sure partitions cover [from, to]: plain INSERT INTO alloy.samples
-- routes rows only to partitions that exist (alloy.write, remote_write and
-- storage_append create them on demand; the worker keeps the current and
-- next ones ready).
CREATE FUNCTION alloy.create_partitions("from" timestamptz, "to" timestamptz) RETURNS integer
AS 'MODULE_PATHNAME', 'alloy_create_partitions'
LANGUAGE C VOLATILE STRICT;

-- The float8 with exactly these IEEE 754 bits, and back: Prometheus stale
-- markers are the NaN 0x7ff0000000000002 (alloy.float8_from_bits(9218868437227405314)).
CREATE FUNCTION alloy.float8_from_bits(bigint) RETURNS double precision
AS 'MODULE_PATHNAME', 'alloy_float8_from_bits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION alloy.float8_bits(double precision) RETURNS bigint
AS 'MODULE_PATHNAME', 'alloy_float8_bits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

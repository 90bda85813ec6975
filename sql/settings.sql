-- Every setting of the contract exists with its documented default.
SELECT name, setting, unit, context, min_val, max_val
FROM pg_settings
WHERE name IN ('alloy.listen_addresses', 'alloy.port', 'alloy.database',
               'alloy.http_workers', 'alloy.partition_interval', 'alloy.retention',
               'alloy.lookback_delta', 'alloy.query_max_samples',
               'alloy.max_request_bytes', 'alloy.http_max_connections',
               'alloy.http_idle_timeout')
ORDER BY name;
SHOW alloy.lookback_delta;
SHOW alloy.retention;
SHOW alloy.partition_interval;
SHOW alloy.max_request_bytes;

-- Per-session settings take units and reject bad values.
SET alloy.lookback_delta = '2min';
SHOW alloy.lookback_delta;
SET alloy.lookback_delta = 0;
SET alloy.lookback_delta = 'soon';
SET alloy.query_max_samples = 0;
SET alloy.query_max_samples = 1000;
SHOW alloy.query_max_samples;
RESET alloy.lookback_delta;
RESET alloy.query_max_samples;

-- Server-wide settings cannot change per session.
SET alloy.port = 9300;
SET alloy.retention = '30d';

-- Bad values are refused before they reach the configuration file.
ALTER SYSTEM SET alloy.port = 70000;
ALTER SYSTEM SET alloy.http_workers = -1;
ALTER SYSTEM SET alloy.partition_interval = '10s';

-- The alloy prefix is reserved: a typo is an error, not a silent placeholder.
SET alloy.lookback = '1m';

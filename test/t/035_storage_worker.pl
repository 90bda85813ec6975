# The storage worker: keeps the current and next partitions ready, seals
# heads in the background and drops partitions older than alloy.retention.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlloyTest;
use Time::HiRes qw(usleep);

my $node = alloy_node('storage_worker',
	conf => "alloy.http_workers = 0\nalloy.seal_interval = 1\nalloy.retention = '7d'\n",
	create_extension => 1);

sub poll
{
	my ($sql, $want) = @_;
	for (my $i = 0; $i < 600; $i++)
	{
		my $got = $node->safe_psql('postgres', $sql);
		return 1 if $got eq $want;
		usleep(100_000);
	}
	return 0;
}

is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'alloy storage worker'"),
	'1', 'the storage worker runs');

ok(poll(q{SELECT count(*) >= 2 FROM pg_inherits WHERE inhparent = 'alloy.samples'::regclass}, 't'),
	'the worker creates the current and the next partition');
$node->safe_psql('postgres', q{INSERT INTO alloy.samples VALUES (1, now(), 1), (1, now() + interval '1 day', 2)});
is($node->safe_psql('postgres', 'SELECT count(*) FROM alloy.samples'), '2',
	'plain INSERT finds the prepared partitions');

# a small head is sealed within a few rounds
$node->safe_psql('postgres', q{
	SELECT alloy.storage_append(array_agg(100 + g % 10), array_agg(date_trunc('day', now(), 'UTC') + g * interval '1 s'), array_agg(g::float8))
	FROM generate_series(1, 1000) g});
my $part = $node->safe_psql('postgres', q{SELECT tableoid::regclass FROM alloy.samples WHERE series_id = 105 LIMIT 1});
ok(poll(qq{SELECT head_pages = 0 AND sealed_samples > 0 FROM alloy.storage_info('$part')}, 't'),
	'the worker seals the head');
is($node->safe_psql('postgres', 'SELECT count(*), sum(value) FROM alloy.samples WHERE series_id BETWEEN 100 AND 109'),
	'1000|500500', 'sealed samples read back');

# a partition held by an open writer is skipped, then waited for briefly
# (lock_timeout in a subtransaction): the worker survives and seals later
my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'alloy storage worker'");
my $writer = $node->background_psql('postgres');
$writer->query_safe(q{BEGIN; SELECT alloy.storage_append(ARRAY[200], ARRAY[date_trunc('day', now(), 'UTC') + interval '2 hours']::timestamptz[], ARRAY[7]);});
$node->safe_psql('postgres', q{SELECT alloy.storage_append(ARRAY[201], ARRAY[date_trunc('day', now(), 'UTC') + interval '2 hours']::timestamptz[], ARRAY[8])});
sleep(7);
is($node->safe_psql('postgres', "SELECT head_pages > 0 FROM alloy.storage_info('$part')"), 't',
	'a partition with an open writer is not sealed under it');
$writer->query_safe('COMMIT');
$writer->quit;
ok(poll(qq{SELECT head_pages = 0 FROM alloy.storage_info('$part')}, 't'),
	'it is sealed once the writer is done');
is($node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'alloy storage worker'"),
	$pid, 'the worker survived its lock timeouts');
is($node->safe_psql('postgres', 'SELECT count(*) FROM alloy.samples WHERE series_id IN (200, 201)'),
	'2', 'both writes are there');

# retention drops whole partitions older than now - 7 days
$node->safe_psql('postgres', q{
	SELECT alloy.storage_append(ARRAY[1, 1], ARRAY[now() - interval '30 days', now() - interval '6 days']::timestamptz[], ARRAY[1, 2])});
ok(poll(q{SELECT count(*) FROM alloy.samples WHERE "time" < now() - interval '29 days'}, '0'),
	'retention drops the 30-day-old partition');
is($node->safe_psql('postgres', q{SELECT count(*) FROM alloy.samples WHERE "time" < now() - interval '5 days'}),
	'1', 'the 6-day-old sample stays');

# exemplars follow the same retention
$node->safe_psql('postgres', q{
	SELECT alloy.write_exemplar('{"__name__":"req_total"}', now() - interval '30 days', 1, '{"trace_id":"old"}');
	SELECT alloy.write_exemplar('{"__name__":"req_total"}', now() - interval '1 hour', 2, '{"trace_id":"new"}')});
ok(poll(q{SELECT string_agg(labels->>'trace_id', ',') FROM alloy.exemplars}, 'new'),
	'retention deletes exemplars older than alloy.retention, keeps newer ones');

# the worker follows a configuration reload
$node->safe_psql('postgres', q{ALTER SYSTEM SET alloy.retention = '2d'; SELECT pg_reload_conf()});
ok(poll(q{SELECT count(*) FROM alloy.samples WHERE "time" < now() - interval '5 days'}, '0'),
	'a reloaded retention applies');

$node->stop;
done_testing();

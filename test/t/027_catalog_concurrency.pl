# Series catalog under concurrency, restarts, and without shared_preload_libraries.
#
# pg_regress runs one session; these need several: two backends creating the
# same new series at once must end with one id, random create/rollback
# traffic from several clients must leave no duplicate and no cache entry
# for a rolled-back series, and the backend-local cache (no preload) must
# behave the same.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlloyTest;

my $node = alloy_node('catalog', conf => "alloy.http_workers = 0\n", create_extension => 1);

# The shared cache exists when AlloyCatalogInit ran while preloading.
my $has_setting = $node->safe_psql('postgres',
	"SELECT current_setting('alloy.series_cache_size', true) IS NOT NULL");
SKIP:
{
	skip 'alloy.series_cache_size not defined (AlloyCatalogInit not called)', 1
	  unless $has_setting eq 't';
	is($node->safe_psql('postgres', 'SELECT shared FROM alloy.series_cache_stats()'),
		't', 'preloaded: the series cache is in shared memory');
}

# --- two backends create the same new series at the same time
my $a = $node->background_psql('postgres');
$a->query_safe('BEGIN');
my $ida = $a->query_safe(q{SELECT alloy.series_get_or_create('{"__name__": "conc", "job": "x"}')});
my $b = $node->background_psql('postgres');
$b->{stdin} .= q{SELECT alloy.series_get_or_create('{"job": "x", "__name__": "conc"}');} . "\n\\echo done_b\n";
$b->{run}->pump_nb;
ok( $node->poll_query_until(
		'postgres',
		q{SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted}),
	'second creator waits for the first');
$a->query_safe('COMMIT');
my $outb = $b->query_until(qr/done_b/, '');
my ($idb) = $outb =~ /^(\d+)$/m;
is($idb, $ida, 'both backends got the same series id');
is( $node->safe_psql('postgres', q{SELECT count(*) FROM alloy.series WHERE metric = 'conc'}),
	'1', 'one row for the series');

# --- the first creator aborts: the waiter creates it
$a->query_safe('BEGIN');
my $idr = $a->query_safe(q{SELECT alloy.series_get_or_create('{"__name__": "conc_rb"}')});
$b->{stdin} .= q{SELECT alloy.series_get_or_create('{"__name__": "conc_rb"}');} . "\n\\echo done_b\n";
$b->{run}->pump_nb;
$node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted});
$a->query_safe('ROLLBACK');
$outb = $b->query_until(qr/done_b/, '');
($idb) = $outb =~ /^(\d+)$/m;
isnt($idb, $idr, 'after the abort the waiter made a new series');
is( $node->safe_psql('postgres',
		q{SELECT series_id FROM alloy.series WHERE metric = 'conc_rb'}),
	$idb, 'and it exists');
is($a->query_safe(q{SELECT alloy.series_lookup('{"__name__": "conc_rb"}')}),
	$idb, 'the aborting backend sees the new id, not its own');
$a->quit;
$b->quit;

# --- random create / rollback traffic from 4 clients, 3 tenants
sub stress
{
	my ($n, $label) = @_;
	$n->pgbench(
		'--no-vacuum --client=4 --jobs=2 --transactions=300',
		0,
		[qr{processed: 1200/1200}],
		[qr{^$}],
		"$label: concurrent get-or-create with rollbacks",
		{
			'020_commit' => q{
\set i random(1, 400)
\set j random(1, 400)
BEGIN;
SELECT alloy.series_get_or_create(jsonb_build_object('__name__', 'stress', 'i', :i::text), 't' || (:i % 3));
SELECT alloy.series_get_or_create(jsonb_build_object('__name__', 'stress', 'i', :j::text), 't' || (:j % 3));
END;
},
			'020_rollback' => q{
\set i random(1, 400)
BEGIN;
SELECT alloy.series_get_or_create(jsonb_build_object('__name__', 'stress', 'i', :i::text), 't' || (:i % 3));
SAVEPOINT a;
SELECT alloy.series_get_or_create(jsonb_build_object('__name__', 'stress_rb', 'i', :i::text), 't' || (:i % 3));
ROLLBACK TO SAVEPOINT a;
SELECT alloy.series_get_or_create(jsonb_build_object('__name__', 'stress_rb2', 'i', :i::text), 't' || (:i % 3));
ROLLBACK;
}
		});
	is( $n->safe_psql('postgres',
			q{SELECT count(*) = count(DISTINCT (tenant, labels)) FROM alloy.series}),
		't', "$label: no duplicate label sets");
	is( $n->safe_psql('postgres',
			q{SELECT count(*) FROM alloy.series WHERE metric LIKE 'stress_rb%'}),
		'0', "$label: rolled-back series do not exist");
	is( $n->safe_psql('postgres',
			q{SELECT count(*) FILTER (WHERE alloy.series_lookup(labels, tenant) IS DISTINCT FROM series_id)
			  FROM alloy.series}),
		'0', "$label: every label set resolves to its own row");
	is( $n->safe_psql('postgres',
			q{SELECT count(*) FROM (SELECT alloy.series_lookup(jsonb_build_object('__name__', 'stress_rb', 'i', i::text), 't' || (i % 3)) s
			  FROM generate_series(1, 400) i) x WHERE s IS NOT NULL}),
		'0', "$label: no cached id for a rolled-back series");
}
stress($node, 'preloaded');

# --- ids survive a restart; the cache starts empty and refills
my $before = $node->safe_psql('postgres', 'SELECT string_agg(series_id::text, \',\' ORDER BY series_id) FROM alloy.series');
$node->restart;
is($node->safe_psql('postgres', 'SELECT entries FROM alloy.series_cache_stats()'),
	'0', 'cache empty after restart');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE alloy.series_lookup(labels, tenant) = series_id) = count(*) FROM alloy.series}),
	't', 'lookups after restart find the same ids');
is($node->safe_psql('postgres', 'SELECT string_agg(series_id::text, \',\' ORDER BY series_id) FROM alloy.series'),
	$before, 'no series changed');
$node->stop;

# --- without shared_preload_libraries: a backend-local cache
my $plain = PostgreSQL::Test::Cluster->new('catalog_plain');
$plain->init;
$plain->start;
my ($rc, $out, $err) = $plain->psql('postgres', 'CREATE EXTENSION alloy');
is($rc, 0, 'CREATE EXTENSION works without preloading') or diag($err);
is($plain->safe_psql('postgres', 'SELECT shared FROM alloy.series_cache_stats()'),
	'f', 'not preloaded: backend-local cache');
my $id1 = $plain->safe_psql('postgres',
	q{SELECT alloy.series_get_or_create('{"__name__": "plain"}', 'p')});
# statements reach the server one by one, each its own transaction, and
# a series enters the cache when the transaction that looked it up ends
is( $plain->safe_psql('postgres',
		q{SELECT alloy.series_get_or_create('{"__name__": "plain"}', 'p');
		  SELECT alloy.series_get_or_create('{"__name__": "plain"}', 'p');
		  SELECT hits FROM alloy.series_cache_stats()}),
	"$id1\n$id1\n1", 'second call in a session is a cache hit');
stress($plain, 'not preloaded');
$plain->stop;

done_testing();

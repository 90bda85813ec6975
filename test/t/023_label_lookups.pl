# Label values and names with match[] from the in-memory label index
# (src/series/series_labelidx.c): both strategies (postings intersection
# and series scan) must give the answer that /api/v1/series implies, for
# positive and negative matchers, empty results and separate tenants; series
# created after the index was built must show up, aborted ones never.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use AlloyTest;

# one HTTP worker, so every request sees the same backend-local index
my $node = alloy_node('label_lookups', create_extension => 1,
	conf => "alloy.retention = 0\nalloy.http_workers = 1\nlog_min_messages = debug1\n");
ok(wait_for_http($node, '/-/ready'), 'ready');

# tenant default: 2,000 series of m1 (4 modes x 50 hosts x 10 cpus), 50 of
# m2 (one per host), 20 of m3 whose only hosts are h0..h19 with env=dev
$node->safe_psql('postgres', q{
	SELECT alloy.write(jsonb_build_object('__name__', 'm1', 'host', 'h' || h, 'cpu', c::text,
										  'mode', (ARRAY['idle','user','system','iowait'])[m]),
					   now(), 1)
	FROM generate_series(0, 49) h, generate_series(0, 9) c, generate_series(1, 4) m;
	SELECT alloy.write(jsonb_build_object('__name__', 'm2', 'host', 'h' || h), now(), 1)
	FROM generate_series(0, 49) h;
	SELECT alloy.write(jsonb_build_object('__name__', 'm3', 'host', 'h' || h, 'env', 'dev'),
					   now(), 1)
	FROM generate_series(0, 19) h;
});
# a wide series: its label_ids array is too long for a 1-byte varlena header
$node->safe_psql('postgres', q{
	SELECT alloy.write(jsonb_object_agg('l' || i, 'v' || i) || '{"__name__": "wide", "host": "h1"}',
					   now(), 1)
	FROM generate_series(0, 59) i;
});
# tenant other: m1 with modes only idle and steal, hosts x0..x4
$node->safe_psql('postgres', q{
	SELECT alloy.write(jsonb_build_object('__name__', 'm1', 'host', 'x' || h,
										  'mode', (ARRAY['idle','steal'])[m]), now(), 1, 'other')
	FROM generate_series(0, 4) h, generate_series(1, 2) m;
});

# The values of $name over the series that /api/v1/series returns for $sel.
sub oracle
{
	my ($name, $sel, %opts) = @_;
	my ($st, $json) = query_json($node, '/api/v1/series?match[]=' . uri_escape($sel), %opts);
	die "series $sel: $st" unless $st == 200;
	my %v;
	for my $s (@{ $json->{data} })
	{
		$v{ $s->{$name} } = 1 if defined $s->{$name};
	}
	return [ sort keys %v ];
}

# The label names of the series that /api/v1/series returns for $sel.
sub oracle_names
{
	my ($sel, %opts) = @_;
	my ($st, $json) = query_json($node, '/api/v1/series?match[]=' . uri_escape($sel), %opts);
	die "series $sel: $st" unless $st == 200;
	my %n;
	$n{$_} = 1 for map { keys %$_ } @{ $json->{data} };
	return [ sort keys %n ];
}

sub names_of
{
	my ($sel, %opts) = @_;
	my ($st, $json) = query_json($node, '/api/v1/labels?match[]=' . uri_escape($sel), %opts);
	return $st == 200 ? $json->{data} : "HTTP $st";
}

sub values_of
{
	my ($name, $sel, %opts) = @_;
	my ($st, $json) = query_json($node, "/api/v1/label/$name/values?match[]=" . uri_escape($sel),
		%opts);
	return $st == 200 ? $json->{data} : "HTTP $st";
}

# [label, selector, expected strategy or '' (either), tenant]
my @cases = (
	[ 'mode', 'm1', 'postings intersection' ],
	[ 'mode', 'm1{host="h3"}', '' ],
	[ 'host', 'm1', '' ],
	[ 'host', 'm2', 'series scan' ],
	[ 'host', '{mode="idle"}', '' ],
	[ 'cpu', '{host="h1"}', 'series scan' ],
	[ 'cpu', '{__name__=~"m1|m2"}', '' ],
	[ 'env', 'm1', 'postings intersection' ],
	[ 'env', '{host=~"h1.*"}', '' ],
	[ 'host', '{env="dev"}', '' ],
	[ 'host', '{host=~"h.+",env!="dev"}', '' ],
	[ 'host', 'm1{mode!="idle",host!~"h[0-3].*"}', '' ],
	[ 'mode', '{host="h7",mode!~"i.*"}', '' ],
	[ '__name__', '{host="h42"}', '' ],
	[ '__name__', '{host=~"h1.",env=""}', '' ],
	[ 'mode', 'm2', '' ],
	[ 'mode', 'nosuchmetric', '' ],
	[ 'nosuchlabel', 'm1', '' ],
	[ 'host', '{mode=~"idle|steal"}', '', 'other' ],
	[ 'mode', 'm1', '', 'other' ],
	[ 'mode', 'm2', '', 'other' ],
	[ 'mode', 'm1', '', 'nosuchtenant' ],
	[ 'l7', 'wide', '' ],
	[ 'l7', '{l8="v8"}', '' ],
	[ '__name__', '{host="h1",l9!="x"}', '' ],
);
# Every case against the oracle; $mode 'index' also checks the strategy the
# in-memory index chose, 'tables' that the index was not used.
sub run_cases
{
	my ($mode) = @_;
	for my $c (@cases)
	{
		my ($name, $sel, $strategy, $tenant) = @$c;
		my %opts = $tenant ? (headers => { 'X-Scope-OrgID' => $tenant }) : ();
		my $what = "$mode: $name of $sel" . ($tenant ? " in tenant $tenant" : '');
		is_deeply(names_of($sel, %opts), oracle_names($sel, %opts), "$mode: label names of $sel");
		my $offset = -s $node->logfile;
		is_deeply(values_of($name, $sel, %opts), oracle($name, $sel, %opts), $what);
		my $log = slurp_file($node->logfile, $offset);
		if ($mode eq 'index' && $strategy)
		{
			like($log,
				qr/alloy label values of "\Q$name\E": \d+ matched series, \d+ values, \Q$strategy\E/,
				"$what: $strategy");
		}
		elsif ($mode eq 'tables')
		{
			unlike($log, qr/alloy label values of/, "$what: the tables answered");
		}
	}
}

# Set alloy.label_index_max_series and wait until the HTTP worker has it
# (with the index off, no request logs a strategy any more).
sub set_index_size
{
	my ($size, $indexed) = @_;
	$node->safe_psql('postgres',
		"ALTER SYSTEM SET alloy.label_index_max_series = $size; SELECT pg_reload_conf()");
	for (my $i = 0; $i < 100; $i++)
	{
		my $offset = -s $node->logfile;
		values_of('mode', 'm1');
		my $used = slurp_file($node->logfile, $offset) =~ /alloy label values of/ ? 1 : 0;
		return if $used == $indexed;
		usleep(100_000);
	}
	die "alloy.label_index_max_series = $size did not take effect";
}

run_cases('index');
set_index_size(0, 0);
run_cases('tables');
# smaller than the catalog: the index gives up and the tables answer
set_index_size(100, 0);
run_cases('tables');
set_index_size(4194304, 1);
run_cases('index');

is_deeply(values_of('mode', 'm1'), [qw(idle iowait system user)], 'the four modes, sorted');
is_deeply(values_of('mode', 'm1', headers => { 'X-Scope-OrgID' => 'other' }),
	[qw(idle steal)], 'the other tenant has its own modes');
is_deeply(values_of('host', '{env="dev"}'), [ sort map { "h$_" } 0 .. 19 ], 'hosts of env=dev');
is_deeply(values_of('l59', '{host="h1"}'), ['v59'], 'a label of the wide series');
my (undef, $wide) = query_json($node, '/api/v1/series?match[]=wide');
is(scalar keys %{ $wide->{data}[0] }, 62, 'the wide series has all its labels');

# A series created after the index was built shows up; an aborted one not.
$node->safe_psql('postgres', q{
	BEGIN;
	SELECT alloy.write('{"__name__": "m1", "host": "h0", "cpu": "0", "mode": "aborted"}', now(), 1);
	ROLLBACK;
	SELECT alloy.write('{"__name__": "m1", "host": "h0", "cpu": "0", "mode": "nice"}', now(), 1);
});
is_deeply(values_of('mode', 'm1'), [qw(idle iowait nice system user)], 'a new series is seen');
is_deeply(values_of('mode', '{host="h0"}'), [qw(idle iowait nice system user)],
	'a new series is seen by the scan strategy too');
$node->safe_psql('postgres', q{
	SELECT alloy.write('{"__name__": "m4", "host": "h0"}', now(), 1, 'other');
});
is_deeply(values_of('__name__', '{host="h0"}'), [qw(m1 m2 m3)],
	'a series of another tenant with the same labels is not this tenant\'s');
is_deeply(values_of('__name__', '{host=~"h.*"}', headers => { 'X-Scope-OrgID' => 'other' }),
	['m4'], 'a new series of the other tenant');

# A new catalog (DROP and CREATE EXTENSION) starts the index afresh.
$node->safe_psql('postgres', q{
	DROP EXTENSION alloy CASCADE;
	CREATE EXTENSION alloy;
	SELECT alloy.write('{"__name__": "m9", "host": "a"}', now(), 1);
});
is_deeply(values_of('host', 'm9'), ['a'], 'after DROP and CREATE EXTENSION');
is_deeply(values_of('mode', 'm1'), [], 'old series are gone');

ok(wait_for_http($node, '/-/healthy'), 'the worker is still up');
$node->stop;
done_testing();

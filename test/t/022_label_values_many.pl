# Label names and values with match[] over many series: the answer is built
# from memory that must outlive the read transaction (a crash here once
# restarted the whole cluster).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlloyTest;

my $node = alloy_node('many_labels', create_extension => 1, conf => "alloy.retention = 0\n");
ok(wait_for_http($node, '/-/ready'), 'ready');
$node->safe_psql('postgres',
	q{SELECT alloy.write(jsonb_build_object('__name__', 'many', 'i', i::text, 'g', (i % 7)::text), now(), i)
	  FROM generate_series(1, 40000) i});

my ($st, $json) = query_json($node, '/api/v1/label/i/values?match[]=many');
is($st, 200, 'label values with match[] over 40k series answers');
is(scalar @{ $json->{data} }, 40000, 'every value is there');
($st, $json) = query_json($node, '/api/v1/labels?match[]=many');
is_deeply($json->{data}, [ '__name__', 'g', 'i' ], 'label names with match[] over 40k series');
($st, $json) = query_json($node, '/api/v1/label/g/values?match[]=' . uri_escape('many{g=~"[1-3]"}'));
is_deeply($json->{data}, [ '1', '2', '3' ], 'values are unique and sorted');
($st, $json) = query_json($node, '/api/v1/series?match[]=many');
is(scalar @{ $json->{data} }, 40000, 'series over 40k series');
ok(wait_for_http($node, '/-/healthy'), 'the worker is still up');
$node->stop;
done_testing();

# AlloyTest: shared helpers of alloy's TAP tests.
#
# Starts PostgreSQL::Test::Cluster nodes with alloy preloaded and its HTTP
# workers on a free port, and talks HTTP to them with HTTP::Tiny (core Perl),
# so the tests need nothing beyond PostgreSQL's own TAP modules.
package AlloyTest;

use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

our @EXPORT = qw(alloy_node http_request wait_for_http rw_send query_json uri_escape);

# A new, started node with alloy preloaded. %opts: conf => extra config text,
# http_port => port (default: a free one), create_extension => 1 to run
# CREATE EXTENSION, start => 0 to leave it stopped.
sub alloy_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $opts{init} // {} });
	my $http_port = $opts{http_port} // PostgreSQL::Test::Cluster::get_free_port();
	$node->append_conf('postgresql.conf', <<"CONF");
shared_preload_libraries = 'alloy'
alloy.port = $http_port
alloy.http_workers = 2
CONF
	$node->append_conf('postgresql.conf', $opts{conf}) if $opts{conf};
	$node->{alloy_http_port} = $http_port;
	return $node if defined $opts{start} && !$opts{start};
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION alloy') if $opts{create_extension};
	return $node;
}

# One HTTP request to the node's alloy port. Returns the HTTP::Tiny response
# hash (status, content, headers); status 599 means no connection.
sub http_request
{
	my ($node, $method, $path, %opts) = @_;
	my $http = HTTP::Tiny->new(timeout => $opts{timeout} // 30, keep_alive => 0);
	my $url = "http://127.0.0.1:$node->{alloy_http_port}$path";
	my %args;
	$args{headers} = $opts{headers} if $opts{headers};
	$args{content} = $opts{content} if defined $opts{content};
	return $http->request($method, $url, \%args);
}

# Poll path until it answers with $status (default 200); returns whether it did.
sub wait_for_http
{
	my ($node, $path, $status, $seconds) = @_;
	$status //= 200;
	$seconds //= $PostgreSQL::Test::Utils::timeout_default;
	for (my $i = 0; $i < $seconds * 10; $i++)
	{
		my $res = http_request($node, 'GET', $path, timeout => 2);
		return 1 if $res->{status} == $status;
		usleep(100_000);
	}
	return 0;
}

# Send samples given as text lines (`metric{a="b"} value [ts_ms]`, see
# test/tools/rwclient.c) with our own remote-write client. Returns the HTTP
# status the server answered (0 if none). %opts: protocol => 1|2,
# tenant => name.
sub rw_send
{
	my ($node, $text, %opts) = @_;
	my $client = "$ENV{ALLOY_TOP}/test/tools/build/rwclient";
	my @cmd = ($client);
	push @cmd, '-p', $opts{protocol} if $opts{protocol};
	push @cmd, '-t', $opts{tenant} if $opts{tenant};
	push @cmd, '-H', $opts{header} if $opts{header};
	push @cmd, "127.0.0.1:$node->{alloy_http_port}";
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \$text, '>', \$out, '2>', \$err);
	my ($status) = $out =~ /^(\d{3})/m;
	return $status // 0;
}

# GET an API path and decode the JSON answer; returns (status, decoded).
sub query_json
{
	my ($node, $path, %opts) = @_;
	my $res = http_request($node, 'GET', $path, %opts);
	my $data = eval { JSON::PP::decode_json($res->{content}) };
	return ($res->{status}, $data, $res->{content});
}

# Percent-encode a query parameter value.
sub uri_escape
{
	my ($s) = @_;
	$s =~ s/([^A-Za-z0-9\-_.~])/sprintf('%%%02X', ord($1))/ge;
	return $s;
}

1;

# A port that is already taken: the worker logs a clear error, PostgreSQL
# keeps running and serving SQL, and the worker binds once the port is free.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Socket::INET;
use AlloyTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
# held without SO_REUSEPORT, so alloy's workers cannot share it
my $holder = IO::Socket::INET->new(
	LocalAddr => '127.0.0.1', LocalPort => $port,
	Listen => 5, ReuseAddr => 1, Proto => 'tcp')
  or die "cannot hold port $port: $!";

my $node = alloy_node('port_taken', http_port => $port, create_extension => 1);

ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'PostgreSQL serves SQL while the port is taken');
my $log_ok = 0;
for (1 .. 100)
{
	if (slurp_file($node->logfile) =~ /alloy could not listen on "127\.0\.0\.1" port $port: Address already in use/)
	{
		$log_ok = 1;
		last;
	}
	select(undef, undef, undef, 0.1);
}
ok($log_ok, 'the log names the address, the port and the reason');

my $log = slurp_file($node->logfile);
my $restarts = () = $log =~ /background worker "alloy http worker \d+" \(PID \d+\) exited/g;
is($restarts, 0, 'workers do not exit and restart in a loop');

close($holder);
ok(wait_for_http($node, '/-/ready', 200, 30), 'workers bind once the port is free');

$node->stop;
done_testing();

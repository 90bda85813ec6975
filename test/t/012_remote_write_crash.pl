# A 204 means durable: stop PostgreSQL with -m immediate in the middle of
# steady remote-write traffic, restart, and find every acknowledged sample.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use POSIX ();
use Time::HiRes qw(usleep);
use AlloyTest;

my $node = alloy_node('rw_crash', create_extension => 1);
ok(wait_for_http($node, '/-/ready'), 'ready');

my $acked_file = "$PostgreSQL::Test::Utils::tmp_check/acked.txt";
my $base = int(time()) * 1000 - 3600_000;

my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0)
{
	# the sender: 20 series per request, one new timestamp per request
	open my $log, '>', $acked_file or die;
	$log->autoflush(1);
	my $failures = 0;
	for (my $i = 0; $i < 100000 && $failures < 20; $i++)
	{
		my $t = $base + $i * 10;
		my $text = join('', map { qq(crash_metric{series="$_"} $i $t\n) } 1 .. 20);
		if (rw_send($node, $text) == 204)
		{
			print $log "$t\n";
		}
		else
		{
			$failures++;
			usleep(50_000);
		}
	}
	# skip the END blocks of the test modules, which belong to the parent
	POSIX::_exit(0);
}

# let it run, then pull the plug
usleep(2_000_000);
$node->stop('immediate');
waitpid($pid, 0);

open my $fh, '<', $acked_file or die;
my @acked = map { chomp; $_ } <$fh>;
close $fh;
cmp_ok(scalar @acked, '>', 10, 'requests were acknowledged before the crash');

$node->start;
my $stored = $node->safe_psql('postgres', <<'SQL');
SELECT (extract(epoch FROM d.time) * 1000)::bigint, count(*)
FROM alloy.samples d JOIN alloy.series s USING (series_id)
WHERE s.metric = 'crash_metric' GROUP BY 1
SQL
my %have = map { split /\|/ } split /\n/, $stored;
my @lost = grep { !defined $have{$_} || $have{$_} != 20 } @acked;
is(scalar @lost, 0, 'every acknowledged sample survived the crash')
  or diag("lost: @lost[0 .. ($#lost < 5 ? $#lost : 5)]");
my @partial = grep { $_ != 20 } values %have;
is(scalar @partial, 0, 'no request is half stored');

ok(wait_for_http($node, '/-/ready'), 'ready again after the restart');

# No answer before the flush: with the WAL flusher stopped, a write is
# committed but its 204 waits; once the flusher runs again the next write is
# acknowledged as usual.
my ($pmpid) = slurp_file($node->data_dir . '/postmaster.pid') =~ /^(\d+)/;
my $flusher = `pgrep -P $pmpid -f 'alloy wal flusher'`;
chomp $flusher;
ok($flusher =~ /^\d+$/, 'the WAL flusher runs');
kill 'STOP', $flusher;
my $res = AlloyTest::http_request($node, 'GET', '/-/healthy', timeout => 5);
is($res->{status}, 200, 'the HTTP worker keeps serving while a flush is outstanding');
my $t_held = $base + 999_999;
my $pid2 = fork();
if ($pid2 == 0)
{
	my $st = rw_send($node, qq(held_metric{x="1"} 1 $t_held\n));
	POSIX::_exit($st == 204 ? 0 : 1);
}
usleep(1_500_000);
is(waitpid($pid2, POSIX::WNOHANG()), 0, 'no 204 while the WAL flush is held back');
kill 'CONT', $flusher;
waitpid($pid2, 0);
is($? >> 8, 0, 'the 204 arrives once the flusher has flushed');
is(rw_send($node, qq(crash_metric{series="after"} 1 $base\n)), 204, 'ingest works after recovery');

$node->stop;
done_testing();

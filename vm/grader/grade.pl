# Runs in the grader, one process, so nothing of the machine is executed on the way: clones of the
# grader's /usr, its own folder and its files are taken (open_tree); then it enters the machine's mount
# namespace (setns, through the shared PID namespace), makes a private copy of it (unshare) and moves the
# clones over the machine's (move_mount): the machine's files and mounts; /usr the grader's laid over the
# machine's (overlayfs: a program both have is the grader's, one only the machine has, such as containerd in
# /bin or what the learner put in /usr/local, is the machine's, graded by path). Then the command, with a clean
# environment whose PATH puts the release binaries and the grader's programs first and the machine's
# /usr/local last. (A bind mount cannot cross mount namespaces; a detached clone can be moved.)
use strict; use warnings; use Config;
my %nr = (x86_64 => [308, 272, 165], aarch64 => [268, 97, 40]);
my ($arch) = $Config{archname} =~ /^([^-]+)/;
my ($SETNS, $UNSHARE, $MOUNT) = @{ $nr{$arch} or die "the grader knows no system calls for $arch\n" };
my ($OPEN_TREE, $MOVE_MOUNT, $AT_FDCWD, $CLONE, $RECURSIVE, $EMPTY_PATH, $NEWNS, $REC_PRIVATE, $RDONLY) = (428, 429, -100, 1, 0x8000, 4, 0x20000, 0x4000 | 0x40000, 1);
my $DIR = '/run/hardway-grader';
# Folders of the machine's root that must be Debian's links into /usr, or the grader's /usr would not be what runs.
my @USR_LINKS = qw(bin sbin lib lib32 lib64 libx32);
# The grader's files laid over the machine's: the loader's cache, OpenSSL's, ssh's and name lookup's configuration.
my @OWN_FILES = qw(/etc/ld.so.cache /etc/ssl/openssl.cnf /etc/ssh/ssh_config /etc/ssh/ssh_config.d /etc/nsswitch.conf);
# The machine's files that would change what a tool does, emptied: a preload, curl's, wget's, ssh's and jq's per-user files.
my @EMPTIED = qw(/etc/ld.so.preload /root/.curlrc /root/.config/curlrc /root/.wgetrc /root/.ssh/config /root/.jq);
my $PATH = "$DIR/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin";

# syscall() hands strings over as pointers, so each is a variable of its own
sub clone_of { my $path = "$_[0]"; my $fd = syscall($OPEN_TREE, $AT_FDCWD, $path, $CLONE | $RECURSIVE); die "grader: open_tree $path: $!\n" if $fd < 0; $fd }
sub move_to { my ($empty, $to) = ("", "$_[1]"); syscall($MOVE_MOUNT, $_[0], $empty, $AT_FDCWD, $to, $EMPTY_PATH) == 0 or die "grader: move_mount onto $to: $!\n" }

my @links = map { [$_, readlink("/$_")] } grep { -l "/$_" } @USR_LINKS;
my $usr = clone_of('/usr');
my $own = clone_of($DIR);
my @files = map { [$_, clone_of($_)] } grep { -e $_ } @OWN_FILES;
my @emptied = map { [$_, clone_of('/dev/null'), clone_of("$DIR/empty")] } @EMPTIED;
open(my $ns, '<', '/proc/1/ns/mnt') or die "grader: the machine's mount namespace: $!\n";
syscall($SETNS, fileno($ns), $NEWNS) == 0 or die "grader: setns: $!\n";
syscall($UNSHARE, $NEWNS) == 0 or die "grader: unshare: $!\n";
my ($none, $root) = ('none', '/');
syscall($MOUNT, $none, $root, 0, $REC_PRIVATE, 0) == 0 or die "grader: private mounts: $!\n";
chdir('/') or die "grader: chdir /: $!\n";
for (@links) { my ($d, $to) = @$_; (readlink("/$d") // '') eq $to or die "the grader cannot grade this machine: its /$d is not a link to $to\n" }
my $machine_usr = clone_of('/usr');
-d $DIR or mkdir($DIR) or die "grader: $DIR: $!\n";
move_to($own, $DIR);
move_to($usr, "$DIR/stage/grader-usr");
move_to($machine_usr, "$DIR/stage/machine-usr");
my ($overlay, $target, $options) = ('overlay', '/usr', "lowerdir=$DIR/stage/grader-usr:$DIR/stage/machine-usr");
syscall($MOUNT, $overlay, $target, $overlay, $RDONLY, $options) == 0 or die "grader: /usr: $!\n";
for (@files) { move_to($_->[1], $_->[0]) if -e $_->[0] }
for (@emptied) { my ($path, $null, $empty) = @$_; if (-d $path) { move_to($empty, $path) } elsif (-e $path) { move_to($null, $path) } }
exec { '/usr/bin/env' } 'env', '-i', "PATH=$PATH", 'HOME=/root', 'USER=root', 'LOGNAME=root', 'LANG=C.UTF-8',
  "KUBECACHEDIR=$DIR/kube-cache", "HARDWAY_RELEASES=$DIR/releases", '/usr/bin/bash', '-c', 'cd /root && exec "$@"', 'grade', @ARGV;
die "grader: $!\n";

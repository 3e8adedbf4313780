#!/bin/sh
# Start or stop the test DNS server: unbound answering the RBL test zones of
# unbound.conf.in on 127.0.0.1:PORT, and nothing else.
#   unbound.sh start DIR PORT   config, log and pid file in DIR; returns once
#                               the server answers (TCP connect), or fails
#   unbound.sh stop DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/daemon.sh"
unbound=${UNBOUND:-/usr/sbin/unbound}

usage() {
	echo "usage: $0 start DIR PORT | stop DIR" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1 dir=$2

case $cmd in
start)
	[ $# -eq 3 ] || usage
	port=$3
	if [ ! -x "$unbound" ]; then
		echo "$0: $unbound not found: install the Debian package \"unbound\"" >&2
		exit 1
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" "$here/unbound.conf.in" >"$dir/unbound.conf"
	"$unbound" -d -c "$dir/unbound.conf" >"$dir/unbound.log" 2>&1 &
	echo $! >"$dir/unbound.sh.pid"
	daemon_wait unbound "$dir/unbound.sh.pid" "$dir/unbound.log" tcp_listening 127.0.0.1 "$port"
	;;
stop)
	daemon_stop "$dir/unbound.sh.pid"
	;;
*)
	usage
	;;
esac

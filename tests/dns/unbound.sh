#!/bin/sh
# Start or stop the test DNS server: unbound answering the RBL test zones of
# unbound.conf.in on 127.0.0.1:PORT, and nothing else.
#   unbound.sh start DIR PORT   config, log and pid file in DIR; returns once
#                               the server answers (TCP connect), or fails
#   unbound.sh stop DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
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
	i=0
	while [ $i -lt 100 ]; do
		if ! kill -0 "$(cat "$dir/unbound.sh.pid")" 2>/dev/null; then
			echo "$0: unbound exited:" >&2
			cat "$dir/unbound.log" >&2
			exit 1
		fi
		# TCP probe through bash's /dev/tcp (plain sh has none)
		if bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
			exit 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "$0: unbound did not answer on 127.0.0.1:$port" >&2
	kill "$(cat "$dir/unbound.sh.pid")" 2>/dev/null || true
	exit 1
	;;
stop)
	if [ -f "$dir/unbound.sh.pid" ]; then
		pid=$(cat "$dir/unbound.sh.pid")
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		rm -f "$dir/unbound.sh.pid"
	fi
	;;
*)
	usage
	;;
esac

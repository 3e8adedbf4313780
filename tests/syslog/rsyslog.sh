#!/bin/sh
# Start or stop the test syslog receiver: rsyslogd with rsyslog.conf.in,
# listening on 127.0.0.1:UDP_PORT (UDP), 127.0.0.1:TCP_PORT (TCP) and the unix
# datagram socket SOCKET, writing what it receives to DIR/received.log.  It
# reads no system configuration and touches neither /dev/log nor /var/log.
#   rsyslog.sh start DIR UDP_PORT TCP_PORT SOCKET   returns once rsyslogd
#                      accepts TCP connections and SOCKET exists, or fails
#   rsyslog.sh stop DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
rsyslogd=${RSYSLOGD:-/usr/sbin/rsyslogd}

usage() {
	echo "usage: $0 start DIR UDP_PORT TCP_PORT SOCKET | stop DIR" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1 dir=$2

case $cmd in
start)
	[ $# -eq 5 ] || usage
	udp=$3 tcp=$4 sock=$5
	if [ ! -x "$rsyslogd" ]; then
		echo "$0: $rsyslogd not found: install the Debian package \"rsyslog\"" >&2
		exit 1
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	sed -e "s|@DIR@|$dir|g" -e "s|@UDP_PORT@|$udp|g" -e "s|@TCP_PORT@|$tcp|g" \
		-e "s|@SOCKET@|$sock|g" "$here/rsyslog.conf.in" >"$dir/rsyslog.conf"
	: >"$dir/received.log"
	# -n: foreground; -f: this configuration only; -i: a private pid file.
	"$rsyslogd" -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >"$dir/rsyslogd.log" 2>&1 &
	echo $! >"$dir/rsyslog.sh.pid"
	i=0
	while [ $i -lt 100 ]; do
		if ! kill -0 "$(cat "$dir/rsyslog.sh.pid")" 2>/dev/null; then
			echo "$0: rsyslogd exited:" >&2
			cat "$dir/rsyslogd.log" >&2
			exit 1
		fi
		# TCP probe through bash's /dev/tcp (plain sh has none)
		if [ -S "$sock" ] && bash -c "exec 3<>/dev/tcp/127.0.0.1/$tcp" 2>/dev/null; then
			exit 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "$0: rsyslogd did not listen on 127.0.0.1:$tcp and $sock:" >&2
	cat "$dir/rsyslogd.log" >&2
	kill "$(cat "$dir/rsyslog.sh.pid")" 2>/dev/null || true
	exit 1
	;;
stop)
	if [ -f "$dir/rsyslog.sh.pid" ]; then
		pid=$(cat "$dir/rsyslog.sh.pid")
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$dir/rsyslog.sh.pid"
	fi
	;;
*)
	usage
	;;
esac

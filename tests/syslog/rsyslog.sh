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
. "$here/../lib/daemon.sh"
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
	ready() { [ -S "$sock" ] && tcp_listening 127.0.0.1 "$tcp"; }
	daemon_wait rsyslogd "$dir/rsyslog.sh.pid" "$dir/rsyslogd.log" ready
	;;
stop)
	daemon_stop "$dir/rsyslog.sh.pid"
	;;
*)
	usage
	;;
esac

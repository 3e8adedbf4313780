# Shared by the test-server scripts (tests/dns/unbound.sh, tests/syslog/rsyslog.sh):
# waiting for a background server to come up, and stopping it.  Sourced.
#
# daemon_wait NAME PIDFILE LOG CHECK...  polls for up to 10 s until the
#   command CHECK... succeeds; fails (with LOG) if the process dies or never
#   gets there, killing it in the second case.
# daemon_stop PIDFILE  TERM, up to 5 s, then KILL; removes PIDFILE.

daemon_wait() {
	_name=$1 _pidf=$2 _log=$3
	shift 3
	_i=0
	while [ $_i -lt 100 ]; do
		if ! kill -0 "$(cat "$_pidf")" 2>/dev/null; then
			echo "$0: $_name exited:" >&2
			cat "$_log" >&2
			return 1
		fi
		if "$@" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "$0: $_name did not come up:" >&2
	cat "$_log" >&2
	kill "$(cat "$_pidf")" 2>/dev/null || true
	return 1
}

daemon_stop() {
	[ -f "$1" ] || return 0
	_pid=$(cat "$1")
	kill "$_pid" 2>/dev/null || true
	_i=0
	while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -9 "$_pid" 2>/dev/null || true
	rm -f "$1"
}

# TCP connect probe through bash's /dev/tcp (plain sh has none).
tcp_listening() {
	bash -c "exec 3<>/dev/tcp/$1/$2"
}

#!/bin/bash
# Tests of tools/postern-bridge inside fresh network namespaces (the host's
# bridges, rules and sysctls are never touched; kernel modules are global,
# the script loads br_netfilter if it is not there).
#
#   test_bridge_script.sh PATH/TO/postern-bridge
#
# Namespace NS holds the bridge (ports va, vc); NA and NB sit on the other
# ends of the veth pairs, so TCP between NA and NB is bridged traffic that
# goes through FORWARD in NS (and mangle POSTROUTING after it).  Each check prints "ok" or "FAIL"; the last
# line is "N passed, N failed".  Needs root (exit 77, meson's skip, if not).
set -u -o pipefail
SCRIPT=${1:?usage: test_bridge_script.sh PATH/TO/postern-bridge}
case $SCRIPT in /*) ;; *) SCRIPT=$PWD/$SCRIPT ;; esac
export LC_ALL=C

if [ "$(id -u)" != 0 ]; then
	echo "skip: needs root (network namespaces, iptables)"
	exit 77
fi
for t in ip iptables ip6tables iptables-save ip6tables-save sysctl python3; do
	command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done

NS=pst-tools-$$ NA=pst-tools-$$-a NB=pst-tools-$$-b
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pst-tools.XXXXXX")
SERVER_PID=""
cleanup() {
	[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null
	local n
	for n in "$NS" "$NA" "$NB"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass=0 fail=0
check() { # name, then a command that must succeed
	local name=$1; shift
	if "$@"; then pass=$((pass + 1)); echo "ok   $name"
	else fail=$((fail + 1)); echo "FAIL $name"; fi
}
in_ns() { ip netns exec "$NS" "$@"; }
pb() { ip netns exec "$NS" "$SCRIPT" "$@"; }
fails() { ! "$@"; }
status_is() { local want=$1; shift; "$@" >/dev/null 2>&1; [ $? = "$want" ]; }
same_file() { cmp -s "$1" "$2" || { diff -u "$1" "$2" | head -40; return 1; }; }
# The namespace's state the script may change: both rule sets (without
# counters), its links with their masters, the bridge sysctls.
snapshot() {
	{
		in_ns iptables-save | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'
		in_ns ip6tables-save | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'
		# name, admin up or not, master
		ip -n "$NS" -o link show | awk '{ m = "-"; for (i = 3; i < NF; i++) if ($i == "master") m = $(i + 1);
			print $2, ($3 ~ /[<,]UP[,>]/ ? "up" : "down"), m }'
		in_ns sh -c 'cat /proc/sys/net/bridge/bridge-nf-call-ip*tables 2>/dev/null'
	} >"$1"
}
# count FAMILY PATTERN [TABLE]: lines of FAMILY -S equal to PATTERN
count_rule() { in_ns "$1" -w -t "${3:-filter}" -S | grep -cxF -- "$2"; }
# The mangle table of both families, without counters.
mangle_save() {
	{
		in_ns iptables-save -t mangle | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'
		in_ns ip6tables-save -t mangle | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//'
	} >"$1"
}
# counter FAMILY TABLE TARGET: packet count of the POSTERN rule with TARGET
counter() {
	in_ns "$1" -w -t "$2" -L POSTERN -n -v -x | awk -v t="$3" '$3 == t { print $1 }'
}
# Commands run by -v (stderr "+ " lines), modprobe left out: modules are
# global and may be loaded already.
trace() { grep '^+ ' "$1" | sed 's/^+ //' | grep -v '^modprobe ' || true; }

JUMP='-A FORWARD -i br0 -o br0 -m physdev --physdev-is-bridged -j POSTERN'
RULE_DEFAULT='-A POSTERN -p tcp -m multiport --ports 25,587,80,443 -m connmark ! --mark 0x10000000/0x10000000 -j NFQUEUE --queue-balance 0:3 --queue-bypass'
MJUMP='-A POSTROUTING -o br0 -m physdev --physdev-is-bridged -j POSTERN'
SAVE_DEFAULT='-A POSTERN -m mark --mark 0x10000000/0x10000000 -j CONNMARK --save-mark --nfmask 0x10000000 --ctmask 0x10000000'

# ---- namespaces ----
ip netns add "$NS" && ip netns add "$NA" && ip netns add "$NB" || exit 1
ip -n "$NS" link add va type veth peer name pa netns "$NA" || exit 1
ip -n "$NS" link add vc type veth peer name pc netns "$NB" || exit 1
ip -n "$NA" addr add 10.77.0.1/24 dev pa
ip -n "$NA" addr add fd77::1/64 dev pa nodad
ip -n "$NB" addr add 10.77.0.2/24 dev pc
ip -n "$NB" addr add fd77::2/64 dev pc nodad
for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
ip -n "$NA" link set pa up
ip -n "$NB" link set pc up
ip -n "$NS" link set va up
ip -n "$NS" link set vc up
# Rules of someone else, which must survive install and remove unchanged.
for t in iptables ip6tables; do
	in_ns "$t" -w -A FORWARD -p udp --dport 9 -j ACCEPT
	in_ns "$t" -w -A INPUT -p tcp --dport 22 -j ACCEPT
	in_ns "$t" -w -t mangle -A POSTROUTING -p udp --dport 9 -j ACCEPT
done
snapshot "$TMP/pristine"
mangle_save "$TMP/pristine_mangle"

# ---- argument errors: exit 2, nothing changed ----
for args in "install --tcp-ports 0" "install --tcp-ports 70000" "install --tcp-ports 25,x" \
	"install --tcp-ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16" "install --tcp-ports 25,25" \
	"install --tcp-ports ," "install --queues 3-1" "install --queues 70000" "install --queues a" \
	"install --bypass-mark 0x10" "install --bypass-mark 0x10/0x1" "install --bypass-mark x/1" \
	"install --bypass-mark 0x100000000/0x100000000" "install --bypass-mark 0/0" \
	"install --bridge" "install --bridge a/b" "install --bridge abcdefghijklmnop" \
	"install --ports eth0,,eth1" "install --ports br0" "install --frob" "install --dry-run=yes" \
	"remove --ports va" "remove --frob" "status --fail-closed" "frob" ""; do
	# shellcheck disable=SC2086
	check "argument error exits 2: '$args'" status_is 2 pb $args
done
check "error message names the bad value" \
	sh -c "ip netns exec $NS $SCRIPT install --queues 3-1 2>&1 | grep -qF \"'3-1'\""
check "15 ports accepted" status_is 0 pb install --dry-run --tcp-ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
snapshot "$TMP/s"
check "argument errors changed nothing" same_file "$TMP/pristine" "$TMP/s"

# ---- dry-run install: the whole list from scratch, nothing changed ----
cat >"$TMP/want_install" <<'EOF'
modprobe br_netfilter
ip link add name br0 type bridge
ip link set dev va master br0
ip link set dev va up
ip link set dev vc master br0
ip link set dev vc up
ip link set dev br0 up
sysctl -q -w net.bridge.bridge-nf-call-iptables=1
sysctl -q -w net.bridge.bridge-nf-call-ip6tables=1
iptables -w -N POSTERN
iptables -w -A POSTERN -p tcp -m multiport --ports 25,587,80,443 -m connmark '!' --mark 0x10000000/0x10000000 -j NFQUEUE --queue-balance 0:3 --queue-bypass
iptables -w -I FORWARD 1 -i br0 -o br0 -m physdev --physdev-is-bridged -j POSTERN
iptables -w -t mangle -N POSTERN
iptables -w -t mangle -A POSTERN -m mark --mark 0x10000000/0x10000000 -j CONNMARK --save-mark --nfmask 0x10000000 --ctmask 0x10000000
iptables -w -t mangle -I POSTROUTING 1 -o br0 -m physdev --physdev-is-bridged -j POSTERN
ip6tables -w -N POSTERN
ip6tables -w -A POSTERN -p tcp -m multiport --ports 25,587,80,443 -m connmark '!' --mark 0x10000000/0x10000000 -j NFQUEUE --queue-balance 0:3 --queue-bypass
ip6tables -w -I FORWARD 1 -i br0 -o br0 -m physdev --physdev-is-bridged -j POSTERN
ip6tables -w -t mangle -N POSTERN
ip6tables -w -t mangle -A POSTERN -m mark --mark 0x10000000/0x10000000 -j CONNMARK --save-mark --nfmask 0x10000000 --ctmask 0x10000000
ip6tables -w -t mangle -I POSTROUTING 1 -o br0 -m physdev --physdev-is-bridged -j POSTERN
EOF
pb install --ports va,vc --dry-run >"$TMP/dry" 2>"$TMP/dry.err"
check "install --dry-run exits 0, quiet on stderr" test $? = 0 -a ! -s "$TMP/dry.err"
check "install --dry-run prints exactly the install commands" same_file "$TMP/want_install" "$TMP/dry"
snapshot "$TMP/s"
check "install --dry-run changed nothing" same_file "$TMP/pristine" "$TMP/s"
cat >"$TMP/want_one" <<'EOF'
iptables -w -N POSTERN
iptables -w -A POSTERN -p tcp -m multiport --ports 25 -m connmark '!' --mark 0x1/0x3 -j NFQUEUE --queue-num 2
iptables -w -I FORWARD 1 -i br0 -o br0 -m physdev --physdev-is-bridged -j POSTERN
iptables -w -t mangle -N POSTERN
iptables -w -t mangle -A POSTERN -m mark --mark 0x1/0x3 -j CONNMARK --save-mark --nfmask 0x3 --ctmask 0x3
iptables -w -t mangle -I POSTROUTING 1 -o br0 -m physdev --physdev-is-bridged -j POSTERN
EOF
pb install --dry-run --queues 2 --fail-closed --no-ipv6 --bypass-mark 1/0x3 --tcp-ports 025 |
	grep -v -e '^modprobe ' -e '^sysctl ' >"$TMP/dry"
check "dry-run: one queue, fail-closed, no IPv6, own mark" same_file "$TMP/want_one" "$TMP/dry"
check "dry-run: --no-ipv6 leaves the ip6tables sysctl alone" sh -c \
	"ip netns exec $NS $SCRIPT install --dry-run --no-ipv6 | grep -c '^sysctl ' | grep -qx 1"

# ---- install ----
check "a missing port fails with exit 1" status_is 1 pb install --ports va,nosuch
snapshot "$TMP/s"
check "the failed install changed nothing" same_file "$TMP/pristine" "$TMP/s"

pb install -v --ports va,vc >"$TMP/out" 2>"$TMP/err"
check "install exits 0" test $? = 0
check "bridge-nf sysctls exist in the namespace" in_ns test -e /proc/sys/net/bridge/bridge-nf-call-iptables
grep -v '^modprobe ' "$TMP/want_install" >"$TMP/want_trace"
trace "$TMP/err" >"$TMP/got_trace"
check "install from scratch ran exactly the dry-run list" same_file "$TMP/want_trace" "$TMP/got_trace"
for t in iptables ip6tables; do
	check "$t: one jump from FORWARD" test "$(count_rule $t "$JUMP")" = 1
	check "$t: one queue rule" test "$(count_rule $t "$RULE_DEFAULT")" = 1
	check "$t: chain holds that rule only" test "$(in_ns $t -w -S POSTERN | grep -c '^-A ')" = 1
	check "$t: the jump comes first in FORWARD" \
		test "$(in_ns $t -w -S FORWARD | grep '^-A ' | head -1)" = "$JUMP"
	check "$t: the other rules are still there" test "$(count_rule $t '-A FORWARD -p udp -m udp --dport 9 -j ACCEPT')" = 1
	check "$t mangle: one jump from POSTROUTING" test "$(count_rule $t "$MJUMP" mangle)" = 1
	check "$t mangle: one save-mark rule" test "$(count_rule $t "$SAVE_DEFAULT" mangle)" = 1
	check "$t mangle: chain holds that rule only" \
		test "$(in_ns $t -w -t mangle -S POSTERN | grep -c '^-A ')" = 1
	check "$t mangle: the jump comes first in POSTROUTING" \
		test "$(in_ns $t -w -t mangle -S POSTROUTING | grep '^-A ' | head -1)" = "$MJUMP"
	check "$t mangle: the other rule is still there" \
		test "$(count_rule $t '-A POSTROUTING -p udp -m udp --dport 9 -j ACCEPT' mangle)" = 1
done
check "bridge br0 exists" in_ns test -d /sys/class/net/br0/bridge
check "va and vc are its ports" test "$(in_ns ls /sys/class/net/br0/brif | tr '\n' ' ')" = "va vc "
check "bridge is up" sh -c "ip -n $NS -o link show br0 | grep -q '[<,]UP[,>]'"
check "bridge-nf-call-iptables=1" test "$(in_ns cat /proc/sys/net/bridge/bridge-nf-call-iptables)" = 1
check "bridge-nf-call-ip6tables=1" test "$(in_ns cat /proc/sys/net/bridge/bridge-nf-call-ip6tables)" = 1
check "status exits 0 and says installed" sh -c "ip netns exec $NS $SCRIPT status | grep -qx 'installed: yes'"
check "status shows the mangle chain and its jump" sh -c "ip netns exec $NS $SCRIPT status |
	grep -qx 'iptables: mangle chain POSTERN with 1 rule(s), 1 jump(s) from POSTROUTING'"
in_ns iptables -w -t mangle -D POSTROUTING -o br0 -m physdev --physdev-is-bridged -j POSTERN
check "status without the mangle jump exits 3" status_is 3 pb status
check "install puts the mangle jump back" status_is 0 pb install --ports va,vc
snapshot "$TMP/installed"

pb install -v --ports va,vc >"$TMP/out" 2>"$TMP/err"
check "second install exits 0" test $? = 0
snapshot "$TMP/s"
check "second install changed nothing" same_file "$TMP/installed" "$TMP/s"
check "second install ran no iptables command" sh -c "! grep -q '^+ ip6*tables' '$TMP/err'"
for t in iptables ip6tables; do
	check "$t mangle: still one jump after the second install" test "$(count_rule $t "$MJUMP" mangle)" = 1
	check "$t mangle: still one save-mark rule after the second install" \
		test "$(in_ns $t -w -t mangle -S POSTERN | grep '^-A ')" = "$SAVE_DEFAULT"
done

for t in iptables ip6tables; do
	in_ns $t -w -A FORWARD -i br0 -o br0 -m physdev --physdev-is-bridged -j POSTERN
	in_ns $t -w -I FORWARD 2 -i br9 -o br9 -m physdev --physdev-is-bridged -j POSTERN
	in_ns $t -w -I FORWARD 1 -i br0 -o br0 -p tcp -j POSTERN
	check "$t: 4 jumps planted" test "$(in_ns $t -w -S FORWARD | grep -c -- '-j POSTERN$')" = 4
	in_ns $t -w -t mangle -A POSTROUTING -o br0 -m physdev --physdev-is-bridged -j POSTERN
	in_ns $t -w -t mangle -I POSTROUTING 2 -o br9 -m physdev --physdev-is-bridged -j POSTERN
	check "$t mangle: 3 jumps planted" \
		test "$(in_ns $t -w -t mangle -S POSTROUTING | grep -c -- '-j POSTERN$')" = 3
done
check "install with duplicate jumps exits 0" status_is 0 pb install --ports va,vc
snapshot "$TMP/s"
check "install leaves exactly the one jump again" same_file "$TMP/installed" "$TMP/s"

# ---- traffic through the bridge ----
# A listener in NB on 25 (inspected) and 2526 (not), which close at once,
# and on 587 (inspected), which echoes; NA connects through br0.
ip netns exec "$NB" python3 -c '
import socket, select, threading
def echo(c):
    with c:
        while (d := c.recv(4096)):
            c.sendall(d)
ls = []
for port in (25, 2526, 587):
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port)); s.listen(16); ls.append(s)
while True:
    for s in select.select(ls, [], [])[0]:
        c, _ = s.accept()
        if s.getsockname()[1] == 587:
            threading.Thread(target=echo, args=(c,), daemon=True).start()
        else:
            c.close()
' &
SERVER_PID=$!
connects() { # ADDR PORT: a TCP connection from NA succeeds within 2 s
	ip netns exec "$NA" python3 -c '
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()' "$1" "$2" 2>/dev/null
}
ready=0
for _ in $(seq 50); do connects 10.77.0.2 2526 && { ready=1; break; }; sleep 0.1; done
check "bridged TCP works (listener reachable)" test $ready = 1
check "fail-open, nobody on the queue: port 25 passes (IPv4)" connects 10.77.0.2 25
check "fail-open, nobody on the queue: port 25 passes (IPv6)" connects fd77::2 25
pkts=$(in_ns iptables -w -L POSTERN -n -v -x | awk '$3 == "NFQUEUE" { print $1 }')
check "bridged port-25 packets went through the queue rule (IPv4 count $pkts)" test "${pkts:-0}" -gt 0
pkts6=$(in_ns ip6tables -w -L POSTERN -n -v -x | awk '$3 == "NFQUEUE" { print $1 }')
check "bridged port-25 packets went through the queue rule (IPv6 count $pkts6)" test "${pkts6:-0}" -gt 0

# ---- the bypass mark path ----
# postern's verdict sets the bypass bits in the packet mark; a temporary
# mangle FORWARD rule stands in for it here (mangle FORWARD runs before the
# filter FORWARD queue rule, mangle POSTROUTING after it).  One connection
# to 587 makes one exchange, then, once the counters are read, 20 more and
# closes.  Without marks every packet of it is queued; with them only the
# first one (the SYN: its connection mark is saved on the way out), so the
# queue counter stops growing while the save rule's grows.
session() { # ADDR: one echo exchange, pause until $TMP/go exists, 20 more, close
	rm -f "$TMP/phase1" "$TMP/go"
	ip netns exec "$NA" python3 -c '
import socket, sys, os, time
d = sys.argv[2]
c = socket.create_connection((sys.argv[1], 587), timeout=3)
def rt():
    c.sendall(b"x" * 10)
    got = b""
    while len(got) < 10:
        got += c.recv(10 - len(got))
rt()
open(d + "/phase1", "w").close()
for _ in range(250):
    if os.path.exists(d + "/go"):
        break
    time.sleep(0.02)
else:
    sys.exit("no go")
for _ in range(20):
    rt()
c.close()' "$1" "$TMP" &
	SESSION_PID=$!
	for _ in $(seq 100); do [ -e "$TMP/phase1" ] && break; sleep 0.05; done
}
session_end() { touch "$TMP/go"; wait "$SESSION_PID"; }
mark_test() { # FAMILY ADDR
	local t=$1 addr=$2 q0 q1 q2 c0 c1 c2
	q0=$(counter "$t" filter NFQUEUE)
	session "$addr"
	q1=$(counter "$t" filter NFQUEUE)
	session_end
	check "$t: unmarked session ran" test $? = 0
	sleep 0.2 # the last ACKs
	q2=$(counter "$t" filter NFQUEUE)
	check "$t: unmarked connection: each packet queued (queue counter $q0 -> $q1 -> $q2)" \
		test $((q1 - q0)) -ge 3 -a $((q2 - q1)) -ge 40
	in_ns "$t" -w -t mangle -A FORWARD -p tcp --dport 587 -j MARK --set-xmark 0x10000000/0x10000000
	q0=$(counter "$t" filter NFQUEUE) c0=$(counter "$t" mangle CONNMARK)
	session "$addr"
	q1=$(counter "$t" filter NFQUEUE) c1=$(counter "$t" mangle CONNMARK)
	session_end
	check "$t: marked session ran" test $? = 0
	sleep 0.2
	q2=$(counter "$t" filter NFQUEUE) c2=$(counter "$t" mangle CONNMARK)
	in_ns "$t" -w -t mangle -D FORWARD -p tcp --dport 587 -j MARK --set-xmark 0x10000000/0x10000000
	check "$t: marked connection: the save rule matched (counter $c0 -> $c1 -> $c2)" \
		test $((c1 - c0)) -ge 1 -a $((c2 - c1)) -ge 20
	check "$t: marked connection: queued until the mark was saved ($q0 -> $q1)" \
		test $((q1 - q0)) -ge 1 -a $((q1 - q0)) -le 2
	check "$t: marked connection: no more packets queued after that ($q1 -> $q2)" test "$q2" = "$q1"
}
mark_test iptables 10.77.0.2
mark_test ip6tables fd77::2

check "install --fail-closed --queues 2 exits 0" status_is 0 pb install --ports va,vc --fail-closed --queues 2
RULE_CLOSED='-A POSTERN -p tcp -m multiport --ports 25,587,80,443 -m connmark ! --mark 0x10000000/0x10000000 -j NFQUEUE --queue-num 2'
for t in iptables ip6tables; do
	check "$t: refilled with the fail-closed rule only" \
		test "$(in_ns $t -w -S POSTERN | grep '^-A ')" = "$RULE_CLOSED"
	check "$t: still one jump" test "$(count_rule $t "$JUMP")" = 1
done
check "fail-closed, nobody on the queue: port 25 dropped (IPv4)" fails connects 10.77.0.2 25
check "fail-closed, nobody on the queue: port 25 dropped (IPv6)" fails connects fd77::2 25
check "fail-closed: an uninspected port still passes" connects 10.77.0.2 2526
pb install -v --ports va,vc --fail-closed --queues 2 --bypass-mark 0x20/0x20 --no-ipv6 2>"$TMP/err" >/dev/null
check "install with another bypass mark exits 0" test $? = 0
cat >"$TMP/want_refill" <<'EOF'
iptables -w -A POSTERN -p tcp -m multiport --ports 25,587,80,443 -m connmark '!' --mark 0x20/0x20 -j NFQUEUE --queue-num 2
iptables -w -D POSTERN 1
iptables -w -t mangle -A POSTERN -m mark --mark 0x20/0x20 -j CONNMARK --save-mark --nfmask 0x20 --ctmask 0x20
iptables -w -t mangle -D POSTERN 1
EOF
trace "$TMP/err" | grep '^iptables ' >"$TMP/got_trace"
check "another mark: both chains refilled, new rule first, then the old one deleted" \
	same_file "$TMP/want_refill" "$TMP/got_trace"
check "another mark: the mangle chain holds the new rule only" \
	test "$(in_ns iptables -w -t mangle -S POSTERN | grep '^-A ')" = \
	'-A POSTERN -m mark --mark 0x20/0x20 -j CONNMARK --save-mark --nfmask 0x20 --ctmask 0x20'
in_ns sh -c 'echo 0 >/proc/sys/net/bridge/bridge-nf-call-iptables'
check "bridge-nf-call-iptables=0: port 25 bypasses iptables" connects 10.77.0.2 25
check "install turns bridge-nf-call-iptables back on" status_is 0 pb install --ports va,vc
check "... and sets it to 1" test "$(in_ns cat /proc/sys/net/bridge/bridge-nf-call-iptables)" = 1
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
snapshot "$TMP/s"
check "back to the default install" same_file "$TMP/installed" "$TMP/s"

# ---- remove ----
cat >"$TMP/want_remove" <<'EOF'
iptables -w -D FORWARD -i br0 -o br0 -m physdev --physdev-is-bridged -j POSTERN
iptables -w -F POSTERN
iptables -w -X POSTERN
iptables -w -t mangle -D POSTROUTING -o br0 -m physdev --physdev-is-bridged -j POSTERN
iptables -w -t mangle -F POSTERN
iptables -w -t mangle -X POSTERN
ip6tables -w -D FORWARD -i br0 -o br0 -m physdev --physdev-is-bridged -j POSTERN
ip6tables -w -F POSTERN
ip6tables -w -X POSTERN
ip6tables -w -t mangle -D POSTROUTING -o br0 -m physdev --physdev-is-bridged -j POSTERN
ip6tables -w -t mangle -F POSTERN
ip6tables -w -t mangle -X POSTERN
ip link del dev br0
EOF
pb remove --delete-bridge --dry-run >"$TMP/dry"
check "remove --dry-run prints exactly the remove commands" same_file "$TMP/want_remove" "$TMP/dry"
snapshot "$TMP/s"
check "remove --dry-run changed nothing" same_file "$TMP/installed" "$TMP/s"
pb remove -v --delete-bridge >"$TMP/out" 2>"$TMP/err"
check "remove exits 0" test $? = 0
trace "$TMP/err" >"$TMP/got_trace"
check "remove of a complete install ran exactly the dry-run list" same_file "$TMP/want_remove" "$TMP/got_trace"
snapshot "$TMP/s"
check "after remove: rules, links and sysctls as before install" same_file "$TMP/pristine" "$TMP/s"
check "no POSTERN left in iptables-save" sh -c "! ip netns exec $NS iptables-save | grep -q POSTERN"
check "no POSTERN left in ip6tables-save" sh -c "! ip netns exec $NS ip6tables-save | grep -q POSTERN"
mangle_save "$TMP/s"
check "after remove: the mangle tables as before install" same_file "$TMP/pristine_mangle" "$TMP/s"
check "bridge deleted" sh -c "! ip -n $NS link show br0 >/dev/null 2>&1"
check "ports still exist" sh -c "ip -n $NS link show va >/dev/null && ip -n $NS link show vc >/dev/null"
check "remove with nothing installed exits 0" status_is 0 pb remove --delete-bridge
check "status with nothing installed exits 3" status_is 3 pb status
snapshot "$TMP/s"
check "second remove changed nothing" same_file "$TMP/pristine" "$TMP/s"

# ---- other shapes ----
check "install --no-ipv6 (bridge absent: warns) exits 0" status_is 0 pb install --no-ipv6
check "... warned that the bridge is missing" sh -c \
	"ip netns exec $NS $SCRIPT install --no-ipv6 2>&1 >/dev/null | grep -q 'does not exist'"
check "--no-ipv6: IPv4 rule installed" test "$(count_rule iptables "$RULE_DEFAULT")" = 1
check "--no-ipv6: no ip6tables chain" sh -c "! ip netns exec $NS ip6tables -w -S | grep -q POSTERN"
check "--no-ipv6: IPv4 save-mark rule installed" test "$(count_rule iptables "$SAVE_DEFAULT" mangle)" = 1
check "--no-ipv6: no ip6tables mangle chain" \
	sh -c "! ip netns exec $NS ip6tables -w -t mangle -S | grep -q POSTERN"
check "install --bridge br1 replaces the br0 jump" status_is 0 pb install --no-ipv6 --bridge br1
check "... one jump, for br1" test "$(in_ns iptables -w -S FORWARD | grep -- '-j POSTERN$')" = \
	'-A FORWARD -i br1 -o br1 -m physdev --physdev-is-bridged -j POSTERN'
check "... one mangle jump, for br1" test "$(in_ns iptables -w -t mangle -S POSTROUTING | grep -- '-j POSTERN$')" = \
	'-A POSTROUTING -o br1 -m physdev --physdev-is-bridged -j POSTERN'
check "remove (default --bridge br0) also removes the br1 jump" status_is 0 pb remove
snapshot "$TMP/s"
check "nothing left after that remove" same_file "$TMP/pristine" "$TMP/s"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

# Shared by run_regression.sh and diff_tshark.sh (sourced, not run).
#
# pcap_script_init USAGE FLAG "$@": parses "POSTERN [--FLAG] [--keep] [NAME...]",
# sets POSTERN (absolute path), FLAG_SET (0/1), KEEP, FILTERS; then
# pcap_tmpdir PREFIX makes TMP (removed at exit unless --keep) and fixes the
# locale and time zone, which postern must not depend on.

pcap_script_init() {
	local usage=$1 flag=$2; shift 2
	[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
	POSTERN=$1; shift
	FLAG_SET=0 KEEP=0
	FILTERS=()
	local a
	for a in "$@"; do
		case $a in
		"--$flag") FLAG_SET=1 ;;
		--keep) KEEP=1 ;;
		-*) echo "$usage" >&2; exit 2 ;;
		*) FILTERS+=("$a") ;;
		esac
	done
	[ -x "$POSTERN" ] || { echo "$0: '$POSTERN' is not an executable" >&2; exit 2; }
	case $POSTERN in /*) ;; *) POSTERN=$PWD/$POSTERN ;; esac
}

pcap_tmpdir() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	if [ "$KEEP" = 1 ]; then echo "outputs kept in $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi
	export LC_ALL=C TZ=UTC
}

# True when capture name $1 matches one of the NAME filters (or there are none).
selected() {
	[ ${#FILTERS[@]} = 0 ] && return 0
	local f
	for f in "${FILTERS[@]}"; do [[ $1 == *"$f"* ]] && return 0; done
	return 1
}

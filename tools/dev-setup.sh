#!/usr/bin/env bash
# Set up a Debian 12 machine to build and test postern, then build it.
#   tools/dev-setup.sh [BUILD_DIR]      (default BUILD_DIR: build)
# Installs the Debian packages listed in tools/debian-packages.txt (needs root
# or sudo), configures a warnings-as-errors build and compiles it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tools/debian-packages.txt)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# roundcube-core asks dbconfig-common for a database (default PostgreSQL,
	# which fails without a server); the webmail tests use their own SQLite
	# database, so none is configured.
	echo 'roundcube-core roundcube/dbconfig-install boolean false' |
		"${sudo_cmd[@]}" debconf-set-selections
	"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --werror
fi
ninja -C "$build"

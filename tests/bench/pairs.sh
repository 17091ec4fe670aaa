#!/bin/bash
# sealinit: real update pairs for the patch benchmark, built from Debian
# packages (the project's own copy; package versions as in DESIGN.md "Real data").
#
#   tests/bench/pairs.sh OUTDIR [NAME...|all]
#
# os:   an "os cryptex" security update (python3.11, curl, nginx point releases)
# kc:   a kernel collection update (linux-image 6.1.0-50 -> 6.1.0-56, amd64:
#       kernel and all modules)
# app:  a large application's major upgrade (firefox-esr 140 ESR -> 153 ESR)
# lib:  a library-only security update (libssl3, OpenSSL 3.0.20 -> 3.0.22)
# kc64: a one-release kernel update on arm64 (linux-image 6.1.0-56 -> 6.1.0-57,
#       kernel and all modules)
# kcx:  the same release on amd64 (linux-image 6.1.0-56 -> 6.1.0-57): its
#       kernel is an xz stream inside the bzImage, where kc64's is gzip
# Writes OUTDIR/<name>-old.img and OUTDIR/<name>-new.img as deterministic,
# uncompressed erofs images; an existing pair is kept (the cache).  Every
# version is pinned: a pair is the same bytes wherever it is built, or it
# fails to build (a version that left the archive), never another pair.
# Needs apt-get download (the machine's Debian mirror; mk/debian.sh for
# arm64), dpkg-deb, mkfs.erofs.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: pairs.sh OUTDIR [NAME...|all]}; shift
which=("$@"); [[ ${#which[@]} -gt 0 ]] || which=(all)
mkdir -p "$out"; out=$(cd "$out" && pwd)
command -v mkfs.erofs >/dev/null || { echo "pairs.sh: mkfs.erofs missing (apt-get install erofs-utils)" >&2; exit 1; }

want() { local w; for w in "${which[@]}"; do [[ $w == all || $w == "$1" ]] && return 0; done; return 1; }

pair() { # name arch "old pkg=ver list" "new pkg=ver list"
	local name=$1 arch=$2 side list d
	[[ -s $out/$name-old.img && -s $out/$name-new.img ]] && return 0
	for side in old new; do
		list=$3; [[ $side == new ]] && list=$4
		rm -rf "$out/$name/$side" && mkdir -p "$out/$name/$side/deb" "$out/$name/$side/tree"
		# shellcheck disable=SC2086
		if [[ $arch == "$(dpkg --print-architecture)" ]]; then
			(cd "$out/$name/$side/deb" && apt-get download $list >/dev/null)
		else
			"$top/mk/debian.sh" debs "$arch" "$out/$name/$side/deb" $list >/dev/null
		fi
		for d in "$out/$name/$side/deb"/*.deb; do dpkg-deb -x "$d" "$out/$name/$side/tree"; done
		mkfs.erofs --quiet -T0 --all-root -U 00000000-0000-0000-0000-000000000000 \
			"$out/$name-$side.img.tmp" "$out/$name/$side/tree"
		mv "$out/$name-$side.img.tmp" "$out/$name-$side.img"
	done
	rm -rf "${out:?}/$name"
}

host=$(dpkg --print-architecture)
py="python3.11 python3.11-minimal libpython3.11-stdlib libpython3.11-minimal"
pyver() { local p; for p in $py; do printf '%s=%s ' "$p" "$1"; done; }
if want os; then
	pair os "$host" "$(pyver 3.11.2-6+deb12u8)libcurl4=7.88.1-10+deb12u5 curl=7.88.1-10+deb12u5 nginx-core=1.22.1-9+deb12u9 nginx-common=1.22.1-9+deb12u9" \
		"$(pyver 3.11.2-6+deb12u9)libcurl4=7.88.1-10+deb12u15 curl=7.88.1-10+deb12u15 nginx-core=1.22.1-9+deb12u11 nginx-common=1.22.1-9+deb12u11"
fi
if want kc; then
	pair kc "$host" "linux-image-6.1.0-50-amd64=6.1.176-1" "linux-image-6.1.0-56-amd64=6.1.192-2"
fi
if want app; then
	pair app "$host" "firefox-esr=140.12.0esr-1~deb12u1" "firefox-esr=153.8.0esr-1~deb12u1"
fi
if want lib; then
	pair lib "$host" "libssl3=3.0.20-1~deb12u2" "libssl3=3.0.22-1~deb12u2"
fi
if want kcx; then
	pair kcx "$host" "linux-image-6.1.0-56-amd64=6.1.192-2" "linux-image-6.1.0-57-amd64=6.1.192-3"
fi
if want kc64; then
	pair kc64 arm64 "linux-image-6.1.0-56-arm64=6.1.192-2" "linux-image-6.1.0-57-arm64=6.1.192-3"
fi
ls -l "$out"/*.img

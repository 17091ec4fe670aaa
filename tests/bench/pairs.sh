#!/bin/bash
# sealinit: real update pairs for the patch benchmark, built from Debian
# packages (the project's own copy; package versions as in DESIGN.md "Real data").
#
#   tests/bench/pairs.sh OUTDIR [os|kc|all]
#
# os: an "os cryptex" security update (python3.11, curl, nginx point releases)
# kc: a kernel collection update (linux-image 6.1.0-50 -> 6.1.0-56, amd64)
# Writes OUTDIR/<name>-old.img and OUTDIR/<name>-new.img as deterministic,
# uncompressed erofs images; an existing pair is kept (the cache).
# Needs apt-get download (the machine's Debian mirror), dpkg-deb, mkfs.erofs.
set -euo pipefail
out=${1:?usage: pairs.sh OUTDIR [os|kc|all]} which=${2:-all}
mkdir -p "$out"; out=$(cd "$out" && pwd)
command -v mkfs.erofs >/dev/null || { echo "pairs.sh: mkfs.erofs missing (apt-get install erofs-utils)" >&2; exit 1; }

pair() { # name "old pkg=ver list" "new pkg=ver list"
	local name=$1 side list d
	[[ -s $out/$name-old.img && -s $out/$name-new.img ]] && return 0
	for side in old new; do
		list=$2; [[ $side == new ]] && list=$3
		rm -rf "$out/$name/$side" && mkdir -p "$out/$name/$side/deb" "$out/$name/$side/tree"
		# shellcheck disable=SC2086
		(cd "$out/$name/$side/deb" && apt-get download $list >/dev/null)
		for d in "$out/$name/$side/deb"/*.deb; do dpkg-deb -x "$d" "$out/$name/$side/tree"; done
		mkfs.erofs --quiet -T0 --all-root -U 00000000-0000-0000-0000-000000000000 \
			"$out/$name-$side.img.tmp" "$out/$name/$side/tree"
		mv "$out/$name-$side.img.tmp" "$out/$name-$side.img"
	done
	rm -rf "${out:?}/$name"
}

py="python3.11 python3.11-minimal libpython3.11-stdlib libpython3.11-minimal"
pyver() { local p; for p in $py; do printf '%s=%s ' "$p" "$1"; done; }
if [[ $which == os || $which == all ]]; then
	pair os "$(pyver 3.11.2-6+deb12u8)libcurl4=7.88.1-10+deb12u5 curl=7.88.1-10+deb12u5 nginx-core=1.22.1-9+deb12u9 nginx-common=1.22.1-9+deb12u9" \
		"$(pyver 3.11.2-6+deb12u9)libcurl4=7.88.1-10+deb12u15 curl=7.88.1-10+deb12u15 nginx-core=1.22.1-9+deb12u11 nginx-common=1.22.1-9+deb12u11"
fi
if [[ $which == kc || $which == all ]]; then
	pair kc "linux-image-6.1.0-50-amd64=6.1.176-1" "linux-image-6.1.0-56-amd64=6.1.192-2"
fi
ls -l "$out"/*.img

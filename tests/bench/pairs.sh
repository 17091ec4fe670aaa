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
# kcz:  kc64's kernel alone, compressed as CONFIG_KERNEL_ZSTD compresses a
#       kernel (zstd --ultra -22): one zstd frame of 33 MB of data
# ext4: os's packages in an ext4 file system of a 128 MiB partition (most
#       of it free space; images that are not erofs: file data in 4 KiB
#       blocks, metadata spread over block groups)
# sqfs: os's packages in a squashfs image (a compressed file system: file
#       data in gzip-compressed 128 KiB blocks, small files packed into
#       compressed fragment blocks)
# Writes OUTDIR/<name>-old.img and OUTDIR/<name>-new.img as deterministic,
# uncompressed erofs images (ext4: mke2fs -d with every time, the UUID and
# the hash seed fixed; sqfs: a gzip-compressed squashfs image, mksquashfs
# with every time 0, every file root's, no xattrs, one processor); an
# existing pair is kept (the cache).  Every version is pinned: a pair is
# the same bytes wherever it is built, or it fails to build (a version
# that left the archive), never another pair.
# Needs apt-get download (the machine's Debian mirror; mk/debian.sh for
# arm64), dpkg-deb, mkfs.erofs, mke2fs (e2fsprogs), mksquashfs
# (squashfs-tools, for sqfs), zstd (for kcz).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: pairs.sh OUTDIR [NAME...|all]}; shift
which=("$@"); [[ ${#which[@]} -gt 0 ]] || which=(all)
mkdir -p "$out"; out=$(cd "$out" && pwd)
command -v mkfs.erofs >/dev/null || { echo "pairs.sh: mkfs.erofs missing (apt-get install erofs-utils)" >&2; exit 1; }

want() { local w; for w in "${which[@]}"; do [[ $w == all || $w == "$1" ]] && return 0; done; return 1; }
if want sqfs && ! command -v mksquashfs >/dev/null; then
	echo "pairs.sh: mksquashfs missing (apt-get install squashfs-tools)" >&2; exit 1
fi

pair() { # name arch "old pkg=ver list" "new pkg=ver list" [erofs|ext4|sqfs|kzst]
	local name=$1 arch=$2 fs=${5:-erofs} side list d
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
		if [[ $fs == ext4 ]]; then
			# the tree's times (dpkg-deb sets the files', the
			# directories' are the extraction's), then mke2fs's own
			find "$out/$name/$side/tree" -exec touch -h -d @0 {} +
			rm -f "$out/$name-$side.img.tmp"
			truncate -s 128M "$out/$name-$side.img.tmp"
			E2FSPROGS_FAKE_TIME=1 mke2fs -q -t ext4 -b 4096 -I 256 -m 0 \
				-U 5ea11a17-0000-4000-8000-000000000001 \
				-E hash_seed=5ea11a17-0000-4000-8000-000000000002,root_owner=0:0,lazy_itable_init=0,nodiscard \
				-d "$out/$name/$side/tree" -F "$out/$name-$side.img.tmp"
			# mke2fs -d copies each file's ctime, which is the
			# extraction's: set to 0 through debugfs, path by path
			(cd "$out/$name/$side/tree" && find . -print) | LC_ALL=C sort |
				awk '/["\\]/ { print "pairs.sh: a path debugfs cannot quote: " $0 > "/dev/stderr"; exit 1 }
				     { p = substr($0, 2); if (p == "") p = "/"; printf "sif \"%s\" ctime 0\n", p }' \
				>"$out/$name/$side/ctime.cmds"
			E2FSPROGS_FAKE_TIME=1 debugfs -w -f "$out/$name/$side/ctime.cmds" "$out/$name-$side.img.tmp" >/dev/null 2>&1
		elif [[ $fs == sqfs ]]; then
			# gzip, 128 KiB blocks (the default); every time in the
			# image (the files' and the superblock's) 0, whatever the
			# tree's; one processor, so the blocks' order is fixed.
			# (SOURCE_DATE_EPOCH cannot be combined with -all-time.)
			rm -f "$out/$name-$side.img.tmp"
			env -u SOURCE_DATE_EPOCH mksquashfs "$out/$name/$side/tree" "$out/$name-$side.img.tmp" \
				-comp gzip -b 131072 -noappend -all-root -mkfs-time 0 -all-time 0 \
				-no-xattrs -processors 1 -quiet -no-progress >/dev/null
		elif [[ $fs == kzst ]]; then
			# the kernel, as the kernel's build compresses it for
			# CONFIG_KERNEL_ZSTD (scripts/Makefile.lib: zstd22), one
			# thread: the same bytes every time
			zstd -q -c --ultra -22 -T1 "$out/$name/$side/tree"/boot/vmlinuz-* \
				> "$out/$name-$side.img.tmp"
		else
			mkfs.erofs --quiet -T0 --all-root -U 00000000-0000-0000-0000-000000000000 \
				"$out/$name-$side.img.tmp" "$out/$name/$side/tree"
		fi
		mv "$out/$name-$side.img.tmp" "$out/$name-$side.img"
	done
	rm -rf "${out:?}/$name"
}

host=$(dpkg --print-architecture)
py="python3.11 python3.11-minimal libpython3.11-stdlib libpython3.11-minimal"
pyver() { local p; for p in $py; do printf '%s=%s ' "$p" "$1"; done; }
os_old="$(pyver 3.11.2-6+deb12u8)libcurl4=7.88.1-10+deb12u5 curl=7.88.1-10+deb12u5 nginx-core=1.22.1-9+deb12u9 nginx-common=1.22.1-9+deb12u9"
os_new="$(pyver 3.11.2-6+deb12u9)libcurl4=7.88.1-10+deb12u15 curl=7.88.1-10+deb12u15 nginx-core=1.22.1-9+deb12u11 nginx-common=1.22.1-9+deb12u11"
if want os; then
	pair os "$host" "$os_old" "$os_new"
fi
if want ext4; then
	pair ext4 "$host" "$os_old" "$os_new" ext4
fi
if want sqfs; then
	pair sqfs "$host" "$os_old" "$os_new" sqfs
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
if want kcz; then
	pair kcz arm64 "linux-image-6.1.0-56-arm64=6.1.192-2" "linux-image-6.1.0-57-arm64=6.1.192-3" kzst
fi
ls -l "$out"/*.img

#!/bin/bash
# Interoperability with cryptsetup's veritysetup (dm-verity format 1, no
# superblock): issue 3 item 2.
#
#  1. trees built by verify/hashtree (through build/host/vt-bench) are
#     accepted by `veritysetup verify`, and veritysetup's own trees are
#     byte-identical to ours and accepted by us;
#  2. the same holds with data and tree in one file (--hash-offset);
#  3. one flipped bit in the data or in the tree makes both tools fail;
#  4. when sealctl can seal: images sealed by sealctl pass `veritysetup
#     verify` with the values `sealctl inspect --json` reports, and one
#     flipped bit in the data or the tree fails both `sealctl verify` and
#     veritysetup.
# Sizes: 1 block (no tree), 13 blocks (odd), 16385 blocks (three levels).
# Last line: "veritysetup-interop: N passed, N failed"; exit 1 on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { # check DESCRIPTION CMD...: the command must succeed
	local what=$1; shift
	if "$@" >/dev/null 2>"$tmp/err"; then ok; else bad "$what: $(tail -n 3 "$tmp/err")"; fi
}
refuse() { # refuse DESCRIPTION CMD...: the command must fail
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then bad "$what: accepted"; else ok; fi
}
finish() {
	echo "veritysetup-interop: $pass passed, $fail failed"
	[[ $fail -eq 0 ]]
	exit
}

command -v veritysetup >/dev/null || { bad "veritysetup not installed (cryptsetup-bin)"; finish; }
make -s -j2 build/host/vt-bench >/dev/null || { bad "cannot build vt-bench"; finish; }
vt=$top/build/host/vt-bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
salt=5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1

gen() { # gen BYTES FILE: deterministic, incompressible data
	openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
		-iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null |
		head -c "$1" > "$2"
}
flip() { # flip FILE BYTE_OFFSET: xor one bit
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 4)))" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc status=none
}
vs_verify() { # vs_verify DATA HASH ROOT [extra veritysetup options]
	local d=$1 h=$2 r=$3; shift 3
	veritysetup verify --no-superblock --format=1 --hash=sha256 --salt="$salt" \
		--data-block-size=4096 --hash-block-size=4096 "$@" "$d" "$h" "$r"
}

for blocks in 1 13 16385; do
	n="$blocks blocks"
	gen $((blocks * 4096)) "$tmp/data"
	out=$("$vt" format --salt "$salt" "$tmp/data" "$tmp/ours") || { bad "$n: vt-bench format"; continue; }
	root=${out#root }
	: > "$tmp/theirs"
	vsout=$(veritysetup format --no-superblock --format=1 --hash=sha256 --salt="$salt" \
		--data-block-size=4096 --hash-block-size=4096 "$tmp/data" "$tmp/theirs")
	vsroot=$(awk '/^Root hash:/ { print $3 }' <<< "$vsout")
	if [[ $root == "$vsroot" ]]; then ok; else bad "$n: root $root, veritysetup $vsroot"; fi
	check "$n: tree bytes equal veritysetup's" cmp "$tmp/ours" "$tmp/theirs"
	check "$n: veritysetup verify accepts our tree" vs_verify "$tmp/data" "$tmp/ours" "$root"
	check "$n: we accept veritysetup's tree" "$vt" verify --salt "$salt" --root "$vsroot" "$tmp/data" "$tmp/theirs"

	# One file, data then tree, the way a sealed image holds them.
	cat "$tmp/data" "$tmp/ours" > "$tmp/img"
	check "$n: veritysetup verify --hash-offset" \
		vs_verify "$tmp/img" "$tmp/img" "$root" --data-blocks="$blocks" --hash-offset=$((blocks * 4096))

	# One flipped bit in the data: both refuse.
	cp "$tmp/data" "$tmp/data.bad"
	flip "$tmp/data.bad" $(((blocks - 1) * 4096 + 1234))
	refuse "$n: veritysetup, flipped data bit" vs_verify "$tmp/data.bad" "$tmp/ours" "$root"
	refuse "$n: vt-bench, flipped data bit" "$vt" verify --salt "$salt" --root "$root" "$tmp/data.bad" "$tmp/ours"
	# One flipped bit in the tree (first, then last hash block): both refuse.
	if [[ $blocks -gt 1 ]]; then
		tsize=$(stat -c %s "$tmp/ours")
		for at in 17 $((tsize - 4096 + 3)); do
			cp "$tmp/ours" "$tmp/ours.bad"
			flip "$tmp/ours.bad" "$at"
			refuse "$n: veritysetup, flipped tree bit at $at" vs_verify "$tmp/data" "$tmp/ours.bad" "$root"
			refuse "$n: vt-bench, flipped tree bit at $at" "$vt" verify --salt "$salt" --root "$root" "$tmp/data" "$tmp/ours.bad"
		done
	fi
done

# ---- sealctl: only once `sealctl seal` and `inspect --json` exist.
sealctl=$top/build/host/sealctl
if make -s -j2 sealctl >/dev/null 2>&1 && "$sealctl" seal --help >/dev/null 2>&1 &&
	"$sealctl" inspect --help 2>&1 | grep -q -- --json; then
	openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/key.pem" 2>/dev/null
	openssl ec -in "$tmp/key.pem" -pubout -out "$tmp/pub.pem" 2>/dev/null
	for size in 4096 $((13 * 4096 - 100)) $((16385 * 4096)); do
		n="sealctl, $size bytes"
		gen "$size" "$tmp/fs.img"
		if ! "$sealctl" seal --image "$tmp/fs.img" --name interop --kind cryptex \
			--version 1.0 --rollback-index 1 --key "$tmp/key.pem" --fs-type raw \
			--overlay /opt -o "$tmp/sealed" >/dev/null 2>"$tmp/err"; then
			bad "$n: seal: $(tail -n 2 "$tmp/err")"
			continue
		fi
		ok
		if ! "$sealctl" inspect "$tmp/sealed" --json > "$tmp/json" 2>"$tmp/err"; then
			bad "$n: inspect --json: $(tail -n 2 "$tmp/err")"
			continue
		fi
		read -r s_salt s_root s_blocks s_dbs s_hbs s_off < <(/usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["salt"], j["root_hash"], j["data_blocks"], j["data_block_size"],
      j["hash_block_size"], j["hash_offset"])' "$tmp/json")
		sv() { # sv IMAGE: veritysetup verify with what inspect reported
			veritysetup verify --no-superblock --format=1 --hash=sha256 \
				--salt="$s_salt" --data-blocks="$s_blocks" \
				--data-block-size="$s_dbs" --hash-block-size="$s_hbs" \
				--hash-offset="$s_off" "$1" "$1" "$s_root"
		}
		check "$n: veritysetup verify accepts the sealed image" sv "$tmp/sealed"
		check "$n: sealctl verify accepts it" "$sealctl" verify "$tmp/sealed" --key "$tmp/pub.pem" --image-only
		cp "$tmp/sealed" "$tmp/sealed.bad"
		flip "$tmp/sealed.bad" $((s_blocks * s_dbs / 2 + 5))
		refuse "$n: veritysetup, flipped data bit" sv "$tmp/sealed.bad"
		refuse "$n: sealctl verify, flipped data bit" "$sealctl" verify "$tmp/sealed.bad" --key "$tmp/pub.pem" --image-only
		if [[ $s_blocks -gt 1 ]]; then
			cp "$tmp/sealed" "$tmp/sealed.bad"
			flip "$tmp/sealed.bad" $((s_off + 40))
			refuse "$n: veritysetup, flipped tree bit" sv "$tmp/sealed.bad"
			refuse "$n: sealctl verify, flipped tree bit" "$sealctl" verify "$tmp/sealed.bad" --key "$tmp/pub.pem" --image-only
		fi
	done
else
	echo "veritysetup-interop: sealctl cannot seal yet: sealed-image cases skipped" >&2
fi
finish

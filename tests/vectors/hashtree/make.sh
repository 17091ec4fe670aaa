#!/bin/bash
# Makes tests/vectors/hashtree/vectors.h: dm-verity trees made by
# cryptsetup's veritysetup (format 1, no superblock, separate hash file)
# over deterministic data, for tests/unit/test_hashtree.c to match.
#
# Data block j (data_block_size bytes): bytes 0..7 are j little-endian,
# byte k >= 8 is (k*7 + j*13) mod 256.  The C test regenerates it.
#
#   tests/vectors/hashtree/make.sh      (needs veritysetup: cryptsetup-bin)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen() { # gen BLOCKS BLOCK_SIZE FILE
	/usr/bin/python3 - "$@" <<'PY'
import struct, sys
n, bs, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = bytes((k * 7) & 255 for k in range(8, bs))
with open(path, 'wb') as f:
    for j in range(n):
        t = bytes((x + j * 13) & 255 for x in range(256))
        f.write(struct.pack('<Q', j) + base.translate(t))
PY
}

# name blocks data_block_size hash_block_size salt(hex, "-" for none)
cases=(
	"one 1 4096 4096 5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1"
	"odd13 13 4096 4096 5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1"
	"full128 128 4096 4096 5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1"
	"two129 129 4096 4096 5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1"
	"three16385 16385 4096 4096 5ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea15ea1"
	"nosalt 300 4096 4096 -"
	"salt7 77 4096 4096 00112233445566"
	"salt100 77 4096 4096 $(printf 'ab%.0s' $(seq 100))"
	"small 1000 1024 512 0102030405060708090a0b0c0d0e0f10"
	"big 100 65536 65536 ff"
)

{
	echo "/* Made by tests/vectors/hashtree/make.sh with $(veritysetup --version | head -n 1). */"
	echo "static const struct vt_vector {"
	echo "	const char *name;"
	echo "	uint64_t blocks;"
	echo "	uint32_t data_block_size, hash_block_size;"
	echo "	const char *salt; /* hex, \"\" for none */"
	echo "	uint64_t tree_size;"
	echo "	const char *root, *tree_sha256;"
	echo "} vt_vectors[] = {"
	for c in "${cases[@]}"; do
		read -r name blocks dbs hbs salt <<< "$(eval echo "$c")"
		gen "$blocks" "$dbs" "$tmp/data"
		: > "$tmp/hash"
		out=$(veritysetup format --format=1 --no-superblock --hash=sha256 \
			--salt="$salt" --data-block-size="$dbs" --hash-block-size="$hbs" \
			--data-blocks="$blocks" "$tmp/data" "$tmp/hash")
		root=$(awk '/^Root hash:/ { print $3 }' <<< "$out")
		size=$(stat -c %s "$tmp/hash")
		tsha=$(sha256sum < "$tmp/hash" | cut -d' ' -f1)
		[[ $salt == - ]] && salt=
		printf '\t{ "%s", %s, %s, %s, "%s", %s,\n\t  "%s",\n\t  "%s" },\n' \
			"$name" "$blocks" "$dbs" "$hbs" "$salt" "$size" "$root" "$tsha"
	done
	echo "};"
} > "$here/vectors.h.tmp"
mv "$here/vectors.h.tmp" "$here/vectors.h"
echo "wrote $here/vectors.h"

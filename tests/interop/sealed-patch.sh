#!/bin/bash
# sealctl diff/apply on sealed images: the patch names the base and target
# seals; apply refuses another base before writing anything, and checks the
# result's manifest, root hash (whole tree) and, with --key, its signature
# before the rename.  Forward and reverse round trips, byte for byte.
# Needs: mkfs.erofs, build/host/sealctl.  Last line: "sealed-patch: N passed, N failed".
set -u
source "$(dirname "$0")/lib.bash"
[[ -x $S ]] || { echo "sealed-patch: 0 passed, 1 failed"; exit 1; }

"$S" keygen --algo ecdsa-p256 -o k.pem --pub k.pub >/dev/null
"$S" keygen --algo ecdsa-p256 -o other.pem --pub other.pub >/dev/null
mkdir -p v1/bin v2/bin
for i in $(seq 1 400); do echo "line $i of a library that a security fix changes"; done > v1/bin/lib.txt
sed 's/line 200 of/line 200 (fixed) of/' v1/bin/lib.txt > v2/bin/lib.txt
head -c 300000 /dev/urandom > v1/bin/blob; cp v1/bin/blob v2/bin/blob
seal() { "$S" seal --dir "$1" --kind cryptex --name os --version "$2" --rollback-index 1 \
	--overlay /usr --key "$3" -o "$4" >/dev/null; }
seal v1 "13.3.1" k.pem old.img
seal v2 "13.3.1 (a)" k.pem new.img
seal v1 "13.3.0" k.pem other-base.img
seal v2 "13.3.1 (a)" other.pem new-other-key.img

expect "diff names the seals" 0 "sealed images: cryptex 'os' 13.3.1 -> 13.3.1 (a)" \
	"$S" diff old.img new.img -o fwd.patch -r rev.patch
expect "apply with --key" 0 "verified cryptex 'os' 13.3.1 (a)" "$S" apply old.img fwd.patch -o out.img --key k.pub
same "forward result is the target, byte for byte" out.img new.img
expect "reverse apply" 0 "verified cryptex 'os' 13.3.1 root" "$S" apply new.img rev.patch -o back.img --key k.pub
same "reverse result is the base" back.img old.img
expect "apply without a key checks tree and named seal" 0 "verified cryptex 'os'" \
	"$S" apply old.img fwd.patch -o out2.img
expect "another base is refused by its seal" 1 "SI_E_PATCH_BASE_HASH" \
	"$S" apply other-base.img fwd.patch -o bad.img
absent "nothing written for another base" bad.img
truncate -s 0 raw.img; head -c 8192 old.img > raw.img
expect "a raw image as base of a sealed patch" 1 "raw.img: no sealed-image footer (wrong magic) (field OLD: expected the sealed image the patch names" "$S" apply raw.img fwd.patch -o bad2.img
absent "nothing written for a raw base" bad2.img
expect "result checked against the wrong key" 1 "SI_E_SEAL_KEY_UNKNOWN" \
	"$S" apply old.img fwd.patch -o bad3.img --key other.pub
absent "nothing written when the signature fails" bad3.img

# A genuine patch whose target is signed by a key the device does not
# trust: apply with --key k.pub refuses the result, nothing is written.
"$S" diff old.img new-other-key.img -o ok.patch 2>/dev/null
expect "a target signed by a key outside --key is refused" 1 "SI_E_SEAL_KEY_UNKNOWN" \
	"$S" apply old.img ok.patch -o bad4.img --key k.pub
absent "nothing written for the foreign target" bad4.img

# Raw images: no seals named, apply as before.
head -c 200000 old.img > a.raw; head -c 200000 new.img > b.raw
expect "raw diff" 0 "" "$S" diff a.raw b.raw -o raw.patch
expect "raw apply" 0 "" "$S" apply a.raw raw.patch -o b2.raw
same "raw round trip" b2.raw b.raw
echo "sealed-patch: $pass passed, $fail failed"
[[ $fail -eq 0 ]]

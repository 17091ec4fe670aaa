#!/bin/bash
# Nothing an integrator owns is destroyed (issue 13): outputs that are
# inputs are refused and the inputs stay byte for byte (diff, apply and its
# checkpoint, seal, anchor, set create, update create); keygen never
# replaces a key without --force; a full file system is one error line
# (exit 3, ENOSPC), never a SIGBUS, and leaves no temporary behind; an
# interrupted command leaves no temporary; a block device is written into,
# never replaced by a file.
# Needs: root (a 256 KiB tmpfs, loop devices), mkfs.erofs, cc,
# build/host/sealctl.  Last line: "sealctl-safety: N passed, N failed".
set -u
source "$(dirname "$0")/lib.bash"
[[ -x $S ]] || { echo "sealctl-safety: 0 passed, 1 failed"; exit 1; }
mnt= loops=() nodes=()
cleanup() {
	local n
	[[ -n $mnt ]] && umount "$mnt" 2>/dev/null
	# A sealctl that replaced a device node with a file (what this test
	# catches) must not leave the machine without its /dev/loopN.
	for n in "${nodes[@]}"; do
		set -- $n
		[[ -b $1 ]] || { rm -f "$1"; mknod -m 600 "$1" b "$2" "$3"; }
	done
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

"$S" keygen --algo ecdsa-p256 -o k.pem --pub k.pub >/dev/null
mkdir -p v1 v2
for i in $(seq 1 3000); do echo "line $i of a file a security fix changes"; done > v1/f
sed 's/^line 1500 of/line 1500 (fixed) of/' v1/f > v2/f
head -c 150000 /dev/urandom > v1/blob && cp v1/blob v2/blob
seal() { "$S" seal --dir "$1" --kind cryptex --name os --overlay /usr --version "$2" \
	--rollback-index 1 --key k.pem "${@:4}" -o "$3" >/dev/null; }
seal v1 1 old.img && seal v2 2 new.img || ko "sealing the test images"
h_old=$(sha256sum < old.img) h_new=$(sha256sum < new.img)

# ---- diff: -o NEW, -o P -r P, -r OLD, and the same file under another name
expect "diff OLD NEW -o NEW is refused" 2 "the output new.img is the input new.img" \
	"$S" diff old.img new.img -o new.img
unchanged "NEW is untouched" new.img "$h_new"
expect "diff -o P -r P is refused" 2 "two outputs name the same file: p and p" \
	"$S" diff old.img new.img -o p -r p
absent "nothing written for -o P -r P" p
expect "diff -r OLD is refused" 2 "the output old.img is the input old.img" \
	"$S" diff old.img new.img -o p -r old.img
unchanged "OLD is untouched" old.img "$h_old"
absent "no forward patch either" p
ln new.img hardlink.img
expect "diff -o HARDLINK-TO-NEW is refused (same device and inode)" 2 "is the input new.img" \
	"$S" diff old.img new.img -o hardlink.img
ln -s old.img symlink.img
expect "diff -r SYMLINK-TO-OLD is refused" 2 "is the input old.img" \
	"$S" diff old.img new.img -o p -r symlink.img
unchanged "OLD is untouched (symlink)" old.img "$h_old"
"$S" diff old.img new.img -o fwd.patch -r rev.patch 2>/dev/null || ko "diff"
h_patch=$(sha256sum < fwd.patch)

# ---- apply, seal, kc, anchor: an output that is an input
expect "apply -o OLD is refused" 2 "the output old.img is the input old.img" \
	"$S" apply old.img fwd.patch -o old.img
unchanged "OLD is untouched by apply" old.img "$h_old"
expect "apply -o PATCH is refused" 2 "is the input fwd.patch" "$S" apply old.img fwd.patch -o fwd.patch
unchanged "PATCH is untouched" fwd.patch "$h_patch"
expect "apply --checkpoint NEW is refused" 2 "two outputs name the same file" \
	"$S" apply old.img fwd.patch -o x.img --checkpoint x.img
head -c 20000 /dev/urandom > fs.img; h_fs=$(sha256sum < fs.img)
expect "seal --image F -o F is refused" 2 "the output fs.img is the input fs.img" \
	"$S" seal --image fs.img --kind system --name s --version 1 --rollback-index 1 --key k.pem -o fs.img
unchanged "the image is untouched" fs.img "$h_fs"
h_key=$(sha256sum < k.pem)
expect "seal -o KEY is refused" 2 "is the input k.pem" \
	"$S" seal --image fs.img --kind system --name s --version 1 --rollback-index 1 --key k.pem -o k.pem
unchanged "the key is untouched by seal" k.pem "$h_key"
expect "seal --dir D -o D/out is refused (the image would hold itself)" 2 "inside the input directory v1" \
	"$S" seal --dir v1 --kind cryptex --name os --overlay /usr --version 1 --rollback-index 1 --key k.pem -o v1/out.img
absent "nothing written into the input directory" v1/out.img
dtc -q -I dts -O dtb -o base.dtb - <<< '/dts-v1/; / { model = "x"; };'
h_dtb=$(sha256sum < base.dtb)
expect "anchor --dtb A -o A is refused" 2 "the output base.dtb is the input base.dtb" \
	"$S" anchor --dtb base.dtb -o base.dtb --key k.pub --id p --usages all
unchanged "the DTB is untouched" base.dtb "$h_dtb"
mkdir adir
expect "an output that is a directory: exit 1, named" 1 "adir: not a regular file (expected regular file, found directory)" \
	"$S" diff old.img new.img -o adir

# ---- release sets and bundles: the set or bundle is never written over
# an image, the system volume, a key or the signing helper it reads
mkdir -p sys s1/cryptexes s2/cryptexes && echo hi > sys/x
"$S" seal --dir sys --kind system --name system --version 1 --rollback-index 1 --key k.pem -o system.img >/dev/null &&
	cp old.img s1/cryptexes/os.cryptex && cp new.img s2/cryptexes/os.cryptex || ko "the slots"
h_sys=$(sha256sum < system.img) h_cx=$(sha256sum < s1/cryptexes/os.cryptex)
setc=(set create --slot s1 --system system.img --key k.pem --name r1 --version 1 --rollback-index 1)
expect "set create -o SYSTEM is refused" 2 "the output system.img is the input system.img" "$S" "${setc[@]}" -o system.img
unchanged "the system image is untouched" system.img "$h_sys"
expect "set create -o an image of the slot is refused" 2 "is the input s1/cryptexes/os.cryptex" \
	"$S" "${setc[@]}" -o s1/cryptexes/os.cryptex
unchanged "the slot's image is untouched" s1/cryptexes/os.cryptex "$h_cx"
expect "set create -o KEY is refused" 2 "the output k.pem is the input k.pem" "$S" "${setc[@]}" -o k.pem
unchanged "the key is untouched by set create" k.pem "$h_key"
expect "set create --slot MISSING: exit 3, not an empty release" 3 "/nope/slot: cannot open file (errno 2" \
	"$S" set create --slot /nope/slot --system system.img --key k.pem --name r1 --version 1 --rollback-index 1 -o x.set
absent "no set for a missing slot" x.set
"$S" "${setc[@]}" >/dev/null && "$S" set create --slot s2 --system system.img --key k.pem --name r2 --version 2 \
	--rollback-index 2 >/dev/null || ko "set create"
expect "update create -o KEY is refused" 2 "the output k.pem is the input k.pem" \
	"$S" update create --from s1 --to s2 --key k.pem -o k.pem
unchanged "the key is untouched by update create" k.pem "$h_key"
printf '#!/bin/sh\nexec openssl pkeyutl -sign -inkey k.pem -rawin -digest sha256 2>/dev/null\n' > helper.sh && chmod +x helper.sh
h_helper=$(sha256sum < helper.sh)
expect "update create -o SIGNING-HELPER is refused" 2 "the output helper.sh is the input ./helper.sh" \
	"$S" update create --from s1 --to s2 --key k.pub --signing-helper ./helper.sh -o helper.sh
unchanged "the signing helper is untouched" helper.sh "$h_helper"
expect "update create -o inside a slot is refused" 2 "is inside the input directory s1" \
	"$S" update create --from s1 --to s2 --key k.pem -o s1/u.bundle

# ---- apply --checkpoint: the checkpoint is an output too
expect "apply --checkpoint OLD is refused" 2 "the output old.img is the input old.img" \
	"$S" apply old.img fwd.patch -o ck.img --checkpoint old.img
unchanged "OLD is untouched by --checkpoint OLD" old.img "$h_old"
expect "apply --checkpoint PATCH is refused" 2 "the output fwd.patch is the input fwd.patch" \
	"$S" apply old.img fwd.patch -o ck.img --checkpoint fwd.patch
unchanged "PATCH is untouched by --checkpoint PATCH" fwd.patch "$h_patch"
expect "apply --checkpoint KEY is refused" 2 "the output k.pub is the input k.pub" \
	"$S" apply old.img fwd.patch -o ck.img --key k.pub --checkpoint k.pub

# ---- keygen
expect "keygen -o EXISTING is refused" 2 "k.pem exists; --force replaces it" \
	"$S" keygen --algo ecdsa-p256 -o k.pem
unchanged "the existing private key is untouched" k.pem "$h_key"
h_pub=$(sha256sum < k.pub)
expect "keygen --pub EXISTING is refused" 2 "k.pub exists; --force replaces it" \
	"$S" keygen --algo ecdsa-p256 -o new-key.pem --pub k.pub
unchanged "the existing public key is untouched" k.pub "$h_pub"
absent "and no new private key half-made" new-key.pem
expect "keygen --pub equal to -o is refused" 2 "two outputs name the same file" \
	"$S" keygen --algo ecdsa-p256 -o same.pem --pub same.pem
absent "nothing written for --pub = -o" same.pem
cp k.pem k2.pem && cp k.pub k2.pub && chmod 644 k2.pem
expect "keygen --force replaces" 0 "ecdsa-p256 key" "$S" keygen --algo ecdsa-p256 -o k2.pem --pub k2.pub --force
[[ $(sha256sum < k2.pem) != "$h_key" && $(stat -c %a k2.pem) == 600 ]] &&
	ok "--force wrote a new key, mode 0600" || ko "--force: key unchanged or mode $(stat -c %a k.pem)"
no_temporaries "no temporaries in the working directory" .

# ---- a full file system: one line, exit 3, nothing left behind
if [[ $(id -u) -ne 0 ]]; then
	ko "the full-disk, interrupt and block-device tests need root (tmpfs, loop devices)"
	summary sealctl-safety; exit
fi
mnt=$tmp/full && mkdir -p "$mnt" && mount -t tmpfs -o size=256k tmpfs "$mnt" || ko "mount a 256 KiB tmpfs"
head -c 600000 /dev/urandom > big.img
enospc() { # name command... (output somewhere on $mnt)
	local name=$1 out st
	shift
	out=$("$@" 2>&1); st=$?
	if [[ $st -eq 3 && $out == *"errno 28 (No space left on device)"* && $out == *SI_E_WRITE* ]]; then
		ok "$name"
	else
		ko "$name: exit $st: $(tail -n 2 <<< "$out")"
	fi
}
enospc "seal on a full disk: exit 3, ENOSPC, no SIGBUS" \
	"$S" seal --image big.img --kind system --name s --version 1 --rollback-index 1 --key k.pem -o "$mnt/s.img"
# The erofs image (150 KB) fits next to the output; the sealed image does not.
mkdir small && head -c 150000 /dev/urandom > small/blob
enospc "seal --dir on a full disk" \
	"$S" seal --dir small --kind cryptex --name os --overlay /usr --version 1 --rollback-index 1 --key k.pem -o "$mnt/os.img"
fake_kernel kroot 6.1.0-test && printf 'foo\n' > kc.list
head -c 400000 /dev/urandom > "$mnt/filler" 2>/dev/null
enospc "kc on a full disk" \
	"$S" kc --kernel-root kroot --modules kc.list --key k.pem --name boot --version 6.1.0-test \
	--rollback-index 1 -o "$mnt/boot.kc"
enospc "update create on a full disk" "$S" update create --from s1 --to s2 --key k.pem -o "$mnt/u.bundle"
enospc "set create on a full disk" "$S" "${setc[@]}" -o "$mnt/release.set"
rm -f "$mnt/filler"
head -c 600000 /dev/urandom > big2.img
enospc "diff on a full disk" "$S" diff big.img big2.img -o "$mnt/p"
enospc "apply on a full disk" "$S" apply old.img fwd.patch -o "$mnt/new.img"
no_temporaries "nothing left on the full file system" "$mnt"
[[ -z $(ls -A "$mnt") ]] && ok "the full file system is empty again" || ko "left on $mnt: $(ls -A "$mnt")"

# ---- interrupted: a signing helper that kills sealctl mid-seal
printf '#!/bin/sh\nkill -TERM $PPID\nsleep 5\n' > killer && chmod +x killer
mkdir out
"$S" seal --dir v1 --kind cryptex --name os --overlay /usr --version 1 --rollback-index 1 \
	--key k.pub --signing-helper ./killer -o out/os.img >/dev/null 2>&1 &
wait $! 2>/dev/null
st=$?
[[ $st -eq 143 ]] && ok "SIGTERM ends seal (status 143)" || ko "seal under SIGTERM: status $st"
no_temporaries "an interrupted seal --dir leaves no temporary" out
absent "and no output" out/os.img

# ---- block devices are written into
truncate -s 4M disk1 disk2
loops+=("$(losetup -f --show disk1)") && loops+=("$(losetup -f --show disk2)") || ko "losetup"
d1=${loops[0]} d2=${loops[1]}
for l in "$d1" "$d2"; do nodes+=("$l $((16#$(stat -c %t "$l")))  $((16#$(stat -c %T "$l")))"); done
expect "seal -o /dev/loopN" 0 "footer at the end of 4194304 bytes" \
	"$S" seal --dir v1 --kind cryptex --name os --overlay /usr --version 1 --rollback-index 1 --key k.pem -o "$d1"
[[ -b $d1 ]] && ok "the device node is still a block device" || ko "$d1 is no longer a block device"
expect "the partition verifies" 0 "verified cryptex 'os' 1" "$S" verify "$d1" --key k.pub
expect "seal --partition-size that is not the device's" 2 "holds 4194304 bytes" \
	"$S" seal --dir v1 --kind cryptex --name os --overlay /usr --version 1 --rollback-index 1 \
	--key k.pem --partition-size 1M -o "$d1"
expect "apply a partition's image to another partition" 0 "verified cryptex 'os' 2" \
	"$S" apply "$d1" fwd.patch -o "$d2" --key k.pub
[[ -b $d2 ]] && ok "the target is still a block device" || ko "$d2 replaced"
expect "the target partition verifies, footer at its end" 0 "verified cryptex 'os' 2" "$S" verify "$d2" --key k.pub
expect "apply from and to the same partition is refused" 2 "is the input $d1" \
	"$S" apply "$d1" fwd.patch -o "$d1"
summary sealctl-safety

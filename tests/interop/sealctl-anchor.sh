#!/bin/bash
# sealctl anchor edits, never breaks (issue 13): --list shows native and
# U-Boot keys; a key id given again is updated; a public key already in the
# anchor under another id is refused by name; a key U-Boot's /signature
# holds (mkimage -K) gets sealinit,usages in place instead of a duplicate
# node; a lower floor needs --force; --remove-key; and every DTB written
# passes sealinit's own anchor parser (checked here with --list and
# verify, which run it) -- a tree it would refuse is never written.
# Needs: openssl, mkimage, dtc, build/host/sealctl.
# Last line: "sealctl-anchor: N passed, N failed".
set -u
source "$(dirname "$0")/lib.bash"
for t in openssl mkimage dtc; do
	command -v $t >/dev/null || { echo "sealctl-anchor: $t missing"; echo "sealctl-anchor: 0 passed, 1 failed"; exit 1; }
done
[[ -x $S ]] || { echo "sealctl-anchor: 0 passed, 1 failed"; exit 1; }
# parses NAME DTB: sealinit's parser accepts the tree (sealctl anchor --list runs it).
parses() { if "$S" anchor --list "$2" >/dev/null 2>"$tmp/why"; then ok "$1"; else ko "$1: $(head -n 1 "$tmp/why")"; fi; }
keys_of() { "$S" anchor --list "$1" --json | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
print(" ".join("%s/%s/%s/%s" % (k["id"], k["source"], k["key_id"][:16], ",".join(k["usages"])) for k in j["keys"]), j["rollback_floor"])'; }

for k in plat vend; do "$S" keygen --algo ecdsa-p256 -o $k.pem --pub $k.pub >/dev/null; done
pid=$("$S" key id plat.pub --json | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["key_id"][:16])')
vid=$("$S" key id vend.pub --json | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["key_id"][:16])')
dtc -q -I dts -O dtb -o base.dtb - <<< '/dts-v1/; / { model = "board"; compatible = "x,y"; };'

expect "add key-platform" 0 "key-platform added: ecdsa-p256 key $pid may sign system,cryptex" \
	"$S" anchor --dtb base.dtb -o a1.dtb --key plat.pub --id platform --usages system,cryptex --rollback-floor 5
parses "a1.dtb passes the anchor parser" a1.dtb
expect "--list" 0 "key-platform" "$S" anchor --list a1.dtb
[[ $(keys_of a1.dtb) == "platform/sealinit/$pid/system,cryptex 5" ]] && ok "--list --json: id, source, key id, usages, floor" || ko "--list: $(keys_of a1.dtb)"
expect "--list a tree without an anchor: 1" 1 SI_E_ANCHOR_MISSING "$S" anchor --list base.dtb

expect "--overlay-targets on a native key" 0 "key-platform updated" \
	"$S" anchor --dtb a1.dtb -o t1.dtb --key plat.pub --id platform --usages system,cryptex --overlay-targets /usr,/opt
expect "--list shows the overlay targets" 0 "overlay targets /usr,/opt" "$S" anchor --list t1.dtb
expect "--overlay-targets with a relative path: 2" 2 "--overlay-targets: expected" \
	"$S" anchor --dtb a1.dtb -o t2.dtb --key plat.pub --id platform --usages cryptex --overlay-targets usr
# the same id again: updated (new usages), one node
expect "key-platform again: updated" 0 "key-platform updated" \
	"$S" anchor --dtb a1.dtb -o a2.dtb --key plat.pub --id platform --usages all
[[ $(keys_of a2.dtb) == "platform/sealinit/$pid/system,cryptex,kc-boot,kc-system,kc-aux,update 5" ]] &&
	ok "the usages were replaced, the node is one" || ko "after update: $(keys_of a2.dtb)"
# the same id with another key: the key is replaced (rotation)
expect "key-platform with another key: replaced" 0 "key-platform replaced" \
	"$S" anchor --dtb a1.dtb -o a3.dtb --key vend.pub --id platform --usages system
[[ $(keys_of a3.dtb) == "platform/sealinit/$vid/system 5" ]] && ok "rotated to the new key" || ko "rotation: $(keys_of a3.dtb)"
# the same public key under another id: refused by name, nothing written
expect "the same key as key-other: refused, naming key-platform" 2 "already in the anchor as key-platform" \
	"$S" anchor --dtb a1.dtb -o dup.dtb --key plat.pub --id other --usages all
absent "nothing written for the duplicate" dup.dtb

# floors
expect "--rollback-floor 0 below 5: refused" 2 "below the anchor's floor 5" \
	"$S" anchor --dtb a1.dtb -o f0.dtb --rollback-floor 0
absent "nothing written for the lower floor" f0.dtb
expect "--rollback-floor 3 --force" 0 "rollback floor 3" "$S" anchor --dtb a1.dtb -o f3.dtb --rollback-floor 3 --force
[[ $(keys_of f3.dtb) == *" 3" ]] && ok "the floor is 3" || ko "floor: $(keys_of f3.dtb)"
expect "--rollback-floor 9 (raising needs nothing)" 0 "rollback floor 9" "$S" anchor --dtb a1.dtb -o f9.dtb --rollback-floor 9
expect "--force without --rollback-floor: 2" 2 "--force goes with --rollback-floor" "$S" anchor --dtb a1.dtb -o x.dtb --force --key vend.pub --id v --usages all

# remove
"$S" anchor --dtb a1.dtb -o two.dtb --key vend.pub --id vendor --usages kc-aux >/dev/null
expect "--remove-key vendor" 0 "key-vendor removed" "$S" anchor --dtb two.dtb -o one.dtb --remove-key vendor
[[ $(keys_of one.dtb) == "platform/sealinit/$pid/system,cryptex 5" ]] && ok "only key-platform is left" || ko "after remove: $(keys_of one.dtb)"
expect "--remove-key nosuch: 1" 1 SI_E_NOTFOUND "$S" anchor --dtb two.dtb -o x.dtb --remove-key nosuch
expect "removing the last key: refused by the parser, not written" 1 SI_E_ANCHOR_NOKEY \
	"$S" anchor --dtb one.dtb -o empty.dtb --remove-key platform
absent "a tree sealinit would refuse is never written" empty.dtb

# U-Boot's /signature: one key pair for the FIT image and the seals
openssl genrsa -out dev.key 2048 2>/dev/null
openssl req -batch -new -x509 -key dev.key -out dev.crt -days 1 -subj /CN=dev 2>/dev/null
openssl pkey -in dev.key -pubout -out dev.pub
head -c 4096 /dev/urandom > kernel.bin
cat > fit.its <<'ITS'
/dts-v1/;
/ {
	description = "sealctl anchor test";
	#address-cells = <1>;
	images { kernel-1 { data = /incbin/("kernel.bin"); type = "kernel"; arch = "arm64"; os = "linux";
		compression = "none"; load = <0x40080000>; entry = <0x40080000>; hash-1 { algo = "sha256"; }; }; };
	configurations { default = "conf-1"; conf-1 { kernel = "kernel-1";
		signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; sign-images = "kernel"; }; }; };
};
ITS
cp base.dtb uboot.dtb
mkimage -f fit.its -K uboot.dtb -k . -r fit.itb >/dev/null 2>&1 || ko "mkimage -K"
did=$("$S" key id dev.pub --json | /usr/bin/python3 -c 'import json,sys;print(json.load(sys.stdin)["key_id"][:16])')
[[ $(keys_of uboot.dtb) == "dev/u-boot/$did/ None" ]] &&
	ok "--list shows mkimage's key as u-boot, allowed nothing by default (least privilege)" || ko "u-boot list: $(keys_of uboot.dtb)"
expect "--key of a key U-Boot holds: usages set in place" 0 "the key is U-Boot's /signature/key-dev: its sealinit,usages set to kc-aux" \
	"$S" anchor --dtb uboot.dtb -o u1.dtb --key dev.pub --id dev --usages kc-aux
parses "u1.dtb passes the anchor parser (no duplicate node)" u1.dtb
[[ $(keys_of u1.dtb) == "dev/u-boot/$did/kc-aux None" ]] && ok "one key, u-boot, kc-aux only" || ko "u1: $(keys_of u1.dtb)"
dtc -q -I dtb -O dts u1.dtb | grep -q 'key-dev {' && [[ $(dtc -q -I dtb -O dts u1.dtb | grep -c 'key-dev {') -eq 1 ]] &&
	ok "U-Boot's node is kept (FIT verification needs it)" || ko "key-dev node count"
expect "--uboot-key dev --usages system" 0 "/signature/key-dev may sign system" \
	"$S" anchor --dtb uboot.dtb -o u2.dtb --uboot-key dev --usages system
"$S" seal --image kernel.bin --kind cryptex --name c --version 1 --rollback-index 1 --overlay /opt --key dev.key -o c.img >/dev/null
expect "a cryptex by the U-Boot key, anchor limited to system: usage refused" 1 SI_E_SEAL_USAGE "$S" verify c.img --anchor u2.dtb --image-only
expect "--uboot-key dev --usages all --overlay-targets /opt" 0 "/signature/key-dev may sign" \
	"$S" anchor --dtb uboot.dtb -o u3.dtb --uboot-key dev --usages all --overlay-targets /opt
dtc -q -I dtb -O dts u3.dtb | grep -q 'sealinit,overlay-targets = "/opt"' && ok "sealinit,overlay-targets set on U-Boot's node" || ko "no sealinit,overlay-targets"
expect "the same cryptex with that anchor: verified" 0 "verified cryptex" "$S" verify c.img --anchor u3.dtb --image-only
expect "--uboot-key nosuch: 1" 1 SI_E_NOTFOUND "$S" anchor --dtb uboot.dtb -o x.dtb --uboot-key nosuch --usages all
expect "--remove-key of U-Boot's key: refused" 2 "sealctl does not remove it" "$S" anchor --dtb uboot.dtb -o x.dtb --remove-key dev
absent "nothing written for the refused edits" x.dtb

# --dtsi / --overlay still print
expect "--dtsi" 0 'compatible = "sealinit,trust-anchor"' "$S" anchor --dtsi --key plat.pub --id platform --usages all
"$S" anchor --overlay --key plat.pub --id platform --usages all -o ov.dts >/dev/null &&
	dtc -q -@ -I dts -O dtb -o ov.dtbo ov.dts && ok "--overlay -o FILE compiles" || ko "--overlay -o"
summary sealctl-anchor

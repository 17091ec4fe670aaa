#!/bin/bash
# U-Boot verified-boot keys as sealinit trust anchors.
#  - RSA-2048 and RSA-4096: openssl makes the key, `mkimage -K` (Debian
#    u-boot-tools) writes /signature/key-<name> into a DTB while signing a
#    FIT image with it (-k keydir -r); `sealctl verify --anchor` must then
#    accept a seal made with the same key, and refuse one made with another.
#  - ECDSA P-256: mkimage 2023.01 writes nothing for ECDSA keys, so the node
#    is written by hand from U-Boot's binding (doc/uImage.FIT/signature.txt:
#    algo, ecdsa,curve = "prime256v1", ecdsa,x-point, ecdsa,y-point).
#  - Least privilege: a U-Boot key signs nothing for sealinit until its node
#    says what ("sealinit,usages", added here with fdtput), unless the
#    build's CONFIG_UBOOT_KEY_USAGES grants a default.
# Needs: openssl, mkimage, dtc, build/host/sealctl (make sealctl).
# Last line: "uboot-key: N passed, N failed"; exit status 1 on any failure.
set -u
source "$(dirname "$0")/lib.bash"
for t in openssl mkimage dtc; do
	command -v $t >/dev/null || { echo "uboot-key: $t missing"; echo "uboot-key: 0 passed, 1 failed"; exit 1; }
done
[[ -x $S ]] || { echo "uboot-key: $S missing (make sealctl)"; echo "uboot-key: 0 passed, 1 failed"; exit 1; }

mkdir -p keys data
head -c 10000 /dev/urandom > data/payload
head -c 65536 /dev/urandom > kernel.bin
dtc -q -I dts -O dtb -o control.dtb - <<'DTS'
/dts-v1/;
/ { model = "u-boot control dtb"; compatible = "qemu,virt"; #address-cells = <2>; #size-cells = <2>; };
DTS

for bits in 2048 4096; do
	name=dev$bits
	openssl genrsa -out keys/$name.key $bits 2>/dev/null
	openssl req -batch -new -x509 -key keys/$name.key -out keys/$name.crt -days 1 -subj /CN=$name 2>/dev/null
	cat > fit-$name.its <<ITS
/dts-v1/;
/ {
	description = "sealinit interop: a FIT signed with $name";
	#address-cells = <1>;
	images {
		kernel-1 {
			data = /incbin/("kernel.bin");
			type = "kernel";
			arch = "arm64";
			os = "linux";
			compression = "none";
			load = <0x40080000>;
			entry = <0x40080000>;
			hash-1 { algo = "sha256"; };
		};
	};
	configurations {
		default = "conf-1";
		conf-1 {
			kernel = "kernel-1";
			signature-1 {
				algo = "sha256,rsa$bits";
				key-name-hint = "$name";
				sign-images = "kernel";
			};
		};
	};
};
ITS
	if mkimage -f fit-$name.its -K control.dtb -k keys -r fit-$name.itb > mkimage-$name.log 2>&1; then
		ok "mkimage -K wrote key-$name (rsa$bits)"
	else
		ko "mkimage -K rsa$bits: $(tail -n 3 mkimage-$name.log)"
		continue
	fi
	dtc -q -I dtb -O dts control.dtb 2>/dev/null | grep -q "key-$name" && ok "control.dtb has /signature/key-$name" || ko "no key-$name in control.dtb"
	"$S" seal --image data/payload --name uboot$bits --kind system --version 1 \
		--rollback-index 1 --key keys/$name.key -o seal-$name.img >/dev/null 2>seal.err ||
		ko "seal with keys/$name.key: $(cat seal.err)"
	expect "rsa$bits: mkimage's key node alone signs nothing (least privilege)" 1 \
		"may not sign this kind of image (field anchor key usages (manifest.kind) in uboot$bits: expected system, found none) [SI_E_SEAL_USAGE]" \
		"$S" verify seal-$name.img --anchor control.dtb --image-only
	fdtput -t s control.dtb /signature/key-$name sealinit,usages system cryptex ||
		ko "fdtput sealinit,usages into key-$name"
	expect "rsa$bits: seal verifies against mkimage's key node with sealinit,usages" 0 "verified system 'uboot$bits'" \
		"$S" verify seal-$name.img --anchor control.dtb --image-only
	expect "rsa$bits: verify --key with the PEM key itself" 0 "verified" \
		"$S" verify seal-$name.img --key keys/$name.key --image-only
done

# A seal by a key that is not in the DTB.
openssl genrsa -out other.key 2048 2>/dev/null
"$S" seal --image data/payload --name other --kind system --version 1 --rollback-index 1 \
	--key other.key -o seal-other.img >/dev/null
expect "seal by another RSA key: unknown key" 1 SI_E_SEAL_KEY_UNKNOWN "$S" verify seal-other.img --anchor control.dtb --image-only
# A flipped bit in the data, with the U-Boot anchor.
cp seal-dev2048.img flip.img 2>/dev/null && printf '\x01' | dd of=flip.img bs=1 seek=5000 conv=notrunc status=none
expect "flipped data bit: caught" 1 SI_E_SEAL_DATA_CORRUPT "$S" verify flip.img --anchor control.dtb --image-only

# ECDSA P-256: the node by hand, from U-Boot's binding.
openssl ecparam -name prime256v1 -genkey -noout -out ec.key
openssl ec -in ec.key -pubout -outform DER -out ec.der 2>/dev/null
hexbytes() { od -An -v -tx1 | tr -s ' \n' ' '; }
x=$(tail -c 64 ec.der | head -c 32 | hexbytes)
y=$(tail -c 32 ec.der | hexbytes)
dtc -q -I dtb -O dts control.dtb > both.dts 2>/dev/null
python3 - both.dts "$x" "$y" <<'PY'
import sys
p, x, y = sys.argv[1], sys.argv[2].strip(), sys.argv[3].strip()
s = open(p).read()
node = ('\t\tkey-ecdev {\n\t\t\trequired = "conf";\n\t\t\talgo = "sha256,ecdsa256";\n'
        '\t\t\tkey-name-hint = "ecdev";\n\t\t\tecdsa,curve = "prime256v1";\n'
        '\t\t\tecdsa,x-point = [%s];\n\t\t\tecdsa,y-point = [%s];\n'
        '\t\t\tsealinit,usages = "system", "cryptex";\n\t\t};\n' % (x, y))
node2 = node.replace('key-ecdev', 'key-ecaux').replace('"ecdev"', '"ecaux"').replace(
        '"system", "cryptex"', '"kc-aux"')
i = s.index('signature {') + len('signature {\n')
s = s[:i] + node + s[i:]
open(p, 'w').write(s)
open('aux.dts', 'w').write(s.replace(node, node2))
PY
dtc -q -I dts -O dtb -o both.dtb both.dts && ok "hand-written /signature/key-ecdev compiles" || ko "key-ecdev dts"
dtc -q -I dts -O dtb -o aux.dtb aux.dts || ko "aux dts"
"$S" seal --image data/payload --name ec --kind cryptex --version 2 --rollback-index 4 \
	--overlay /opt --key ec.key -o seal-ec.img >/dev/null
expect "ecdsa: seal verifies against the hand-written U-Boot node" 0 "verified cryptex 'ec'" \
	"$S" verify seal-ec.img --anchor both.dtb --image-only
expect "rsa2048 seal still verifies with both keys present" 0 "verified" \
	"$S" verify seal-dev2048.img --anchor both.dtb --image-only
expect "sealinit,usages = kc-aux restricts a U-Boot key" 1 SI_E_SEAL_USAGE \
	"$S" verify seal-ec.img --anchor aux.dtb
# A point that is not on the curve is refused by the anchor parser.  The
# lowest bit of y flips: (x, y^1) is on the curve only if y^1 == p - y,
# which no real key hits (setting a byte to a fixed value left the key
# unchanged whenever it already had that value: 1 run in 256).
perl -pe 's/(ecdsa,y-point = \[[^\]]*?)([0-9a-fA-F]{2})\]/sprintf("%s%02x]", $1, hex($2) ^ 1)/e' both.dts > badpt.dts
cmp -s both.dts badpt.dts && ko "ecdsa point off the curve: the y-point edit changed nothing"
dtc -q -I dts -O dtb -o badpt.dtb badpt.dts
expect "ecdsa point off the curve: anchor refused" 1 SI_E_ANCHOR_KEYVAL "$S" verify seal-ec.img --anchor badpt.dtb

echo "uboot-key: $pass passed, $fail failed"
[[ $fail -eq 0 ]]

#!/bin/bash
# sealctl keygen/seal/verify/inspect/anchor end to end, with keys made by
# openssl (genpkey, ecparam -genkey, genrsa) and by sealctl keygen: seal a
# directory (reproducible erofs) and an image, verify with --key and with
# --anchor, assert each command's exit code (0 ok, 1 check failed, 2 usage,
# 3 system) and the error named on failure.
# Needs: openssl, mkfs.erofs, dtc, python3, build/host/sealctl.
# Last line: "sealctl-seal: N passed, N failed"; exit status 1 on failure.
set -u
source "$(dirname "$0")/lib.bash"
[[ -x $S ]] || { echo "sealctl-seal: $S missing (make sealctl)"; echo "sealctl-seal: 0 passed, 1 failed"; exit 1; }

# --help everywhere, exit 0
for c in keygen seal verify inspect anchor; do
	expect "$c --help" 0 "usage: sealctl $c" "$S" $c --help
done

# keys: openssl in each form, and sealctl keygen
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k-genpkey-ec.pem
openssl ecparam -name prime256v1 -genkey -out k-ecparam.pem
openssl genrsa -out k-genrsa2048.pem 2048 2>/dev/null
openssl genrsa -traditional -out k-genrsa4096.pem 4096 2>/dev/null
for k in k-genpkey-ec k-ecparam k-genrsa2048 k-genrsa4096; do
	openssl pkey -in $k.pem -pubout -out $k.pub
done
for a in ecdsa-p256 rsa2048; do
	expect "keygen $a" 0 "$a key " "$S" keygen --algo $a -o k-sealctl-$a.pem --pub k-sealctl-$a.pub
	openssl pkey -in k-sealctl-$a.pem -noout 2>/dev/null && ok "openssl reads sealctl's $a private key" || ko "openssl cannot read k-sealctl-$a.pem"
	openssl pkey -pubin -in k-sealctl-$a.pub -noout 2>/dev/null && ok "openssl reads sealctl's $a public key" || ko "openssl cannot read k-sealctl-$a.pub"
	[[ $(stat -c %a k-sealctl-$a.pem) == 600 ]] && ok "private key mode 0600" || ko "private key mode $(stat -c %a k-sealctl-$a.pem)"
done

mkdir -p root/usr/bin root/etc
seq 1 50000 > root/usr/bin/tool
echo "name=os" > root/etc/os-release
head -c 12345 /dev/urandom > fs.img

for k in k-genpkey-ec k-ecparam k-genrsa2048 k-genrsa4096 k-sealctl-ecdsa-p256 k-sealctl-rsa2048; do
	expect "seal --dir with $k" 0 "sealed cryptex 'os'" "$S" seal --dir root --name os --kind cryptex \
		--version "13.3.1 (a)" --rollback-index 7 --key $k.pem --overlay /usr -o $k.sealed
	expect "verify --key $k.pub" 0 "verified cryptex 'os' 13.3.1 (a)" "$S" verify $k.sealed --key $k.pub
done
# reproducible: the same directory, name and key seal to the same bytes
"$S" seal --dir root --name os --kind cryptex --version "13.3.1 (a)" --rollback-index 7 \
	--key k-genpkey-ec.pem --overlay /usr -o again.sealed >/dev/null
cmp -s again.sealed k-genpkey-ec.sealed && ok "seal --dir is reproducible" || ko "seal --dir output differs between runs"

expect "seal --image (12345 bytes, padded)" 0 "sealed system" "$S" seal --image fs.img --name sys \
	--kind system --version 1 --rollback-index 3 --key k-genrsa2048.pem -o img.sealed
"$S" inspect img.sealed --json > img.json
python3 - img.json <<'PY' && ok "inspect --json: keys and values" || ko "inspect --json"
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("name kind version rollback_index fs_type data_size data_block_size hash_block_size "
          "hash_algorithm salt root_hash hash_offset key_id data_blocks").split():
    assert k in j, k
assert j["name"] == "sys" and j["kind"] == "system" and j["fs_type"] == "raw"
assert j["data_size"] == 12345 and j["data_blocks"] == 4 and j["hash_offset"] == 16384
assert j["root_hash"] == j["root_hash"].lower() and len(j["root_hash"]) == 64
assert j["hash_algorithm"] == "sha256" and j["signature_algorithm"] == "rsa2048"
PY
expect "inspect (text)" 0 "signature not checked" "$S" inspect img.sealed

# failures: exit 1 with the specific error
expect "wrong key" 1 SI_E_SEAL_KEY_UNKNOWN "$S" verify img.sealed --key k-ecparam.pub
expect "--kind cryptex on a system image" 1 SI_E_SEAL_KIND "$S" verify img.sealed --key k-genrsa2048.pub --kind cryptex
expect "--recorded-floor 4 > index 3" 1 SI_E_SEAL_ROLLBACK "$S" verify img.sealed --key k-genrsa2048.pub --recorded-floor 4
expect "--recorded-floor 3 = index 3" 0 verified "$S" verify img.sealed --key k-genrsa2048.pub --recorded-floor 3 --image-only
head -c -1 img.sealed > trunc.sealed
expect "truncated by one byte" 1 SI_E_SEAL_MAGIC "$S" verify trunc.sealed --key k-genrsa2048.pub
head -c 10 img.sealed > tiny.sealed
expect "smaller than a footer" 1 SI_E_SEAL_TRUNC "$S" inspect tiny.sealed
expect "not sealed at all" 1 SI_E_SEAL_MAGIC "$S" inspect fs.img
size=$(stat -c %s img.sealed)
for off in 0 4095 12344 12345 16383 16384 20479; do
	cp img.sealed flip.sealed
	printf "\\x$(printf %02x $(( ($(od -An -tu1 -j$off -N1 img.sealed) ^ 4) )))" |
		dd of=flip.sealed bs=1 seek=$off conv=notrunc status=none
	expect "bit flipped at $off" 1 SI_E_SEAL_ "$S" verify flip.sealed --key k-genrsa2048.pub --image-only
done
moff=$(python3 -c "import json;print(json.load(open('img.json'))['manifest_offset'])")
cp img.sealed flip.sealed
printf 'X' | dd of=flip.sealed bs=1 seek=$((moff + 100)) conv=notrunc status=none
expect "manifest byte changed" 1 SI_E_SIG_BAD "$S" verify flip.sealed --key k-genrsa2048.pub --image-only

# usage errors: exit 2; system errors: exit 3
expect "verify without key" 2 "" "$S" verify img.sealed
expect "seal without --name" 2 "" "$S" seal --image fs.img --kind system --version 1 --rollback-index 0 --key k-ecparam.pem -o x
expect "seal --kind bogus" 2 "--kind" "$S" seal --image fs.img --name x --kind bogus --version 1 --rollback-index 0 --key k-ecparam.pem -o x
expect "seal --rollback-index -1" 2 "--rollback-index" "$S" seal --image fs.img --name x --kind system --version 1 --rollback-index -1 --key k-ecparam.pem -o x
expect "keygen --algo rsa1024" 2 "--algo" "$S" keygen --algo rsa1024 -o x.pem
expect "verify a missing file" 3 SI_E_OPEN "$S" verify /nonexistent --key k-ecparam.pub
expect "missing key file" 3 SI_E_OPEN "$S" verify img.sealed --key /nonexistent.pem
# invalid input: exit 1
expect "seal with a public key as the private key" 1 SI_E_KEY_NOPEM "$S" seal --image fs.img --name x --kind system --version 1 --rollback-index 0 --key k-ecparam.pub -o x
expect "seal --overlay on a system image (a wrong argument, like --kind bogus)" 2 SI_E_MANIFEST_VALUE "$S" seal --image fs.img --name x --kind system --version 1 --rollback-index 0 --key k-ecparam.pem --overlay /usr -o x
expect "seal --name with a slash (a wrong argument, like --kind bogus)" 2 SI_E_MANIFEST_VALUE "$S" seal --image fs.img --name a/b --kind system --version 1 --rollback-index 0 --key k-ecparam.pem -o x
[[ ! -e x ]] && ok "nothing written on failure" || ko "x written despite failure"

# anchor in a DTB; verify through it
dtc -q -I dts -O dtb -o base.dtb - <<< '/dts-v1/; / { model = "x"; };'
expect "anchor --dtb" 0 "key-platform" "$S" anchor --key k-genpkey-ec.pub --id platform --usages cryptex --overlay-targets /usr --rollback-floor 7 --dtb base.dtb -o a.dtb
expect "verify --anchor" 0 "verified cryptex" "$S" verify k-genpkey-ec.sealed --anchor a.dtb --kind cryptex
# What sealinit refuses, verify refuses: a key that may not overlay there,
# a cryptex under another file name, a target nobody may cover.
"$S" anchor --key k-genpkey-ec.pub --id platform --usages cryptex --rollback-floor 7 --dtb base.dtb -o anot.dtb >/dev/null
expect "verify: the key has no overlay-targets" 1 "expected none (the key overlays nothing), found /usr) [SI_E_OVERLAY_DENIED]" \
	"$S" verify k-genpkey-ec.sealed --anchor anot.dtb
"$S" anchor --key k-genpkey-ec.pub --id platform --usages cryptex --overlay-targets /opt --rollback-floor 7 --dtb base.dtb -o aopt.dtb >/dev/null
expect "verify: the key may overlay /opt, not /usr" 1 "expected /opt, found /usr) [SI_E_OVERLAY_DENIED]" \
	"$S" verify k-genpkey-ec.sealed --anchor aopt.dtb
expect "verify --image-only: the seal alone" 0 "verified cryptex" "$S" verify k-genpkey-ec.sealed --anchor anot.dtb --image-only
cp k-genpkey-ec.sealed tools.cryptex
expect "verify: a cryptex copied under another name" 1 "(field manifest.name: expected tools, found os) [SI_E_CRYPTEX_NAME]" \
	"$S" verify tools.cryptex --anchor a.dtb
cp k-genpkey-ec.sealed os.cryptex
expect "verify: under its own name" 0 "verified cryptex 'os'" "$S" verify os.cryptex --anchor a.dtb
"$S" seal --image fs.img --name evil --kind cryptex --version 1 --rollback-index 7 --overlay / --fs-type erofs --key k-genpkey-ec.pem -o root.sealed >/dev/null
"$S" anchor --key k-genpkey-ec.pub --id platform --usages cryptex --overlay-targets / --dtb base.dtb -o aroot.dtb >/dev/null
expect "verify: a cryptex over / (whatever the key allows)" 1 "[SI_E_OVERLAY_FORBIDDEN]" "$S" verify root.sealed --anchor aroot.dtb
"$S" seal --image fs.img --name os --kind cryptex --version 1 --rollback-index 7 --fs-type erofs --key k-genpkey-ec.pem -o nooverlay.sealed >/dev/null
expect "verify: a cryptex without an overlay target" 1 "(field manifest.overlay) [SI_E_MANIFEST_MISSING]" "$S" verify nooverlay.sealed --anchor aroot.dtb
"$S" seal --image fs.img --name system --kind system --version 1 --rollback-index 7 --fs-type raw --key k-genpkey-ec.pem -o rawsys.sealed >/dev/null
"$S" anchor --key k-genpkey-ec.pub --id platform --usages system,kc-boot --dtb base.dtb -o asys2.dtb >/dev/null
expect "verify: a system volume sealed raw" 1 "expected erofs|ext4|squashfs, found raw) [SI_E_IMAGE_KIND]" "$S" verify rawsys.sealed --anchor asys2.dtb
"$S" seal --image fs.img --name boot --kind kc-boot --version 1 --rollback-index 7 --fs-type erofs --key k-genpkey-ec.pem -o fskc.sealed >/dev/null
expect "verify: a kc-boot holding a file system" 1 "expected raw, found" "$S" verify fskc.sealed --anchor asys2.dtb
"$S" anchor --key k-genpkey-ec.pub --id platform --usages cryptex --rollback-floor 8 --dtb base.dtb -o a8.dtb >/dev/null
expect "anchor floor 8 > index 7" 1 SI_E_SEAL_ROLLBACK "$S" verify k-genpkey-ec.sealed --anchor a8.dtb
"$S" anchor --key k-genpkey-ec.pub --id platform --usages system --dtb base.dtb -o asys.dtb >/dev/null
expect "key lacks the cryptex usage" 1 SI_E_SEAL_USAGE "$S" verify k-genpkey-ec.sealed --anchor asys.dtb
expect "anchor --id with a capital" 2 "--id" "$S" anchor --key k-genpkey-ec.pub --id Platform --usages system --dtsi
expect "anchor --usages root" 2 "--usages" "$S" anchor --key k-genpkey-ec.pub --id p --usages root --dtsi

echo "sealctl-seal: $pass passed, $fail failed"
[[ $fail -eq 0 ]]

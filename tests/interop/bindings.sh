#!/bin/bash
# The trust-anchor binding: dt-validate (Debian dt-schema) checks the example
# DTS files in docs/bindings/examples/ against
# docs/bindings/sealinit,trust-anchor.yaml, refuses broken variants of them,
# and accepts what `sealctl anchor` writes; sealinit's own anchor parser
# (through sealctl verify --anchor) reads the examples.
# Needs: dtc, dt-validate, build/host/sealctl (make sealctl).
# Last line: "bindings: N passed, N failed"; exit status 1 on any failure.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
S=$top/build/host/sealctl
SCHEMA=docs/bindings
V=tests/vectors/seal
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "  PASS $*"; }
ko() { fail=$((fail + 1)); echo "  FAIL $*"; }

for t in dtc dt-validate; do
	command -v $t >/dev/null || { echo "bindings: $t missing (Debian device-tree-compiler, dt-schema)"; echo "bindings: 0 passed, 1 failed"; exit 1; }
done
[[ -x $S ]] || { echo "bindings: $S missing (make sealctl)"; echo "bindings: 0 passed, 1 failed"; exit 1; }

# validate FILE.dts -> 0 when dtc compiles it and dt-validate prints nothing
# (dt-validate 2022.08 exits 0 even when it reports errors).
validate() {
	local dtb=$tmp/$(basename "$1" .dts).dtb out
	dtc -q -I dts -O dtb -o "$dtb" "$1" 2>"$tmp/dtc.err" || { cat "$tmp/dtc.err"; return 2; }
	out=$(dt-validate -s "$SCHEMA" "$dtb" 2>&1)
	[[ -z $out ]] || { printf '%s\n' "$out" | head -n 3 > "$tmp/why"; return 1; }
}

for f in docs/bindings/examples/*.dts; do
	if validate "$f"; then ok "valid: $f"; else ko "valid: $f: $(cat "$tmp/why" 2>/dev/null)"; fi
done

# Broken variants of the ECDSA example, each must be refused.
base=docs/bindings/examples/anchor-ecdsa.dts
bad() { # name sed-expression
	sed -e "$2" "$base" > "$tmp/bad-$1.dts"
	if cmp -s "$base" "$tmp/bad-$1.dts"; then ko "refused: $1 (the edit did not apply)"; return; fi
	validate "$tmp/bad-$1.dts"
	case $? in
	1) ok "refused: $1" ;;
	0) ko "refused: $1: dt-validate accepted it" ;;
	*) ko "refused: $1: dtc failed" ;;
	esac
}
bad algorithm 's/"ecdsa-p256"/"rsa1024"/'
bad usage-name 's/"kc-aux", //'"; s/\"system\"/\"root\"/"
bad key-short 's/7c 70 91 88 0f/7c 70 91 88/'
bad no-usages '/usages = /d'
bad no-public-key '/public-key = /,/];/d'
bad unknown-prop 's/usages = /usage = /'
bad unit-address 's/key-platform {/key-platform@1 {/'
bad uppercase-id 's/key-platform {/key-Platform {/'
bad floor-cells 's/rollback-floor = <0x0 0x5>;/rollback-floor = <0x5>;/'
bad rsa-exponent-on-ec 's/algorithm = "ecdsa-p256";/algorithm = "ecdsa-p256"; rsa-exponent = <65537>;/'
bad target-relative 's|"/opt/app"|"opt/app"|'
bad target-dotdot 's|"/opt/app"|"/opt/../etc"|'
bad target-twice 's|"/usr", "/opt/app"|"/usr", "/usr"|'
bad unknown-anchor-prop '/compatible = "sealinit,trust-anchor";/d; s/sealinit {/sealinit { compatible = "sealinit,trust-anchor"; bogus = <1>;/'
sed -e '/rsa-exponent/d' docs/bindings/examples/anchor-multi.dts > "$tmp/bad-rsa-no-exp.dts"
validate "$tmp/bad-rsa-no-exp.dts"; [[ $? -eq 1 ]] && ok "refused: rsa without rsa-exponent" || ko "refused: rsa without rsa-exponent"

# What sealctl anchor writes validates: into a DTB (three keys), and as .dtsi.
dtc -q -I dts -O dtb -o "$tmp/base.dtb" - <<< '/dts-v1/; / { model = "x"; compatible = "qemu,virt"; #address-cells = <2>; #size-cells = <2>; };'
if "$S" anchor --key $V/ec-pkcs8.pub.pem --id platform --usages all --overlay-targets /usr,/opt --rollback-floor 1 --dtb "$tmp/base.dtb" -o "$tmp/a1.dtb" >/dev/null &&
   "$S" anchor --key $V/rsa2048-pkcs1.pub.pem --id integrator --usages kc-aux --dtb "$tmp/a1.dtb" -o "$tmp/a2.dtb" >/dev/null &&
   "$S" anchor --key $V/rsa4096-pkcs8.pub.pem --id updates --usages update,system --dtb "$tmp/a2.dtb" -o "$tmp/a3.dtb" >/dev/null; then
	out=$(dt-validate -s "$SCHEMA" "$tmp/a3.dtb" 2>&1)
	[[ -z $out ]] && ok "sealctl anchor --dtb output validates" || ko "sealctl anchor --dtb output: $out"
else
	ko "sealctl anchor --dtb failed"
fi
{ echo '/dts-v1/;'; echo '/ { model = "x"; compatible = "qemu,virt"; #address-cells = <2>; #size-cells = <2>; };'
  "$S" anchor --key $V/rsa4096-pkcs8.pub.pem --id updates --usages update --dtsi; } > "$tmp/dtsi.dts"
validate "$tmp/dtsi.dts" && ok "sealctl anchor --dtsi output validates" || ko "sealctl anchor --dtsi output: $(cat "$tmp/why" 2>/dev/null)"
"$S" anchor --key $V/ec-pkcs8.pub.pem --id platform --usages all --overlay > "$tmp/ov.dts" &&
	dtc -q -@ -I dts -O dtb -o "$tmp/ov.dtbo" "$tmp/ov.dts" && ok "sealctl anchor --overlay compiles (dtc -@)" || ko "sealctl anchor --overlay"
# a second key-platform replaces the first (sealinit would refuse two)
"$S" anchor --key $V/ec-sec1.pub.pem --id platform --usages all --dtb "$tmp/a3.dtb" -o "$tmp/a4.dtb" >/dev/null 2>&1
[[ $? -eq 0 && $(dtc -q -I dtb -O dts "$tmp/a4.dtb" | grep -c "key-platform {") -eq 1 ]] &&
	ok "a key id given again is updated, not added twice" || ko "key-platform given twice"

# sealinit's parser reads the examples; the checks behind it fire.
expect() { # name want-exit want-text command...
	local name=$1 want=$2 text=$3 out st
	shift 3
	out=$("$@" 2>&1); st=$?
	if [[ $st -eq $want && $out == *"$text"* ]]; then ok "$name"; else ko "$name: exit $st: $out"; fi
}
dtc -q -I dts -O dtb -o "$tmp/ecdsa.dtb" docs/bindings/examples/anchor-ecdsa.dts
dtc -q -I dts -O dtb -o "$tmp/multi.dtb" docs/bindings/examples/anchor-multi.dts
expect "anchor floor 5 refuses an image with index 1" 1 SI_E_SEAL_ROLLBACK "$S" verify $V/one-block-ecdsa.sealed --anchor "$tmp/ecdsa.dtb"
expect "integrator key (kc-aux) may not sign a cryptex" 1 SI_E_SEAL_USAGE "$S" verify $V/odd-rsa2048.sealed --anchor "$tmp/multi.dtb"
expect "key not in the anchor" 1 SI_E_SEAL_KEY_UNKNOWN "$S" verify $V/one-block-ecdsa.sealed --anchor "$tmp/multi.dtb"
expect "sealctl anchor output accepts its key" 0 "verified" "$S" verify $V/one-block-ecdsa.sealed --anchor "$tmp/a3.dtb" --kind system --image-only
expect "--kind cryptex refuses a system image" 1 SI_E_SEAL_KIND "$S" verify $V/one-block-ecdsa.sealed --anchor "$tmp/a3.dtb" --kind cryptex

echo "bindings: $pass passed, $fail failed"
[[ $fail -eq 0 ]]

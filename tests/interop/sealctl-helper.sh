#!/bin/bash
# --signing-helper (issue 13): the private key stays outside sealctl (an
# HSM, a cloud KMS).  The helper here is a script around openssl, run as
# avbtool runs its helper: "CMD ALGORITHM PUBLIC_KEY_FILE", the bytes to
# sign on stdin, the signature on stdout.  ECDSA (openssl's DER, converted)
# and RSA-2048/4096; seal and kc; the same bytes as a seal with the private
# key; a helper that lies, fails or is missing is refused and nothing is
# written.
# Needs: openssl, cc, build/host/sealctl.  Last line: "sealctl-helper: N passed, N failed".
set -u
source "$(dirname "$0")/lib.bash"
[[ -x $S ]] || { echo "sealctl-helper: 0 passed, 1 failed"; exit 1; }

mkdir hsm
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out hsm/ec.pem 2>/dev/null
openssl genrsa -out hsm/rsa2048.pem 2048 2>/dev/null
openssl genrsa -out hsm/rsa4096.pem 4096 2>/dev/null
for k in ec rsa2048 rsa4096; do openssl pkey -in hsm/$k.pem -pubout -out $k.pub; done
# The "HSM": the private keys live in hsm/, named after the public key file.
cat > sign-helper <<'EOF'
#!/bin/sh
# avbtool's convention: $1 algorithm, $2 public key file; data on stdin.
echo "$1 $2" >> helper.log
key=hsm/$(basename "$2" .pub).pem
exec openssl dgst -sha256 -sign "$key"
EOF
chmod +x sign-helper
head -c 30000 /dev/urandom > data.img

for k in ec rsa2048 rsa4096; do
	expect "seal with the helper ($k)" 0 "sealed system 'system'" "$S" seal --image data.img --kind system --name system \
		--version 1 --rollback-index 1 --key $k.pub --signing-helper ./sign-helper -o $k.img
	expect "the helper's seal verifies ($k)" 0 "verified system 'system'" "$S" verify $k.img --key $k.pub --image-only
done
grep -qx "SHA256_ECDSA_P256 ec.pub" helper.log && grep -qx "SHA256_RSA2048 rsa2048.pub" helper.log &&
	grep -qx "SHA256_RSA4096 rsa4096.pub" helper.log && ok "the helper got ALGORITHM and PUBLIC_KEY_FILE" ||
	ko "helper arguments: $(cat helper.log)"
# RSA PKCS#1 v1.5 is deterministic: the helper's seal is the private key's, byte for byte.
"$S" seal --image data.img --kind system --name system --version 1 --rollback-index 1 --key hsm/rsa2048.pem -o direct.img >/dev/null
same "RSA: the helper's image equals sealing with the key file" rsa2048.img direct.img

# a public key file whose name starts with "-" reaches the helper as ./-name
cp ec.pub ./-ec.pub
: > helper.log
"$S" seal --image data.img --kind system --name system --version 1 --rollback-index 1 --key -ec.pub \
	--signing-helper ./sign-helper -o dash.img >/dev/null 2>&1
grep -qx "SHA256_ECDSA_P256 ./-ec.pub" helper.log && ok "a key named -ec.pub is passed as ./-ec.pub" || ko "helper got: $(cat helper.log)"

# kc with the helper
fake_kernel kroot 6.1.0-test && printf 'foo\n' > kc.list
expect "kc with the helper" 0 "2 modules: bar foo" "$S" kc --kernel-root kroot --modules kc.list --key ec.pub \
	--signing-helper ./sign-helper --name boot --version 6.1.0-test --rollback-index 1 -o boot.kc
expect "the helper's collection verifies" 0 "verified kc-boot 'boot'" "$S" verify boot.kc --key ec.pub --kind kc-boot

# helpers that lie or fail
printf '#!/bin/sh\ncat >/dev/null\nhead -c 64 /dev/urandom\n' > liar && chmod +x liar
expect "a helper returning a wrong signature: 1, nothing written" 1 "./liar: signature does not verify" \
	"$S" seal --image data.img --kind system --name system --version 1 --rollback-index 1 --key ec.pub --signing-helper ./liar -o lie.img
absent "no image from the lying helper" lie.img
printf '#!/bin/sh\ncat >/dev/null\nhead -c 100 /dev/urandom\n' > short && chmod +x short
expect "a helper returning the wrong length (RSA-2048 wants 256)" 3 "helper's signature length: expected 256, found 100" \
	"$S" seal --image data.img --kind system --name system --version 1 --rollback-index 1 --key rsa2048.pub --signing-helper ./short -o s.img
printf '#!/bin/sh\necho "no such key in the HSM" >&2\nexit 4\n' > failing && chmod +x failing
expect "a failing helper: 3, its exit status" 3 "./failing: signing helper failed (field exit status: expected 0, found 4) [SI_E_SIGN_HELPER]" \
	"$S" seal --image data.img --kind system --name system --version 1 --rollback-index 1 --key ec.pub --signing-helper ./failing -o f.img
expect "a missing helper: 3, errno" 3 "errno 2 (No such file or directory)" \
	"$S" seal --image data.img --kind system --name system --version 1 --rollback-index 1 --key ec.pub --signing-helper ./nosuch -o m.img
printf '#!/bin/sh\nexit 0\n' > noread && chmod +x noread
expect "a helper that reads nothing and prints nothing: 3" 3 SI_E_SIGN_HELPER \
	"$S" seal --image data.img --kind system --name system --version 1 --rollback-index 1 --key ec.pub --signing-helper ./noread -o n.img
printf '#!/bin/sh\nexec openssl dgst -sha256 -sign hsm/ec.pem\n' > ec-signer && chmod +x ec-signer
"$S" keygen --algo ecdsa-p256 -o other.pem --pub other.pub >/dev/null
expect "a helper whose key is not --key's: 1, SI_E_SIG_BAD" 1 "./ec-signer: signature does not verify" \
	"$S" seal --image data.img --kind system --name system --version 1 --rollback-index 1 --key other.pub --signing-helper ./ec-signer -o w.img
no_temporaries "no temporaries left by the failed helpers" .
absent "and no images" f.img
summary sealctl-helper

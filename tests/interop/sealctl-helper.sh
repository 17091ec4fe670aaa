#!/bin/bash
# --signing-helper (issue 13): the private key stays outside sealctl (an
# HSM, a cloud KMS).  The helper here is a script around openssl, run as
# avbtool runs its helper: "CMD ALGORITHM PUBLIC_KEY_FILE", the bytes to
# sign on stdin, the signature on stdout.  ECDSA (openssl's DER, converted)
# and RSA-2048/4096; seal, kc, set create and update create; the same bytes
# as with the private key file; a helper that lies, fails or is missing is
# refused by name and nothing is written.
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

printf '#!/bin/sh\ncat >/dev/null\nhead -c 64 /dev/urandom\n' > liar && chmod +x liar
printf '#!/bin/sh\necho "no such key in the HSM" >&2\nexit 4\n' > failing && chmod +x failing

# release sets and update bundles with the helper (the update key is the
# one most likely to live in an HSM): RSA is deterministic, so the helper's
# set and bundle are the key file's byte for byte
mkdir -p sys s1/cryptexes s2/cryptexes && echo hi > sys/x && seq 1 3000 > t1 && seq 1 3001 > t2
"$S" seal --dir sys --kind system --name system --version 1 --rollback-index 1 --key hsm/ec.pem -o system.img >/dev/null
"$S" seal --image t1 --kind cryptex --name os --overlay /usr --version 1 --rollback-index 1 --key hsm/ec.pem -o s1/cryptexes/os.cryptex >/dev/null
"$S" seal --image t2 --kind cryptex --name os --overlay /usr --version 2 --rollback-index 1 --key hsm/ec.pem -o s2/cryptexes/os.cryptex >/dev/null
setargs=(--system system.img --name r1 --version 1 --rollback-index 1)
expect "set create with the helper (rsa2048)" 0 "release set 'r1' 1" "$S" set create --slot s1 "${setargs[@]}" \
	--key rsa2048.pub --signing-helper ./sign-helper -o helper.set
"$S" set create --slot s1 "${setargs[@]}" --key hsm/rsa2048.pem -o direct.set >/dev/null
same "the helper's set equals the key file's" helper.set direct.set
expect "set create with a lying helper: 1, nothing written" 1 "./liar: signature does not verify" \
	"$S" set create --slot s1 "${setargs[@]}" --key ec.pub --signing-helper ./liar -o lie.set
absent "no set from the lying helper" lie.set
cp direct.set s1/release.set
"$S" set create --slot s2 --system system.img --name r2 --version 2 --rollback-index 2 --key hsm/rsa2048.pem >/dev/null
expect "update create with the helper (rsa2048)" 0 "update 'r2' 2 over 'r1'" "$S" update create --from s1 --to s2 \
	--key rsa2048.pub --signing-helper ./sign-helper --threads 1 -o helper.bundle
"$S" update create --from s1 --to s2 --key hsm/rsa2048.pem --threads 1 -o direct.bundle 2>/dev/null >/dev/null
same "the helper's bundle equals the key file's" helper.bundle direct.bundle
expect "update create with a failing helper: 3, named, nothing written" 3 "update: ./failing: signing helper failed" \
	"$S" update create --from s1 --to s2 --key ec.pub --signing-helper ./failing -o fail.bundle
absent "no bundle from the failing helper" fail.bundle

# helpers that lie or fail
expect "a helper returning a wrong signature: 1, nothing written" 1 "./liar: signature does not verify" \
	"$S" seal --image data.img --kind system --name system --version 1 --rollback-index 1 --key ec.pub --signing-helper ./liar -o lie.img
absent "no image from the lying helper" lie.img
printf '#!/bin/sh\ncat >/dev/null\nhead -c 100 /dev/urandom\n' > short && chmod +x short
expect "a helper returning the wrong length (RSA-2048 wants 256)" 3 "helper's signature length: expected 256, found 100" \
	"$S" seal --image data.img --kind system --name system --version 1 --rollback-index 1 --key rsa2048.pub --signing-helper ./short -o s.img
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

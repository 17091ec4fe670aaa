#!/bin/bash
# Regenerates tests/vectors/seal/: keys made by openssl in every PEM form
# sealinit must read (and some it must refuse), and small sealed images.
# Usage: tests/vectors/seal/make-vectors.sh [path/to/sealctl]
# Keys are random: rerunning changes every file; the tests only rely on
# each file's kind, not its bytes.
set -euo pipefail
cd "$(dirname "$0")"
S=${1:-../../../build/host/sealctl}
O=openssl

# Accepted.
$O ecparam -name prime256v1 -genkey -out ec-sec1.pem              # EC PARAMETERS + EC PRIVATE KEY
$O genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec-pkcs8.pem
$O genrsa -traditional -out rsa2048-pkcs1.pem 2048 2>/dev/null    # RSA PRIVATE KEY
$O genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out rsa4096-pkcs8.pem 2>/dev/null
for k in ec-sec1 ec-pkcs8 rsa2048-pkcs1 rsa4096-pkcs8; do
	$O pkey -in $k.pem -pubout -out $k.pub.pem
	$O pkey -in $k.pem -pubout -outform DER -out $k.pub.der
done
$O rsa -in rsa2048-pkcs1.pem -RSAPublicKey_out -out rsa2048-pkcs1.rsapub.pem 2>/dev/null

# Refused, each for its own reason.
$O genrsa -out bad-rsa1024.pem 1024 2>/dev/null                   # SI_E_KEY_TYPE
$O pkey -in bad-rsa1024.pem -pubout -out bad-rsa1024.pub.pem
$O genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out bad-p384.pem
$O pkey -in bad-p384.pem -pubout -out bad-p384.pub.pem
$O genpkey -algorithm ED25519 -out bad-ed25519.pem
$O pkey -in bad-ed25519.pem -pubout -out bad-ed25519.pub.pem
$O pkey -in ec-pkcs8.pem -aes256 -passout pass:x -out bad-encrypted.pem  # SI_E_KEY_ENCRYPTED
$O ec -in ec-pkcs8.pem -pubout -conv_form compressed -out bad-compressed.pub.pem 2>/dev/null

# Sealed images: one data block (no tree levels), and a padded odd size.
head -c 4096 /dev/zero | tr '\0' 'A' > one-block.raw
head -c 20000 /dev/zero | tr '\0' 'B' > odd.raw
$S seal --image one-block.raw --name one --kind system --version 1.0 --rollback-index 1 \
	--key ec-pkcs8.pem --salt 00112233 -o one-block-ecdsa.sealed >/dev/null
$S seal --image odd.raw --name odd --kind cryptex --version "13.3.1 (a)" --rollback-index 7 \
	--overlay /usr --key rsa2048-pkcs1.pem -o odd-rsa2048.sealed >/dev/null
rm -f one-block.raw odd.raw
echo "vectors written to $(pwd)"

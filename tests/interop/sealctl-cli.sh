#!/bin/bash
# sealctl's conventions, as an integrator meets them (issue 13): one
# exit-code table for the same cause everywhere; messages that name the
# file concerned and carry the real errno; "--" ends options and names that
# start with "-" never reach mkfs.erofs as options; --threads 0 means every
# CPU in every command; --json on every command that reports, one
# envelope, an error document on failure; key ids one way (16 hex digits
# on the console, 64 in JSON, the same key everywhere); sealctl key id;
# inspect reads patches, partitions, kernel collections, release sets and
# bundles; progress names diff's and update create's phases, set create's
# images, and a resumed apply says from which segment.
# Needs: mkfs.erofs, openssl, cc, python3, build/host/sealctl.
# Last line: "sealctl-cli: N passed, N failed".
set -u
source "$(dirname "$0")/lib.bash"
[[ -x $S ]] || { echo "sealctl-cli: 0 passed, 1 failed"; exit 1; }
mnt=
trap '[[ -n $mnt ]] && umount "$mnt" 2>/dev/null; rm -rf "$tmp"' EXIT

"$S" keygen --algo ecdsa-p256 -o k.pem --pub k.pub >/dev/null
mkdir -p tree && seq 1 20000 > tree/numbers && head -c 50000 /dev/urandom > fs.img
common=(--kind system --name system --version 1 --rollback-index 1 --key k.pem)

# ---- the same cause, the same exit code
expect "seal --dir MISSING: 3, named, errno 2" 3 "sealctl: seal: /nope/tree: cannot open file (errno 2 (No such file or directory)) [SI_E_OPEN]" \
	"$S" seal --dir /nope/tree "${common[@]}" -o x.img
expect "seal --image MISSING: 3, named, errno 2" 3 "sealctl: seal: /nope/fs.img: cannot open file (errno 2 (No such file or directory)) [SI_E_OPEN]" \
	"$S" seal --image /nope/fs.img "${common[@]}" -o x.img
expect "verify MISSING: 3" 3 "/nope/x.img: cannot open file (errno 2" "$S" verify /nope/x.img --key k.pub
expect "--kind bogus: 2" 2 "--kind: expected system" "$S" seal --image fs.img --kind bogus --name s --version 1 --rollback-index 1 --key k.pem -o x.img
expect "--name a/b: 2, like --kind" 2 "manifest.name" "$S" seal --image fs.img --kind system --name a/b --version 1 --rollback-index 1 --key k.pem -o x.img
expect "--version with a tab: 2" 2 "manifest.version" "$S" seal --image fs.img --kind system --name s --version "$(printf 'a\tb')" --rollback-index 1 --key k.pem -o x.img
for c in keygen seal verify inspect anchor diff apply kc key; do
	expect "$c --bogus: 2" 2 "unknown option '--bogus'" "$S" $c --bogus
done
expect "an option given twice: 2" 2 "option --name given twice" "$S" seal --image fs.img --name a --name b --kind system --version 1 --rollback-index 1 --key k.pem -o x.img
expect "a missing value: 2" 2 "option -o needs a value" "$S" diff a b -o
absent "nothing written by the refused commands" x.img

# ---- messages: the real errno, the file concerned, the right hint
"$S" seal --image fs.img "${common[@]}" -o a.img >/dev/null
"$S" seal --image tree/numbers --kind system --name system --version 2 --rollback-index 1 --key k.pem -o b.img >/dev/null
"$S" diff a.img b.img -o ab.patch 2>/dev/null
out=$("$S" apply /nope/old.img ab.patch -o n.img 2>&1); st=$?
[[ $st -eq 3 && $out == *"apply: /nope/old.img: cannot open file"*"errno 2 (No such file or directory)"* ]] &&
	ok "apply with OLD missing names OLD, not the patch" || ko "apply OLD missing: exit $st: $out"
expect "keygen into a missing directory: SI_E_CREATE, errno 2" 3 "keygen: /nope/dir/k.pem: cannot create file (errno 2 (No such file or directory)) [SI_E_CREATE]" \
	"$S" keygen --algo ecdsa-p256 -o /nope/dir/k.pem
out=$("$S" keygen --algo ecdsa-p256 -o /nope/dir/k.pem 2>&1)
[[ $out != *"is it readable"* && $out == *"is it writable"* ]] && ok "an unwritable output's hint is about writing" || ko "hint: $out"
if [[ $(id -u) -eq 0 ]]; then
	mnt=$tmp/ro && mkdir -p "$mnt" && mount -t tmpfs -o ro,size=64k tmpfs "$mnt"
	expect "an output on a read-only file system: errno 30" 3 "$mnt/p: cannot create file (errno 30 (Read-only file system)) [SI_E_CREATE]" \
		"$S" diff a.img b.img -o "$mnt/p"
fi
mkdir -p adir
expect "a directory as a key file: named, its type, exit 1" 1 "adir: not a regular file (expected regular file, found directory) [SI_E_FILE_TYPE]" \
	"$S" anchor --key adir --id p --usages all --dtsi
expect "a directory as a DTB: the same" 1 "adir: not a regular file (expected regular file, found directory)" \
	"$S" anchor --key k.pub --id p --usages all --dtb adir -o o.dtb
all=$( { "$S" seal --dir /nope "${common[@]}" -o x; "$S" apply /nope ab.patch -o x; "$S" keygen --algo rsa2048 -o /nope/x;
	"$S" diff a.img /nope -o x; "$S" anchor --list /nope; "$S" key id /nope; "$S" key id adir;
	"$S" anchor --key adir --id p --usages all --dtsi; "$S" verify a.img --key adir; } 2>&1)
[[ $all != *"errno 0"* && $all != *Success* ]] && ok "no message says errno 0 (Success)" || ko "errno 0: $(grep -m1 'errno 0' <<< "$all")"

# ---- "--" and names that start with "-"
mkdir -- -tree && cp tree/numbers ./-tree/
expect "seal --dir -tree (a directory named like an option)" 0 "sealed system 'system'" \
	"$S" seal --dir -tree "${common[@]}" -o -out.img
[[ -f ./-out.img ]] && ok "-o -out.img wrote ./-out.img" || ko "no ./-out.img"
expect "inspect -out.img: an unknown option" 2 "unknown option '-out.img'" "$S" inspect -out.img
expect "inspect -- -out.img" 0 "sealed image" "$S" inspect -- -out.img
expect "verify -- -out.img --key: options after -- are arguments" 2 "unexpected argument '--key'" "$S" verify -- -out.img --key k.pub
expect "verify --key k.pub -- -out.img" 0 "verified system" "$S" verify --key k.pub --image-only -- -out.img

# ---- --threads 0: every online CPU, in every command
expect "verify --threads 0" 0 "verified" "$S" verify a.img --key k.pub --threads 0 --image-only
expect "seal --threads 0" 0 "sealed" "$S" seal --image fs.img "${common[@]}" --threads 0 -o t.img
expect "diff --threads 0" 0 "" "$S" diff a.img b.img -o t.patch --threads 0
expect "apply --threads 0" 0 "verified" "$S" apply a.img t.patch -o t2.img --threads 0
fake_kernel kroot 6.1.0-test && printf 'foo\n' > kc.list
expect "kc --threads 0" 0 "2 modules: bar foo" "$S" kc --kernel-root kroot --modules kc.list --key k.pem \
	--name boot --version 6.1.0-test --rollback-index 1 --threads 0 -o boot.kc

# ---- kc-aux: third-party modules beside a system tier, with its index
mkdir -p kroot/lib/modules/6.1.0-test/updates
printf 'static const char mi[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=vendor\\0vermagic=6.1.0-test SMP mod_unload\\0depends=bar\\0license=GPL\\0";\nint init_module(void) { return 0; }\n' > vendor.c
cc -c -o kroot/lib/modules/6.1.0-test/updates/vendor.ko vendor.c
printf 'vendor\n' > aux.list
kcx=(--key k.pem --version 6.1.0-test --rollback-index 1)
expect "kc --kind kc-system (foo and bar)" 0 "2 modules" "$S" kc --kind kc-system --kernel-root kroot --name system "${kcx[@]}" -o sys.kc
expect "kc --kind kc-aux: vendor in updates/ (bar is the system tier's)" 0 "1 modules in updates/: vendor; modules.dep made by depmod with kc-system sys.kc" \
	"$S" kc --kind kc-aux --kernel-root kroot --modules aux.list --kc-system sys.kc --name aux "${kcx[@]}" -o aux.kc
"$S" inspect sys.kc --json > sys.json && "$S" inspect aux.kc --json > aux.json
json_check "inspect: the aux tier names the system tier's digest" aux.json \
	"j['kind'] == 'kc-aux' and j['fs_type'] == 'erofs'" \
	"j['kc_system'] == json.load(open('sys.json'))['manifest_digest']"
rm -rf auxx && fsck.erofs --extract=auxx aux.kc >/dev/null 2>&1
[[ $(cd auxx && find . -type f | sort | tr '\n' ' ') == *"./6.1.0-test/modules.dep ./6.1.0-test/modules.dep.bin "*"./6.1.0-test/updates/vendor.ko "* &&
   $(cd auxx && find . -type f | grep -vc -e '/modules\.[a-z.]*$' -e '/updates/vendor\.ko$') == 0 ]] &&
	ok "the aux tree: updates/vendor.ko and depmod's modules.* files, nothing else" || ko "aux tree: $(cd auxx && find . -type f | tr '\n' ' ')"
grep -qx 'updates/vendor.ko:' auxx/6.1.0-test/modules.dep && grep -q '^kernel/drivers/bar.ko:' auxx/6.1.0-test/modules.dep &&
	ok "its modules.dep lists the system tier's modules and vendor" || ko "modules.dep: $(cat auxx/6.1.0-test/modules.dep)"
printf 'foo\n' > auxfoo.list
expect "kc-aux listing a system-tier module: refused, nothing written" 1 "module 'foo' is the system tier's (6.1.0-test/kernel/drivers/foo.ko): an aux tier adds modules to the platform's, it does not replace one" \
	"$S" kc --kind kc-aux --kernel-root kroot --modules auxfoo.list --kc-system sys.kc --name aux "${kcx[@]}" -o aux2.kc
absent "no aux2.kc" aux2.kc
expect "kc-aux without --kc-system: a usage error" 2 "--kind kc-aux needs --kc-system SYSTEM.kc" \
	"$S" kc --kind kc-aux --kernel-root kroot --modules aux.list --name aux "${kcx[@]}" -o aux2.kc
expect "kc-aux with a kc-boot as its system tier: refused" 1 "(field manifest.kind: expected kc-system, found kc-boot)" \
	"$S" kc --kind kc-aux --kernel-root kroot --modules aux.list --kc-system boot.kc --name aux "${kcx[@]}" -o aux2.kc
expect "kc-aux labelled with another version than the release" 2 "--version of a kc-aux tier must be the kernel release 6.1.0-test" \
	"$S" kc --kind kc-aux --kernel-root kroot --modules aux.list --kc-system sys.kc --name aux --key k.pem \
	--version 1.0 --rollback-index 1 -o aux2.kc
printf '?vendor\n' > auxreq.list
expect "kc-aux: '?' (on request) is the boot tier's" 2 "loading on request is for kc-boot" \
	"$S" kc --kind kc-aux --kernel-root kroot --modules auxreq.list --kc-system sys.kc --name aux "${kcx[@]}" -o aux2.kc
expect "seal --kind kc-aux without --kc-system" 2 "--kind kc-aux needs --kc-system" \
	"$S" seal --image fs.img --kind kc-aux --name aux --version 1 --rollback-index 1 --key k.pem -o aux2.kc
expect "seal --kc-system on another kind" 2 "--kc-system is for --kind kc-aux" \
	"$S" seal --image fs.img "${common[@]}" --kc-system sys.kc -o aux2.kc
# a flipped byte in the system tier's data: nothing is built against it
cp sys.kc sysbad.kc && printf '\x01' | dd of=sysbad.kc bs=1 seek=1100 conv=notrunc status=none
expect "kc-aux against a damaged system tier: refused" 1 "sysbad.kc: data block does not match the hash tree" \
	"$S" kc --kind kc-aux --kernel-root kroot --modules aux.list --kc-system sysbad.kc --name aux "${kcx[@]}" -o aux2.kc
absent "no aux2.kc after the refusals" aux2.kc
for c in "verify a.img --key k.pub --image-only" "diff a.img b.img -o t3.patch" "apply a.img t.patch -o t3.img" \
	"seal --image fs.img ${common[*]} -o t3.img"; do
	expect "${c%% *} --threads 65: 2, the same message" 2 "--threads: expected 0..64 (0: every online CPU), found '65'" "$S" $c --threads 65
done

# ---- key ids: one way everywhere
"$S" keygen --algo ecdsa-p256 -o j.pem --pub j.pub --json > keygen.json
json_check "keygen --json" keygen.json "j['schema'] == 1 and j['command'] == 'keygen' and j['ok'] is True" "len(j['key_id']) == 64"
full=$(/usr/bin/python3 -c "import json;print(json.load(open('keygen.json'))['key_id'])")
short=${full:0:16}
expect "key id PUB.pem: 16 hex digits" 0 "j.pub: ecdsa-p256 key $short" "$S" key id j.pub
expect "key id PRIVATE.pem: the same id" 0 "j.pem: ecdsa-p256 key $short" "$S" key id j.pem
openssl pkey -in j.pem -pubout -outform DER -out j.der 2>/dev/null
expect "key id of openssl's DER: the same id" 0 "key $short" "$S" key id j.der
"$S" key id j.pub --json > keyid.json
json_check "key id --json: the full id" keyid.json "j['key_id'] == '$full'" "j['algorithm'] == 'ecdsa-p256'"
expect "seal prints the short id" 0 "with ecdsa-p256 key $short" "$S" seal --image fs.img --kind system --name system --version 1 --rollback-index 1 --key j.pem -o j.img
expect "inspect prints the short id" 0 "ecdsa-p256 by key $short" "$S" inspect j.img
expect "verify prints the short id" 0 ":key $short root" "$S" verify j.img --key j.pub --image-only
"$S" inspect j.img --json > inspect.json
"$S" verify j.img --key j.pub --image-only --json > verify.json
"$S" seal --image fs.img --kind system --name system --version 1 --rollback-index 1 --key j.pem -o j2.img --json > seal.json
for f in inspect verify seal; do
	json_check "$f --json: the full id" $f.json "j['key_id'] == '$full'" "j['command'] == '$f'" "j['ok'] is True"
done
dtc -q -I dts -O dtb -o base.dtb - <<< '/dts-v1/; / { model = "x"; };'
"$S" anchor --dtb base.dtb -o a.dtb --key j.pub --id plat --usages all >/dev/null
"$S" anchor --list a.dtb --json > list.json
json_check "anchor --list --json: the full id" list.json "j['keys'][0]['key_id'] == '$full'" "j['keys'][0]['id'] == 'plat'"
expect "anchor --list: the short id" 0 "$short" "$S" anchor --list a.dtb
out=$("$S" doctor --disk adir --dtb a.dtb 2>&1); st=$?
[[ $st -eq 1 && $out == *"adir: not a regular file (expected disk image or block device, found directory) [SI_E_FILE_TYPE]"* &&
   $out == *"no prediction"* && $out != *"the boot would fail"* ]] &&
	ok "doctor --disk DIRECTORY: named, its type, exit 1, no prediction claimed" || ko "doctor --disk DIR: exit $st: $(tail -n 3 <<< "$out")"
"$S" doctor --disk adir --dtb a.dtb --json > doc.json 2>/dev/null
json_check "doctor --json without a prediction: stage null" doc.json "j['ok'] is False" "j['stage'] is None" "j['boots'] is False"
grep -rhoE '\b[0-9a-f]{8}\.\.\.' <("$S" seal --image fs.img "${common[@]}" -o j3.img; "$S" inspect j3.img; "$S" keygen --algo ecdsa-p256 -o z.pem) >/dev/null &&
	ko "an abbreviated key id (8 digits and ...) is still printed" || ok "no 8-digit key ids left"

# ---- --json on every command that reports; failures are JSON too
"$S" version --json > v.json && json_check "version --json" v.json "j['command'] == 'version'" "'version' in j"
"$S" diff a.img b.img -o d.patch --json > diff.json 2>/dev/null
json_check "diff --json" diff.json "j['patch_size'] > 0" "j['sealed']['from_version'] == '1'" "j['reverse'] is None"
"$S" apply a.img d.patch -o d.img --key k.pub --json > apply.json 2>/dev/null
json_check "apply --json" apply.json "j['sealed']['version'] == '2'" "j['sealed']['signature_checked'] is True" "j['resumed_segments'] == 0"
"$S" kc --kernel-root kroot --modules kc.list --key k.pem --name boot --version 6.1.0-test --rollback-index 1 -o kc2.kc --json > kc.json
json_check "kc --json" kc.json "j['modules'] == ['bar', 'foo']" "j['release'] == '6.1.0-test'"
"$S" verify a.img --key j.pub --json > bad.json 2>/dev/null; st=$?
json_check "verify --json on a failure: an error document" bad.json "j['ok'] is False" "j['exit'] == 1" \
	"j['error']['code'] == 'SI_E_SEAL_KEY_UNKNOWN'" "j['error']['cause'] == 'trust'" "j['error']['file'] == 'a.img'"
[[ $st -eq 1 ]] && ok "and the exit code stays 1" || ko "verify --json failure exit $st"
"$S" verify a.img --json > usage.json 2>/dev/null
json_check "a usage error under --json" usage.json "j['ok'] is False" "j['exit'] == 2" "j['error']['code'] == 'usage'"
# Each command prints exactly the keys its documentation lists.
/usr/bin/python3 "$top/tools/mkhelp" json-keys "$top/docs/man/sealctl.txt" > documented
for f in keygen seal verify diff apply kc; do
	want=$(awk -v c=$f '$1 == c { print $2 }' documented | sort | tr '\n' ' ')
	have=$(/usr/bin/python3 -c "import json,sys; print(' '.join(sorted(k for k in json.load(open('$f.json')) if k not in ('schema','command','ok'))))")
	[[ "$want" == "$have " ]] && ok "$f --json: the documented keys, no more, no fewer" || ko "$f --json keys: documented [$want] printed [$have]"
done

# ---- inspect: patches, partitions, kernel collections
"$S" inspect ab.patch --json > ip.json
json_check "inspect a patch" ip.json "j['type'] == 'patch'" "j['format_version'] == 3" "j['seals'] is not None" "j['segments'] >= 1" "isinstance(j['expansions'], list)" "j['old_size'] == $(stat -c %s a.img)"
expect "inspect a patch (text)" 0 "delta patch, format 3" "$S" inspect ab.patch
head -c 30000 /dev/urandom > r1 && head -c 30000 /dev/urandom > r2 && "$S" diff r1 r2 -o raw.patch 2>/dev/null
"$S" inspect raw.patch --json > iraw.json
json_check "inspect a raw patch: no seals" iraw.json "j['seals'] is None"
"$S" inspect boot.kc --json > ikc.json
json_check "inspect a kernel collection lists its modules" ikc.json "j['type'] == 'sealed-image'" \
	"[m['name'] for m in j['collection']['modules']] == ['bar', 'foo']" "j['collection']['release'] == '6.1.0-test'"
expect "inspect a kernel collection (text)" 0 "2 modules in load order" "$S" inspect boot.kc
"$S" seal --image fs.img "${common[@]}" --partition-size 1M -o part.img >/dev/null
"$S" inspect part.img --json > ipart.json
json_check "inspect a partition image" ipart.json "j['image_size'] == 1048576" "j['sealed_size'] == $(stat -c %s a.img)"
expect "inspect garbage: 1" 1 SI_E_SEAL_MAGIC "$S" inspect r1

# ---- inspect: release sets and update bundles; set and update like the rest
mkdir -p sys s1/cryptexes s2/cryptexes && echo hi > sys/x
"$S" seal --dir sys --kind system --name system --version 1 --rollback-index 1 --key k.pem -o system.img >/dev/null
"$S" seal --dir tree --kind cryptex --name os --overlay /usr --version 1 --rollback-index 1 --key k.pem \
	-o s1/cryptexes/os.cryptex >/dev/null
cp s1/cryptexes/os.cryptex s2/cryptexes/os.cryptex && echo changed >> tree/numbers
"$S" seal --dir tree --kind cryptex --name os --overlay /usr --version 2 --rollback-index 1 --key k.pem \
	-o s2/cryptexes/os.cryptex >/dev/null
"$S" set create --slot s1 --system system.img --key k.pem --name r1 --version 1 --rollback-index 1 --json > set.json
"$S" set create --slot s2 --system system.img --key k.pem --name r2 --version 2 --rollback-index 2 >/dev/null
"$S" update create --from s1 --to s2 --key k.pem -o u.bundle --json > update.json 2>/dev/null
"$S" inspect u.bundle --json > ib.json
json_check "inspect a bundle" ib.json "j['type'] == 'bundle'" "j['name'] == 'r2'" "j['base_name'] == 'r1'" \
	"[e['action'] for e in j['entries']] == ['patch']" "len(j['key_id']) == 64"
expect "inspect a bundle (text)" 0 "u.bundle: update 'r2' 2 (rollback 2)" "$S" inspect u.bundle
"$S" inspect s1/release.set --json > is.json
json_check "inspect a release set" is.json "j['type'] == 'release-set'" "j['name'] == 'r1'" \
	"[i['name'] for i in j['images']] == ['os']"
expect "inspect a release set (text)" 0 "release set 'r1' 1" "$S" inspect s1/release.set
"$S" update inspect u.bundle --json > ui.json
json_check "update create and inspect print the same keys" ui.json \
	"set(j) == set(json.load(open('update.json')))" "j['target_set_digest'] == json.load(open('update.json'))['target_set_digest']" \
	"j['key_id'] == json.load(open('update.json'))['key_id']"
expect "update inspect DIRECTORY: its type, exit 1, like every command" 1 "adir: not a regular file" "$S" update inspect adir
expect "update create --from MISSING names the missing set file" 3 "update: /nope/release.set: cannot open file (errno 2" \
	"$S" update create --from /nope --to s2 --key k.pem -o x.bundle
for f in set update; do
	want=$(awk -v c=$f '$1 == c { print $2 }' documented | sort | tr '\n' ' ')
	have=$(/usr/bin/python3 -c "import json,sys; print(' '.join(sorted(k for k in json.load(open('$f.json')) if k not in ('schema','command','ok'))))")
	[[ "$want" == "$have " ]] && ok "$f --json: the documented keys, no more, no fewer" || ko "$f --json keys: documented [$want] printed [$have]"
done
"$S" update create --from s1 --to s2 --key k.pem -o u2.bundle --progress 2> uprog.txt >/dev/null
for ph in "patch 1: indexing the base: [0-9]+%" "patch 1: compressing: 100%" "patch 2: matching the target: [0-9]+%"; do
	grep -qE "update: $ph" uprog.txt && ok "update create --progress: '$ph'" || ko "update create --progress lacks '$ph': $(head -c 300 uprog.txt)"
done
"$S" set create --slot s1 --system system.img --key k.pem --name r1 --version 1 --rollback-index 1 -o p.set --progress 2> sprog2.txt >/dev/null
grep -q "set: s1/cryptexes/os.cryptex: recomputing the hash tree: 100%" sprog2.txt && ok "set create --progress names each image" ||
	ko "set create --progress: $(cat sprog2.txt)"
for c in "set create --slot s1 --system system.img --name r1 --version 1 --rollback-index 1 -o k.set" \
	"update create --from s1 --to s2 -o k.bundle"; do
	out=$("$S" $c --key /nope/key.pem --progress 2>&1); st=$?
	[[ $st -eq 3 && $out == *"/nope/key.pem: cannot open file"* && $out != *recomputing* ]] &&
		ok "${c%% --*} with a missing key fails before any image is hashed" || ko "${c%% --*} --key /nope: exit $st: $out"
done
expect "update create --from S --to S: wrong usage, named" 2 "--from s1 and --to ./s1 are the same slot" \
	"$S" update create --from s1 --to ./s1 --key k.pem -o same.bundle
# a damaged image whose manifest (so its set entry) is intact: refused by
# name before a bundle every device would refuse at boot is made
cp -a s2 s2bad && printf 'XXXX' | dd of=s2bad/cryptexes/os.cryptex bs=1 seek=100 conv=notrunc 2>/dev/null
expect "update create with a damaged target image: 1, the image named" 1 \
	"update: s2bad/cryptexes/os.cryptex: data block does not match the hash tree" \
	"$S" update create --from s1 --to s2bad --key k.pem -o bad.bundle
absent "no bundle from a damaged image" bad.bundle
for c in doctor set update stage status confirm revert version; do
	expect "$c --bogus: 2" 2 "unknown option '--bogus'" "$S" $c --bogus
done

# ---- progress: diff's phases; a resumed apply says so and from where
seq 1 400000 > big1 && sed 's/^1234$/x/' big1 > big2
"$S" diff big1 big2 -o big.patch --segment-kib 64 --progress 2> progress.txt
for ph in "indexing the base" "matching the target" "compressing"; do
	grep -qE "diff: forward patch: $ph: [0-9]+%" progress.txt && ok "diff --progress: '$ph' with a percentage" || ko "no '$ph' in: $(head -c 300 progress.txt)"
done
grep -q "compressing: 100%" progress.txt && ok "diff --progress ends at 100%" || ko "no 100%"
"$S" seal --dir tree "${common[@]}" -o prog.img --progress 2> sprog.txt >/dev/null
for ph in "making the erofs image: 100%" "hashing and signing: 100%" "writing: 100%"; do
	grep -q "seal: $ph" sprog.txt && ok "seal --progress: $ph" || ko "seal --progress lacks '$ph': $(head -c 200 sprog.txt)"
done
"$S" verify prog.img --key k.pub --progress 2> vprog.txt >/dev/null
grep -q "verify: recomputing the hash tree: 100%" vprog.txt && ok "verify --progress" || ko "verify --progress: $(cat vprog.txt)"
"$S" verify prog.img --key k.pub 2> quiet.txt >/dev/null
[[ ! -s quiet.txt ]] && ok "no progress without --progress when stderr is not a terminal" || ko "unasked progress: $(cat quiet.txt)"
nseg=$(/usr/bin/python3 -c "print(-(-$(stat -c %s big2) // 65536))")
expect "apply stopped after 3 segments (as an interruption)" 3 "SI_E_PATCH_STOPPED" \
	"$S" apply big1 big.patch -o big.out --checkpoint ck --stop-after 3 --threads 1
[[ -e big.out.part && -e ck ]] && ok "the checkpoint and the partial result stay" || ko "no checkpoint/partial"
out=$("$S" apply big1 big.patch -o big.out --checkpoint ck --progress --threads 1 2>&1); st=$?
[[ $st -eq 0 && $out == *"resuming from checkpoint ck: 3 of $nseg segments were done; continuing at segment 3"* ]] &&
	ok "a resumed apply says so, and from which segment" || ko "resume: exit $st: $(head -n 3 <<< "$out")"
grep -q "writing NEW:   0%\|writing NEW: 0%" <<< "$out" && ko "the resumed apply's progress restarted at 0%" || ok "the resumed apply's progress does not restart at 0%"
cmp -s big.out big2 && ok "the resumed result is NEW byte for byte" || ko "resumed result differs"
absent "the checkpoint is gone after success" ck
summary sealctl-cli

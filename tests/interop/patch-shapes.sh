#!/bin/bash
# sealctl diff/apply on image pairs of the shapes a device's updates take,
# beyond the benchmark's erofs pairs: erofs plain and lz4hc-compressed, ext4
# whose free space grows, a tar, partition images with zero padding, erased
# flash (0xFF) and a short period that are longer in the new image, and,
# inside the file systems, gzip members from gzip -1/-6/-9 and from Python's
# zlib (split into data and parse), a squashfs image's zlib blocks, xz
# streams of several presets, filters (x86, arm64), checks and
# blocks, an lzma-alone file, concatenated xz streams with padding, zstd
# frames of several levels, a long window, two in a file, a squashfs
# image's zstd blocks, and truncated members.  Each pair: the forward and the reverse patch apply to
# the other image byte for byte, and the diff ends (a stretch longer in the
# new image once made it quadratic: hours).
# Needs: mkfs.erofs, mke2fs, mksquashfs, xz, gzip, zstd, tar, python3,
# build/host/sealctl.
# Last line: "patch-shapes: N passed, N failed".
set -u
source "$(dirname "$0")/lib.bash"
[[ -x $S ]] || { echo "patch-shapes: 0 passed, 1 failed"; exit 1; }

# Two versions of a tree: a changelog with an entry prepended (as Debian's
# are), a text with edits, an x86-64 program with bytes inserted, each
# compressed the ways packages ship them.
/usr/bin/python3 - <<'PY' || { echo "patch-shapes: 0 passed, 1 failed"; exit 1; }
import gzip, os, random, subprocess

words = b"alpha beta gamma delta kernel fix update module driver buffer overflow the of and".split()

def text(n, seed):
    r = random.Random(seed)
    out = []
    while sum(map(len, out)) < n:
        out.append(b" ".join(r.choice(words) for _ in range(r.randint(3, 12))) + b"\n")
    return b"".join(out)

def edit(b, seed):
    r = random.Random(seed)
    b = bytearray(b)
    for _ in range(4):
        p = r.randrange(len(b))
        b[p:p] = text(r.randint(20, 400), r.random())
    return bytes(b)

def sh(cmd, data, out):
    with open(out, "wb") as f:
        subprocess.run(cmd, input=data, stdout=f, check=True)

prog = open("/usr/bin/xz", "rb").read()
base = text(60000, 1)
for v in ("old", "new"):
    d = v + "/usr/share"
    os.makedirs(d + "/doc", exist_ok=True)
    os.makedirs(v + "/usr/bin", exist_ok=True)
    cl = base if v == "old" else text(1500, 2) + base
    txt = base[:40000] if v == "old" else edit(base[:40000], 3)
    pg = prog if v == "old" else prog[:9000] + b"\x90" * 37 + prog[9000:]
    open(v + "/usr/bin/prog", "wb").write(pg)
    for lvl in ("1", "6", "9"):
        sh(["gzip", "-n", "-" + lvl], cl, f"{d}/doc/changelog{lvl}.gz")
    open(f"{d}/doc/zlib.gz", "wb").write(gzip.compress(cl, 9, mtime=0))
    xz = [["-0"], ["-6"], ["-9", "-e"], ["--x86", "--lzma2=preset=6"],
          ["--arm64", "--lzma2=preset=6"], ["--check=sha256", "-6"], ["--check=none", "-3"],
          ["--block-size=16KiB", "-6"], ["--format=lzma", "-6"]]
    for i, o in enumerate(xz):
        sh(["xz", "-c"] + o, pg if "--x86" in o else txt, f"{d}/x{i}.xz")
    a = subprocess.run(["xz", "-6", "-c"], input=txt, capture_output=True, check=True).stdout
    b = subprocess.run(["xz", "-6", "-c"], input=cl[:20000], capture_output=True, check=True).stdout
    open(f"{d}/cat.xz", "wb").write(a + b"\0" * 8 + b)
    g = subprocess.run(["gzip", "-9", "-n", "-c"], input=cl, capture_output=True, check=True).stdout
    open(f"{d}/cut.gz", "wb").write(g[: len(g) // 2])
    open(f"{d}/cut.xz", "wb").write(a[: len(a) * 2 // 3])
    # zstd frames: the program at levels 3 and 19 (a changed frame),
    # the changelog with a long window, two frames in one file, one cut
    for name, data, o in (("p3", pg, ["-3"]), ("p19", pg, ["-19"]),
                          ("cl", cl, ["-19", "--long=24"]), ("txt", txt, ["--fast=3"])):
        sh(["zstd", "-q", "-c"] + o, data, f"{d}/{name}.zst")
    z1 = subprocess.run(["zstd", "-q", "-3", "-c"], input=pg[:50000], capture_output=True,
                        check=True).stdout
    z2 = subprocess.run(["zstd", "-q", "-3", "-c"], input=pg[50000:120000], capture_output=True,
                        check=True).stdout
    open(f"{d}/two.zst", "wb").write(z1 + z2)
    open(f"{d}/cut.zst", "wb").write(z1[: len(z1) // 2])
PY

# Images.  A partition's padding, erased flash and a period around a file
# system, each stretch longer in the new image than in the old.
for v in old new; do
	mkfs.erofs -T0 --all-root "$v.erofs" "$v" >/dev/null 2>&1
	mkfs.erofs -zlz4hc -T0 --all-root "$v.lz4.erofs" "$v" >/dev/null 2>&1
	tar -C "$v" --sort=name --mtime=@0 --owner=0 --group=0 -cf "$v.tar" .
	# squashfs: each file's 128 KiB blocks and the tables zlib streams
	env -u SOURCE_DATE_EPOCH mksquashfs "$v" "$v.sqfs" -comp gzip -noappend -all-root \
		-mkfs-time 0 -all-time 0 -no-xattrs -processors 1 -quiet -no-progress >/dev/null 2>&1
	# and with zstd: each block a zstd frame
	env -u SOURCE_DATE_EPOCH mksquashfs "$v" "$v.zsqfs" -comp zstd -noappend -all-root \
		-mkfs-time 0 -all-time 0 -no-xattrs -processors 1 -quiet -no-progress >/dev/null 2>&1
done
uuid=11111111-2222-3333-4444-555555555555
mke2fs -q -t ext4 -d old -U $uuid -E hash_seed=$uuid,root_owner=0:0 -O ^has_journal old.ext4 6M >/dev/null
mke2fs -q -t ext4 -d new -U $uuid -E hash_seed=$uuid,root_owner=0:0 -O ^has_journal new.ext4 9M >/dev/null
/usr/bin/python3 - <<'PY'
old = open("old.erofs", "rb").read()
new = open("new.erofs", "rb").read()
def w(name, b):
    open(name, "wb").write(b)
w("old.pad", old + b"\0" * ((3 << 20) - len(old) % 4096))
w("new.pad", new + b"\0" * ((5 << 20) - len(new) % 4096))
w("old.ff", old + b"\xff" * (1 << 20) + old[:65536])
w("new.ff", new + b"\xff" * (3 << 20) + old[:65536])
period = bytes(range(65, 73))
w("old.period", old[:65536] + period * (1 << 16) + old[:4096])
w("new.period", old[:65536] + period * (3 << 16) + old[:4096])
PY

for kind in erofs lz4.erofs ext4 tar sqfs zsqfs pad ff period; do
	if [[ ! -s old.$kind || ! -s new.$kind ]]; then
		ko "$kind: images not made"
		continue
	fi
	expect "$kind: diff, forward and reverse" 0 "" \
		timeout 60 "$S" diff "old.$kind" "new.$kind" -o "$kind.patch" -r "$kind.rev"
	expect "$kind: apply" 0 "" "$S" apply "old.$kind" "$kind.patch" -o "$kind.out"
	same "$kind: forward result is the new image" "$kind.out" "new.$kind"
	expect "$kind: reverse apply" 0 "" "$S" apply "new.$kind" "$kind.rev" -o "$kind.back"
	same "$kind: reverse result is the old image" "$kind.back" "old.$kind"
done
# The members were taken apart where they can be (gzip -9's own, the xz
# streams): in erofs images by their files, in the tar and ext4 images by
# their headers, paired by content.
for kind in erofs tar ext4; do
	"$S" diff -v "old.$kind" "new.$kind" -o again.patch > "verbose.$kind" 2>&1
	n=$(grep -o '[0-9]* gzip, xz or zstd members decompressed' "verbose.$kind" | head -n 1)
	zs=$(grep -o 'zstd frames: [0-9]*' "verbose.$kind" | grep -o '[0-9]*$')
	if [[ $(( ${n%% *} - ${zs:-0} )) -ge 4 ]] && grep -q 'xz streams: [0-9]* tried both ways, [1-9]' "verbose.$kind"; then
		ok "$kind: gzip and xz members decompressed ($n)"
	else
		ko "$kind: members not decompressed: $(grep -o '[0-9]* gzip, xz or zstd members[^;]*;[^;]*' "verbose.$kind")"
	fi
done
# Deflate members that gzip -9 does not make again (gzip -1 and -6,
# Python's gzip module, which is zlib; squashfs's zlib streams) split into
# data and parse (kind 3): in the erofs image by their files, in the
# squashfs image by their headers, paired by content.
"$S" diff -v old.sqfs new.sqfs -o again.patch > verbose.sqfs 2>&1
for kind in erofs sqfs; do
	n=$(grep -o 'other encoders made: [0-9]*' "verbose.$kind" | grep -o '[0-9]*$')
	if [[ ${n:-0} -ge 1 ]]; then
		ok "$kind: deflate members split into data and parse ($n)"
	else
		ko "$kind: no deflate member split: $(grep -o 'deflate members[^)]*' "verbose.$kind")"
	fi
done
# zstd frames split into data and parse (kind 4): in the erofs image by
# their files, in the tar and the zstd squashfs image by their magic.
"$S" diff -v old.zsqfs new.zsqfs -o again.patch > verbose.zsqfs 2>&1
for kind in erofs tar zsqfs; do
	n=$(grep -o 'zstd frames: [0-9]*' "verbose.$kind" | grep -o '[0-9]*$')
	if [[ ${n:-0} -ge 1 ]]; then
		ok "$kind: zstd frames split into data and parse ($n)"
	else
		ko "$kind: no zstd frame split: $(grep -o 'zstd frames[^)]*' "verbose.$kind")"
	fi
done
summary patch-shapes

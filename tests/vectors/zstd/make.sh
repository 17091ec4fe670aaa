#!/bin/bash
# Makes the zstd test vectors of tests/unit/test_zstd.c, which decodes
# them on the host and, built for the board, under qemu-user.  Frames come
# from libzstd itself (sealctl diff, the zstd command), so the decoder is
# tested on what real encoders write; the test crafts the few header bytes
# no encoder writes (dictionary ids, reserved bits) itself.
#   old.bin, new.bin  16 KiB images: assembly-like text, with numbers
#                     edited (ADD), lines inserted (LIT), zeros and halves
#                     swapped in the new one
#   small.patch       sealctl diff old.bin new.bin, 4 KiB segments, level 19:
#                     four segments of zstd streams (ctrl, diff, literals)
#   text.zst          `seq 1 1000` by `zstd`: content size and checksum
#   window16m.zst     the same from a pipe with --long=24: no content size,
#                     a 16 MiB Window_Descriptor (above the 8 MiB cap)
# Usage: tests/vectors/zstd/make.sh   (after `make sealctl`)
set -euo pipefail
cd "$(dirname "$0")"
top=../../..
/usr/bin/python3 - <<'PY'
import random
r = random.Random(20241130)
# old: assembly-like text; new: most lines' numbers changed by small
# amounts (ADD with sparse difference bytes), some lines new (literals),
# a block of zeros and two blocks swapped (copies from afar).
lines = ["f%04d: ldr x%d, [x%d, #%d]\n" % (i, r.randrange(31), r.randrange(31), 8 * r.randrange(64))
         for i in range(700)]
old = "".join(lines).encode()[:16384]
nl = []
for i, l in enumerate(lines):
    if i % 3 == 0:
        l = l.replace("#", "#1", 1)
    if i % 50 == 7:
        nl.append("b%04d: bl 0x%x\n" % (i, r.randrange(1 << 20)))
    nl.append(l)
new = "".join(nl[350:] + nl[:350]).encode()
new = (new[:9000] + bytes(1024) + new[9000:])[:16384]
old += bytes(16384 - len(old))
new += bytes(16384 - len(new))
open("old.bin", "wb").write(old)
open("new.bin", "wb").write(new)
PY
rm -f small.patch
"$top/build/host/sealctl" diff old.bin new.bin -o small.patch --segment-kib 4 --level 19 --threads 1 >/dev/null
seq 1 1000 > text.txt
zstd -q -f -19 text.txt -o text.zst
seq 1 1000 | zstd -q -19 --long=24 -c - > window16m.zst
rm -f text.txt
# Seeds for tests/fuzz/fuzz_zstd.c: every stream of the patch, and the frames.
corpus=$top/tests/fuzz/corpus/zstd
rm -rf "$corpus" && mkdir -p "$corpus"
# (fuzz_zstd's input: a length selector byte, then the stream; 0: exact,
# 1: one byte short, 0xf1: 1 KiB)
{ printf '\000'; cat text.zst; } > "$corpus/text"
{ printf '\001'; cat text.zst; } > "$corpus/text-short"
{ printf '\361'; cat text.zst; } > "$corpus/text-1k"
{ printf '\000'; cat window16m.zst; } > "$corpus/window16m"
(cd "$top" && build/host-asan/tests/test_zstd --dump tests/fuzz/corpus/zstd) >/dev/null
ls -l old.bin new.bin small.patch text.zst window16m.zst "$corpus"

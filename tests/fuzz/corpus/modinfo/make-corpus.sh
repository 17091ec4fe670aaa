#!/bin/bash
# Regenerates the seed corpus: small relocatable objects with a .modinfo
# section laid out the way modpost writes one (NUL-terminated key=value
# strings), for arm64 and x86-64, plus objects the parser must refuse.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/m.c" <<'C'
#define MI(tag, v) static const char __attribute__((used, section(".modinfo"), aligned(1))) \
	mi_##tag[] = #tag "=" v
MI(license, "GPL");
MI(alias, "devname:mapper/control");
MI(depends, "dm-bufio,dm-mod,reed_solomon");
MI(intree, "Y");
MI(name, "dm_verity");
MI(vermagic, "6.1.0-50-arm64 SMP preempt mod_unload modversions aarch64");
int f(void) { return 0; }
C
clang --target=aarch64-linux-gnu -Os -c "$tmp/m.c" -o arm64-dm-verity.o
clang --target=x86_64-linux-gnu -Os -c "$tmp/m.c" -o x86_64-dm-verity.o
sed -e 's/dm-bufio,dm-mod,reed_solomon//' -e 's/dm_verity/loop/' "$tmp/m.c" > "$tmp/n.c"
clang --target=aarch64-linux-gnu -Os -c "$tmp/n.c" -o arm64-loop.o
clang --target=i386-linux-gnu -Os -c "$tmp/m.c" -o elf32-refused.o
clang --target=aarch64_be-linux-gnu -Os -c "$tmp/m.c" -o big-endian-refused.o
llvm-strip -o no-modinfo-refused.o --remove-section=.modinfo x86_64-dm-verity.o

#!/bin/bash
# Regenerates the seed corpus: small relocatable objects with a .modinfo
# section laid out the way modpost writes one (NUL-terminated key=value
# strings), for arm64 and x86-64, plus objects the parser must refuse.
# Named .ko (what they imitate; *.o is ignored by git).
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
clang --target=aarch64-linux-gnu -Os -c "$tmp/m.c" -o arm64-dm-verity.ko
clang --target=x86_64-linux-gnu -Os -c "$tmp/m.c" -o x86_64-dm-verity.ko
sed -e 's/dm-bufio,dm-mod,reed_solomon//' -e 's/dm_verity/loop/' "$tmp/m.c" > "$tmp/n.c"
clang --target=aarch64-linux-gnu -Os -c "$tmp/n.c" -o arm64-loop.ko
clang --target=i386-linux-gnu -Os -c "$tmp/m.c" -o elf32-refused.ko
clang --target=aarch64_be-linux-gnu -Os -c "$tmp/m.c" -o big-endian-refused.ko
llvm-strip -o no-modinfo-refused.ko --remove-section=.modinfo x86_64-dm-verity.ko
# softdep= and several alias= entries (libcrc32c, crc32c_generic).
cat > "$tmp/s.c" <<'C'
#define MI(tag, v) static const char __attribute__((used, section(".modinfo"), aligned(1))) \
	mi_##tag[] = #tag "=" v
MI(softdep, "pre: crc32c");
MI(license, "GPL");
MI(depends, "");
MI(name, "libcrc32c");
MI(vermagic, "6.1.0-56-arm64 SMP preempt mod_unload modversions aarch64");
int f(void) { return 0; }
C
clang --target=aarch64-linux-gnu -Os -c "$tmp/s.c" -o arm64-libcrc32c-softdep.ko
cat > "$tmp/a.c" <<'C'
#define MI(tag, n, v) static const char __attribute__((used, section(".modinfo"), aligned(1))) \
	mi_##tag##n[] = #tag "=" v
MI(alias, 1, "crypto-crc32c-generic");
MI(alias, 2, "crc32c-generic");
MI(alias, 3, "crypto-crc32c");
MI(alias, 4, "crc32c");
MI(softdep, 1, "pre: a b post: c");
MI(softdep, 2, "post: d pre: crypto-e");
MI(name, 1, "crc32c_generic");
MI(depends, 1, "");
int f(void) { return 0; }
C
clang --target=aarch64-linux-gnu -Os -c "$tmp/a.c" -o arm64-crc32c-aliases.ko

# sealinit qemu/: shared shell helpers (sourced).
set -euo pipefail
QTOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QBUILD=$QTOP/build/qemu
die() { echo "$(basename "$0"): $*" >&2; exit 2; }
board_conf() { # board -> sources board/<board>/board.conf
	[[ -f $QTOP/board/$1/board.conf ]] || die "no board '$1' (board/$1/board.conf)"
	# shellcheck disable=SC1090
	source "$QTOP/board/$1/board.conf"
}

# ---- scenario helpers: variants of the demo system (qemu/mksystem) ----
# variant NAME: a fresh copy of the default preboot tree and system image in
# $V (build/qemu/variants/NAME); scenarios change them, then variant_disk.
variant() {
	S=$QBUILD/system/${board:-qemu-aarch64}
	V=$QBUILD/variants/$1
	rm -rf "$V" && mkdir -p "$V"
	cp -a "$S/preboot" "$V/preboot"
	cp "$S/system.img" "$V/system.img"
}
# qemu_base_dtb N: prints the path of QEMU's own device tree for the board
# (board_conf done) with N guest CPUs -- one CPU node each, so a tree
# dumped for one CPU keeps the guest on one.  Cached in build/qemu/.
qemu_base_dtb() {
	local n=$1 base=$QBUILD/$board-base.dtb
	[[ $n == 1 ]] || base=$QBUILD/$board-base-smp$n.dtb
	if [[ ! -s $base ]]; then
		mkdir -p "$QBUILD"
		# shellcheck disable=SC2086
		$QEMU ${QEMU_MACHINE/-M virt/-M virt,dumpdtb=$base.tmp} -smp "$n" -nographic -nic none >/dev/null 2>&1 || true
		[[ -s $base.tmp ]] || die "$QEMU could not dump its device tree"
		mv "$base.tmp" "$base"
	fi
	echo "$base"
}
# demo_anchor_dtb BASE OUT: BASE plus the demo system's trust anchor (S:
# its keys): 'platform' for the OS's images (its cryptexes may go on /usr
# and /opt), 'integrator' for kc-aux.
demo_anchor_dtb() {
	"$QTOP/build/host/sealctl" anchor --key "$S/keys/platform.pub.pem" --id platform \
		--usages system,cryptex,kc-boot,kc-system,update --overlay-targets /usr,/opt \
		--dtb "$1" -o "$2.tmp" >/dev/null &&
	"$QTOP/build/host/sealctl" anchor --key "$S/keys/integrator.pub.pem" --id integrator \
		--usages kc-aux --dtb "$2.tmp" -o "$2" >/dev/null && rm -f "$2.tmp"
}
# anchor_dtb_smp N OUT: the demo system's anchor.dtb for N guest CPUs
# (board set).
anchor_dtb_smp() {
	board_conf "$board"
	demo_anchor_dtb "$(qemu_base_dtb "$1")" "$2"
}
# initramfs_variant NAME: unpacks the board's initramfs into $R (edit it,
# then initramfs_pack) for a scenario's setup.
initramfs_variant() {
	R=$QBUILD/variants/$1-initramfs
	rm -rf "$R" && mkdir -p "$R"
	(cd "$R" && zcat "$QTOP/build/${board:-qemu-aarch64}/initramfs.cpio.gz" | cpio -id --quiet)
}
# initramfs_pack: $R back into a cpio; the scenario boots it.
initramfs_pack() {
	(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$R.cpio.gz"
	initrd=$R.cpio.gz
}
variant_disk() { "$QTOP/qemu/mkdisk" "$V/disk.img" "$V/preboot" "$V/system.img" >/dev/null; disk=$V/disk.img; }
# flip_byte FILE OFFSET: inverts the lowest bit of one byte.
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# offset_of FILE STRING: byte offset of the first occurrence of STRING.
offset_of() { grep -obUa -m1 -F -- "$2" "$1" | head -n 1 | cut -d: -f1; }
# json_field IMAGE KEY: a number from `sealctl inspect --json`.
json_field() { "$QTOP/build/host/sealctl" inspect --json "$1" | sed -n "s/^  \"$2\": \\([0-9]*\\),*$/\\1/p"; }
# reseal NAME KIND DIR KEY OUT [ARGS]: seal a tree of the demo with another key.
reseal() {
	local name=$1 kind=$2 dir=$3 key=$4 out=$5
	shift 5
	"$QTOP/build/host/sealctl" seal --dir "$S/trees/$dir" --kind "$kind" --name "$name" \
		--version 13.3.1 --rollback-index 1 --key "$S/keys/$key.pem" "$@" -o "$out" >/dev/null
}

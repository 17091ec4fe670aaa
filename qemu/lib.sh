# sealinit qemu/: shared shell helpers (sourced).
set -euo pipefail
QTOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QBUILD=$QTOP/build/qemu
die() { echo "$(basename "$0"): $*" >&2; exit 2; }
board_conf() { # board -> sources board/<board>/board.conf
	[[ -f $QTOP/board/$1/board.conf ]] || die "no board '$1' (board/$1/board.conf)"
	# what one board sets, the next one read in the same shell must not inherit
	# (emptied, not unset: unsetting a caller's local would show the global)
	BIOS= BOOT= BUILD_BOARD= DISK_DEVICE= TPM_DEVICE= LOADER_TRIAL_MAX=
	# shellcheck disable=SC1090
	source "$QTOP/board/$1/board.conf"
	# the build (build/<BUILD_BOARD>/: sealinit, initramfs, device sealctl)
	BUILD_BOARD=${BUILD_BOARD:-$1}
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
	if [[ ! -s $base && $QEMU_MACHINE != *virt* ]]; then
		# A machine without a device tree (q35: ACPI): the anchor's
		# blob starts from an empty tree.
		mkdir -p "$QBUILD"
		printf '/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>; };\n' |
			dtc -q -I dts -O dtb -o "$base.tmp.$$" - && mv "$base.tmp.$$" "$base"
	fi
	if [[ ! -s $base ]]; then
		mkdir -p "$QBUILD"
		# shellcheck disable=SC2086
		$QEMU ${QEMU_MACHINE/-M virt/-M virt,dumpdtb=$base.tmp.$$} -smp "$n" -nographic -nic none >/dev/null 2>&1 || true
		[[ -s $base.tmp.$$ ]] || die "$QEMU could not dump its device tree"
		mv "$base.tmp.$$" "$base"
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
# variant_set [ARGS]: $V's slot a gets a release set again over its images
# and $V/system.img (the vendor's new release; ARGS override
# --name/--version/--rollback-index/--key).  A scenario that models an
# attacker changes images and leaves the set as it was.
variant_set() {
	"$QTOP/build/host/sealctl" set create --slot "$V/preboot/slots/a" --system "$V/system.img" \
		--key "$S/keys/platform.pem" --name 13.3.1 --version 13.3.1 --rollback-index 1 "$@" >/dev/null
}
# update_variant NAME STEPS: the update scenarios' device: the real-data
# release 13.3.1 (qemu/mkupdate) in slot a, the bundles on the data volume
# (/data/*.bundle), and the agent's steps per boot (STEPS: "N command"
# lines, /data/agent.plan); $U is qemu/mkupdate's directory.
update_variant() {
	U=$("$QTOP/qemu/mkupdate" "${board:-qemu-aarch64}") || return 1
	variant "$1"
	rm -rf "$V/preboot/slots/a" && cp -a "$U/A" "$V/preboot/slots/a"
	mkdir -p "$V/data"
	cp "$U"/*.bundle "$V/data/"
	printf '%s\n' "$2" > "$V/data/agent.plan"
}
# kernel_variant NAME STEPS: the kernel scenarios' device: release K56 of
# qemu/mkkernel (kernel 6.1.0-56's boot and system tiers) in slot a, the
# agent's steps per boot as update_variant; $K is qemu/mkkernel's
# directory, its aux collections and bundle are on the data volume.
kernel_variant() {
	local BIOS=''
	board_conf "${board:-qemu-aarch64}"
	K=$("$QTOP/qemu/mkkernel" "${board:-qemu-aarch64}" ${BIOS:+--bundle}) || return 1
	variant "$1"
	rm -rf "$V/preboot/slots/a" && cp -a "$K/K56" "$V/preboot/slots/a"
	preboot_extra_mb=64   # ext4's own blocks for a 300 MB system tier
	mkdir -p "$V/data"
	if [[ -n ${BIOS:-} ]]; then
		# the firmware's board: its boot script, its control device
		# tree, the partition where it counts a trial's boots
		cp "$K/boot.scr" "$V/preboot/boot.scr"
		dtb=$K/control.dtb
		bootctl_mb=1
	else
		bootctl_mb=0
	fi
	printf '%s\n' "$2" > "$V/data/agent.plan"
}
# variant_disk: $V's preboot tree, system image and (when $V/data exists)
# data tree into $V/disk.img, the scenario's disk.
variant_disk() {
	local data=
	[[ -d $V/data ]] && data=$V/data
	PREBOOT_EXTRA_MB=${preboot_extra_mb:-16} BOOTCTL_MB=${bootctl_mb:-0} "$QTOP/qemu/mkdisk" "$V/disk.img" "$V/preboot" "$V/system.img" $data >/dev/null; disk=$V/disk.img
}
# variant_anchor ARGS...: $V/anchor.dtb is the demo's anchor plus one more
# key (sealctl anchor ARGS), and the scenario's device tree.
variant_anchor() {
	"$QTOP/build/host/sealctl" anchor --dtb "$S/anchor.dtb" -o "$V/anchor.dtb" "$@" >/dev/null && dtb=$V/anchor.dtb
}
# variant_key NAME: a new key pair in $V/keys/NAME.pem, NAME.pub.pem.
variant_key() {
	mkdir -p "$V/keys"
	"$QTOP/build/host/sealctl" keygen --algo ecdsa-p256 -o "$V/keys/$1.pem" --pub "$V/keys/$1.pub.pem" >/dev/null
}
# variant_cryptex NAME DIR KEYFILE TARGET: DIR sealed as cryptex NAME with
# overlay TARGET into $V's preboot tree.
variant_cryptex() {
	"$QTOP/build/host/sealctl" seal --dir "$2" --kind cryptex --name "$1" --version 1.0 \
		--rollback-index 1 --key "$3" --overlay "$4" -o "$V/preboot/slots/a/cryptexes/$1.cryptex" >/dev/null
}
# variant_system: $V/system-tree is a copy of the demo's system tree to
# edit; variant_system_seal [NAME] seals it into $V/system.img.
variant_system() { rm -rf "$V/system-tree" && cp -a "$S/trees/system" "$V/system-tree"; }
variant_system_seal() {
	"$QTOP/build/host/sealctl" seal --dir "$V/system-tree" --kind system --name "${1:-system}" \
		--version 13.3.1 --rollback-index 1 --key "$S/keys/platform.pem" -o "$V/system.img" >/dev/null
}
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
# uboot_anchor OUT [usages]: QEMU's device tree with the demo's platform
# key only as U-Boot's /signature/key-platform (ECDSA, in U-Boot's
# binding, as mkimage -K writes RSA keys) and the integrator key in the
# native node; "usages" adds sealinit,usages and sealinit,overlay-targets
# to the U-Boot node.
uboot_anchor() {
	local out=$1 pts x y
	board_conf "${board:-qemu-aarch64}"
	dtc -q -I dtb -O dtb -p 4096 -o "$out.tmp" "$(qemu_base_dtb 1)" || return 1
	pts=$(openssl ec -pubin -in "$S/keys/platform.pub.pem" -outform DER 2>/dev/null | tail -c 64 | od -An -v -tx1 | tr -s ' \n' ' ')
	x=$(cut -d' ' -f2-33 <<< "$pts")
	y=$(cut -d' ' -f34-65 <<< "$pts")
	fdtput -p -c "$out.tmp" /signature/key-platform &&
	fdtput -t s "$out.tmp" /signature/key-platform algo sha256,ecdsa256 &&
	fdtput -t s "$out.tmp" /signature/key-platform ecdsa,curve prime256v1 &&
	fdtput -t bx "$out.tmp" /signature/key-platform ecdsa,x-point $x &&
	fdtput -t bx "$out.tmp" /signature/key-platform ecdsa,y-point $y || return 1
	if [[ ${2:-} == usages ]]; then
		fdtput -t s "$out.tmp" /signature/key-platform sealinit,usages system cryptex kc-boot update &&
		fdtput -t s "$out.tmp" /signature/key-platform sealinit,overlay-targets /usr /opt || return 1
	fi
	"$QTOP/build/host/sealctl" anchor --key "$S/keys/integrator.pub.pem" --id integrator \
		--usages kc-aux --dtb "$out.tmp" -o "$out" >/dev/null && rm -f "$out.tmp"
}
# board_config BOARD CONFIG: CONFIG when it is BOARD's configuration, else
# build/check/<board>.config (the one make check builds the board with).
board_config() {
	if [[ -f $2 ]] && grep -q "^CONFIG_BOARD=\"$1\"" "$2"; then echo "$2"; return; fi
	echo "$QTOP/build/check/$1.config"
}
# tpm_provision [ARGS]: the scenario's TPM ($T) provisioned by the host's
# sealctl tpm provision ARGS (the integrator's factory step), through a
# swtpm of its own on the same state.
tpm_provision() {
	local pid rc=0 i
	mkdir -p "$T"
	rm -f "$T/p.sock"
	swtpm socket --tpm2 --tpmstate "dir=$T" --server "type=unixio,path=$T/p.sock" \
		--flags not-need-init,startup-clear --log "file=$T/provision.log,level=1" </dev/null >/dev/null 2>&1 &
	pid=$!
	for ((i = 0; i < 100; i++)); do [[ -S $T/p.sock ]] && break; sleep 0.05; done
	"$QTOP/build/host/sealctl" tpm provision --device "$T/p.sock" "$@" >"$T/provision.out" 2>&1 || rc=$?
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	rm -f "$T/p.sock"
	[[ $rc -eq 0 ]] || { cat "$T/provision.out" >&2; return 1; }
}

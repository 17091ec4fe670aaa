# sealinit's boot script for Debian's U-Boot (qemu_arm64): qemu/mkkernel
# compiles it (mkimage -T script) into boot.scr at the preboot volume's
# root, which U-Boot's distro boot finds on the first partition.  It
# chooses a slot, counts a trial's boots, and boots the signed FIT that is
# entry 0 of that slot's boot kernel collection; U-Boot itself verifies the
# FIT's configuration signature with the key its control device tree
# requires (key-platform-fit, required = "conf").  This script is not
# signed: see docs/integrators.md for what an integrator's U-Boot fixes.
setenv bootargs "console=ttyAMA0 panic=-1 loglevel=3"
setenv fitaddr 0x48000000
setenv active a
setenv previous
setenv trial
# The state as sealinit and sealctl wrote it for the loader (update/loader.c).
if load virtio 0:1 ${scriptaddr} loader.env; then env import -t ${scriptaddr} ${filesize} active previous trial; fi
setenv slot ${active}
setenv tries 0
if test -n "${trial}"; then
	# Counted on the bootctl partition (FAT: this U-Boot writes no ext4),
	# only while a trial is pending: a confirmed system writes nothing.
	setenv counted
	if load virtio 0:4 ${scriptaddr} count.env; then env import -t ${scriptaddr} ${filesize} counted tries; fi
	if test "${counted}" != "${trial}"; then setenv tries 0; fi
	setexpr tries ${tries} + 1
	setenv counted ${trial}
	env export -t ${scriptaddr} counted tries
	fatwrite virtio 0:4 ${scriptaddr} count.env ${filesize}
	echo "loader: trial ${trial} in slots/${active}: boot ${tries} of @TRIAL_MAX@"
	if test ${tries} -gt @TRIAL_MAX@; then
		if test -n "${previous}"; then
			echo "loader: the kernel of slots/${active} did not reach sealinit in @TRIAL_MAX@ boots: booting slots/${previous}"
			setenv slot ${previous}
			setenv bootargs "${bootargs} sealinit.loader=fallback"
		fi
	fi
fi
# Test hook of this QEMU board (kernel-update-panic): a slot marked
# panic-test-<slot> file at the preboot root boots that slot's kernel
# without an init, so it panics before sealinit.
if test -e virtio 0:1 panic-test-${slot}; then setenv bootargs "${bootargs} rdinit=/nonexistent init=/nonexistent"; fi
# The FIT is entry 0 of the collection (kc/collection.h): its offset and
# size are the table's first entry, at bytes 152 and 160 of the archive.
load virtio 0:1 ${scriptaddr} slots/${slot}/kc/boot.kc 0x1000 0
setexpr a ${scriptaddr} + 0x98
setexpr.l foff *${a}
setexpr a ${scriptaddr} + 0xa0
setexpr.l fsz *${a}
echo "loader: booting slots/${slot}: the FIT in kc/boot.kc (${fsz} bytes at ${foff})"
load virtio 0:1 ${fitaddr} slots/${slot}/kc/boot.kc ${fsz} ${foff}
bootm ${fitaddr}
echo "loader: the FIT of slots/${slot} did not boot"

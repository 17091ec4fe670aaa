# mount/: pure parts (dm table and ioctl buffer, overlay options, uevent
# parser) are library code; loop, dm ioctls, mounts, the sysfs scan and
# switch_root only run in PID 1.
LIB_SRCS += mount/dm_table.c mount/fs_opts.c mount/uevent.c mount/gpt.c
INIT_SRCS += mount/node.c mount/loop.c mount/dm.c mount/fs.c mount/part.c mount/sealed.c \
	mount/resolve.c mount/auxtree.c
# Paths resolved inside a tree: PID 1's preboot volume and new root, and
# sealctl doctor's unpacked volumes.
SEALCTL_SRCS += mount/resolve.c mount/auxtree.c
UNIT_TESTS += tests/unit/test_mount.c
FUZZ_TARGETS += tests/fuzz/fuzz_uevent.c tests/fuzz/fuzz_gpt.c

# test_mount attaches real loop devices, scans a fake sysfs tree and runs
# switch_root in a private mount namespace: it also
# links those INIT_SRCS objects.
MOUNT_TEST_SYS := mount/node.c mount/loop.c mount/part.c mount/fs.c mount/auxtree.c
$(AB)/tests/test_mount: $(patsubst %.c,$(AB)/obj/%.o,$(MOUNT_TEST_SYS))

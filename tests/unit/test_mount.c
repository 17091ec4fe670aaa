/* Unit tests for mount/: the dm-verity table line and ioctl buffer, overlay
 * options, the uevent parser and partition lookup (on a fake sysfs tree),
 * device nodes, and real loop devices when the host has /dev/loop-control
 * (otherwise a SKIP line, not counted as passed). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/loop.h>

#include "lib/err.h"
#include "lib/str.h"
#include "mount/mount.h"
#include "tests/unit/t.h"
#include "verify/seal.h"

static const char *ROOT_HEX =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void spec_default(struct dm_verity_spec *s)
{
	size_t i;

	memset(s, 0, sizeof *s);
	strcpy(s->data_dev, "/dev/loop0");
	strcpy(s->hash_dev, "/dev/loop0");
	s->data_block_size = 4096;
	s->hash_block_size = 4096;
	s->data_blocks = 1024;
	s->hash_start_block = 1024;
	for (i = 0; i < sizeof s->root_hash; i++)
		s->root_hash[i] = (uint8_t)i;
}

static void test_verity_params(void)
{
	struct dm_verity_spec s;
	struct si_diag d;
	char out[DM_PARAMS_MAX], want[DM_PARAMS_MAX];
	uint64_t sectors = 0;

	spec_default(&s);
	T_OK(dm_verity_params(&s, out, sizeof out, NULL));
	snprintf(want, sizeof want, "1 /dev/loop0 /dev/loop0 4096 4096 1024 1024 sha256 %s -", ROOT_HEX);
	T_STREQ(out, want);
	T_OK(dm_verity_sectors(&s, &sectors, NULL));
	T_EQ(sectors, 8192);

	s.salt_len = 4;
	memcpy(s.salt, "\xde\xad\xbe\xef", 4);
	s.on_error = DM_VERITY_RESTART;
	strcpy(s.hash_dev, "254:3");
	s.hash_block_size = 512;
	s.hash_start_block = 0;
	T_OK(dm_verity_params(&s, out, sizeof out, NULL));
	snprintf(want, sizeof want,
		 "1 /dev/loop0 254:3 4096 512 1024 0 sha256 %s deadbeef 1 restart_on_corruption", ROOT_HEX);
	T_STREQ(out, want);

	s.on_error = DM_VERITY_PANIC;
	T_OK(dm_verity_params(&s, out, sizeof out, NULL));
	snprintf(want, sizeof want,
		 "1 /dev/loop0 254:3 4096 512 1024 0 sha256 %s deadbeef 1 panic_on_corruption", ROOT_HEX);
	T_STREQ(out, want);

	/* A 256-byte salt (the kernel's maximum) still fits. */
	s.salt_len = DM_SALT_MAX;
	T_OK(dm_verity_params(&s, out, sizeof out, NULL));
	T_EQ(strlen(out), strlen(want) + 2 * (DM_SALT_MAX - 4));

	/* Negative cases: each names its field. */
	{
		static const struct {
			const char *field;
			int err;
		} neg[] = {
			{ "verity.data_block_size", SI_E_DM_PARAMS },
			{ "verity.data_block_size", SI_E_DM_PARAMS },
			{ "verity.hash_block_size", SI_E_DM_PARAMS },
			{ "verity.data_blocks", SI_E_DM_PARAMS },
			{ "verity.data_blocks", SI_E_DM_PARAMS },
			{ "verity.hash_start_block", SI_E_DM_PARAMS },
			{ "verity.data_dev", SI_E_DM_PARAMS },
			{ "verity.hash_dev", SI_E_DM_PARAMS },
			{ "verity.salt", SI_E_DM_PARAMS },
			{ "verity.on_error", SI_E_DM_PARAMS },
			{ "verity.params", SI_E_DM_BUF },
		};
		size_t i;

		for (i = 0; i < SI_ARRAY_SIZE(neg); i++) {
			size_t outn = sizeof out;

			spec_default(&s);
			switch (i) {
			case 0: s.data_block_size = 1000; break;
			case 1: s.data_block_size = 256; break;
			case 2: s.hash_block_size = 131072; break;
			case 3: s.data_blocks = 0; break;
			case 4: s.data_blocks = UINT64_MAX / 2; break;
			case 5: s.hash_start_block = UINT64_MAX / 1024; break;
			case 6: strcpy(s.data_dev, "/dev/a b"); break;
			case 7: s.hash_dev[0] = '\0'; break;
			case 8: s.salt_len = DM_SALT_MAX + 1; break;
			case 9: s.on_error = (enum dm_verity_on_error)7; break;
			case 10: outn = 100; break;
			}
			si_diag_clear(&d);
			strcpy(out, "unchanged");
			T_ERR(dm_verity_params(&s, out, outn, &d), neg[i].err);
			T_STREQ(d.field, neg[i].field);
		}
	}
	/* Device paths fill their arrays: refused, not truncated. */
	spec_default(&s);
	memset(s.data_dev, 'a', sizeof s.data_dev);
	T_ERR(dm_verity_params(&s, out, sizeof out, NULL), SI_E_DM_PARAMS);
}

static void test_spec_from_seal(void)
{
	static struct si_seal seal;
	struct dm_verity_spec s;
	struct si_diag d;
	char out[DM_PARAMS_MAX], want[DM_PARAMS_MAX];
	size_t i;

	memset(&seal, 0, sizeof seal);
	seal.m.hash_algo = SI_HASH_SHA256;
	seal.m.data_block_size = 4096;
	seal.m.hash_block_size = 4096;
	seal.m.data_blocks = 300;
	seal.m.hash_offset = 300 * 4096;
	seal.m.root_hash_len = 32;
	for (i = 0; i < 32; i++)
		seal.m.root_hash[i] = (uint8_t)i;
	seal.m.salt_len = 2;
	seal.m.salt[0] = 0xab;
	seal.m.salt[1] = 0xcd;
	T_OK(dm_verity_spec_from_seal(&seal, "/dev/loop1", "/dev/loop1", DM_VERITY_EIO, &s, NULL));
	T_OK(dm_verity_params(&s, out, sizeof out, NULL));
	snprintf(want, sizeof want, "1 /dev/loop1 /dev/loop1 4096 4096 300 300 sha256 %s abcd", ROOT_HEX);
	T_STREQ(out, want);

	seal.m.hash_offset = 300 * 4096 + 512;
	si_diag_clear(&d);
	T_ERR(dm_verity_spec_from_seal(&seal, "/dev/loop1", "/dev/loop1", DM_VERITY_EIO, &s, &d), SI_E_DM_PARAMS);
	T_STREQ(d.field, "verity.hash_offset");
	seal.m.hash_offset = 300 * 4096;
	seal.m.root_hash_len = 64;
	T_ERR(dm_verity_spec_from_seal(&seal, "/dev/loop1", "/dev/loop1", DM_VERITY_EIO, &s, NULL), SI_E_DM_PARAMS);
	seal.m.root_hash_len = 32;
	seal.m.hash_algo = (enum si_hash_algo)2;
	T_ERR(dm_verity_spec_from_seal(&seal, "/dev/loop1", "/dev/loop1", DM_VERITY_EIO, &s, NULL), SI_E_DM_PARAMS);
}

static void test_dm_ioc(void)
{
	static struct dm_ioc io;
	struct dm_target_spec spec;
	const char *params = "1 /dev/loop0 /dev/loop0 4096 4096 1 1 sha256 00 -";
	char name[DM_NAME_LEN + 1];
	struct si_diag d;
	size_t off;

	T_OK(dm_ioc_init(&io, "sealinit-os", "SEALINIT-os", DM_READONLY_FLAG, NULL));
	T_EQ(io.u.hdr.version[0], 4);
	T_EQ(io.u.hdr.version[1], 0);
	T_EQ(io.u.hdr.data_start, sizeof(struct dm_ioctl));
	T_EQ(sizeof(struct dm_ioctl) % 8, 0);
	T_EQ(io.u.hdr.data_size, DM_IOC_SIZE);
	T_EQ(io.u.hdr.flags, DM_READONLY_FLAG);
	T_STREQ(io.u.hdr.name, "sealinit-os");
	T_STREQ(io.u.hdr.uuid, "SEALINIT-os");
	T_EQ(io.u.hdr.target_count, 0);

	T_OK(dm_ioc_add_target(&io, 0, 8, "verity", params, NULL));
	T_EQ(io.u.hdr.target_count, 1);
	off = io.u.hdr.data_start;
	memcpy(&spec, io.u.bytes + off, sizeof spec);
	T_EQ(spec.sector_start, 0);
	T_EQ(spec.length, 8);
	T_EQ(spec.next, (sizeof spec + strlen(params) + 1 + 7) / 8 * 8);
	T_EQ(spec.next % 8, 0);
	T_STREQ(spec.target_type, "verity");
	T_STREQ((const char *)io.u.bytes + off + sizeof spec, params);

	/* A second target goes `next` bytes after the first. */
	T_OK(dm_ioc_add_target(&io, 8, 16, "linear", "7:0 0", NULL));
	T_EQ(io.u.hdr.target_count, 2);
	memcpy(&spec, io.u.bytes + off + ((sizeof spec + strlen(params) + 1 + 7) & ~(size_t)7), sizeof spec);
	T_EQ(spec.sector_start, 8);
	T_EQ(spec.length, 16);
	T_STREQ(spec.target_type, "linear");

	/* Names: plain, non-empty, shorter than DM_NAME_LEN. */
	T_ERR(dm_ioc_init(&io, "", NULL, 0, NULL), SI_E_DM_PARAMS);
	T_ERR(dm_ioc_init(&io, "a b", NULL, 0, NULL), SI_E_DM_PARAMS);
	T_ERR(dm_ioc_init(&io, "a/b", NULL, 0, NULL), SI_E_DM_PARAMS);
	T_ERR(dm_ioc_init(&io, "..", NULL, 0, NULL), SI_E_DM_PARAMS);
	memset(name, 'n', sizeof name);
	name[DM_NAME_LEN - 1] = '\0';
	T_OK(dm_ioc_init(&io, name, NULL, 0, NULL));
	name[DM_NAME_LEN - 1] = 'n';
	name[DM_NAME_LEN] = '\0';
	si_diag_clear(&d);
	T_ERR(dm_ioc_init(&io, name, NULL, 0, &d), SI_E_DM_PARAMS);
	T_STREQ(d.field, "dm.name");
	T_ERR(dm_ioc_init(&io, "x", "bad uuid", 0, NULL), SI_E_DM_PARAMS);

	/* Targets: a type and a length; params that do not fit are refused. */
	T_OK(dm_ioc_init(&io, "x", NULL, 0, NULL));
	T_ERR(dm_ioc_add_target(&io, 0, 0, "verity", "p", NULL), SI_E_DM_PARAMS);
	T_ERR(dm_ioc_add_target(&io, 0, 1, "", "p", NULL), SI_E_DM_PARAMS);
	T_ERR(dm_ioc_add_target(&io, 0, 1, "verity-target-name-too-long", "p", NULL), SI_E_DM_PARAMS);
	{
		static char big[DM_IOC_SIZE];

		memset(big, 'p', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		T_ERR(dm_ioc_add_target(&io, 0, 1, "verity", big, NULL), SI_E_DM_BUF);
		T_EQ(io.u.hdr.target_count, 0);
		/* The largest that fits, exactly. */
		big[DM_IOC_SIZE - sizeof(struct dm_ioctl) - sizeof(struct dm_target_spec) - 1] = '\0';
		T_OK(dm_ioc_add_target(&io, 0, 1, "verity", big, NULL));
		T_ERR(dm_ioc_add_target(&io, 0, 1, "verity", "", NULL), SI_E_DM_BUF);
	}
}

static void test_overlay_opts(void)
{
	const char *two[] = { "/run/sealinit/cx/os", "/run/sealinit/cx/app" };
	const char *many[FS_LAYERS_MAX + 1];
	char out[FS_OVERLAY_OPTS_MAX];
	struct si_diag d;
	size_t i;

	T_OK(fs_overlay_opts(two, 1, "/newroot/usr", out, sizeof out, NULL));
	T_STREQ(out, "lowerdir=/run/sealinit/cx/os:/newroot/usr");
	T_OK(fs_overlay_opts(two, 2, "/newroot/usr", out, sizeof out, NULL));
	T_STREQ(out, "lowerdir=/run/sealinit/cx/os:/run/sealinit/cx/app:/newroot/usr");

	for (i = 0; i < SI_ARRAY_SIZE(many); i++)
		many[i] = "/l";
	T_OK(fs_overlay_opts(many, FS_LAYERS_MAX, "/b", out, sizeof out, NULL));
	T_ERR(fs_overlay_opts(many, FS_LAYERS_MAX + 1, "/b", out, sizeof out, NULL), SI_E_TOO_BIG);
	T_ERR(fs_overlay_opts(two, 0, "/b", out, sizeof out, NULL), SI_E_OVERLAY);
	T_ERR(fs_overlay_opts(two, 2, "/b", out, 20, NULL), SI_E_TOO_BIG);

	{
		static const char *const bad[] = {
			"relative", "/a:b", "/a,b", "/a\\b", "/a b", "/a/../b", "/a/..",
			"/./a", "/a/.", "", "/a\tb",
		};

		for (i = 0; i < SI_ARRAY_SIZE(bad); i++) {
			const char *l[1] = { bad[i] };

			si_diag_clear(&d);
			T_ERR(fs_overlay_opts(l, 1, "/b", out, sizeof out, &d), SI_E_OVERLAY);
			T_STREQ(d.field, "overlay.lowerdir");
			T_ERR(fs_overlay_opts(two, 1, bad[i], out, sizeof out, NULL), SI_E_OVERLAY);
		}
	}
	/* Names that merely start with dots are fine. */
	{
		const char *l[1] = { "/a/..b/.c" };

		T_OK(fs_overlay_opts(l, 1, "/b", out, sizeof out, NULL));
	}
}

#define UE(s) (const uint8_t *)(s), sizeof(s) - 1

static void test_uevent(void)
{
	struct uevent u;
	struct si_diag d;
	static uint8_t big[UEVENT_MAX + 1];

	T_OK(uevent_parse(UE("MAJOR=254\nMINOR=2\nDEVNAME=vda2\nDEVTYPE=partition\nDISKSEQ=1\nPARTN=2\nPARTNAME=system\n"), &u, NULL));
	T_EQ(u.major, 254);
	T_EQ(u.minor, 2);
	T_EQ(u.is_partition, 1);
	T_EQ(u.has_dev, 1);
	T_EQ(u.has_partname, 1);
	T_STREQ(u.devname, "vda2");
	T_STREQ(u.partname, "system");

	T_OK(uevent_parse(UE("MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\nDISKSEQ=1\n"), &u, NULL));
	T_EQ(u.is_partition, 0);
	T_EQ(u.has_partname, 0);
	T_OK(uevent_parse(UE("MAJOR=259\nMINOR=1048575\nDEVNAME=cciss/c0d0p1\nPARTNAME=a b (c)\n"), &u, NULL));
	T_STREQ(u.devname, "cciss/c0d0p1");
	T_STREQ(u.partname, "a b (c)");
	T_EQ(u.minor, 1048575);
	T_OK(uevent_parse(UE("PARTNAME=\n"), &u, NULL));
	T_EQ(u.has_dev, 0);
	T_OK(uevent_parse(NULL, 0, &u, NULL));

	{
		static const struct {
			const char *s;
			int err;
			const char *field;
			uint64_t off;
		} neg[] = {
			{ "MAJOR=254", SI_E_UEVENT, "uevent.newline", 0 },
			{ "MAJOR=254\nMINOR=1", SI_E_UEVENT, "uevent.newline", 10 },
			{ "\n", SI_E_UEVENT, "uevent.key", 0 },
			{ "=x\n", SI_E_UEVENT, "uevent.key", 0 },
			{ "major=1\n", SI_E_UEVENT, "uevent.key", 0 },
			{ "MAJOR\n", SI_E_UEVENT, "uevent.key", 0 },
			{ "MA JOR=1\n", SI_E_UEVENT, "uevent.key", 0 },
			{ "MAJOR=1\nMAJOR=1\n", SI_E_UEVENT, "uevent.duplicate", 8 },
			{ "PARTNAME=a\nPARTNAME=b\n", SI_E_UEVENT, "uevent.duplicate", 11 },
			{ "MAJOR=\n", SI_E_UEVENT, "uevent.MAJOR", 0 },
			{ "MAJOR=x\n", SI_E_UEVENT, "uevent.MAJOR", 0 },
			{ "MAJOR=4096\n", SI_E_UEVENT, "uevent.MAJOR", 0 },
			{ "MAJOR=-1\n", SI_E_UEVENT, "uevent.MAJOR", 0 },
			{ "MAJOR=08\n", SI_E_UEVENT, "uevent.MAJOR", 0 },
			{ "MINOR=1048576\n", SI_E_UEVENT, "uevent.MINOR", 0 },
			{ "DEVNAME=../sda\n", SI_E_UEVENT, "uevent.DEVNAME", 0 },
			{ "DEVNAME=a/../b\n", SI_E_UEVENT, "uevent.DEVNAME", 0 },
			{ "DEVNAME=/dev/sda\n", SI_E_UEVENT, "uevent.DEVNAME", 0 },
			{ "DEVNAME=a//b\n", SI_E_UEVENT, "uevent.DEVNAME", 0 },
			{ "DEVNAME=a/\n", SI_E_UEVENT, "uevent.DEVNAME", 0 },
			{ "DEVNAME=.\n", SI_E_UEVENT, "uevent.DEVNAME", 0 },
			{ "DEVNAME=\n", SI_E_UEVENT, "uevent.DEVNAME", 0 },
			{ "DEVNAME=a b\n", SI_E_UEVENT, "uevent.DEVNAME", 0 },
			{ "DEVNAME=0123456789012345678901234567890123\n", SI_E_TOO_BIG, "uevent.DEVNAME", 0 },
			{ "PARTNAME=0123456789012345678901234567890123456789012345678901234567890123456789012\n", SI_E_TOO_BIG, "uevent.PARTNAME", 0 },
			{ "PARTNAME=\x1b[2J\n", SI_E_UEVENT, "uevent.value", 0 },
			{ "PARTNAME=\xc3\xa9\n", SI_E_UEVENT, "uevent.value", 0 },
		};
		size_t i;

		for (i = 0; i < SI_ARRAY_SIZE(neg); i++) {
			si_diag_clear(&d);
			T_CHECK(uevent_parse((const uint8_t *)neg[i].s, strlen(neg[i].s), &u, &d) == neg[i].err,
				"uevent case %zu '%s'", i, neg[i].s);
			T_STREQ(d.field, neg[i].field);
			T_EQ(d.offset, neg[i].off);
		}
	}
	/* A NUL inside a value. */
	T_ERR(uevent_parse((const uint8_t *)"PARTNAME=a\0b\n", 13, &u, NULL), SI_E_UEVENT);
	/* Long values and files. */
	memset(big, 'A', sizeof big);
	memcpy(big, "X=", 2);
	big[300] = '\n';
	T_ERR(uevent_parse(big, 301, &u, NULL), SI_E_TOO_BIG);
	T_ERR(uevent_parse(big, sizeof big, &u, NULL), SI_E_TOO_BIG);
}

static void test_part_find(void)
{
	static struct part_table t;
	struct si_diag d;
	size_t i = 99;

	memset(&t, 0, sizeof t);
	T_OK(uevent_parse(UE("MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n"), &t.p[0], NULL));
	T_OK(uevent_parse(UE("MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nPARTNAME=preboot\n"), &t.p[1], NULL));
	T_OK(uevent_parse(UE("MAJOR=254\nMINOR=2\nDEVNAME=vda2\nDEVTYPE=partition\nPARTNAME=system\n"), &t.p[2], NULL));
	T_OK(uevent_parse(UE("MAJOR=254\nMINOR=3\nDEVNAME=vda3\nDEVTYPE=partition\n"), &t.p[3], NULL));
	t.n = 4;
	T_OK(part_table_find(&t, "system", &i, NULL));
	T_EQ(i, 2);
	T_OK(part_table_find(&t, "preboot", &i, NULL));
	T_EQ(i, 1);
	si_diag_clear(&d);
	T_ERR(part_table_find(&t, "data", &i, &d), SI_E_PART_NOTFOUND);
	T_STREQ(d.where, "data");
	T_ERR(part_table_find(&t, "", &i, NULL), SI_E_PART_NOTFOUND);
	T_ERR(part_table_find(&t, "System", &i, NULL), SI_E_PART_NOTFOUND);

	{
		char hint[256], tiny[16];

		T_EQ(part_table_hint(&t, hint, sizeof hint), strlen(hint));
		T_STREQ(hint, "vda1 \"preboot\" (254:1), vda2 \"system\" (254:2), vda3 (254:3)");
		part_table_hint(&t, tiny, sizeof tiny);
		T_STREQ(tiny, "vda1 \"preboo...");
		t.n = 1;
		part_table_hint(&t, hint, sizeof hint);
		T_STREQ(hint, "none");
		t.n = 4;
		T_OK(uevent_parse(UE("MAJOR=8\nMINOR=9\nDEVNAME=sdb1\nDEVTYPE=partition\nPARTNAME=a\"b\n"), &t.p[4], NULL));
		t.n = 5;
		part_table_hint(&t, hint, sizeof hint);
		T_STREQ(hint, "vda1 \"preboot\" (254:1), vda2 \"system\" (254:2), vda3 (254:3), sdb1 \"a\"b\" (8:9)");
	}
	T_OK(uevent_parse(UE("MAJOR=8\nMINOR=1\nDEVNAME=sda1\nDEVTYPE=partition\nPARTNAME=system\n"), &t.p[4], NULL));
	t.n = 5;
	si_diag_clear(&d);
	T_ERR(part_table_find(&t, "system", &i, &d), SI_E_PART_DUP);
	T_STREQ(d.expected_s, "vda2");
	T_STREQ(d.found_s, "sda1");
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void test_part_scan(void)
{
	static struct part_table t;
	char dir[] = "/tmp/sealinit-sys-XXXXXX", p[256];
	static const struct {
		const char *name, *uevent;
	} devs[] = {
		{ "vda", "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n" },
		{ "vda1", "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nPARTN=1\nPARTNAME=preboot\n" },
		{ "vda2", "MAJOR=254\nMINOR=2\nDEVNAME=vda2\nDEVTYPE=partition\nPARTN=2\nPARTNAME=system\n" },
		{ "power", NULL }, /* a directory without uevent: skipped */
	};
	struct si_diag d;
	size_t i, k = 0;

	if (!mkdtemp(dir)) {
		T_CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	for (i = 0; i < SI_ARRAY_SIZE(devs); i++) {
		snprintf(p, sizeof p, "%s/%s", dir, devs[i].name);
		T_EQ(mkdir(p, 0755), 0);
		if (!devs[i].uevent)
			continue;
		snprintf(p, sizeof p, "%s/%s/uevent", dir, devs[i].name);
		T_EQ(write_file(p, devs[i].uevent), 0);
	}
	T_OK(part_table_scan(dir, &t, NULL));
	T_EQ(t.n, 3);
	T_OK(part_table_find(&t, "system", &k, NULL));
	T_STREQ(t.p[k].devname, "vda2");
	T_EQ(t.p[k].minor, 2);

	/* A malformed uevent stops the scan and names the entry. */
	snprintf(p, sizeof p, "%s/vda2/uevent", dir);
	T_EQ(write_file(p, "MAJOR=254\nMAJOR=254\n"), 0);
	si_diag_clear(&d);
	T_ERR(part_table_scan(dir, &t, &d), SI_E_UEVENT);
	T_STREQ(d.where, "vda2");
	T_ERR(part_table_scan("/nonexistent-sealinit", &t, NULL), SI_E_OPEN);

	for (i = 0; i < SI_ARRAY_SIZE(devs); i++) {
		snprintf(p, sizeof p, "%s/%s/uevent", dir, devs[i].name);
		unlink(p);
		snprintf(p, sizeof p, "%s/%s", dir, devs[i].name);
		rmdir(p);
	}
	rmdir(dir);
}

static void test_node(void)
{
	char dir[] = "/tmp/sealinit-node-XXXXXX", p[256];
	struct si_diag d;
	struct stat st;

	if (!mkdtemp(dir)) {
		T_CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(p, sizeof p, "%s/file", dir);
	T_EQ(write_file(p, "x"), 0);
	si_diag_clear(&d);
	T_ERR(blk_node_ensure(p, 1, 3, 1, &d), SI_E_NODE);
	T_STREQ(d.field, "node.rdev");
	unlink(p);

	snprintf(p, sizeof p, "%s/sub/null", dir);
	si_diag_clear(&d);
	if (blk_node_ensure(p, 1, 3, 1, &d) != 0 && d.sys_errno == EPERM) {
		printf("test_mount: SKIP node: mknod not permitted here\n");
	} else {
		T_EQ(stat(p, &st), 0);
		T_CHECK(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3), "node is char 1:3");
		T_OK(blk_node_ensure(p, 1, 3, 1, NULL));       /* exists: fine */
		T_ERR(blk_node_ensure(p, 1, 5, 1, NULL), SI_E_NODE); /* other number */
		T_ERR(blk_node_ensure(p, 1, 3, 0, NULL), SI_E_NODE); /* not a block dev */
		unlink(p);
	}
	snprintf(p, sizeof p, "%s/sub", dir);
	rmdir(p);
	rmdir(dir);
	T_ERR(blk_node_ensure("relative", 1, 3, 1, NULL), SI_E_ARG);
}

static void test_loop(void)
{
	char path[] = "/tmp/sealinit-loop-XXXXXX", sys[96], buf[4096], want[4096];
	struct loop_dev lo;
	struct si_diag d;
	uint64_t size = 0;
	int fd, ro = 0, i, r, dio_flags;
	unsigned minor;

	if (access("/dev/loop-control", F_OK) != 0) {
		printf("test_mount: SKIP loop: no /dev/loop-control on this host\n");
		return;
	}
	fd = mkstemp(path);
	if (fd < 0) {
		T_CHECK(0, "mkstemp: %s", strerror(errno));
		return;
	}
	/* Three 4 KiB blocks 'A', 'B', 'C'; the loop device shows the middle one. */
	for (i = 0; i < 3; i++) {
		memset(buf, 'A' + i, sizeof buf);
		T_EQ(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
	}
	close(fd);
	memset(want, 'B', sizeof want);

	for (dio_flags = 0; dio_flags <= LOOP_ATTACH_DIRECT_IO; dio_flags += LOOP_ATTACH_DIRECT_IO) {
		si_diag_clear(&d);
		r = loop_dev_attach(path, 4096, 4096, (unsigned)dio_flags, &lo, &d);
		if (r != 0) {
			char msg[256];

			si_diag_format(&d, r, msg, sizeof msg);
			if (d.sys_errno == EPERM || d.sys_errno == EACCES || d.sys_errno == ENXIO) {
				printf("test_mount: SKIP loop: %s\n", msg);
				break;
			}
			T_CHECK(0, "loop_dev_attach: %s: %s", si_err_name(r), msg);
			break;
		}
		T_CHECK(strncmp(lo.path, "/dev/loop", 9) == 0, "path %s", lo.path);
		T_CHECK(lo.fd >= 0, "fd open");
		T_CHECK((fcntl(lo.fd, F_GETFD) & FD_CLOEXEC) != 0, "loop fd is O_CLOEXEC");
		T_EQ(ioctl(lo.fd, BLKGETSIZE64, &size), 0);
		T_EQ(size, 4096);
		T_EQ(ioctl(lo.fd, BLKROGET, &ro), 0);
		T_EQ(ro, 1);
		T_EQ(pread(lo.fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);
		T_MEMEQ(buf, want, sizeof buf);
		errno = 0;
		T_CHECK(pwrite(lo.fd, buf, 512, 0) < 0 && (errno == EPERM || errno == EROFS || errno == EBADF),
			"write to a read-only loop device fails (errno %d)", errno);
		snprintf(sys, sizeof sys, "/sys/block/loop%u/loop/autoclear", lo.minor);
		fd = open(sys, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			char c = 0;

			T_EQ(read(fd, &c, 1), 1);
			T_EQ(c, '1');
			close(fd);
		}
		if (dio_flags)
			printf("test_mount: loop direct I/O %s on this host's /tmp\n",
			       lo.direct_io ? "took effect" : "not available");
		minor = lo.minor;
		snprintf(sys, sizeof sys, "/sys/block/loop%u/loop/backing_file", minor);
		if (dio_flags) {
			/* Autoclear: closing the last opener detaches. */
			loop_dev_close(&lo);
		} else {
			T_OK(loop_dev_detach(&lo, NULL));
		}
		T_EQ(lo.fd, -1);
		for (i = 0; i < 100 && access(sys, F_OK) == 0; i++)
			usleep(10000);
		T_CHECK(access(sys, F_OK) != 0, "loop%u detached (%s gone)", minor, sys);
	}

	/* Whole file (size 0 = to the end). */
	if (loop_dev_attach(path, 0, 0, 0, &lo, NULL) == 0) {
		T_EQ(ioctl(lo.fd, BLKGETSIZE64, &size), 0);
		T_EQ(size, 3 * 4096);
		loop_dev_close(&lo);
	}
	/* The verified descriptor is the one used: a file opened (and, at
	 * boot, checked) through fd, then replaced at its path, is still what
	 * the loop device shows. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char other[] = "/tmp/sealinit-test-loop2-XXXXXX";
		int ofd = mkstemp(other);

		if (ofd >= 0) {
			memset(buf, 'Z', sizeof buf);
			T_EQ(write(ofd, buf, sizeof buf), (ssize_t)sizeof buf);
			close(ofd);
			T_EQ(rename(other, path), 0); /* the path now names the 'Z' file */
		}
		si_diag_clear(&d);
		r = loop_dev_attach_fd(fd, path, 0, 0, 0, &lo, &d);
		if (r == 0) {
			memset(want, 'A', sizeof want);
			T_EQ(pread(lo.fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);
			T_MEMEQ(buf, want, sizeof buf);
			T_EQ(ioctl(lo.fd, BLKGETSIZE64, &size), 0);
			T_EQ(size, 3 * 4096);
			loop_dev_close(&lo);
		} else if (d.sys_errno != EPERM && d.sys_errno != EACCES && d.sys_errno != ENXIO) {
			T_CHECK(0, "loop_dev_attach_fd: %s", si_err_name(r));
		}
		T_CHECK(fcntl(fd, F_GETFD) >= 0, "the caller's descriptor stays open");
		close(fd);
	}
	si_diag_clear(&d);
	T_ERR(loop_dev_attach("/nonexistent-sealinit", 0, 0, 0, &lo, &d), SI_E_OPEN);
	T_EQ(d.sys_errno, ENOENT);
	T_ERR(loop_dev_attach_fd(-1, "x", 0, 0, 0, &lo, NULL), SI_E_ARG);
	T_ERR(loop_dev_attach(path, 0, 0, 0x80, &lo, NULL), SI_E_ARG);
	unlink(path);
}

/* The child's checks, reported through its exit status: 0 all good, 77
 * skip (no mount namespace here), 10+n check n failed. */
static int switch_root_child(const char *base)
{
	char p[256];
	struct stat st;
	int old, fd;

	if (unshare(CLONE_NEWNS) != 0)
		return 77;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return 77;
	/* A tmpfs playing the initramfs, with files to delete, a second tmpfs
	 * as the new root, and a proc mount to carry over. */
	if (mount("tmpfs", base, "tmpfs", 0, "mode=0755") != 0)
		return 77;
	snprintf(p, sizeof p, "%s/init", base);
	if (write_file(p, "x") != 0)
		return 11;
	snprintf(p, sizeof p, "%s/lib", base);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/lib/modules", base);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/lib/modules/a.ko", base);
	if (write_file(p, "x") != 0)
		return 12;
	snprintf(p, sizeof p, "%s/lib/link", base);
	if (symlink("/newroot/keep", p) != 0)
		return 13;
	snprintf(p, sizeof p, "%s/proc", base);
	mkdir(p, 0755);
	if (mount("proc", p, "proc", 0, NULL) != 0)
		return 77;
	snprintf(p, sizeof p, "%s/newroot", base);
	mkdir(p, 0755);
	if (mount("tmpfs", p, "tmpfs", 0, "mode=0755") != 0)
		return 77;
	/* The data volume: writable, but nodev and nosuid. */
	{
		struct statvfs sv;

		snprintf(p, sizeof p, "%s/newroot/data", base);
		mkdir(p, 0755);
		if (fs_mount_data("tmpfs", p, "tmpfs", 0, NULL) != 0 || statvfs(p, &sv) != 0 ||
		    !(sv.f_flag & ST_NODEV) || !(sv.f_flag & ST_NOSUID) || (sv.f_flag & ST_RDONLY))
			return 23;
		if (fs_mount_data("tmpfs", p, "tmp,fs", 0, NULL) != SI_E_ARG ||
		    fs_mount_data("tmpfs", p, "", 0, NULL) != SI_E_ARG)
			return 24;
	}
	snprintf(p, sizeof p, "%s/newroot/keep", base);
	if (write_file(p, "kept") != 0)
		return 14;
	snprintf(p, sizeof p, "%s/newroot/proc", base);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/newroot/sbin", base);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/newroot/sbin/tool", base);
	if (write_file(p, "base") != 0)
		return 22;
	snprintf(p, sizeof p, "%s/newroot/sbin/base", base);
	if (write_file(p, "base") != 0)
		return 22;
	snprintf(p, sizeof p, "%s/newroot/run", base);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/run", base);
	mkdir(p, 0755);
	if (mount("tmpfs", p, "tmpfs", 0, "mode=0755") != 0)
		return 77;
	/* Two cryptexes for /sbin: a above b above the base. */
	snprintf(p, sizeof p, "%s/run/a", base);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/run/b", base);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/run/a/tool", base);
	if (write_file(p, "a") != 0)
		return 22;
	snprintf(p, sizeof p, "%s/run/b/tool", base);
	if (write_file(p, "b") != 0)
		return 22;
	snprintf(p, sizeof p, "%s/run/b/only-b", base);
	if (write_file(p, "b") != 0)
		return 22;
	if (chroot(base) != 0 || chdir("/") != 0)
		return 77;
	{
		static struct fs_layer layers[2];

		strcpy(layers[0].root, "/run/a");
		strcpy(layers[0].target, "/sbin");
		strcpy(layers[1].root, "/run/b");
		strcpy(layers[1].target, "/sbin");
		strcpy(layers[1].target, "sbin");
		if (fs_overlay_apply("/newroot", layers, 2, NULL) != SI_E_OVERLAY)
			return 26; /* relative target */
		strcpy(layers[1].target, "/sbin");
		if (fs_overlay_apply("/newroot", layers, 2, NULL) != 0)
			return 77; /* no overlayfs here */
	}
	old = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (old < 0)
		return 15;
	/* Not a mount point: refused before anything is touched. */
	if (fs_switch_root("/lib", NULL) != SI_E_NOT_MOUNTPOINT)
		return 16;
	if (fstatat(old, "init", &st, 0) != 0)
		return 17;
	if (fs_switch_root("/newroot", NULL) != 0)
		return 18;
	/* The new root is "/", proc came along, the old files are gone. */
	if (stat("/keep", &st) != 0 || stat("/proc/self/mountinfo", &st) != 0)
		return 19;
	fd = open("/data/state", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return 25;
	close(fd);
	if (fstatat(old, "init", &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    fstatat(old, "lib", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 20;
	fd = open("/keep", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 21;
	close(fd);
	/* The overlay and /run came along; a's file wins, b's and the
	 * base's show through where a has none. */
	{
		static const char *const want[][2] = {
			{ "/sbin/tool", "a" }, { "/sbin/only-b", "b" }, { "/sbin/base", "base" },
			{ "/run/b/only-b", "b" },
		};
		char buf[8];
		size_t i;
		ssize_t n;

		for (i = 0; i < SI_ARRAY_SIZE(want); i++) {
			fd = open(want[i][0], O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return 30 + (int)i;
			n = read(fd, buf, sizeof buf - 1);
			close(fd);
			if (n < 0)
				return 30 + (int)i;
			buf[n] = '\0';
			if (strcmp(buf, want[i][1]) != 0)
				return 30 + (int)i;
		}
		/* Read-only overlay. */
		if (open("/sbin/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644) >= 0)
			return 40;
	}
	return 0;
}

static void test_switch_root(void)
{
	char base[] = "/tmp/sealinit-sr-XXXXXX";
	int st = 0;
	pid_t pid;

	if (geteuid() != 0) {
		printf("test_mount: SKIP switch_root: not root\n");
		return;
	}
	if (!mkdtemp(base)) {
		T_CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0)
		_exit(switch_root_child(base));
	T_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid, "fork/wait");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		printf("test_mount: SKIP switch_root: no private mount namespace here\n");
	else
		T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "switch_root child: status %d (check %d)",
			st, WIFEXITED(st) ? WEXITSTATUS(st) - 10 : -1);
	rmdir(base);
}

/* Paths inside a tree: links never lead out, in the strict mode never
 * followed at all; preboot files typed before they are read. */
static void each_count(void *arg, const char *name, size_t len)
{
	(void)name;
	(void)len;
	(*(unsigned *)arg)++;
}

static void rm_rf(const char *dir)
{
	char *const argv[] = { "rm", "-rf", (char *)dir, NULL };
	pid_t pid = fork();

	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

static void test_resolve(void)
{
	char dir[] = "/tmp/sealinit-test-resolve-XXXXXX", p[256], out[256];
	struct si_diag d;
	uint64_t size = 0;
	unsigned n = 0;
	int root, fd = -1;

	T_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
#define MK(fmt, ...) (snprintf(p, sizeof p, "%s/" fmt, dir, ##__VA_ARGS__), p)
	T_EQ(mkdir(MK("usr"), 0755), 0);
	T_EQ(mkdir(MK("usr/lib"), 0755), 0);
	T_EQ(mkdir(MK("data"), 0755), 0);
	T_EQ(symlink("/", MK("abs")), 0);           /* absolute: the root */
	T_EQ(symlink("../data", MK("usr/rel")), 0);  /* relative, into data */
	T_EQ(symlink("/usr/lib", MK("lib")), 0);
	fd = open(MK("usr/lib/init"), O_WRONLY | O_CREAT, 0755);
	T_CHECK(fd >= 0 && write(fd, "#!/bin/sh\n", 10) == 10, "init");
	close(fd);
	T_EQ(mkfifo(MK("usr/fifo"), 0644), 0);
	root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	/* strict: a plain directory resolves, any link on the way is refused */
	T_OK(fs_resolve(root, "/usr/lib", FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS, &fd, NULL));
	close(fd);
	si_diag_clear(&d);
	T_ERR(fs_resolve(root, "/abs/usr", FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS, &fd, &d), SI_E_PATH_SYMLINK);
	T_STREQ(d.where, "/abs");
	si_diag_clear(&d);
	T_ERR(fs_resolve(root, "/usr/rel", FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS, &fd, &d), SI_E_PATH_SYMLINK);
	T_STREQ(d.where, "/usr/rel");
	T_ERR(fs_resolve(root, "/usr/nothing", FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS, &fd, NULL), SI_E_NOTFOUND);
	T_ERR(fs_resolve(root, "/usr/lib/init/x", FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS, &fd, NULL), SI_E_FILE_TYPE);
	/* in the root: links followed, but "/" is the tree's own */
	T_OK(fs_resolve(root, "/lib/init", 0, &fd, NULL));
	T_OK(fs_fd_path_in(fd, dir, out, sizeof out));
	T_STREQ(out, "/usr/lib/init");
	close(fd);
	T_OK(fs_resolve(root, "/abs/abs/abs/usr/lib/init", 0, &fd, NULL));
	T_OK(fs_fd_path_in(fd, dir, out, sizeof out));
	T_STREQ(out, "/usr/lib/init");
	close(fd);
	T_ERR(fs_resolve(root, "usr", 0, &fd, NULL), SI_E_ARG); /* relative */

	/* a tree's files: regular only, never through a link, never blocking */
	T_OK(fs_tree_open(root, "usr/lib/init", &fd, &size, NULL));
	T_EQ(size, 10);
	T_CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, "opened O_NONBLOCK");
	close(fd);
	si_diag_clear(&d);
	T_ERR(fs_tree_open(root, "usr/fifo", &fd, &size, &d), SI_E_FILE_TYPE);
	T_STREQ(d.found_s, "FIFO");
	T_STREQ(d.where, "usr/fifo");
	T_ERR(fs_tree_open(root, "lib/init", &fd, &size, NULL), SI_E_PATH_SYMLINK);
	T_ERR(fs_tree_open(root, "usr", &fd, &size, NULL), SI_E_FILE_TYPE);
	si_diag_clear(&d);
	T_ERR(fs_tree_open(root, "usr/missing", &fd, &size, &d), SI_E_OPEN);
	T_EQ(d.sys_errno, ENOENT);
	T_OK(fs_tree_list(root, "usr", each_count, &n, NULL));
	T_EQ(n, 5); /* . .. lib rel fifo */
	T_ERR(fs_tree_list(root, "lib", each_count, &n, NULL), SI_E_PATH_SYMLINK);
	close(root);
	rm_rf(dir);
#undef MK
}

/* What an aux kernel collection's tree may hold (mount/auxtree.c): each
 * refused shape added to a good tree, checked, and taken out again. */
static int aux_check(const char *dir, struct si_diag *d)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	si_diag_clear(d);
	r = fs_aux_tree_check(fd, "6.1.0-56-arm64", d);
	close(fd);
	return r;
}

static void test_aux_tree(void)
{
	char dir[] = "/tmp/sealinit-test-auxtree-XXXXXX", p[300];
	struct si_diag d;
	unsigned i;
	int fd;

	T_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
#define MK(fmt, ...) (snprintf(p, sizeof p, "%s/" fmt, dir, ##__VA_ARGS__), p)
#define R "6.1.0-56-arm64"
	T_EQ(mkdir(MK(R), 0755), 0);
	T_EQ(mkdir(MK(R "/updates"), 0755), 0);
	T_EQ(mkdir(MK(R "/updates/vendor"), 0755), 0);
	fd = open(MK(R "/modules.dep"), O_WRONLY | O_CREAT, 0644);
	T_CHECK(fd >= 0 && write(fd, "updates/dummy.ko:\n", 18) == 18, "modules.dep");
	close(fd);
	fd = open(MK(R "/modules.dep.bin"), O_WRONLY | O_CREAT, 0644);
	close(fd);
	fd = open(MK(R "/updates/dummy.ko"), O_WRONLY | O_CREAT, 0644);
	close(fd);
	fd = open(MK(R "/updates/vendor/x.ko"), O_WRONLY | O_CREAT, 0644);
	close(fd);
	T_OK(aux_check(dir, &d));

	/* names where they may not stand */
	fd = open(MK("README"), O_WRONLY | O_CREAT, 0644);
	close(fd);
	T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
	T_STREQ(d.where, "README");
	T_STREQ(d.expected_s, "only the directory of the kernel release");
	T_EQ(unlink(p), 0);
	T_EQ(mkdir(MK("6.1.0-57-arm64"), 0755), 0);
	T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
	T_STREQ(d.found_s, "6.1.0-57-arm64");
	T_EQ(rmdir(p), 0);
	T_EQ(mkdir(MK(R "/kernel"), 0755), 0);
	T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
	T_STREQ(d.where, R "/kernel");
	T_STREQ(d.expected_s, "updates/ or a modules.* index file");
	T_EQ(rmdir(p), 0);
	fd = open(MK(R "/updates/notes.txt"), O_WRONLY | O_CREAT, 0644);
	close(fd);
	T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
	T_STREQ(d.expected_s, "a *.ko module file");
	T_EQ(unlink(p), 0);
	fd = open(MK("bad\nsealinit: OK"), O_WRONLY | O_CREAT, 0644);
	close(fd);
	T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
	T_CHECK(!strchr(d.where, '\n'), "the name escaped: %s", d.where);
	T_EQ(unlink(p), 0);

	/* types: links, FIFOs, devices (an overlay whiteout) */
	T_EQ(symlink("../../" R "/modules.dep", MK(R "/updates/link.ko")), 0);
	T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
	T_STREQ(d.found_s, "a symbolic link");
	T_EQ(unlink(p), 0);
	T_EQ(mkfifo(MK(R "/modules.alias"), 0644), 0);
	T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
	T_STREQ(d.found_s, "a FIFO");
	T_EQ(unlink(p), 0);
	if (geteuid() == 0) {
		T_EQ(mknod(MK(R "/updates/veth.ko"), S_IFCHR | 0644, makedev(0, 0)), 0);
		T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
		T_STREQ(d.where, R "/updates/veth.ko");
		T_CHECK(strstr(d.found_s, "character device") != NULL, "%s", d.found_s);
		T_EQ(unlink(p), 0);
	}

	/* overlay attributes: an opaque directory, a redirect */
	if (setxattr(MK(R "/updates"), "trusted.overlay.opaque", "y", 1, 0) == 0) {
		T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
		T_STREQ(d.where, R "/updates");
		T_STREQ(d.found_s, "trusted.overlay.opaque");
		T_EQ(removexattr(p, "trusted.overlay.opaque"), 0);
	} else {
		T_CHECK(geteuid() != 0 || errno == ENOTSUP, "setxattr trusted.overlay.opaque: %s",
			strerror(errno));
	}
	if (setxattr(MK(R "/updates/dummy.ko"), "user.overlay.redirect", "/x", 2, 0) == 0) {
		T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
		T_STREQ(d.found_s, "user.overlay.redirect");
		T_EQ(removexattr(p, "user.overlay.redirect"), 0);
	}
	/* an unrelated attribute is not the check's business */
	if (setxattr(MK(R "/updates/dummy.ko"), "user.note", "1", 1, 0) == 0)
		T_OK(aux_check(dir, &d));

	/* depth: six levels of directories below updates/, not seven */
	snprintf(p, sizeof p, "%s/" R "/updates/vendor", dir);
	for (i = 0; i < 5; i++) {
		strcat(p, "/d");
		T_EQ(mkdir(p, 0755), 0);
	}
	T_OK(aux_check(dir, &d));
	strcat(p, "/d");
	T_EQ(mkdir(p, 0755), 0);
	T_ERR(aux_check(dir, &d), SI_E_KC_AUX_TREE);
	T_STREQ(d.expected_s, "at most 8 levels of directories");
	T_ERR(fs_aux_tree_check(-1, R, NULL), SI_E_ARG);
	rm_rf(dir);
#undef R
#undef MK
}

/* The GPT reader on a committed image (three partitions), then broken. */
static void test_gpt(void)
{
	size_t len;
	uint8_t *img = t_slurp("tests/fuzz/corpus/gpt/three-parts.img", &len);
	static struct gpt_table t;
	const struct gpt_part *gp;
	struct si_mem_io m;
	struct si_io io;
	struct si_diag d;

	si_io_mem(&io, &m, img, len);
	T_OK(gpt_read(&io, &t, &d));
	T_EQ(t.sector, 512);
	T_EQ(t.n, 3);
	T_STREQ(t.p[0].label, "preboot");
	T_EQ(t.p[0].first_lba, 40);
	T_EQ(t.p[0].last_lba, 59);
	T_STREQ(t.p[1].label, "sys tem");
	T_EQ(t.p[2].index, 3);
	T_OK(gpt_find(&t, "data", &gp, &d));
	T_EQ(gp->first_lba, 80);
	si_diag_clear(&d);
	T_ERR(gpt_find(&t, "system", &gp, &d), SI_E_PART_NOTFOUND);
	T_STREQ(d.where, "system");
	/* one bit anywhere in header or entries: the CRCs catch it */
	img[512 + 40] ^= 1;
	T_ERR(gpt_read(&io, &t, &d), SI_E_GPT);
	T_STREQ(d.field, "gpt.header_crc32");
	img[512 + 40] ^= 1;
	img[1024 + 56] ^= 1; /* entry 1's name */
	T_ERR(gpt_read(&io, &t, &d), SI_E_GPT);
	T_STREQ(d.field, "gpt.entries_crc32");
	img[1024 + 56] ^= 1;
	memcpy(img + 512, "EFI PARX", 8);
	T_ERR(gpt_read(&io, &t, &d), SI_E_GPT);
	T_STREQ(d.field, "gpt.signature");
	memcpy(img + 512, "EFI PART", 8);
	si_io_mem(&io, &m, img, 1000);
	T_ERR(gpt_read(&io, &t, &d), SI_E_GPT);
	free(img);
}

int main(void)
{
	test_resolve();
	test_aux_tree();
	test_gpt();
	test_verity_params();
	test_spec_from_seal();
	test_dm_ioc();
	test_overlay_opts();
	test_uevent();
	test_part_find();
	test_part_scan();
	test_node();
	test_loop();
	test_switch_root();
	return t_done("test_mount");
}

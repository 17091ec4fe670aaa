/* QEMU smoke test for mount/ and kc/: a test-only PID 1 (not sealinit)
 * that drives the library the way init/ will, against the real kernel:
 *
 *   modules  /lib/modules/order via kc_module_load_file (virtio), then
 *            the /kc modules read into memory, .modinfo parsed, ordered with the
 *            crc32c_generic -> libcrc32c edge, vermagic checked against
 *            uname, loaded with kc_module_load (init_module)
 *   system   GPT label "system" (part_find_by_label) -> dm-verity -> erofs
 *            on /newroot
 *   cryptex  /img/cx.img -> loop (read-only, autoclear) -> dm-verity ->
 *            erofs -> overlay on /newroot/usr above the system's /usr
 *   corrupt  /img/bad.img (one byte flipped in a file's data) -> mounts,
 *            and the read of that file fails with EIO; then DM_DEV_REMOVE
 *   handoff  fs_switch_root("/newroot"), exec /sbin/init (this program
 *            again, as "stage2"), which checks the new root and powers off
 *
 * Every result is one "smoke: ..." line; tests/qemu-mount/run greps them.
 * /img/params has one line per image: NAME DATA_BLOCKS HASH_START_BLOCK
 * ROOT_HEX SALT_HEX (4096-byte blocks, the veritysetup --no-superblock
 * layout the run script makes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "kc/kc.h"
#include "lib/fdio.h"
#include "lib/str.h"
#include "mount/mount.h"
#include "verify/seal.h"

#define MOD_MAX 16
#define MOD_BYTES (4u << 20)

static int failures;

static void say_err(const char *what, int r, const struct si_diag *d)
{
	char msg[512];

	si_diag_format(d, r, msg, sizeof msg);
	printf("smoke: FAIL %s: %s: %s\n", what, si_err_name(r), msg);
	failures++;
}

static void power_off(void)
{
	printf("smoke: %s\n", failures ? "RESULT FAIL" : "RESULT PASS");
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}


static int text_is(const char *path, const char *want)
{
	char buf[128];
	size_t len = 0;
	int r = si_read_file(path, 0, buf, sizeof buf - 1, &len, NULL);

	if (r)
		return r;
	buf[len] = '\0';
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return strcmp(buf, want) == 0 ? 0 : 1;
}

static void load_modules(void)
{
	static uint8_t img[MOD_BYTES];
	static struct kc_modinfo mods[MOD_MAX];
	static char files[MOD_MAX][64];
	static struct kc_order_ctx ctx;
	struct kc_edge crc = { "crc32c_generic", "libcrc32c" };
	char rel[KC_RELEASE_MAX], line[256], path[128];
	uint16_t order[MOD_MAX];
	struct si_diag d;
	size_t n = 0, len, i;
	FILE *f;
	int r;

	/* Storage drivers from the initramfs: finit_module. */
	f = fopen("/lib/modules/order", "re");
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof path, "/lib/modules/%s", line);
		si_diag_clear(&d);
		r = kc_module_load_file(path, NULL, &d);
		if (r)
			say_err("finit_module", r, &d);
		else
			printf("smoke: finit_module %s OK\n", line);
	}
	if (f)
		fclose(f);

	si_diag_clear(&d);
	r = kc_uname_release(rel, sizeof rel, &d);
	if (r) {
		say_err("uname", r, &d);
		return;
	}
	f = fopen("/kc/list", "re");
	if (!f) {
		printf("smoke: FAIL no /kc/list\n");
		failures++;
		return;
	}
	while (n < MOD_MAX && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(files[n], sizeof files[n], "%s", line);
		snprintf(path, sizeof path, "/kc/%s", line);
		if (si_read_file(path, 0, img, sizeof img, &len, NULL) != 0) {
			printf("smoke: FAIL read %s\n", path);
			failures++;
			continue;
		}
		si_diag_clear(&d);
		r = kc_modinfo_parse(img, len, &mods[n], &d);
		if (!r)
			r = kc_vermagic_check(&mods[n], rel, &d);
		if (r) {
			say_err(path, r, &d);
			continue;
		}
		n++;
	}
	fclose(f);
	si_diag_clear(&d);
	r = kc_order(mods, n, &crc, 1, &ctx, order, &d);
	if (r) {
		say_err("kc_order", r, &d);
		return;
	}
	printf("smoke: kc order:");
	for (i = 0; i < n; i++)
		printf(" %s", mods[order[i]].name);
	printf("\n");
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "/kc/%s", files[order[i]]);
		if (si_read_file(path, 0, img, sizeof img, &len, NULL) != 0)
			continue;
		si_diag_clear(&d);
		r = kc_module_load(img, len, NULL, &d);
		if (r)
			say_err("init_module", r, &d);
	}
	printf("smoke: kc loaded %zu modules from memory (release %s)\n", n, rel);
}

static int spec_for(const char *name, const char *dev, struct dm_verity_spec *s)
{
	char line[1024], nm[64], root[80], salt[600];
	unsigned long long blocks, hstart;
	FILE *f = fopen("/img/params", "re");
	int found = 0;

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "%63s %llu %llu %79s %599s", nm, &blocks, &hstart, root, salt) == 5 &&
		    strcmp(nm, name) == 0) {
			found = 1;
			break;
		}
	if (f)
		fclose(f);
	if (!found)
		return -1;
	memset(s, 0, sizeof *s);
	snprintf(s->data_dev, sizeof s->data_dev, "%s", dev);
	snprintf(s->hash_dev, sizeof s->hash_dev, "%s", dev);
	s->data_block_size = s->hash_block_size = 4096;
	s->data_blocks = blocks;
	s->hash_start_block = hstart;
	s->on_error = DM_VERITY_EIO;
	s->salt_len = strlen(salt) / 2;
	if (si_unhex(s->root_hash, 32, root, strlen(root)) != 0 ||
	    si_unhex(s->salt, s->salt_len, salt, strlen(salt)) != 0)
		return -1;
	return 0;
}

/* dm-verity on dev, erofs on mnt. */
static int verity_mount(const char *name, const char *dev, const char *mnt,
			struct dm_dev *out)
{
	static struct dm_ioc io;
	struct dm_verity_spec s;
	struct si_diag d;
	char params[DM_PARAMS_MAX];
	int r;

	if (spec_for(name, dev, &s) != 0) {
		printf("smoke: FAIL no params for %s\n", name);
		failures++;
		return -1;
	}
	if (dm_verity_params(&s, params, sizeof params, NULL) == 0)
		printf("smoke: %s table: verity %s\n", name, params);
	si_diag_clear(&d);
	r = dm_verity_create(name, &s, &io, out, &d);
	if (r) {
		say_err("dm_verity_create", r, &d);
		return -1;
	}
	printf("smoke: dm-verity %s is %s (%u:%u)\n", name, out->path, out->major, out->minor);
	mkdir(mnt, 0755);
	si_diag_clear(&d);
	r = fs_mount_ro(out->path, mnt, "erofs", &d);
	if (r) {
		say_err("fs_mount_ro", r, &d);
		return -1;
	}
	printf("smoke: mounted %s on %s\n", name, mnt);
	return 0;
}

static void check_text(const char *path, const char *want)
{
	int r = text_is(path, want);

	if (r == 0) {
		printf("smoke: read %s = %s\n", path, want);
	} else {
		printf("smoke: FAIL read %s: %s\n", path, r < 0 ? strerror(-r) : "wrong contents");
		failures++;
	}
}

static int smoke_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
	int fd = *(int *)ctx;

	return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : SI_E_IO;
}

/* An image sealed by sealctl: the seal (opened with the sealing key as a
 * one-key anchor) drives fs_sealed_mount, and the overlay target comes
 * from the manifest. */
static void sealed_cryptex(void)
{
	static struct si_anchor anchor;
	static struct si_seal seal;
	static uint8_t pem[4096];
	size_t pem_len;
	static struct dm_ioc io;
	struct fs_layer layer;
	struct fs_sealed fsd;
	struct si_diag d;
	struct si_io sio;
	struct stat st;
	int fd, r;

	fd = open("/img/app.img", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		printf("smoke: FAIL open /img/app.img\n");
		failures++;
		return;
	}
	sio.ctx = &fd;
	sio.size = (uint64_t)st.st_size;
	sio.read_at = smoke_read_at;
	si_diag_clear(&d);
	memset(&anchor, 0, sizeof anchor);
	r = si_read_file("/img/test-key.pub.pem", 0, pem, sizeof pem, &pem_len, &d);
	if (r == 0)
		r = si_key_parse_public(pem, pem_len, &anchor.keys[0], &d);
	if (r) {
		close(fd);
		say_err("test key", r, &d);
		return;
	}
	anchor.keys[0].usages = SI_USAGE_CRYPTEX;
	anchor.n_keys = 1;
	r = si_seal_open(&sio, &anchor, SI_USAGE_CRYPTEX, 0, &seal, &d);
	close(fd);
	if (r) {
		say_err("si_seal_open", r, &d);
		return;
	}
	mkdir("/run/cx/app", 0755);
	si_diag_clear(&d);
	fd = open("/img/app.img", O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? SI_E_OPEN : fs_sealed_mount(fd, "/img/app.img", FS_SEALED_FILE, &seal, "cx-app",
						 DM_VERITY_EIO, "/run/cx/app", &io, &fsd, &d);
	if (fd >= 0)
		close(fd);
	if (r) {
		say_err("fs_sealed_mount", r, &d);
		return;
	}
	printf("smoke: sealed cryptex %s %s on %s via %s, overlay %s\n", seal.m.name,
	       seal.m.version, fsd.dm.path, fsd.loop_path, seal.m.has_overlay ? seal.m.overlay : "-");
	memset(&layer, 0, sizeof layer);
	strcpy(layer.root, "/run/cx/app");
	snprintf(layer.target, sizeof layer.target, "%s", seal.m.overlay);
	si_diag_clear(&d);
	r = fs_overlay_apply("/newroot", &layer, 1, &d);
	if (r)
		say_err("fs_overlay_apply app", r, &d);
	check_text("/newroot/opt/app/hello", "app");
}

static void stage1(void)
{
	static struct part_table t;
	static struct dm_ioc io;
	struct fs_layer layer;
	struct loop_dev lo;
	struct dm_dev sys, cx, bad;
	struct si_diag d;
	char dev[64];
	static uint8_t big[256 * 1024];
	size_t len, i;
	int r, tries;

	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	printf("smoke: stage1 pid %d\n", (int)getpid());

	load_modules();

	/* The disk appears once virtio_blk has probed: retry for 2 s. */
	for (tries = 0; tries < 40; tries++) {
		si_diag_clear(&d);
		r = part_find_by_label("system", &t, dev, sizeof dev, &d);
		if (r != SI_E_PART_NOTFOUND)
			break;
		usleep(50000);
	}
	if (r) {
		say_err("part_find_by_label", r, &d);
		power_off();
	}
	printf("smoke: label system is %s\n", dev);
	si_diag_clear(&d);
	r = part_find_by_label("nosuchlabel", &t, dev + 32, 32, &d);
	printf("smoke: label nosuchlabel: %s; partitions:", si_err_name(r));
	for (i = 0; i < t.n; i++)
		if (t.p[i].is_partition)
			printf(" %s(%s)", t.p[i].devname, t.p[i].has_partname ? t.p[i].partname : "");
	printf("\n");

	if (verity_mount("system", dev, "/newroot", &sys) != 0)
		power_off();
	check_text("/newroot/etc/hostname", "smoke-system");

	/* The cryptex: a file in the initramfs, through a loop device. */
	si_diag_clear(&d);
	r = loop_dev_attach("/img/cx.img", 0, 0, LOOP_ATTACH_DIRECT_IO, &lo, &d);
	if (r) {
		say_err("loop_dev_attach", r, &d);
		power_off();
	}
	printf("smoke: loop %s (direct I/O %s)\n", lo.path, lo.direct_io ? "on" : "off");
	mkdir("/run/cx", 0755);
	r = verity_mount("cx-os", lo.path, "/run/cx/os", &cx);
	loop_dev_close(&lo); /* dm-verity holds it now */
	if (r)
		power_off();
	/* A table larger than its device: DM_TABLE_LOAD refuses it and the
	 * half-made device is removed again (a second remove finds nothing). */
	{
		struct dm_verity_spec hs;
		struct dm_dev hd;

		si_diag_clear(&d);
		r = loop_dev_attach("/img/cx.img", 0, 0, 0, &lo, &d);
		if (r == 0 && spec_for("cx-os", lo.path, &hs) == 0) {
			hs.data_blocks = 1u << 20;
			si_diag_clear(&d);
			r = dm_verity_create("cx-huge", &hs, &io, &hd, &d);
			if (r == SI_E_DM && d.field && strcmp(d.field, "DM_TABLE_LOAD") == 0) {
				char msg[256];

				si_diag_format(&d, r, msg, sizeof msg);
				printf("smoke: oversized table refused: %s\n", msg);
			} else {
				printf("smoke: FAIL oversized table: %s\n", si_err_name(r));
				failures++;
			}
			r = dm_dev_remove("cx-huge", &io, NULL);
			if (r == SI_E_DM)
				printf("smoke: cx-huge was removed on failure\n");
			else {
				printf("smoke: FAIL cx-huge left behind\n");
				failures++;
			}
		}
		if (r == 0 || lo.fd >= 0)
			loop_dev_close(&lo);
	}
	memset(&layer, 0, sizeof layer);
	strcpy(layer.root, "/run/cx/os");
	strcpy(layer.target, "/usr");
	si_diag_clear(&d);
	r = fs_overlay_apply("/newroot", &layer, 1, &d);
	if (r) {
		say_err("fs_overlay_apply", r, &d);
		power_off();
	}
	check_text("/newroot/usr/who", "cryptex");
	check_text("/newroot/usr/base-only", "system");
	check_text("/newroot/usr/cx-only", "cryptex");
	sealed_cryptex();

	/* The corrupted cryptex: mounts (the flipped block is not read), the
	 * read of the damaged file fails. */
	si_diag_clear(&d);
	r = loop_dev_attach("/img/bad.img", 0, 0, 0, &lo, &d);
	if (r) {
		say_err("loop_dev_attach bad", r, &d);
	} else {
		r = verity_mount("cx-bad", lo.path, "/run/cx/bad", &bad);
		loop_dev_close(&lo);
		if (r == 0) {
			si_diag_clear(&d);
			r = si_read_file("/run/cx/bad/big", 0, big, sizeof big, &len, &d);
			if (r == SI_E_IO && d.sys_errno == EIO) {
				printf("smoke: corrupt cryptex: mount OK, read of the damaged file: EIO\n");
			} else {
				printf("smoke: FAIL corrupt cryptex read: %s\n", r ? strerror(d.sys_errno) : "succeeded");
				failures++;
			}
			umount("/run/cx/bad");
			si_diag_clear(&d);
			r = dm_dev_remove("cx-bad", &io, &d);
			if (r)
				say_err("dm_dev_remove", r, &d);
			else
				printf("smoke: removed cx-bad\n");
		}
	}

	si_diag_clear(&d);
	r = fs_switch_root("/newroot", &d);
	if (r) {
		say_err("fs_switch_root", r, &d);
		power_off();
	}
	printf("smoke: switched root\n");
	fflush(stdout);
	{
		char *const argv[] = { "stage2", NULL };

		execv("/sbin/init", argv);
	}
	printf("smoke: FAIL exec /sbin/init: %s\n", strerror(errno));
	failures++;
	power_off();
}

static void stage2(void)
{
	struct statfs sfs;
	struct stat st;

	printf("smoke: stage2 pid %d\n", (int)getpid());
	check_text("/usr/who", "cryptex");
	check_text("/opt/app/hello", "app");
	check_text("/etc/hostname", "smoke-system");
	if (stat("/proc/self/mountinfo", &st) == 0 && stat("/dev/console", &st) == 0 &&
	    stat("/sys/class/block", &st) == 0)
		printf("smoke: /proc, /dev, /sys carried into the new root\n");
	else {
		printf("smoke: FAIL API file systems missing in the new root\n");
		failures++;
	}
	if (statfs("/", &sfs) == 0 && (uint32_t)sfs.f_type == 0xE0F5E1E2u)
		printf("smoke: / is erofs\n");
	else {
		printf("smoke: FAIL / is not erofs\n");
		failures++;
	}
	power_off();
}

int main(int argc, char **argv)
{
	int fd = open("/dev/console", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 0 && strcmp(argv[0], "stage2") == 0)
		stage2();
	stage1();
	return 0;
}

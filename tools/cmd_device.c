/* sealctl stage, status, confirm, revert: the running OS's side of the
 * update lifecycle (update/engine.h), on the preboot volume where sealinit
 * leaves it (/run/sealinit/preboot, read-only; remounted writable for the
 * write and read-only again).  The trust anchor is the one sealinit
 * booted with (/sys/firmware/fdt, or the copy sealinit left in
 * /run/sealinit/anchor.dtb when it read it from the initramfs).  These commands exist in the device's
 * sealctl too (make sealctl-device). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/str.h"
#include "tools/json.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"
#include "update/engine.h"
#include "update/floor_tpm.h"

#define PREBOOT_DEFAULT "/run/sealinit/preboot"
#define FDT_DEFAULT "/sys/firmware/fdt"
/* Where sealinit leaves the anchor it read from the initramfs (a kernel
 * without a device tree: CONFIG_ANCHOR_INITRAMFS). */
#define FDT_RUN "/run/sealinit/anchor.dtb"

struct dev {
	const char *cmd;
	const char *preboot;
	int fd;
	int remounted;            /* made writable by us: read-only again at the end */
	unsigned long mflags;     /* its mount flags, to keep */
	struct si_anchor anchor;
	struct up_posix px;
	struct si_fs fs;
	struct up_engine e;
	/* the floor store this build configures (update/floor_tpm.h) */
	struct up_floor_store fstore, ffile;
	struct up_floor_tpm ftpm;
	struct tpm2_dev tdev;
	struct tpm2_ops tops;
	uint8_t *work;
};

static void dev_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "%s\n", line);
}

static int dev_open(struct dev *v, const char *cmd, const char *preboot, const char *dtb,
		    int need_anchor, char prefix[64])
{
	const struct plan_board *b = sealcmd_board();
	struct si_diag d;
	int r;

	memset(v, 0, sizeof *v);
	v->cmd = cmd;
	v->preboot = preboot ? preboot : PREBOOT_DEFAULT;
	v->fd = open(v->preboot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (v->fd < 0)
		return sealctl_report_errno(cmd, v->preboot, SI_E_OPEN, errno);
	if (need_anchor) {
		if (!dtb)
			dtb = access(FDT_DEFAULT, F_OK) == 0 ? FDT_DEFAULT : FDT_RUN;
		r = sealcmd_load_anchor(cmd, dtb, &v->anchor);
		if (r)
			return r;
	}
	up_fs_posix(&v->fs, &v->px, v->fd);
	v->tdev.fd = -1;
	up_floor_store_config(&v->fstore, &v->ffile, &v->ftpm, &v->tdev, &v->tops, &v->fs);
	v->e.floor_store = &v->fstore;
	v->e.fs = &v->fs;
	v->e.anchor = &v->anchor;
	v->e.kc_boot_path = b->kc_boot_path;
	v->e.cryptex_dir = b->cryptex_dir;
	v->e.trial_boots = b->trial_boots;
	snprintf(prefix, 64, "sealctl: %s", cmd);
	v->e.prefix = prefix;
	v->e.log = dev_log;
	si_diag_clear(&d);
	r = up_engine_load(&v->e, &d);
	if (r)
		return sealctl_report(cmd, "state record", r, &d);
	return 0;
}

/* The preboot volume writable for the duration of the command. */
static int dev_rw(struct dev *v)
{
	struct statvfs sv;

	if (fstatvfs(v->fd, &sv) != 0)
		return sealctl_report_errno(v->cmd, v->preboot, SI_E_IO, errno);
	if (!(sv.f_flag & ST_RDONLY))
		return 0;
	v->mflags = (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
		    (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
	if (mount(NULL, v->preboot, NULL, MS_REMOUNT | v->mflags, NULL) != 0) {
		sealctl_msg(v->cmd, "%s: cannot make the preboot volume writable (%s); run as root",
			    v->preboot, strerror(errno));
		return SEALCTL_SYSTEM;
	}
	v->remounted = 1;
	return 0;
}

static void dev_close(struct dev *v)
{
	if (v->remounted) {
		sync();
		if (mount(NULL, v->preboot, NULL, MS_REMOUNT | MS_RDONLY | v->mflags, NULL) != 0)
			sealctl_msg(v->cmd, "%s: could not make the preboot volume read-only again (%s)",
				    v->preboot, strerror(errno));
	}
	if (v->fd >= 0)
		close(v->fd);
	tpm2_dev_close(&v->tdev);
	free(v->work);
}

/* ------------------------------------------------------------ stage */

int sealctl_cmd_stage(int argc, char **argv)
{
	const char *pos[1] = { NULL }, *preboot = NULL, *dtb = NULL;
	static struct up_plan p;
	size_t npos = 0;
	int json = 0, r, fd;
	struct stat st;
	struct dev v;
	struct si_diag d;
	char prefix[64];
	const struct sealcmd_optdef defs[] = {
		{ "--preboot", NULL, &preboot, NULL },
		{ "--dtb", NULL, &dtb, NULL },
		{ "--json", NULL, NULL, &json },
	};

	r = sealcmd_parse("stage", argc, argv, defs, SI_ARRAY_SIZE(defs), pos, 1, &npos);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	sealctl_json_mode = json;
	if (npos != 1)
		return sealctl_usage_error("stage", "a bundle file is required");
	fd = open(pos[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sealctl_report_errno("stage", pos[0], SI_E_OPEN, errno);
	if (fstat(fd, &st) != 0) {
		r = errno;
		close(fd);
		return sealctl_report_errno("stage", pos[0], SI_E_IO, r);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		si_diag_clear(&d);
		si_diag_text(&d, "regular file", si_file_type_name(st.st_mode));
		return sealctl_report("stage", pos[0], SI_E_FILE_TYPE, &d);
	}
	r = dev_open(&v, "stage", preboot, dtb, 1, prefix);
	if (r == 0)
		r = dev_rw(&v);
	if (r == 0) {
		si_diag_clear(&d);
		r = up_stage(&v.e, fd, (uint64_t)st.st_size, &p, &d);
		if (r)
			r = sealctl_report("stage", pos[0], r, &d);
	}
	close(fd);
	dev_close(&v);
	if (r)
		return r;
	if (json) {
		struct json j;

		json_begin(&j, stdout, "stage", 1);
		json_str(&j, "bundle", pos[0]);
		json_str(&j, "name", p.target.name);
		json_str(&j, "version", p.target.version);
		json_str(&j, "base_name", p.base.name);
		json_bool(&j, "stacked", p.stacked);
		json_u64(&j, "needed_bytes", p.need);
		json_u64(&j, "free_bytes", p.avail);
		json_end(&j);
	} else {
		printf("staged '%s' %s over '%s'%s: it is applied at the next boot (%llu bytes needed, "
		       "%llu free)\n", p.target.name, p.target.version, p.base.name,
		       p.stacked ? " (the active response is reverted first)" : "",
		       (unsigned long long)p.need, (unsigned long long)p.avail);
	}
	return SEALCTL_OK;
}

/* ------------------------------------------------------------ status */

static const char *outcome_name(enum up_outcome o)
{
	static const char *const n[] = { "none", "applied", "confirmed", "rolled-back", "reverted",
					 "refused", "failed" };

	return (unsigned)o < SI_ARRAY_SIZE(n) ? n[o] : "?";
}

int sealctl_cmd_status(int argc, char **argv)
{
	const char *preboot = NULL, *dtb = NULL;
	static uint8_t buf[SI_MANIFEST_MAX], pbuf[SI_MANIFEST_MAX];
	struct si_set act, prev;
	int json = 0, r, have_act, have_prev = 0, prev_whole = 0, staged = 0;
	static struct up_bundle sb;
	size_t len = 0;
	struct dev v;
	struct si_diag d;
	char prefix[64], hex[65];
	unsigned i;
	const struct sealcmd_optdef defs[] = {
		{ "--preboot", NULL, &preboot, NULL },
		{ "--dtb", NULL, &dtb, NULL },
		{ "--json", NULL, NULL, &json },
	};

	r = sealcmd_parse("status", argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, NULL);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	sealctl_json_mode = json;
	r = dev_open(&v, "status", preboot, dtb, 1, prefix);
	if (r) {
		dev_close(&v);
		return r;
	}
	si_diag_clear(&d);
	have_act = up_slot_set(&v.e, v.e.st.active, &act, buf, &len, &d) == 0;
	if (v.e.st.previous) {
		if (up_slot_set(&v.e, v.e.st.previous, &prev, pbuf, &len, NULL) == 0) {
			have_prev = prev_whole = 1;
		} else {
			char path[UP_PATH_MAX];
			uint8_t *data = NULL;

			snprintf(path, sizeof path, "%s/%s/%s", v.preboot, up_slot_dir(v.e.st.active),
				 UP_BASE_SET);
			if (sealctl_read_file(path, SI_MANIFEST_MAX, &data, &len, NULL) == 0 &&
			    si_set_open_unverified(data, len, &prev, NULL) == 0)
				have_prev = 1;
			free(data);
		}
	}
	{
		char path[UP_PATH_MAX + 256];
		uint8_t *data = NULL;
		struct stat st;

		snprintf(path, sizeof path, "%s/%s", v.preboot, UP_STAGED_BUNDLE);
		if (stat(path, &st) == 0) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			size_t hl = (size_t)st.st_size < UP_BUNDLE_HEAD_MAX ? (size_t)st.st_size
									  : UP_BUNDLE_HEAD_MAX;

			data = malloc(hl ? hl : 1);
			if (fd >= 0 && data && si_pread_full(fd, 0, data, hl, NULL) == 0 &&
			    up_bundle_open_unverified(data, hl, (uint64_t)st.st_size, &sb, NULL) == 0)
				staged = 1;
			else
				staged = -1;
			if (fd >= 0)
				close(fd);
			free(data);
		}
	}
	if (json) {
		struct json j;

		json_begin(&j, stdout, "status", 1);
		json_str(&j, "preboot", v.preboot);
		json_obj_begin(&j, "active");
		json_str(&j, "slot", up_slot_dir(v.e.st.active));
		if (have_act) {
			json_str(&j, "name", act.name);
			json_str(&j, "version", act.version);
			json_hex(&j, "set_digest", act.digest, 32);
		} else {
			json_null(&j, "name");
		}
		json_bool(&j, "confirmed", !!(v.e.st.flags & UP_STATE_CONFIRMED));
		json_u64(&j, "trial_boots_left", v.e.st.flags & UP_STATE_CONFIRMED ? 0 : v.e.st.trial_left);
		json_u64(&j, "trial_boots", v.e.st.trial_total);
		json_bool(&j, "revert_requested", !!(v.e.st.flags & UP_STATE_REVERT));
		json_obj_end(&j);
		if (have_prev) {
			json_obj_begin(&j, "previous");
			json_str(&j, "slot", up_slot_dir(v.e.st.previous));
			json_str(&j, "name", prev.name);
			json_str(&j, "version", prev.version);
			json_bool(&j, "whole", prev_whole);
			json_obj_end(&j);
		} else {
			json_null(&j, "previous");
		}
		if (staged == 1) {
			json_obj_begin(&j, "staged");
			json_str(&j, "name", sb.name);
			json_str(&j, "version", sb.version);
			json_str(&j, "base_name", sb.base_name);
			json_obj_end(&j);
		} else {
			json_null(&j, "staged");
		}
		json_arr_begin(&j, "floors");
		for (i = 0; i < v.e.floors.n; i++) {
			json_obj_begin(&j, NULL);
			json_str(&j, "name", v.e.floors.e[i].name);
			json_u64(&j, "floor", v.e.floors.e[i].floor);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		if (IS_ENABLED(CONFIG_FLOOR_TPM)) {
			json_obj_begin(&j, "tpm_floor");
			json_u64(&j, "nv_index", v.ftpm.index);
			if (v.ftpm.status == 0) {
				json_u64(&j, "counter", v.ftpm.value);
				json_bool(&j, "write_locked", v.ftpm.locked);
				json_null(&j, "error");
			} else {
				json_null(&j, "counter");
				json_null(&j, "write_locked");
				json_str(&j, "error", si_err_name(v.ftpm.status));
			}
			json_obj_end(&j);
		} else {
			json_null(&j, "tpm_floor");
		}
		json_obj_begin(&j, "last_update");
		json_str(&j, "outcome", outcome_name(v.e.st.outcome));
		json_str(&j, "text", v.e.st.outcome_text);
		if (memcmp(v.e.st.failed_set, (const uint8_t[32]){ 0 }, 32))
			json_hex(&j, "failed_set_digest", v.e.st.failed_set, 32);
		else
			json_null(&j, "failed_set_digest");
		json_obj_end(&j);
		json_end(&j);
	} else {
		printf("active    %s: %s%s%s\n", up_slot_dir(v.e.st.active),
		       have_act ? act.name : "(no valid release set)", have_act ? " " : "",
		       have_act ? act.version : "");
		if (v.e.st.flags & UP_STATE_CONFIRMED)
			printf("trial     none (confirmed)\n");
		else
			printf("trial     %u of %u boots left: confirm with sealctl confirm\n",
			       (unsigned)v.e.st.trial_left, (unsigned)v.e.st.trial_total);
		if (have_prev)
			printf("previous  %s: %s %s%s\n", up_slot_dir(v.e.st.previous), prev.name,
			       prev.version, prev_whole ? "" : " (rebuilt from reverse patches on revert)");
		else
			printf("previous  none\n");
		if (v.e.st.flags & UP_STATE_REVERT)
			printf("revert    requested: at the next boot\n");
		if (staged == 1)
			printf("staged    '%s' %s over '%s': applied at the next boot\n", sb.name,
			       sb.version, sb.base_name);
		else if (staged < 0)
			printf("staged    a file that is not a valid bundle (sealinit removes it)\n");
		else
			printf("staged    none\n");
		printf("floors   ");
		for (i = 0; i < v.e.floors.n; i++)
			printf(" %s=%llu", v.e.floors.e[i].name, (unsigned long long)v.e.floors.e[i].floor);
		printf("%s\n", v.e.floors.n ? "" : " none recorded");
		if (IS_ENABLED(CONFIG_FLOOR_TPM)) {
			char why[256];

			if (v.ftpm.status == 0) {
				printf("tpm       NV counter 0x%08x = %llu (the release set's floor)%s\n", v.ftpm.index,
				       (unsigned long long)v.ftpm.value,
				       v.ftpm.locked ? ", write-locked until reboot" : "");
			} else {
				si_diag_format(&v.ftpm.status_diag, v.ftpm.status, why, sizeof why);
				printf("tpm       NV counter 0x%08x not read: %s [%s]\n", v.ftpm.index, why,
				       si_err_name(v.ftpm.status));
			}
		}
		printf("last      %s%s%s\n", outcome_name(v.e.st.outcome),
		       v.e.st.outcome_text[0] ? ": " : "", v.e.st.outcome_text);
		if (memcmp(v.e.st.failed_set, (const uint8_t[32]){ 0 }, 32)) {
			si_hex(hex, v.e.st.failed_set, 32);
			printf("failed    set %.16s... (not tried again)\n", hex);
		}
	}
	dev_close(&v);
	return SEALCTL_OK;
}

/* ------------------------------------------------------------ confirm, revert */

static int simple(int argc, char **argv, const char *cmd,
		  int (*fn)(struct up_engine *e, struct si_diag *d))
{
	const char *preboot = NULL, *dtb = NULL;
	struct dev v;
	struct si_diag d;
	char prefix[64];
	int r, json = 0;
	const struct sealcmd_optdef defs[] = {
		{ "--preboot", NULL, &preboot, NULL },
		{ "--dtb", NULL, &dtb, NULL },
		{ "--json", NULL, NULL, &json },
	};

	r = sealcmd_parse(cmd, argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, NULL);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	sealctl_json_mode = json;
	r = dev_open(&v, cmd, preboot, dtb, 1, prefix);
	if (r == 0)
		r = dev_rw(&v);
	if (r == 0) {
		si_diag_clear(&d);
		r = fn(&v.e, &d);
		/* the boot loader's view follows the state (update/loader.c):
		 * after confirm it no longer counts a trial */
		if (r == 0 && up_loader_env_needed(&v.fs, &v.e.st))
			r = up_loader_env_write(&v.fs, &v.e.st, &d);
		if (r)
			r = sealctl_report(cmd, v.preboot, r, &d);
	}
	if (r == 0) {
		if (json) {
			struct json j;

			json_begin(&j, stdout, cmd, 1);
			json_str(&j, "active_slot", up_slot_dir(v.e.st.active));
			json_bool(&j, "confirmed", !!(v.e.st.flags & UP_STATE_CONFIRMED));
			json_bool(&j, "revert_requested", !!(v.e.st.flags & UP_STATE_REVERT));
			json_end(&j);
		} else if (fn == up_confirm) {
			printf("confirmed the release set in %s; rollback floors recorded\n",
			       up_slot_dir(v.e.st.active));
		} else {
			printf("revert requested: the previous release set is back at the next boot\n");
		}
	}
	dev_close(&v);
	return r;
}

int sealctl_cmd_confirm(int argc, char **argv)
{
	return simple(argc, argv, "confirm", up_confirm);
}

int sealctl_cmd_revert(int argc, char **argv)
{
	return simple(argc, argv, "revert", up_request_revert);
}

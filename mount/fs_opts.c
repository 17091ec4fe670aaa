/* sealinit mount/: overlay option strings.  Pure.
 *
 * overlayfs (Documentation/filesystems/overlayfs.rst, "Multiple lower
 * layers"): "lowerdir=/a:/b:/c" stacks /a on top of /b on top of /c; with
 * no upperdir the overlay is read-only and needs at least two lower layers.
 * ':' separates layers and ',' options, and '\' escapes either: we refuse
 * all three (and whitespace) rather than escape, since no path we build
 * needs them.
 */
#include <string.h>

#include "lib/str.h"
#include "mount/mount.h"

/* Absolute, short, no separators, no "." or ".." components. */
static int layer_path_ok(const char *p)
{
	size_t i, n;

	if (!p || p[0] != '/')
		return 0;
	n = strnlen(p, FS_PATH_MAX);
	if (n == FS_PATH_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c <= ' ' || c > '~' || c == ':' || c == ',' || c == '\\')
			return 0;
		if (c == '/' && i + 1 < n && p[i + 1] == '.') {
			size_t k = i + 2;

			if (k < n && p[k] == '.')
				k++;
			if (k == n || p[k] == '/')
				return 0;
		}
	}
	return 1;
}

int fs_overlay_opts(const char *const *lowers, size_t n, const char *base,
		    char *out, size_t outn, struct si_diag *d)
{
	struct si_buf b;
	size_t i;

	if (!lowers || !out || outn == 0)
		return SI_E_ARG;
	if (n == 0) {
		si_diag_field(d, "overlay.layers");
		return SI_E_OVERLAY;
	}
	if (n > FS_LAYERS_MAX) {
		si_diag_field(d, "overlay.layers");
		si_diag_values(d, FS_LAYERS_MAX, n);
		return SI_E_TOO_BIG;
	}
	for (i = 0; i <= n; i++) {
		const char *p = i < n ? lowers[i] : base;

		if (!layer_path_ok(p)) {
			si_diag_field(d, i < n ? "overlay.lowerdir" : "overlay.base");
			if (p)
				si_diag_where(d, p, strnlen(p, FS_PATH_MAX));
			return SI_E_OVERLAY;
		}
	}
	si_buf_init(&b, out, outn);
	si_buf_puts(&b, "lowerdir=");
	for (i = 0; i < n; i++) {
		si_buf_puts(&b, lowers[i]);
		si_buf_puts(&b, ":");
	}
	si_buf_puts(&b, base);
	if (b.truncated) {
		si_diag_field(d, "overlay.options");
		return SI_E_TOO_BIG;
	}
	return 0;
}

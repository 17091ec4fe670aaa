/* sealinit kc/: kernel collections — module metadata, load order, the
 * release check, and loading modules from verified memory.
 *
 *   pure (LIB_SRCS)    kc_modinfo_parse, kc_modinfo_has_alias, kc_order, kc_release_check,
 *                      kc_vermagic_check, kc_name_eq, kc_find, kc_graph_build,
 *                      kc_load_graph (threads; its loader is the caller's)
 *   system (INIT_SRCS) kc_module_load, kc_module_load_file, kc_uname_release
 *
 * Nothing here prints, exits or allocates.  Every fallible function returns
 * 0 or a negative code from lib/err.h and fills the diagnostic when d is not
 * NULL; output parameters are written only on success.  Any function may
 * also return SI_E_ARG for a NULL or out-of-contract argument.
 */
#ifndef SEALINIT_KC_KC_H
#define SEALINIT_KC_KC_H

#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include "lib/bytes.h"
#include "lib/err.h"

#define KC_NAME_MAX 56      /* the kernel's MODULE_NAME_LEN, with the NUL */
#define KC_DEPENDS_MAX 512  /* "a,b,c" */
#define KC_VERMAGIC_MAX 128 /* "6.1.0-50-arm64 SMP preempt mod_unload modversions aarch64" */
#define KC_RELEASE_MAX 65   /* struct utsname.release */

/* What sealinit needs from a module's .modinfo section. */
struct kc_modinfo {
	char name[KC_NAME_MAX];       /* name= */
	char depends[KC_DEPENDS_MAX]; /* depends=, "" when none */
	char pre[KC_DEPENDS_MAX];     /* softdep= "pre:" names, "a,b"; "" when none */
	char vermagic[KC_VERMAGIC_MAX];
	uint16_t machine;             /* ELF e_machine (183 = aarch64, 62 = x86-64) */
};

/* Parses a module (an ELF64 little-endian relocatable object): finds the
 * one section named ".modinfo" with bounds-checked section headers and
 * extracts name=, depends= and vermagic= from its NUL-terminated key=value
 * strings, and the "pre:" names of its softdep= entries ("pre: a b post: c",
 * as modprobe reads them; there may be several).  Other keys (alias=,
 * license=, parm=, ...) are skipped.
 * Errors: SI_E_ELF (field and offset: the header or section at fault),
 * SI_E_MODINFO (missing, repeated or malformed entries; no name=),
 * SI_E_TOO_BIG (a value longer than its field). */
int kc_modinfo_parse(const uint8_t *img, size_t len, struct kc_modinfo *out,
		     struct si_diag *d) SI_WUR;

/* 1 when one of the module's alias= entries is exactly alias (no
 * wildcards: softdep names are plain), 0 when none is.  Errors: those of
 * kc_modinfo_parse for the ELF and the section. */
int kc_modinfo_has_alias(const uint8_t *img, size_t len, const char *alias,
			 struct si_diag *d) SI_WUR;

/* Module names compare with '-' and '_' equal, as the kernel does
 * (depends= keeps the file name's dashes, name= has underscores). */
int kc_name_eq(const char *a, const char *b);

/* 1 and *at when mods[0..n) has a module named name[0..len) ('-' and '_'
 * alike), else 0. */
int kc_find(const struct kc_modinfo *mods, size_t n, const char *name, size_t len,
	    size_t *at);

/* "a before b": an ordering need that is not a depends= (erofs needs
 * crc32c_generic loaded before libcrc32c, found at run time by name). */
struct kc_edge {
	char before[KC_NAME_MAX];
	char after[KC_NAME_MAX];
};

/* Scratch for kc_order: caller-allocated (static in PID 1). */
#define KC_EDGES_MAX (CONFIG_MAX_MODULES * 16)
struct kc_order_ctx {
	uint16_t from[KC_EDGES_MAX], to[KC_EDGES_MAX];
	uint16_t indeg[CONFIG_MAX_MODULES];
	uint16_t order[CONFIG_MAX_MODULES];
	uint8_t placed[CONFIG_MAX_MODULES];
};

/* Load order for mods[0..n): order[k] is the index of the k-th module to
 * load.  A topological order of depends= and the extra edges; among the
 * modules ready at each step the one listed first wins, so the board's list
 * order holds wherever dependencies allow.
 * Errors: SI_E_TOO_BIG (n > CONFIG_MAX_MODULES, or too many edges),
 * SI_E_MOD_DUP (found: the name), SI_E_MOD_MISSING (found: the module,
 * expected: what it needs; also an extra edge naming an absent module),
 * SI_E_MOD_CYCLE (found: a module on the cycle), SI_E_MODINFO (an empty or
 * overlong name in depends=). */
int kc_order(const struct kc_modinfo *mods, size_t n, const struct kc_edge *extra,
	     size_t nextra, struct kc_order_ctx *ctx, uint16_t *order,
	     struct si_diag *d) SI_WUR;

/* ---- loading a set of modules at once (kc/loadset.c) ----
 *
 * The dependency graph of a set: module i may start once every module of
 * the set named by its depends= or by its softdep "pre:" (by name, or by
 * alias= through has_alias) is loaded.  Names outside the set are outside
 * it (built in, or loaded by an earlier set); the kernel refuses a module
 * whose symbols are missing, and that error names it.  This is the order
 * modprobe and udev honour, and no other: a list's order is not a
 * dependency.  Modules then load concurrently, each as soon as its
 * predecessors are in. */
#define KC_GRAPH_BEFORE_MAX 16
struct kc_graph {
	unsigned n;
	uint8_t n_before[CONFIG_MAX_MODULES];
	uint16_t before[CONFIG_MAX_MODULES][KC_GRAPH_BEFORE_MAX];
};

/* 1 when module i of the set has alias= equal to alias, 0 when not, or a
 * negative error (kc_modinfo_has_alias on its bytes). */
typedef int (*kc_alias_fn)(void *ctx, size_t i, const char *alias, struct si_diag *d);

/* Builds g for mods[0..n).  has_alias may be NULL (softdeps then match
 * names only).  Errors: SI_E_TOO_BIG (n > CONFIG_MAX_MODULES; more than
 * KC_GRAPH_BEFORE_MAX predecessors: where the module), SI_E_MOD_DUP (found:
 * the name), SI_E_MOD_CYCLE (where: a module on the cycle), SI_E_MODINFO
 * (an empty or overlong name in depends= or pre:), has_alias's errors. */
int kc_graph_build(const struct kc_modinfo *mods, size_t n, kc_alias_fn has_alias,
		   void *ctx, struct kc_graph *g, struct si_diag *d) SI_WUR;

struct kc_load_ops {
	/* Loads module i (0 or an error, d filled).  Called from several
	 * threads at once, never twice for one i. */
	int (*load)(void *ctx, size_t i, struct si_diag *d);
	void *ctx;
};

/* Scratch and results of kc_load_graph: caller-allocated (static in PID 1). */
struct kc_load_run {
	const struct kc_graph *g;
	const struct kc_load_ops *ops;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned running, stop;
	uint8_t state[CONFIG_MAX_MODULES];  /* KC_LOAD_* */
	int err[CONFIG_MAX_MODULES];
	unsigned us[CONFIG_MAX_MODULES];    /* wall time of each load */
	struct si_diag diag[CONFIG_MAX_MODULES];
};
enum { KC_LOAD_PENDING, KC_LOAD_RUNNING, KC_LOAD_DONE, KC_LOAD_FAILED };

/* Loads every module of g with up to `workers` threads (the caller's
 * thread is one of them; 0 counts as 1), each module once all its
 * predecessors are loaded; among the ready ones the first in the set's
 * order goes first.  After a failure no module starts; those running
 * finish.  Returns 0, or the error of the first failed module in the set's
 * order: *failed its index, d its diagnostic.  run->us[i] holds each
 * load's time.  Errors: the loader's; SI_E_MOD_CYCLE if modules were left
 * that could never start (not for a graph from kc_graph_build). */
int kc_load_graph(const struct kc_graph *g, const struct kc_load_ops *ops,
		  unsigned workers, struct kc_load_run *run, size_t *failed,
		  struct si_diag *d) SI_WUR;

/* The collection's kernel release against the running kernel's.
 * Errors: SI_E_KC_RELEASE (expected: running, found: collection). */
int kc_release_check(const char *collection, const char *running,
		     struct si_diag *d) SI_WUR;

/* A module's vermagic must begin with "<release> ".
 * Errors: SI_E_KC_RELEASE (where: the module; expected: release, found:
 * vermagic's first word). */
int kc_vermagic_check(const struct kc_modinfo *m, const char *release,
		      struct si_diag *d) SI_WUR;

/* uname(2)'s release.  Errors: SI_E_IO, SI_E_TOO_BIG (n too small). */
int kc_uname_release(char *out, size_t n, struct si_diag *d) SI_WUR;

/* init_module(2) from memory that was verified in place: no window between
 * check and use.  EEXIST (already loaded or built in) counts as success.
 * params may be NULL.  Errors: SI_E_MODULE_LOAD (errno; where: the name
 * from .modinfo when it parses). */
int kc_module_load(const uint8_t *image, size_t len, const char *params,
		   struct si_diag *d) SI_WUR;

/* finit_module(2) of a module file in the initramfs (the board's storage
 * drivers, which must load before any volume can be read).  EEXIST is
 * success.  Errors: SI_E_OPEN, SI_E_MODULE_LOAD. */
int kc_module_load_file(const char *path, const char *params,
			struct si_diag *d) SI_WUR;

#endif

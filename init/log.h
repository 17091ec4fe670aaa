/* sealinit: PID 1's log.  One line per event, "sealinit: " first, to the
 * console and to /dev/kmsg.  Lines written before /dev/kmsg can be opened
 * are kept in a static buffer (CONFIG_LOG_BUFFER_KB) and replayed. */
#ifndef SEALINIT_INIT_LOG_H
#define SEALINIT_INIT_LOG_H

#include "lib/err.h"

enum { SI_LOG_ERR = 3, SI_LOG_WARN = 4, SI_LOG_NOTICE = 5, SI_LOG_INFO = 6, SI_LOG_DEBUG = 7 };

void si_log_set_level(int level);
/* Opens the console and /dev/kmsg once /dev exists; replays the buffer.
 * Also sets printk_devkmsg from "ratelimit" to "on" so the kernel does not
 * drop most of sealinit's lines from its log (see init/log.c). */
void si_log_open(const char *console);
/* Puts printk_devkmsg back to "ratelimit" if si_log_open changed it; call
 * before exec'ing anything else (the real init, a rescue shell).  Lines
 * logged afterwards are rate-limited again.  Safe to call twice. */
void si_log_handoff(void);
void si_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "sealinit: <stage>: <what>: <diag line> [CODE]" and its "hint:" line. */
void si_log_error(const char *stage, const char *what, int err,
		  const struct si_diag *d);

#endif

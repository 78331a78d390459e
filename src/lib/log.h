#ifndef PB_LIB_LOG_H
#define PB_LIB_LOG_H
/* One line per event, to stderr or syslog. Every formatted line is cleaned
 * before output: control characters (CR, LF, NUL, ...) become "\xNN", so
 * nothing a peer sends can forge or split a log line. */

#include <syslog.h>

void log_use_syslog(const char *ident);
/* LOG_DEBUG lines are dropped unless enabled. */
void log_set_debug(int on);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

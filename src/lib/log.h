#ifndef PB_LIB_LOG_H
#define PB_LIB_LOG_H
/* One line per event, to stderr or syslog. Every formatted line is cleaned
 * before output: control characters (CR, LF, NUL, ...) become "\xNN", so
 * nothing a peer sends can forge or split a log line. */

#include <stddef.h>
#include <syslog.h>

void log_use_syslog(const char *ident);
/* LOG_DEBUG lines are dropped unless enabled. */
void log_set_debug(int on);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Text a peer chose (an ID value, a HELO name, a user name) for a log
 * line: at most LOG_FIELD_MAX of its bytes, control bytes, '\\', '"' and
 * bytes above 0x7e as \xNN, and "..." after a cut, so that a field can
 * neither flood the log nor pass for another field. Returns f->text. */
#define LOG_FIELD_MAX 64
struct log_field {
	char text[LOG_FIELD_MAX * 4 + 4];
};
const char *log_field(struct log_field *f, const char *s, size_t len);

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

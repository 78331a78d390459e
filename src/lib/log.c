#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int use_syslog;
static int debug_on;

void log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	use_syslog = 1;
}

void log_set_debug(int on)
{
	debug_on = on;
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_DEBUG: return "debug";
	default: return "info";
	}
}

const char *log_field(struct log_field *f, const char *s, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && i < LOG_FIELD_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || c == '\\' || c == '"')
			o += (size_t)snprintf(f->text + o, sizeof f->text - o, "\\x%02x", c);
		else
			f->text[o++] = (char)c;
	}
	if (len > LOG_FIELD_MAX) {
		memcpy(f->text + o, "...", 3);
		o += 3;
	}
	f->text[o] = '\0';
	return f->text;
}

void log_msg(int prio, const char *fmt, ...)
{
	if (prio == LOG_DEBUG && !debug_on)
		return;
	char raw[2048], clean[2048 * 4 + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);

	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)raw; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(clean + o, sizeof clean - o, "\\x%02x", *p);
		} else {
			clean[o++] = (char)*p;
		}
	}
	clean[o] = '\0';

	if (use_syslog) {
		syslog(prio, "%s", clean);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ postbox %s: %s\n", when, ts.tv_nsec / 1000000,
		prio_name(prio), clean);
}

#ifndef PB_MSG_DATE_H
#define PB_MSG_DATE_H
/* RFC 5322 3.3 date-time, e.g. "Sun, 29 Nov 2026 02:24:32 +0000". */

#include <stddef.h>
#include <time.h>

#define MSG_DATE_MAX 40

/* Formats t in UTC; returns the length written (out >= MSG_DATE_MAX). */
size_t msg_date_format(time_t t, char *out, size_t outlen);

#endif

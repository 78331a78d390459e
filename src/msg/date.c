#include "msg/date.h"

#include <stdio.h>

size_t msg_date_format(time_t t, char *out, size_t outlen)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	gmtime_r(&t, &tm);
	/* Not strftime: %a and %b follow the locale, RFC 5322 wants English. */
	int n = snprintf(out, outlen, "%s, %d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
			 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
	return n < 0 ? 0 : (size_t)n < outlen ? (size_t)n : outlen - 1;
}

/* IMAP dates: date ("1-Feb-1994", SEARCH) and date-time
 * ("17-Jul-1996 02:44:25 -0700", APPEND), RFC 9051 9. */
#include "imap/imap_parse.h"

#include <string.h>

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static bool digits(const char *p, size_t n, unsigned *v_r)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*v_r = v;
	return true;
}

static unsigned days_in_month(unsigned year, unsigned month)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : dim[month - 1];
}

/* "dd-Mon-yyyy" where the day is given by the caller's rule: p[0..n)
 * must be all of it. */
static int parse_date_text(const char *p, size_t n, bool space_day, struct imap_date *d)
{
	size_t dl;
	unsigned day;

	if (n >= 2 && p[1] == '-')
		dl = 1;
	else if (n >= 3 && p[2] == '-')
		dl = 2;
	else
		return -1;
	if (space_day && dl == 2 && p[0] == ' ') {
		if (!digits(p + 1, 1, &day))
			return -1;
	} else if (!digits(p, dl, &day)) {
		return -1;
	}
	p += dl + 1;
	n -= dl + 1;
	if (n != 8 || p[3] != '-' || !digits(p + 4, 4, &d->year))
		return -1;
	d->month = 0;
	for (unsigned m = 0; m < 12; m++)
		if (str_case_eq((struct str){ p, 3 }, (struct str){ months[m], 3 }))
			d->month = m + 1;
	if (d->month == 0 || day == 0 || day > days_in_month(d->year, d->month))
		return -1;
	d->day = day;
	return 0;
}

int imap_arg_get_date(const struct imap_arg *arg, struct imap_date *date_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_STRING)
		return -1;
	return parse_date_text(arg->str.p, arg->str.len, false, date_r);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so no libc time zone state is touched. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int imap_parse_datetime(struct str s, struct imap_datetime *dt_r)
{
	const char *p = s.p;
	unsigned zh, zm;

	/* date-text (11 octets, or 10 with a one-digit day) SP time SP zone */
	if (s.len < 25 || s.len > 26)
		return -1;
	size_t dlen = s.len - 15;
	if (parse_date_text(p, dlen, true, &dt_r->date) < 0)
		return -1;
	p += dlen;
	if (p[0] != ' ' || p[3] != ':' || p[6] != ':' || p[9] != ' ' ||
	    !digits(p + 1, 2, &dt_r->hour) || !digits(p + 4, 2, &dt_r->min) ||
	    !digits(p + 7, 2, &dt_r->sec) || (p[10] != '+' && p[10] != '-') ||
	    !digits(p + 11, 2, &zh) || !digits(p + 13, 2, &zm))
		return -1;
	if (dt_r->hour > 23 || dt_r->min > 59 || dt_r->sec > 60 || zh > 23 || zm > 59)
		return -1;
	dt_r->zone_min = (int)(zh * 60 + zm) * (p[10] == '-' ? -1 : 1);
	dt_r->utc = days_from_civil(dt_r->date.year, dt_r->date.month, dt_r->date.day) * 86400 +
		dt_r->hour * 3600 + dt_r->min * 60 + dt_r->sec - dt_r->zone_min * 60;
	return 0;
}

int imap_arg_get_datetime(const struct imap_arg *arg, struct imap_datetime *dt_r)
{
	if (arg->type != IMAP_ARG_STRING && arg->type != IMAP_ARG_LITERAL)
		return -1;
	return imap_parse_datetime(arg->str, dt_r);
}

/* sendmail(1)'s command line, as Postfix's sendmail accepts it: single
 * letter options whose value is attached or the next argument, several
 * options that only made sense in the original sendmail accepted and
 * ignored, recipients as operands. */
#include "client/sendmail.h"

#include <string.h>

/* Options that take a value and are ignored: -B body type (the server
 * looks at the bytes), -L syslog label, -h hop count, -X log file,
 * -O option=value. */
static bool ignored_with_value(char c)
{
	return c == 'B' || c == 'L' || c == 'h' || c == 'X' || c == 'O';
}

/* Ignored flags: -G gateway submission, -U initial submission, -n no
 * aliasing (aliases are the server's), -m me too (obsolete). */
static bool ignored_flag(char c)
{
	return c == 'G' || c == 'U' || c == 'n' || c == 'm';
}

/* -o letters: -oi is -i; -oem/-oee/-oep/-oeq/-oew (error modes),
 * -odb/-odi/-odq (delivery modes), -om, -oQ DIR, -oX... are ignored,
 * as the server, not the command, decides how mail is delivered. */
static void o_option(struct sendmail_opts *o, const char *rest)
{
	if (strcmp(rest, "i") == 0)
		o->dot_ends = false;
}

/* -b modes. */
static int b_option(struct sendmail_opts *o, const char *mode, const char **error_r)
{
	if (strcmp(mode, "m") == 0) {
		o->mode = SENDMAIL_MODE_DELIVER;
	} else if (strcmp(mode, "p") == 0) {
		o->mode = SENDMAIL_MODE_QUEUE;
	} else {
		*error_r = "unsupported mode (only -bm and -bp; -bs, -bd, -bi and -bv are not)";
		return -1;
	}
	return 0;
}

/* The value of an option: attached, or the next argument. NULL when
 * missing. */
static const char *value_of(int argc, char **argv, int *i, const char *attached)
{
	if (*attached != '\0')
		return attached;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int value_option(struct sendmail_opts *o, char c, const char *v, const char **error_r)
{
	switch (c) {
	case 'f':
	case 'r':
		o->sender = v;
		return 0;
	case 'F':
		o->full_name = v;
		return 0;
	case 'N':
		o->notify = v;
		return 0;
	case 'R':
		if (strcmp(v, "full") != 0 && strcmp(v, "hdrs") != 0) {
			*error_r = "-R takes full or hdrs";
			return -1;
		}
		o->ret = v;
		return 0;
	case 'V':
		o->envid = v;
		return 0;
	case 'C':
	case 'c':
		o->config = v;
		return 0;
	case 'b':
		return b_option(o, v, error_r);
	default:
		return 0;   /* ignored_with_value */
	}
}

static bool takes_value(char c)
{
	return strchr("frFNRVCcb", c) != NULL || ignored_with_value(c);
}

/* One argument that starts with '-': several flags may share it ("-ti"),
 * up to one that takes a value. */
static int one_arg(int argc, char **argv, int *i, struct sendmail_opts *o,
		   const char **error_r)
{
	const char *a = argv[*i] + 1;
	for (; *a != '\0'; a++) {
		char c = *a;
		if (c == 't') {
			o->extract = true;
		} else if (c == 'i') {
			o->dot_ends = false;
		} else if (c == 'v') {
			o->verbose = true;
		} else if (c == 'q') {
			o->mode = SENDMAIL_MODE_FLUSH;
			return 0;   /* -q30m: the interval is the daemon's */
		} else if (c == 'o') {
			o_option(o, a + 1);
			return 0;
		} else if (takes_value(c)) {
			const char *v = value_of(argc, argv, i, a + 1);
			if (v == NULL) {
				*error_r = "an option is missing its value";
				return -1;
			}
			return value_option(o, c, v, error_r);
		} else if (!ignored_flag(c)) {
			*error_r = "unknown option";
			return -1;
		}
	}
	return 0;
}

int sendmail_parse_args(int argc, char **argv, struct sendmail_opts *o, char **rcpts,
			const char **error_r)
{
	memset(o, 0, sizeof *o);
	o->dot_ends = true;
	o->rcpts = rcpts;
	/* As glibc's getopt, which Postfix's sendmail uses: options may
	 * follow the recipients, up to a "--". */
	bool options = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (options && strcmp(a, "--") == 0) {
			options = false;
		} else if (options && a[0] == '-' && a[1] != '\0') {
			if (one_arg(argc, argv, &i, o, error_r) < 0)
				return -1;
		} else {
			rcpts[o->rcpt_count++] = argv[i];
		}
	}
	if (o->sender != NULL && strlen(o->sender) > 320) {
		*error_r = "sender address too long";
		return -1;
	}
	return 0;
}

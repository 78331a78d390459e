#ifndef PB_SMTP_PARSE_H
#define PB_SMTP_PARSE_H
/* The SMTP command-line parser (RFC 5321 4.1, with RFC 6531 UTF-8 addresses).
 * Pure: it is given one command line WITHOUT its CRLF and fills a struct
 * whose str fields point into that line. It never allocates. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

#define SMTP_LINE_MAX 512        /* RFC 5321 4.5.3.1.4, including CRLF */
#define SMTP_LOCAL_MAX 64        /* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX 255      /* RFC 5321 4.5.3.1.2 */
#define SMTP_PATH_MAX 256        /* RFC 5321 4.5.3.1.3, with "<" and ">" */
#define SMTP_PARAMS_MAX 16

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_EHLO, SMTP_VERB_HELO, SMTP_VERB_MAIL, SMTP_VERB_RCPT,
	SMTP_VERB_DATA, SMTP_VERB_BDAT, SMTP_VERB_RSET, SMTP_VERB_NOOP,
	SMTP_VERB_QUIT, SMTP_VERB_VRFY, SMTP_VERB_EXPN, SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS, SMTP_VERB_AUTH,
	SMTP_VERB_COUNT
};

/* A parsed mailbox (RFC 5321 4.1.2 "Mailbox"). */
struct smtp_mailbox {
	/* The local part with quoting removed ("a b"@x gives a b); at most
	 * SMTP_LOCAL_MAX octets as written (quotes included). Never empty
	 * except for <>; "Postmaster" as sent for <Postmaster>. Holds no
	 * control octet. NUL-terminated. */
	char local[SMTP_LOCAL_MAX + 1];
	/* The domain, lower-cased ASCII (U-labels are kept as UTF-8 bytes,
	 * not lower-cased), or an address literal with its brackets
	 * ("[127.0.0.1]", "[IPv6:...]"). Empty for <Postmaster> and <>. */
	char domain[SMTP_DOMAIN_MAX + 1];
	bool quoted;         /* the local part was a quoted-string */
	bool literal;        /* the domain is an address literal */
	bool utf8;           /* well-formed UTF-8 appears (needs SMTPUTF8) */
	bool had_route;      /* a source route was present and stripped */
};

struct smtp_param {
	struct str key;      /* "SIZE", as written (compare case-insensitively) */
	struct str value;    /* printable ASCII without SP and "=", never
			      * empty when has_value; absent for "SMTPUTF8" */
	bool has_value;
};

struct smtp_cmd {
	enum smtp_verb verb;
	struct str verb_text;    /* the verb as sent (for logs and 500 replies) */
	struct str arg;          /* everything after the verb and one SP, raw
				  * but for trailing SPs, which are dropped */

	/* MAIL / RCPT */
	bool null_path;          /* MAIL FROM:<> */
	bool postmaster;         /* RCPT TO:<Postmaster> (no domain) */
	struct smtp_mailbox mailbox;
	struct smtp_param params[SMTP_PARAMS_MAX];
	size_t param_count;

	/* EHLO / HELO: the domain or address literal as sent (checked: LDH
	 * labels, '_' tolerated as Postfix does, or a valid literal) */
	struct str helo;

	/* BDAT: size is at most INT64_MAX */
	unsigned long long bdat_size;
	bool bdat_last;

	/* AUTH */
	struct str auth_mech;
	struct str auth_initial;  /* empty when absent; "=" means empty */
};

/* *error_r of an AUTH whose initial response is not base64 (RFC 4954 4
 * answers it with 501 5.5.2). */
#define SMTP_PARSE_ERROR_AUTH_BASE64 "initial response is not base64"

enum smtp_parse_result {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_UNKNOWN_VERB,   /* 500 5.5.1 */
	SMTP_PARSE_SYNTAX,         /* 501 5.5.4 (arguments) */
	SMTP_PARSE_BAD_ADDRESS,    /* 501 5.1.3 (MAIL) / 501 5.1.3 (RCPT) */
	SMTP_PARSE_BAD_CHAR,       /* 501 5.5.4: NUL, CR, LF or other control octet */
	SMTP_PARSE_TOO_MANY_PARAMS /* 555 5.5.4 */
};

/* Parses line[0..len) (no CRLF); never reads outside it. Verbs are
 * matched case-insensitively and must be followed by SP or the end.
 * Any control octet (C0 or DEL; HTAB outside NOOP/HELP/VRFY/EXPN text)
 * gives SMTP_PARSE_BAD_CHAR, whatever the verb.
 * MAIL needs "FROM:" and RCPT needs "TO:" (case-insensitive, no space
 * allowed before the colon; one optional space after it is tolerated as
 * Postfix does), then "<path>". A source route "<@a,@b:user@c>" is
 * parsed and dropped (RFC 5321 4.1.1.3, appendix C). Paths are strict
 * RFC 5321 / 6531: dot-string or quoted-string local part, LDH domain
 * (UTF-8 must be well-formed), address literals checked with
 * inet_pton() or a letter-led tag.
 * cmd->verb and verb_text are set whatever the result. On failure
 * *error_r is a short reason (static text) suitable for a reply; on
 * success it is left alone. */
enum smtp_parse_result smtp_parse_command(const char *line, size_t len,
					  struct smtp_cmd *cmd,
					  const char **error_r);

/* Parses a bare mailbox "local@domain" (no angle brackets), for the CLI and
 * aliases. Same rules as in a path; all of s[0..len) must be the mailbox.
 * 0 or -1 (*error_r: static text). */
int smtp_parse_mailbox(const char *s, size_t len, struct smtp_mailbox *mb,
		       const char **error_r);

/* Writes mb as RFC 5321 writes it: local@domain, the local part quoted
 * again (with "\" before '"' and '\') when it is not a Dot-string, so
 * that "a@b"@x.test never turns into a@b@x.test in a Return-Path, a log
 * line or a reply. 0, or -1 with out empty when it does not fit. */
int smtp_mailbox_format(const struct smtp_mailbox *mb, char *out, size_t outlen);

/* Looks up a parameter by name, case-insensitively; NULL when absent. */
const struct smtp_param *smtp_cmd_param(const struct smtp_cmd *cmd, const char *key);

/* Checks an RFC 3461 xtext value (ENVID, ORCPT) is well-formed: "+"
 * takes two upper-case hex digits. The empty string is valid xtext. */
bool smtp_xtext_valid(struct str s);
/* Appends s as xtext: "+", "=" and octets outside 33..126 as "+XX".
 * 0, or -1 (out full). */
int smtp_xtext_encode(struct str s, struct buf *out);

const char *smtp_verb_name(enum smtp_verb v);

#endif

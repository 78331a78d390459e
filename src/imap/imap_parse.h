#ifndef PB_IMAP_PARSE_H
#define PB_IMAP_PARSE_H
/* The IMAP command reader (RFC 9051 2.2 and 9, RFC 3501, RFC 7888
 * LITERAL+/LITERAL-, RFC 3516 literal8) and the generic argument tree.
 *
 * Sans-I/O: the session feeds whatever bytes arrived; the reader hands
 * back events (a whole command, a literal announced, a tagged BAD to
 * send) and never writes anything itself. One command is held at a time:
 * its text and its literals live in one bounded buffer owned by the
 * reader, and every struct str below points into it, valid until the
 * next imap_reader_feed() / imap_reader_reset() / imap_reader_free().
 *
 * Literals are never accepted blindly: each one is reported with its
 * size BEFORE any of it is stored, so the session can answer NO [TOOBIG]
 * or BAD for a {4294967296} without allocating anything.
 *
 * Arguments are tokenized lazily (imap_reader_args()) into a tree of
 * struct imap_arg; typed helpers here and in imap_parse_cmd.h give
 * sequence sets, flags, dates, fetch items, search keys... */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define IMAP_LINE_MAX_DEFAULT        (64 * 1024)
#define IMAP_COMMAND_MAX_DEFAULT     (64ULL * 1024 * 1024 + 64 * 1024)
#define IMAP_LITERAL_MINUS_MAX       4096   /* RFC 7888 4 */
#define IMAP_DEPTH_MAX_DEFAULT       32
#define IMAP_ARGS_MAX_DEFAULT        8192
#define IMAP_LITERALS_MAX_DEFAULT    256
/* What the session sends when it accepts a synchronizing literal. */
#define IMAP_LITERAL_CONTINUATION    "+ Ready for literal data\r\n"

struct imap_reader_settings {
	/* Most octets of command text outside literals, line ends included,
	 * summed over all the lines of one command. */
	size_t line_max;
	/* Most octets of one command: its text plus every accepted literal.
	 * A literal that would pass it is refused by the reader itself. */
	uint64_t command_max;
	unsigned depth_max;       /* parenthesized list nesting */
	size_t args_max;          /* arguments in one command, lists included */
	size_t literals_max;      /* literals in one command */
	/* LITERAL- advertised (and not LITERAL+): a non-synchronizing
	 * literal larger than 4096 octets is refused by the reader, read and
	 * thrown away, and the command gets BAD [TOOBIG] (RFC 7888 4). */
	bool literal_minus;
};

/* The defaults above, literal_minus on (IMAP4rev2 requires LITERAL-). */
void imap_reader_settings_default(struct imap_reader_settings *set);

struct imap_reader;

/* NULL when memory ran out. A NULL set means the defaults. */
struct imap_reader *imap_reader_new(const struct imap_reader_settings *set);
void imap_reader_free(struct imap_reader **r);
/* Forgets everything buffered, e.g. after STARTTLS. */
void imap_reader_reset(struct imap_reader *r);
/* Changes command_max from the next literal on (e.g. after login). */
void imap_reader_set_command_max(struct imap_reader *r, uint64_t max);

enum imap_read_result {
	IMAP_READ_MORE = 0,   /* every byte taken; feed more */
	/* A complete command: imap_reader_command(), imap_reader_args(). */
	IMAP_READ_COMMAND,
	/* A literal is announced: imap_reader_literal() tells its size and
	 * command. Call imap_reader_literal_accept() or _reject() before
	 * feeding again (feeding first returns this event again, using
	 * nothing). */
	IMAP_READ_LITERAL,
	/* After imap_reader_want_line(): one raw line, imap_reader_line(). */
	IMAP_READ_LINE,
	/* The command was refused and its text is behind us, so the stream
	 * is in step again: send imap_reader_error() as a tagged BAD (NO
	 * [TOOBIG] when toobig is set, RFC 9051 7.1). */
	IMAP_READ_BAD,
	/* The stream cannot be followed (a non-synchronizing literal whose
	 * size does not fit in 63 bits): send BYE and close. */
	IMAP_READ_FATAL,
};

/* Takes bytes from data[0..len) up to the end of the first event; *used_r
 * says how many. Bytes after a command are left to the next call, so a
 * session can stop before reading past STARTTLS. Never fails on input:
 * bad input gives IMAP_READ_BAD or IMAP_READ_FATAL. */
enum imap_read_result imap_reader_feed(struct imap_reader *r, const void *data,
				       size_t len, size_t *used_r);

struct imap_command {
	struct str tag;       /* 1*<ASTRING-CHAR except "+"> */
	struct str name;      /* the command name as sent, "UID" skipped */
	bool uid;             /* "UID FETCH ...": the UID prefix was present */
};

/* The command of the last IMAP_READ_COMMAND. */
const struct imap_command *imap_reader_command(const struct imap_reader *r);

struct imap_literal_info {
	struct str tag;       /* empty when the command had no valid tag */
	struct str name;      /* command name ("APPEND"), may be empty */
	bool uid;
	uint64_t size;        /* at most INT64_MAX */
	bool sync;            /* {n}: the client waits for a continuation */
	bool binary;          /* ~{n}: literal8, may hold NUL */
	size_t index;         /* 0 for the first literal of the command */
};

/* The literal of the last IMAP_READ_LITERAL. */
const struct imap_literal_info *imap_reader_literal(const struct imap_reader *r);
/* Accepts the announced literal. Returns true when it is synchronizing:
 * the session must now send IMAP_LITERAL_CONTINUATION. */
bool imap_reader_literal_accept(struct imap_reader *r);
/* Refuses it; reason is static text for the reply. A synchronizing
 * literal is never sent by the client, so the next feed returns
 * IMAP_READ_BAD at once; a non-synchronizing one is read, thrown away
 * with the rest of the command, and then IMAP_READ_BAD comes. */
void imap_reader_literal_reject(struct imap_reader *r, bool toobig,
				const char *reason);

struct imap_read_error {
	struct str tag;       /* empty: reply with "*" */
	const char *text;     /* static, short, for the reply */
	bool toobig;          /* answer NO [TOOBIG] rather than BAD */
};

/* The error of the last IMAP_READ_BAD or IMAP_READ_FATAL. */
const struct imap_read_error *imap_reader_error(const struct imap_reader *r);

/* The next line is raw (an AUTHENTICATE response, IDLE's DONE): it comes
 * as IMAP_READ_LINE, literal markers mean nothing in it. */
void imap_reader_want_line(struct imap_reader *r);
/* The line of the last IMAP_READ_LINE, without its line end. */
struct str imap_reader_line(const struct imap_reader *r);

/* ---- The argument tree ---- */

enum imap_arg_type {
	IMAP_ARG_EOL = 0,     /* ends every list (and the top level) */
	IMAP_ARG_ATOM,        /* also flags (\Seen), fetch items (BODY[1]<0.5>),
			       * list patterns (a/%), sequence sets (1:*) */
	IMAP_ARG_NIL,         /* the atom NIL, any case */
	IMAP_ARG_STRING,      /* a quoted string, escapes removed */
	IMAP_ARG_LITERAL,     /* {n}, {n+} or ~{n} */
	IMAP_ARG_LIST,        /* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type type;
	bool literal8;        /* LITERAL from ~{n}: may hold NUL */
	struct str str;       /* ATOM, NIL, STRING, LITERAL: the value */
	const struct imap_arg *list;  /* LIST: list_count args then EOL */
	size_t list_count;
};

/* Tokenizes the arguments of the last command (everything after its
 * name) once; later calls give the same answer. On 0, *args_r is an
 * array ending in IMAP_ARG_EOL, owned by the reader. On -1, *error_r is
 * a short static reason for a tagged BAD. Quoted strings must be UTF-8
 * (RFC 9051 9, "QUOTED-CHAR"); NUL and bare CR/LF are refused outside
 * literals; lists nest at most depth_max deep. */
int imap_reader_args(struct imap_reader *r, const struct imap_arg **args_r,
		     const char **error_r);

/* Number of arguments before the EOL of a list. */
size_t imap_args_count(const struct imap_arg *args);

/* Type tests that give the value: true when arg has that shape. */
bool imap_arg_is_eol(const struct imap_arg *arg);
bool imap_arg_is_nil(const struct imap_arg *arg);
bool imap_arg_get_atom(const struct imap_arg *arg, struct str *atom_r);
bool imap_arg_atom_is(const struct imap_arg *arg, const char *atom); /* any case */
/* STRING or LITERAL (not literal8 holding NUL). */
bool imap_arg_get_string(const struct imap_arg *arg, struct str *str_r);
/* ATOM, NIL (as "NIL"), STRING or LITERAL; an atom holding list
 * wildcards or other non-ASTRING-CHARs is refused. */
bool imap_arg_get_astring(const struct imap_arg *arg, struct str *str_r);
/* NIL gives p == NULL, len 0; else as imap_arg_get_string(). */
bool imap_arg_get_nstring(const struct imap_arg *arg, struct str *str_r);
bool imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
		       size_t *count_r);

/* Numbers (RFC 9051 9): number is 0..2^32-1, nz-number 1..2^32-1,
 * number64 0..2^63-1, mod-sequence-value 1..2^63-1. 0 or -1. */
int imap_arg_get_number(const struct imap_arg *arg, uint32_t *n_r);
int imap_arg_get_nz_number(const struct imap_arg *arg, uint32_t *n_r);
int imap_arg_get_number64(const struct imap_arg *arg, uint64_t *n_r);
int imap_arg_get_modseq(const struct imap_arg *arg, uint64_t *n_r);
int imap_str_to_number64(struct str s, uint64_t max, uint64_t *n_r);

/* ---- Sequence sets ---- */

#define IMAP_SEQ_STAR 0       /* "*": the largest number in use */

struct imap_seq_range {
	uint32_t lo, hi;      /* lo <= hi, except IMAP_SEQ_STAR which is 0 */
};

struct imap_seqset {
	bool searchres;       /* "$" (RFC 5182): the saved search result */
	size_t count;         /* 0 with searchres */
	struct imap_seq_range ranges[];
};

/* "1:*,3,5:7" (ranges kept in the order sent; "7:5" becomes 5:7, a range
 * with "*" keeps lo as the number and hi = IMAP_SEQ_STAR); "$" only when
 * allow_searchres. 0, or -1 with *error_r. Free with imap_seqset_free. */
int imap_seqset_parse(struct str s, bool allow_searchres,
		      struct imap_seqset **set_r, const char **error_r);
int imap_arg_get_seqset(const struct imap_arg *arg, bool allow_searchres,
			struct imap_seqset **set_r, const char **error_r);
void imap_seqset_free(struct imap_seqset **set);

/* ---- Flags ---- */

enum imap_system_flag {
	IMAP_FLAG_ANSWERED = 1 << 0,
	IMAP_FLAG_FLAGGED  = 1 << 1,
	IMAP_FLAG_DELETED  = 1 << 2,
	IMAP_FLAG_SEEN     = 1 << 3,
	IMAP_FLAG_DRAFT    = 1 << 4,
	IMAP_FLAG_RECENT   = 1 << 5,   /* IMAP4rev1 only; never storable */
};

struct imap_flags {
	unsigned system;              /* enum imap_system_flag bits */
	size_t keyword_count;
	struct str keywords[];        /* atoms as sent, duplicates kept */
};

/* A flag list "(\Seen $Junk)" or, where the grammar allows it (STORE),
 * one list or a run of flags args[0..EOL). \Recent is refused unless
 * allow_recent; an unknown "\Word" is refused (RFC 9051 flag-extension is
 * for future RFCs). 0, or -1 with *error_r. */
int imap_parse_flag_list(const struct imap_arg *arg, bool allow_recent,
			 struct imap_flags **flags_r, const char **error_r);
int imap_parse_flags(const struct imap_arg *args, bool allow_recent,
		     struct imap_flags **flags_r, const char **error_r);
/* One flag (ATOM); *system_r is 0 for a keyword. 0 or -1. */
int imap_parse_flag(struct str atom, unsigned *system_r);
void imap_flags_free(struct imap_flags **flags);

/* ---- Dates ---- */

struct imap_date {
	unsigned year;        /* 4 digits */
	unsigned month;       /* 1..12 */
	unsigned day;         /* 1..31, checked against the month */
};

struct imap_datetime {
	struct imap_date date;
	unsigned hour, min, sec;
	int zone_min;         /* -1439..1439: "+0130" is 90 */
	int64_t utc;          /* seconds since 1970-01-01 UTC */
};

/* date = date-text / DQUOTE date-text DQUOTE ("1-Feb-1994"). */
int imap_arg_get_date(const struct imap_arg *arg, struct imap_date *date_r);
/* date-time = DQUOTE date-day-fixed "-" month "-" year SP time SP zone
 * DQUOTE ("17-Jul-1996 02:44:25 -0700"). */
int imap_arg_get_datetime(const struct imap_arg *arg, struct imap_datetime *dt_r);
int imap_parse_datetime(struct str s, struct imap_datetime *dt_r);

/* ---- Mailboxes ---- */

/* mailbox = "INBOX" / astring; INBOX in any case gives STR_LIT("INBOX").
 * NUL, CR and LF are refused (a literal could hold them). The name is as
 * sent: the session decodes modified UTF-7 (imap_mutf7.h) unless
 * UTF8=ACCEPT is on. 0 or -1. */
int imap_arg_get_mailbox(const struct imap_arg *arg, struct str *name_r);
/* list-mailbox = 1*list-char / string: may hold % and *. 0 or -1. */
int imap_arg_get_list_mailbox(const struct imap_arg *arg, struct str *pattern_r);

#endif

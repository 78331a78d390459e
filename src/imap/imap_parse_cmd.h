#ifndef PB_IMAP_PARSE_CMD_H
#define PB_IMAP_PARSE_CMD_H
/* Typed parsers for the arguments of IMAP commands (RFC 9051 6 and 9,
 * with the extensions named at each). Each takes the argument array of
 * imap_reader_args() (or the part after what the session has already
 * taken, e.g. after the sequence set), fills a heap object whose strings
 * point into the reader's buffer, and returns 0; or -1 with *error_r a
 * short static reason for the tagged BAD. Each object has one _free()
 * taking ** that NULLs the pointer. All counts are bounded by the
 * argument tree, itself bounded by the reader's settings. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parse.h"

/* ---- FETCH (RFC 9051 6.4.5, RFC 3516 BINARY, RFC 7162 CONDSTORE) ---- */

enum imap_fetch_item {
	IMAP_FETCH_ENVELOPE      = 1 << 0,
	IMAP_FETCH_FLAGS         = 1 << 1,
	IMAP_FETCH_INTERNALDATE  = 1 << 2,
	IMAP_FETCH_RFC822        = 1 << 3,   /* IMAP4rev1 */
	IMAP_FETCH_RFC822_HEADER = 1 << 4,
	IMAP_FETCH_RFC822_SIZE   = 1 << 5,
	IMAP_FETCH_RFC822_TEXT   = 1 << 6,
	IMAP_FETCH_BODY          = 1 << 7,   /* BODY: structure, no extensions */
	IMAP_FETCH_BODYSTRUCTURE = 1 << 8,
	IMAP_FETCH_UID           = 1 << 9,
	IMAP_FETCH_MODSEQ        = 1 << 10,
};

/* Macros (RFC 9051 6.4.5): expand to items. */
#define IMAP_FETCH_FAST (IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE)
#define IMAP_FETCH_ALL  (IMAP_FETCH_FAST | IMAP_FETCH_ENVELOPE)
#define IMAP_FETCH_FULL (IMAP_FETCH_ALL | IMAP_FETCH_BODY)

#define IMAP_SECTION_PART_MAX 32

enum imap_section_text {
	IMAP_SECTION_ALL = 0,           /* [] or [1.2]: the whole part */
	IMAP_SECTION_HEADER,            /* [HEADER], [1.HEADER] */
	IMAP_SECTION_HEADER_FIELDS,     /* [HEADER.FIELDS (A B)] */
	IMAP_SECTION_HEADER_FIELDS_NOT, /* [HEADER.FIELDS.NOT (A B)] */
	IMAP_SECTION_TEXT,              /* [TEXT], [1.TEXT] */
	IMAP_SECTION_MIME,              /* [1.MIME]: needs a part */
};

enum imap_section_kind {
	IMAP_SECTION_BODY,              /* BODY[...] / BODY.PEEK[...] */
	IMAP_SECTION_BINARY,            /* BINARY[...] / BINARY.PEEK[...] */
	IMAP_SECTION_BINARY_SIZE,       /* BINARY.SIZE[...] */
};

struct imap_fetch_section {
	enum imap_section_kind kind;
	bool peek;                      /* .PEEK: does not set \Seen */
	enum imap_section_text text;
	uint32_t part[IMAP_SECTION_PART_MAX];  /* 1.2.3 */
	size_t part_count;
	const struct str *fields;       /* HEADER.FIELDS names (astrings) */
	size_t field_count;
	bool partial;                   /* <offset.size> */
	uint64_t offset, size;          /* size >= 1 */
};

struct imap_fetch {
	unsigned items;                 /* enum imap_fetch_item bits */
	struct imap_fetch_section *sections;
	size_t section_count;
	bool changedsince;              /* (CHANGEDSINCE n): RFC 7162 3.1.4 */
	uint64_t changedsince_modseq;
	bool vanished;                  /* (VANISHED): RFC 7162 3.2.6, UID FETCH */
};

/* args: what follows the sequence set: a macro, one item, or a list,
 * then optionally the modifier list. */
int imap_parse_fetch(const struct imap_arg *args, struct imap_fetch **fetch_r,
		     const char **error_r);
void imap_fetch_free(struct imap_fetch **fetch);

/* ---- SEARCH (RFC 9051 6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES,
 * RFC 7162 MODSEQ, RFC 5032 OLDER/YOUNGER) ---- */

enum imap_search_type {
	IMAP_SEARCH_AND,        /* children: all must match (also "(...)") */
	IMAP_SEARCH_OR,         /* two children */
	IMAP_SEARCH_NOT,        /* one child */
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_SEQSET,     /* seqset */
	IMAP_SEARCH_UID,        /* seqset */
	IMAP_SEARCH_FLAG,       /* flag: ANSWERED...; UNANSWERED... is NOT(FLAG) */
	IMAP_SEARCH_KEYWORD,    /* str */
	IMAP_SEARCH_NEW,        /* IMAP4rev1: RECENT UNSEEN */
	IMAP_SEARCH_OLD,        /* IMAP4rev1: NOT RECENT */
	IMAP_SEARCH_HEADER,     /* field (BCC/CC/FROM/SUBJECT/TO or HEADER) + str */
	IMAP_SEARCH_BODY,       /* str */
	IMAP_SEARCH_TEXT,       /* str */
	IMAP_SEARCH_BEFORE,     /* date: internal date */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE, /* date: Date: header */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_LARGER,     /* number */
	IMAP_SEARCH_SMALLER,
	IMAP_SEARCH_MODSEQ,     /* number (mod-sequence-valzer) */
	IMAP_SEARCH_OLDER,      /* number: seconds */
	IMAP_SEARCH_YOUNGER,
};

/* The FROM, TO, CC and BCC keys search the parsed addresses, as Dovecot
 * does; HEADER searches the text as written. */
#define IMAP_SEARCH_ADDRESS 1u

struct imap_search_key {
	enum imap_search_type type;
	const struct imap_search_key *child;  /* AND, OR, NOT: first child */
	const struct imap_search_key *next;   /* next sibling */
	struct str field;       /* HEADER: the field name ("Subject") */
	struct str str;         /* HEADER value, BODY, TEXT, KEYWORD */
	unsigned flag;          /* FLAG: one enum imap_system_flag;
				 * HEADER: IMAP_SEARCH_ADDRESS or 0 */
	struct imap_date date;
	uint64_t number;        /* LARGER, SMALLER, MODSEQ, OLDER, YOUNGER */
	const struct imap_seqset *seqset;     /* SEQSET, UID (owned by search) */
};

enum imap_search_return {
	IMAP_SEARCH_RETURN_MIN   = 1 << 0,
	IMAP_SEARCH_RETURN_MAX   = 1 << 1,
	IMAP_SEARCH_RETURN_ALL   = 1 << 2,
	IMAP_SEARCH_RETURN_COUNT = 1 << 3,
	IMAP_SEARCH_RETURN_SAVE  = 1 << 4,
};

/* Nesting of "(...)", NOT and OR. Higher than the list depth because
 * clients chain OR for each alternative ("OR OR FROM a FROM b FROM c"). */
#define IMAP_SEARCH_DEPTH_MAX 128

struct imap_search {
	bool esearch;           /* RETURN (...) was given (RFC 4731) */
	unsigned ret;           /* enum imap_search_return; RETURN () = ALL */
	struct str charset;     /* empty when absent */
	const struct imap_search_key *root;   /* an AND of the keys */
	/* storage */
	struct imap_search_key *keys;
	size_t key_count;
	struct imap_seqset **sets;
	size_t set_count;
};

/* args: everything after SEARCH (RETURN, CHARSET, keys). Nesting by
 * parentheses, NOT and OR is at most IMAP_SEARCH_DEPTH_MAX deep. */
int imap_parse_search(const struct imap_arg *args, struct imap_search **search_r,
		      const char **error_r);
/* Only the keys, as in SORT and THREAD after the charset. */
int imap_parse_search_keys(const struct imap_arg *args, struct imap_search **search_r,
			   const char **error_r);
void imap_search_free(struct imap_search **search);

/* ---- SORT and THREAD (RFC 5256) ---- */

enum imap_sort_key {
	IMAP_SORT_ARRIVAL, IMAP_SORT_CC, IMAP_SORT_DATE, IMAP_SORT_FROM,
	IMAP_SORT_SIZE, IMAP_SORT_SUBJECT, IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM, IMAP_SORT_DISPLAYTO,   /* RFC 5957 */
};

#define IMAP_SORT_CRITERIA_MAX 16

struct imap_sort {
	struct { enum imap_sort_key key; bool reverse; } criteria[IMAP_SORT_CRITERIA_MAX];
	size_t criteria_count;
	struct str charset;
	struct imap_search *search;   /* owned */
};

/* args: "(criteria) charset keys...". */
int imap_parse_sort(const struct imap_arg *args, struct imap_sort **sort_r,
		    const char **error_r);
void imap_sort_free(struct imap_sort **sort);

enum imap_thread_alg { IMAP_THREAD_ORDEREDSUBJECT, IMAP_THREAD_REFERENCES };

struct imap_thread {
	enum imap_thread_alg alg;
	struct str charset;
	struct imap_search *search;   /* owned */
};

/* args: "algorithm charset keys...". */
int imap_parse_thread(const struct imap_arg *args, struct imap_thread **thread_r,
		      const char **error_r);
void imap_thread_free(struct imap_thread **thread);

/* ---- STORE (RFC 9051 6.4.6, RFC 7162 UNCHANGEDSINCE) ---- */

enum imap_store_mode { IMAP_STORE_REPLACE, IMAP_STORE_ADD, IMAP_STORE_REMOVE };

struct imap_store {
	struct imap_seqset *seqset;
	enum imap_store_mode mode;
	bool silent;
	bool unchangedsince;
	uint64_t unchangedsince_modseq;  /* mod-sequence-valzer: 0 allowed */
	struct imap_flags *flags;
};

/* args: everything after STORE (sequence set included). */
int imap_parse_store(const struct imap_arg *args, struct imap_store **store_r,
		     const char **error_r);
void imap_store_free(struct imap_store **store);

/* ---- STATUS (RFC 9051 6.3.11, RFC 8438 SIZE, RFC 7162, RFC 7889) ---- */

enum imap_status_item {
	IMAP_STATUS_MESSAGES      = 1 << 0,
	IMAP_STATUS_UIDNEXT       = 1 << 1,
	IMAP_STATUS_UIDVALIDITY   = 1 << 2,
	IMAP_STATUS_UNSEEN        = 1 << 3,
	IMAP_STATUS_DELETED       = 1 << 4,
	IMAP_STATUS_SIZE          = 1 << 5,
	IMAP_STATUS_RECENT        = 1 << 6,  /* IMAP4rev1 */
	IMAP_STATUS_HIGHESTMODSEQ = 1 << 7,
	IMAP_STATUS_APPENDLIMIT   = 1 << 8,
};

/* arg: the "(MESSAGES UNSEEN)" list; it must not be empty. */
int imap_parse_status_items(const struct imap_arg *arg, unsigned *items_r,
			    const char **error_r);

/* ---- LIST (RFC 9051 6.3.9, RFC 5258 LIST-EXTENDED, RFC 5819
 * LIST-STATUS, RFC 6154 SPECIAL-USE) and LSUB ---- */

enum imap_list_select {
	IMAP_LIST_SEL_SUBSCRIBED     = 1 << 0,
	IMAP_LIST_SEL_REMOTE         = 1 << 1,
	IMAP_LIST_SEL_RECURSIVEMATCH = 1 << 2,
	IMAP_LIST_SEL_SPECIAL_USE    = 1 << 3,
};

enum imap_list_return {
	IMAP_LIST_RET_SUBSCRIBED  = 1 << 0,
	IMAP_LIST_RET_CHILDREN    = 1 << 1,
	IMAP_LIST_RET_SPECIAL_USE = 1 << 2,
	IMAP_LIST_RET_STATUS      = 1 << 3,
};

#define IMAP_LIST_PATTERNS_MAX 64

struct imap_list {
	bool extended;            /* select options, pattern list or RETURN */
	unsigned select;          /* enum imap_list_select */
	unsigned ret;             /* enum imap_list_return */
	unsigned status_items;    /* RETURN (STATUS (...)) */
	struct str reference;     /* mailbox (may be empty) */
	struct str patterns[IMAP_LIST_PATTERNS_MAX];
	size_t pattern_count;     /* >= 1 */
};

/* args: everything after LIST; RECURSIVEMATCH alone is refused (RFC 5258
 * 3.1). With lsub, only "reference pattern". */
int imap_parse_list(const struct imap_arg *args, bool lsub, struct imap_list **list_r,
		    const char **error_r);
void imap_list_free(struct imap_list **list);

/* ---- SELECT / EXAMINE (RFC 9051 6.3.2, RFC 7162 CONDSTORE/QRESYNC) ---- */

struct imap_select {
	struct str mailbox;
	bool condstore;
	bool qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset *known_uids;       /* NULL when absent */
	struct imap_seqset *seq_match_seqs;   /* seq-match-data, NULL when absent */
	struct imap_seqset *seq_match_uids;
};

int imap_parse_select(const struct imap_arg *args, struct imap_select **select_r,
		      const char **error_r);
void imap_select_free(struct imap_select **select);

/* ---- APPEND (RFC 9051 6.3.12, RFC 3502 MULTIAPPEND, RFC 3516) ---- */

#define IMAP_APPEND_MESSAGES_MAX 256

struct imap_append_msg {
	struct imap_flags *flags;     /* NULL when absent */
	bool has_date;
	struct imap_datetime date;
	struct str data;              /* the literal */
	bool binary;                  /* literal8: may hold NUL */
};

struct imap_append {
	struct str mailbox;
	size_t msg_count;             /* >= 1 */
	struct imap_append_msg msgs[];
};

int imap_parse_append(const struct imap_arg *args, struct imap_append **append_r,
		      const char **error_r);
void imap_append_free(struct imap_append **append);

/* ---- ID (RFC 2971), ENABLE (RFC 5161), AUTHENTICATE (RFC 4959) ---- */

#define IMAP_ID_PAIRS_MAX 30          /* RFC 2971 3.3 */

struct imap_id {
	size_t count;                 /* 0 for "ID NIL" */
	struct { struct str field; struct str value; bool value_nil; } pairs[IMAP_ID_PAIRS_MAX];
};

int imap_parse_id(const struct imap_arg *args, struct imap_id *id_r, const char **error_r);

#define IMAP_ENABLE_MAX 16

struct imap_enable {
	size_t count;                 /* >= 1 */
	struct str caps[IMAP_ENABLE_MAX];
};

int imap_parse_enable(const struct imap_arg *args, struct imap_enable *enable_r,
		      const char **error_r);

struct imap_authenticate {
	struct str mechanism;         /* atom */
	bool has_initial;             /* SASL-IR initial response present */
	struct str initial;           /* base64 as sent; "=" gives empty */
};

int imap_parse_authenticate(const struct imap_arg *args, struct imap_authenticate *auth_r,
			    const char **error_r);

#endif

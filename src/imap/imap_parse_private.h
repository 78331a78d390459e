#ifndef PB_IMAP_PARSE_PRIVATE_H
#define PB_IMAP_PARSE_PRIVATE_H
/* Shared between the reader (imap_parse_reader.c) and the tokenizer
 * (imap_parse_args.c); not for sessions. */

#include "imap/imap_parse.h"

/* One accepted literal inside the command text. The text keeps the
 * marker ("{5}", "{5+}", "~{5}") and drops the line end after it, so the
 * data follows the marker at once; the table tells a real marker (at a
 * line end) from the same characters in the middle of a line. */
struct imap_lit {
	size_t marker;        /* offset of "{" (or "~") in the text */
	size_t data;          /* offset of the first data octet */
	uint64_t size;
	bool binary;
};

struct imap_tokenize_in {
	char *text;           /* unescaped in place: quoted strings shrink */
	size_t start, end;    /* the arguments: text[start..end) */
	const struct imap_lit *lits;
	size_t lit_count;
	unsigned depth_max;
	size_t args_max;
};

/* Builds the argument tree of text[start..end). On 0, *args_r is one heap
 * block (free() it) holding every node; the top level is *args_r itself. */
int imap_tokenize(const struct imap_tokenize_in *in, struct imap_arg **args_r,
		  const char **error_r);

/* RFC 9051 9 character classes. */
bool imap_is_atom_char(unsigned char c);
bool imap_is_astring_char(unsigned char c);
bool imap_is_tag_char(unsigned char c);

#endif

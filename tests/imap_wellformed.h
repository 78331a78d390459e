#ifndef PB_TESTS_IMAP_WELLFORMED_H
#define PB_TESTS_IMAP_WELLFORMED_H
/* Shared by the unit tests and the fuzz target of the IMAP formatter. */

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static inline bool imap_wellformed(const char *s, size_t n);

/* Whether s[0..n) is well-formed IMAP data as the writer makes it:
 * balanced parentheses around NIL, numbers, quoted strings (only \" and
 * \\ escaped, no CR, LF or NUL) and literals. */
static inline bool imap_wellformed(const char *s, size_t n)
{
	long depth = 0;
	size_t i = 0;
	while (i < n) {
		char c = s[i];
		if (c == '(' || c == ')' || c == ' ') {
			depth += c == '(' ? 1 : c == ')' ? -1 : 0;
			if (depth < 0)
				return false;
			i++;
		} else if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && (i + 1 >= n || (s[i + 1] != '"' && s[i + 1] != '\\')))
					return false;
				if (s[i] == '\\')
					i++;
				else if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
					return false;
			}
			if (i++ >= n)
				return false;
		} else if (c == '{') {
			size_t len = 0;
			for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
				len = len * 10 + (size_t)(s[i] - '0');
			if (i + 3 > n || memcmp(s + i, "}\r\n", 3) != 0 || len > n - i - 3 ||
			    memchr(s + i + 3, '\0', len) != NULL)
				return false;
			i += 3 + len;
		} else if (c >= '0' && c <= '9') {
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
		} else if (n - i >= 3 && memcmp(s + i, "NIL", 3) == 0) {
			i += 3;
		} else {
			return false;
		}
	}
	return depth == 0;
}

#endif

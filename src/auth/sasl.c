/* SASL PLAIN and LOGIN, server side (see sasl.h for the rules). */
#include "auth/sasl.h"

#include <string.h>

#include "lib/base64.h"
#include "lib/utf8.h"

/* The longest decoded response: a PLAIN message with the largest authzid,
 * authcid and password. */
#define DECODED_MAX (2 * SASL_USER_MAX + SASL_PASS_MAX + 2)
#define ENCODED_MAX ((DECODED_MAX + 2) / 3 * 4)

/* LOGIN's prompts, "Username:" and "Password:" in base64. */
#define LOGIN_USER_PROMPT "VXNlcm5hbWU6"
#define LOGIN_PASS_PROMPT "UGFzc3dvcmQ6"

static const char *const sasl_mech_names[SASL_MECH_COUNT] = { "PLAIN", "LOGIN" };

int sasl_mech_find(struct str name, enum sasl_mech *mech_r)
{
	for (size_t i = 0; i < SASL_MECH_COUNT; i++) {
		if (str_case_eq_cstr(name, sasl_mech_names[i])) {
			*mech_r = (enum sasl_mech)i;
			return 0;
		}
	}
	return -1;
}

/* Copies one field into dst (size max + 1), checking it. */
static int take(char *dst, size_t max, const char *p, size_t n, const char *what_long,
		const char **error_r)
{
	if (n > max) {
		*error_r = what_long;
		return -1;
	}
	if (!utf8_valid((struct str){ p, n })) {
		*error_r = "not UTF-8";
		return -1;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* PLAIN's decoded message (RFC 4616 2) into user_r / password_r (sizes as
 * in struct sasl_server). 0, or -1 with *error_r. */
static int sasl_plain_parse(const char *msg, size_t len, char *user_r, char *password_r,
			    const char **error_r)
{
	const char *end = msg + len;
	const char *c = memchr(msg, '\0', len);
	const char *p = c != NULL ? memchr(c + 1, '\0', (size_t)(end - c - 1)) : NULL;
	if (p == NULL || memchr(p + 1, '\0', (size_t)(end - p - 1)) != NULL) {
		*error_r = "a PLAIN message has exactly two NULs";
		return -1;
	}
	size_t zlen = (size_t)(c - msg), ulen = (size_t)(p - c - 1);
	size_t plen = (size_t)(end - p - 1);
	if (ulen == 0 || plen == 0) {
		*error_r = "empty user name or password";
		return -1;
	}
	if (take(user_r, SASL_USER_MAX, c + 1, ulen, "user name too long", error_r) < 0 ||
	    take(password_r, SASL_PASS_MAX, p + 1, plen, "password too long", error_r) < 0)
		return -1;
	if (zlen > 0 && !str_case_eq((struct str){ msg, zlen }, (struct str){ c + 1, ulen })) {
		*error_r = "proxy authorization is not supported";
		return -1;
	}
	return 0;
}

/* Decodes one response into out (which the caller frees). */
static int decode(struct str b64, struct buf *out, const char **error_r)
{
	buf_init(out, DECODED_MAX);
	if (b64.len > ENCODED_MAX) {
		*error_r = "response too long";
		return -1;
	}
	if (base64_decode(out, b64.p, b64.len) < 0) {
		*error_r = SASL_ERROR_BASE64;
		return -1;
	}
	return 0;
}

static void wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	buf_free(b);
}

/* One LOGIN field: non-empty, no NUL. */
static int login_field(char *dst, size_t max, struct buf *d, const char *what_long,
		       const char **error_r)
{
	if (d->len == 0 || memchr(d->data, '\0', d->len) != NULL) {
		*error_r = "empty response or NUL in a LOGIN response";
		return -1;
	}
	return take(dst, max, d->data, d->len, what_long, error_r);
}

/* A decoded response, at the exchange's current step. */
static enum sasl_status feed(struct sasl_server *s, struct buf *d, const char **challenge_r,
			     const char **error_r)
{
	int r;
	if (s->mech == SASL_MECH_PLAIN) {
		r = sasl_plain_parse(d->data != NULL ? d->data : "", d->len, s->user,
				     s->password, error_r);
		return r < 0 ? SASL_FAILED : SASL_DONE;
	}
	if (s->step == 0) {
		if (login_field(s->user, SASL_USER_MAX, d, "user name too long", error_r) < 0)
			return SASL_FAILED;
		s->step = 1;
		*challenge_r = LOGIN_PASS_PROMPT;
		return SASL_CONTINUE;
	}
	if (login_field(s->password, SASL_PASS_MAX, d, "password too long", error_r) < 0)
		return SASL_FAILED;
	return SASL_DONE;
}

enum sasl_status sasl_server_step(struct sasl_server *s, struct str response,
				  const char **challenge_r, const char **error_r)
{
	*challenge_r = "";
	if (response.len == 1 && response.p[0] == '*') {
		sasl_server_clear(s);
		return SASL_CANCELLED;
	}
	struct buf d;
	enum sasl_status st = decode(response, &d, error_r) < 0 ? SASL_FAILED
				: feed(s, &d, challenge_r, error_r);
	wipe(&d);
	if (st == SASL_FAILED)
		sasl_server_clear(s);
	return st;
}

enum sasl_status sasl_server_start(struct sasl_server *s, enum sasl_mech mech,
				   const struct str *initial, const char **challenge_r,
				   const char **error_r)
{
	memset(s, 0, sizeof *s);
	s->mech = mech;
	*challenge_r = mech == SASL_MECH_LOGIN ? LOGIN_USER_PROMPT : "";
	if (initial == NULL)
		return SASL_CONTINUE;
	/* "=" is the empty initial response (RFC 4959, RFC 5034 4). */
	if (initial->len == 1 && initial->p[0] == '=')
		return sasl_server_step(s, STR_LIT(""), challenge_r, error_r);
	return sasl_server_step(s, *initial, challenge_r, error_r);
}

void sasl_server_clear(struct sasl_server *s)
{
	explicit_bzero(s, sizeof *s);
}

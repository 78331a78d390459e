#include "smtp/smtp_parse.h"

#include "lib/utf8.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

/* A read position in a line. Every access goes through cur_peek() or is
 * preceded by a bound check, so nothing is ever read at or past len. */
struct cur {
	const char *p;
	size_t len;
	size_t pos;
};

#define CUR_END (-1)

static int cur_peek(const struct cur *c)
{
	return c->pos < c->len ? (unsigned char)c->p[c->pos] : CUR_END;
}

static bool cur_more(const struct cur *c)
{
	return c->pos < c->len;
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

static char ascii_lower(int c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

/* RFC 5322 3.2.3 atext, ASCII part. */
static bool is_atext(int c)
{
	return is_alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}


static int fail(const char **error_r, const char *why)
{
	*error_r = why;
	return -1;
}

/* Dot-string (RFC 5321 4.1.2) with RFC 6531 UTF-8 atext. */
static int parse_dot_string(struct cur *c, struct smtp_mailbox *mb, const char **error_r)
{
	size_t n = 0;
	bool need_atom = true;   /* at the start or just after a dot */

	while (cur_more(c)) {
		int ch = cur_peek(c);
		size_t k = 1;
		if (ch == '.') {
			if (need_atom)
				return fail(error_r, "empty atom in local part");
			need_atom = true;
		} else if (ch >= 0x80) {
			k = utf8_seq((const unsigned char *)c->p + c->pos, c->len - c->pos, NULL);
			if (k == 0)
				return fail(error_r, "invalid UTF-8 in local part");
			mb->utf8 = true;
			need_atom = false;
		} else if (is_atext(ch)) {
			need_atom = false;
		} else {
			break;
		}
		if (n + k > SMTP_LOCAL_MAX)
			return fail(error_r, "local part too long (RFC 5321 4.5.3.1.1)");
		memcpy(mb->local + n, c->p + c->pos, k);
		n += k;
		c->pos += k;
	}
	if (need_atom)
		return fail(error_r, n == 0 ? "empty local part" : "local part ends with a dot");
	mb->local[n] = '\0';
	return 0;
}

/* Quoted-string (RFC 5321 4.1.2), stored unquoted. The length limit
 * applies to the local part as written, quotes and backslashes included. */
static int parse_quoted(struct cur *c, struct smtp_mailbox *mb, const char **error_r)
{
	size_t start = c->pos++;
	size_t n = 0;

	for (;;) {
		int ch = cur_peek(c);
		if (ch == CUR_END)
			return fail(error_r, "unbalanced quote");
		if (ch == '"')
			break;
		const char *src = c->p + c->pos;
		size_t k = 1;
		if (ch == '\\') {
			/* quoted-pairSMTP = "\" %d32-126 */
			ch = c->pos + 1 < c->len ? (unsigned char)c->p[c->pos + 1] : CUR_END;
			if (ch < 32 || ch > 126)
				return fail(error_r, "bad quoted pair");
			src++;
			c->pos++;
		} else if (ch >= 0x80) {
			k = utf8_seq((const unsigned char *)src, c->len - c->pos, NULL);
			if (k == 0)
				return fail(error_r, "invalid UTF-8 in local part");
			mb->utf8 = true;
		} else if (ch < 32 || ch > 126) {
			return fail(error_r, "bad character in quoted string");
		}
		/* +1 for the closing quote still to come */
		if (c->pos + k - start + 1 > SMTP_LOCAL_MAX)
			return fail(error_r, "local part too long (RFC 5321 4.5.3.1.1)");
		memcpy(mb->local + n, src, k);
		n += k;
		c->pos += k;
	}
	c->pos++;
	/* Callers keep addresses as C strings, where an empty local part
	 * would read as "no local part" (a catch-all key, for one). */
	if (n == 0)
		return fail(error_r, "empty local part");
	mb->local[n] = '\0';
	mb->quoted = true;
	return 0;
}

/* Domain (RFC 5321 4.1.2) with RFC 6531 U-labels, ASCII lower-cased into
 * out. helo_mode also allows '_', which Windows host names carry into
 * EHLO and which Postfix accepts there. Stops at the first octet that
 * cannot continue the domain; the caller checks what follows. */
static int parse_domain(struct cur *c, char *out, bool *utf8_r, bool helo_mode,
			const char **error_r)
{
	size_t n = 0;

	for (;;) {
		size_t label = 0;
		int last = 0;
		while (cur_more(c)) {
			int ch = cur_peek(c);
			size_t k = 1;
			if (ch == '-' && label == 0)
				return fail(error_r, "domain label starts with a hyphen");
			if (ch >= 0x80) {
				k = utf8_seq((const unsigned char *)c->p + c->pos, c->len - c->pos, NULL);
				if (k == 0)
					return fail(error_r, "invalid UTF-8 in domain");
				*utf8_r = true;
			} else if (!is_alnum(ch) && ch != '-' && !(helo_mode && ch == '_')) {
				break;
			}
			if (label + k > 63)
				return fail(error_r, "domain label too long (RFC 1035 2.3.4)");
			if (n + k > SMTP_DOMAIN_MAX)
				return fail(error_r, "domain too long (RFC 5321 4.5.3.1.2)");
			if (k == 1)
				out[n] = ascii_lower(ch);
			else
				memcpy(out + n, c->p + c->pos, k);
			n += k;
			label += k;
			c->pos += k;
			last = ch;
		}
		if (label == 0)
			return fail(error_r, "empty domain label");
		if (last == '-')
			return fail(error_r, "domain label ends with a hyphen");
		if (cur_peek(c) != '.')
			break;
		if (n + 1 > SMTP_DOMAIN_MAX)
			return fail(error_r, "domain too long (RFC 5321 4.5.3.1.2)");
		out[n++] = '.';
		c->pos++;
	}
	out[n] = '\0';
	return 0;
}

static bool inet_valid(int af, struct str s)
{
	char tmp[64];
	unsigned char addr[sizeof(struct in6_addr)];

	if (s.len >= sizeof tmp)
		return false;
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = '\0';
	return inet_pton(af, tmp, addr) == 1;
}

/* Standardized-tag = Ldh-str (RFC 5321 4.1.2, 4.1.3). Tags must be
 * registered with IANA and all start with a letter; one that starts with
 * a digit is an IPv6 address missing its "IPv6:" and is refused. */
static bool tag_valid(struct str s)
{
	if (s.len == 0 || !is_alpha((unsigned char)s.p[0]) ||
	    !is_alnum((unsigned char)s.p[s.len - 1]))
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_alnum((unsigned char)s.p[i]) && s.p[i] != '-')
			return false;
	return true;
}

/* The inside of an address literal (RFC 5321 4.1.3). */
static bool literal_valid(struct str b)
{
	long colon = str_chr(b, ':');
	if (colon < 0)
		return inet_valid(AF_INET, b);
	struct str tag = { b.p, (size_t)colon };
	struct str rest = { b.p + colon + 1, b.len - (size_t)colon - 1 };
	if (str_case_eq_cstr(tag, "IPv6"))
		return inet_valid(AF_INET6, rest);
	return tag_valid(tag) && rest.len > 0;
}

static int parse_literal(struct cur *c, char *out, const char **error_r)
{
	const char *s = c->p + c->pos + 1;
	const char *end = memchr(s, ']', c->len - c->pos - 1);
	if (end == NULL)
		return fail(error_r, "unbalanced bracket in address literal");
	struct str body = { s, (size_t)(end - s) };
	for (size_t i = 0; i < body.len; i++) {
		/* dcontent = %d33-90 / %d94-126 */
		unsigned char ch = (unsigned char)body.p[i];
		if (ch < 33 || ch > 126 || ch == '[' || ch == '\\')
			return fail(error_r, "bad character in address literal");
	}
	if (!literal_valid(body))
		return fail(error_r, "invalid address literal");
	if (body.len + 2 > SMTP_DOMAIN_MAX)
		return fail(error_r, "address literal too long");
	out[0] = '[';
	memcpy(out + 1, body.p, body.len);
	out[body.len + 1] = ']';
	out[body.len + 2] = '\0';
	c->pos += body.len + 2;
	return 0;
}

static int parse_host(struct cur *c, char *out, bool *literal_r, bool *utf8_r,
		      bool helo_mode, const char **error_r)
{
	if (cur_peek(c) == '[') {
		*literal_r = true;
		return parse_literal(c, out, error_r);
	}
	return parse_domain(c, out, utf8_r, helo_mode, error_r);
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) */
static int parse_mailbox_cur(struct cur *c, struct smtp_mailbox *mb, const char **error_r)
{
	int r = cur_peek(c) == '"' ? parse_quoted(c, mb, error_r)
				   : parse_dot_string(c, mb, error_r);
	if (r < 0)
		return -1;
	if (cur_peek(c) != '@')
		return fail(error_r, "missing domain");
	c->pos++;
	return parse_host(c, mb->domain, &mb->literal, &mb->utf8, false, error_r);
}

/* A-d-l = At-domain *( "," At-domain ), then ":" (RFC 5321 4.1.2). The
 * route is only checked and dropped (4.1.1.3, appendix C): the final
 * domain alone decides where the mail goes. */
static int skip_route(struct cur *c, const char **error_r)
{
	char scratch[SMTP_DOMAIN_MAX + 1];
	bool utf8 = false;

	for (;;) {
		if (cur_peek(c) != '@')
			return fail(error_r, "bad source route");
		c->pos++;
		if (parse_domain(c, scratch, &utf8, false, error_r) < 0)
			return -1;
		int ch = cur_peek(c);
		if (ch != ',' && ch != ':')
			return fail(error_r, "bad source route");
		c->pos++;
		if (ch == ':')
			return 0;
	}
}

static bool take_postmaster(struct cur *c, struct smtp_mailbox *mb)
{
	static const char pm[] = "postmaster>";
	size_t n = sizeof pm - 1;
	if (c->len - c->pos < n || !str_case_eq_cstr((struct str){ c->p + c->pos, n }, pm))
		return false;
	memcpy(mb->local, c->p + c->pos, n - 1);
	mb->local[n - 1] = '\0';
	c->pos += n;
	return true;
}

/* Path = "<" [ A-d-l ":" ] Mailbox ">", c at the "<". */
static enum smtp_parse_result parse_path(struct cur *c, struct smtp_cmd *cmd, bool rcpt,
					 const char **error_r)
{
	struct smtp_mailbox *mb = &cmd->mailbox;
	size_t start = c->pos;

	c->pos++;
	if (cur_peek(c) == '>') {
		c->pos++;
		if (rcpt) {
			*error_r = "null path not allowed in RCPT";
			return SMTP_PARSE_BAD_ADDRESS;
		}
		cmd->null_path = true;
		return SMTP_PARSE_OK;
	}
	if (cur_peek(c) == '@') {
		if (skip_route(c, error_r) < 0)
			return SMTP_PARSE_BAD_ADDRESS;
		mb->had_route = true;
	}
	/* RFC 5321 4.1.1.3: "<Postmaster>" needs no domain, in RCPT only. */
	if (rcpt && !mb->had_route && take_postmaster(c, mb)) {
		cmd->postmaster = true;
		return SMTP_PARSE_OK;
	}
	if (parse_mailbox_cur(c, mb, error_r) < 0)
		return SMTP_PARSE_BAD_ADDRESS;
	if (cur_peek(c) != '>') {
		*error_r = "missing '>' after address";
		return SMTP_PARSE_BAD_ADDRESS;
	}
	c->pos++;
	/* RFC 5321 4.5.3.1.3: a path is at most 256 octets, brackets and
	 * any source route included. */
	if (c->pos - start > SMTP_PATH_MAX) {
		*error_r = "path longer than 256 octets (RFC 5321 4.5.3.1.3)";
		return SMTP_PARSE_BAD_ADDRESS;
	}
	return SMTP_PARSE_OK;
}

/* esmtp-param = esmtp-keyword ["=" esmtp-value] (RFC 5321 4.1.2) */
static int parse_param(struct cur *c, struct smtp_param *pm, const char **error_r)
{
	size_t start = c->pos;

	if (!is_alnum(cur_peek(c)))
		return fail(error_r, "bad parameter name");
	while (is_alnum(cur_peek(c)) || cur_peek(c) == '-')
		c->pos++;
	pm->key = (struct str){ c->p + start, c->pos - start };
	if (cur_peek(c) == '=') {
		size_t vstart = ++c->pos;
		int ch;
		while ((ch = cur_peek(c)) >= 33 && ch <= 126 && ch != '=')
			c->pos++;
		if (c->pos == vstart)
			return fail(error_r, "empty parameter value");
		pm->value = (struct str){ c->p + vstart, c->pos - vstart };
		pm->has_value = true;
	}
	if (cur_more(c) && cur_peek(c) != ' ')
		return fail(error_r, "bad parameter");
	return 0;
}

static enum smtp_parse_result parse_params(struct cur *c, struct smtp_cmd *cmd,
					   const char **error_r)
{
	while (cur_more(c)) {
		if (cur_peek(c) != ' ') {
			*error_r = "junk after address";
			return SMTP_PARSE_SYNTAX;
		}
		while (cur_peek(c) == ' ')
			c->pos++;
		if (!cur_more(c))
			break;
		if (cmd->param_count == SMTP_PARAMS_MAX) {
			*error_r = "too many parameters";
			return SMTP_PARSE_TOO_MANY_PARAMS;
		}
		struct smtp_param *pm = &cmd->params[cmd->param_count];
		if (parse_param(c, pm, error_r) < 0)
			return SMTP_PARSE_SYNTAX;
		/* RFC 5321 4.1.2 gives each keyword one meaning; two values
		 * (SIZE=1 SIZE=99999999) would leave the choice to us. */
		for (size_t i = 0; i < cmd->param_count; i++) {
			if (str_case_eq(cmd->params[i].key, pm->key)) {
				*error_r = "duplicate parameter";
				return SMTP_PARSE_SYNTAX;
			}
		}
		cmd->param_count++;
	}
	return SMTP_PARSE_OK;
}

static enum smtp_parse_result parse_mail_rcpt(struct smtp_cmd *cmd, bool rcpt,
					      const char **error_r)
{
	const char *prefix = rcpt ? "TO:" : "FROM:";
	struct cur c = { cmd->arg.p, cmd->arg.len, strlen(prefix) };

	if (!str_has_prefix_case(cmd->arg, prefix)) {
		*error_r = rcpt ? "expected RCPT TO:<address>" : "expected MAIL FROM:<address>";
		return SMTP_PARSE_SYNTAX;
	}
	/* Not RFC 5321, but common enough that Postfix accepts it. */
	if (cur_peek(&c) == ' ' && c.pos + 1 < c.len && c.p[c.pos + 1] == '<')
		c.pos++;
	if (!cur_more(&c)) {
		*error_r = "missing address";
		return SMTP_PARSE_SYNTAX;
	}
	if (cur_peek(&c) != '<') {
		*error_r = "address must be in angle brackets";
		return SMTP_PARSE_BAD_ADDRESS;
	}
	enum smtp_parse_result r = parse_path(&c, cmd, rcpt, error_r);
	if (r != SMTP_PARSE_OK)
		return r;
	return parse_params(&c, cmd, error_r);
}

static enum smtp_parse_result parse_helo(struct smtp_cmd *cmd, const char **error_r)
{
	char scratch[SMTP_DOMAIN_MAX + 1];
	bool literal = false, utf8 = false;
	struct cur c = { cmd->arg.p, cmd->arg.len, 0 };

	if (cmd->arg.len == 0) {
		*error_r = "domain name required";
		return SMTP_PARSE_SYNTAX;
	}
	if (parse_host(&c, scratch, &literal, &utf8, true, error_r) < 0)
		return SMTP_PARSE_SYNTAX;
	if (cur_more(&c)) {
		*error_r = "invalid domain name";
		return SMTP_PARSE_SYNTAX;
	}
	cmd->helo = cmd->arg;
	return SMTP_PARSE_OK;
}

/* BDAT SP chunk-size [ SP end-marker ] (RFC 3030 2) */
static enum smtp_parse_result parse_bdat(struct smtp_cmd *cmd, const char **error_r)
{
	struct str num = cmd->arg;
	long sp = str_chr(num, ' ');

	if (sp >= 0) {
		struct str rest = { num.p + sp + 1, num.len - (size_t)sp - 1 };
		if (!str_case_eq_cstr(rest, "LAST")) {
			*error_r = "expected BDAT size [LAST]";
			return SMTP_PARSE_SYNTAX;
		}
		num.len = (size_t)sp;
		cmd->bdat_last = true;
	}
	if (str_to_u64(num, INT64_MAX, &cmd->bdat_size) < 0) {
		*error_r = "bad chunk size";
		return SMTP_PARSE_SYNTAX;
	}
	return SMTP_PARSE_OK;
}

static bool base64_valid(struct str s)
{
	size_t pad = 0;

	if (s.len == 0 || s.len % 4 != 0)
		return false;
	while (pad < 2 && s.p[s.len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < s.len - pad; i++) {
		int ch = (unsigned char)s.p[i];
		if (!is_alnum(ch) && ch != '+' && ch != '/')
			return false;
	}
	return true;
}

/* AUTH SP sasl-mech [SP initial-response] (RFC 4954 4, RFC 4422 3.1) */
static enum smtp_parse_result parse_auth(struct smtp_cmd *cmd, const char **error_r)
{
	struct str mech = cmd->arg;
	long sp = str_chr(mech, ' ');

	*error_r = "expected AUTH mechanism [initial-response]";
	if (sp >= 0) {
		cmd->auth_initial = (struct str){ mech.p + sp + 1, mech.len - (size_t)sp - 1 };
		mech.len = (size_t)sp;
		if (!str_eq(cmd->auth_initial, STR_LIT("=")) && !base64_valid(cmd->auth_initial)) {
			*error_r = SMTP_PARSE_ERROR_AUTH_BASE64;
			return SMTP_PARSE_SYNTAX;
		}
	}
	if (mech.len == 0 || mech.len > 20)
		return SMTP_PARSE_SYNTAX;
	for (size_t i = 0; i < mech.len; i++) {
		int ch = (unsigned char)mech.p[i];
		if (!is_alnum(ch) && ch != '-' && ch != '_')
			return SMTP_PARSE_SYNTAX;
	}
	cmd->auth_mech = mech;
	return SMTP_PARSE_OK;
}

static const char *const verb_names[SMTP_VERB_COUNT] = {
	[SMTP_VERB_UNKNOWN] = "UNKNOWN",
	[SMTP_VERB_EHLO] = "EHLO", [SMTP_VERB_HELO] = "HELO",
	[SMTP_VERB_MAIL] = "MAIL", [SMTP_VERB_RCPT] = "RCPT",
	[SMTP_VERB_DATA] = "DATA", [SMTP_VERB_BDAT] = "BDAT",
	[SMTP_VERB_RSET] = "RSET", [SMTP_VERB_NOOP] = "NOOP",
	[SMTP_VERB_QUIT] = "QUIT", [SMTP_VERB_VRFY] = "VRFY",
	[SMTP_VERB_EXPN] = "EXPN", [SMTP_VERB_HELP] = "HELP",
	[SMTP_VERB_STARTTLS] = "STARTTLS", [SMTP_VERB_AUTH] = "AUTH",
};

const char *smtp_verb_name(enum smtp_verb v)
{
	return (unsigned)v < SMTP_VERB_COUNT ? verb_names[v] : "UNKNOWN";
}

static enum smtp_verb verb_lookup(struct str s)
{
	for (int v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++)
		if (str_case_eq_cstr(s, verb_names[v]))
			return (enum smtp_verb)v;
	return SMTP_VERB_UNKNOWN;
}

/* Commands whose argument is free text, where HTAB may appear. */
static bool verb_free_text(enum smtp_verb v)
{
	return v == SMTP_VERB_NOOP || v == SMTP_VERB_HELP || v == SMTP_VERB_VRFY ||
	       v == SMTP_VERB_EXPN;
}

static bool is_ctl(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

static enum smtp_parse_result parse_args(struct smtp_cmd *cmd, const char **error_r)
{
	switch (cmd->verb) {
	case SMTP_VERB_EHLO:
	case SMTP_VERB_HELO:
		return parse_helo(cmd, error_r);
	case SMTP_VERB_MAIL:
		return parse_mail_rcpt(cmd, false, error_r);
	case SMTP_VERB_RCPT:
		return parse_mail_rcpt(cmd, true, error_r);
	case SMTP_VERB_BDAT:
		return parse_bdat(cmd, error_r);
	case SMTP_VERB_AUTH:
		return parse_auth(cmd, error_r);
	case SMTP_VERB_DATA:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
	case SMTP_VERB_STARTTLS:
		if (cmd->arg.len > 0) {
			*error_r = "no argument allowed";
			return SMTP_PARSE_SYNTAX;
		}
		return SMTP_PARSE_OK;
	default:
		return SMTP_PARSE_OK;
	}
}

enum smtp_parse_result smtp_parse_command(const char *line, size_t len,
					  struct smtp_cmd *cmd,
					  const char **error_r)
{
	memset(cmd, 0, sizeof *cmd);
	cmd->verb_text = (struct str){ line, 0 };
	cmd->arg = (struct str){ line, 0 };

	/* Whatever the verb, a control octet means a confused or hostile
	 * client; none may reach a log line or a stored header. */
	for (size_t i = 0; i < len; i++) {
		if (is_ctl((unsigned char)line[i])) {
			*error_r = "invalid character";
			return SMTP_PARSE_BAD_CHAR;
		}
	}
	/* Trailing spaces are not an argument (Postfix ignores them too). */
	while (len > 0 && line[len - 1] == ' ')
		len--;
	size_t vlen = 0;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	cmd->verb_text = (struct str){ line, vlen };
	cmd->verb = verb_lookup(cmd->verb_text);
	if (vlen < len)
		cmd->arg = (struct str){ line + vlen + 1, len - vlen - 1 };
	else
		cmd->arg = (struct str){ line + len, 0 };
	if (cmd->verb == SMTP_VERB_UNKNOWN) {
		*error_r = "command not recognized";
		return SMTP_PARSE_UNKNOWN_VERB;
	}
	if (!verb_free_text(cmd->verb) && memchr(line, '\t', len) != NULL) {
		*error_r = "invalid character";
		return SMTP_PARSE_BAD_CHAR;
	}
	return parse_args(cmd, error_r);
}

int smtp_parse_mailbox(const char *s, size_t len, struct smtp_mailbox *mb,
		       const char **error_r)
{
	struct cur c = { s, len, 0 };

	memset(mb, 0, sizeof *mb);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(error_r, "invalid character");
	if (parse_mailbox_cur(&c, mb, error_r) < 0)
		return -1;
	if (cur_more(&c))
		return fail(error_r, "junk after address");
	return 0;
}

/* True when local can be written as a Dot-string (RFC 5321 4.1.2):
 * atoms of atext (or UTF-8, RFC 6531) joined by single dots. */
static bool is_dot_string(const char *local)
{
	bool need_atom = true;
	for (const unsigned char *p = (const unsigned char *)local; *p != '\0'; p++) {
		if (*p == '.') {
			if (need_atom)
				return false;
			need_atom = true;
		} else if (*p >= 0x80 || is_atext(*p)) {
			need_atom = false;
		} else {
			return false;
		}
	}
	return !need_atom;
}

/* Appends n bytes at out[*o]; false when out (with its NUL) is full. */
static bool put(char *out, size_t outlen, size_t *o, const char *p, size_t n)
{
	if (outlen - *o <= n)
		return false;
	memcpy(out + *o, p, n);
	*o += n;
	return true;
}

int smtp_mailbox_format(const struct smtp_mailbox *mb, char *out, size_t outlen)
{
	size_t o = 0;
	bool ok = outlen > 0;
	if (ok && is_dot_string(mb->local)) {
		ok = put(out, outlen, &o, mb->local, strlen(mb->local));
	} else if (ok) {
		/* Quoted-string: only '"' and '\\' need a backslash. */
		ok = put(out, outlen, &o, "\"", 1);
		for (const char *p = mb->local; *p != '\0' && ok; p++) {
			if (*p == '"' || *p == '\\')
				ok = put(out, outlen, &o, "\\", 1);
			ok = ok && put(out, outlen, &o, p, 1);
		}
		ok = ok && put(out, outlen, &o, "\"", 1);
	}
	if (ok && mb->domain[0] != '\0')
		ok = put(out, outlen, &o, "@", 1) &&
		     put(out, outlen, &o, mb->domain, strlen(mb->domain));
	if (outlen > 0)
		out[ok ? o : 0] = '\0';
	return ok ? 0 : -1;
}

const struct smtp_param *smtp_cmd_param(const struct smtp_cmd *cmd, const char *key)
{
	for (size_t i = 0; i < cmd->param_count; i++)
		if (str_case_eq_cstr(cmd->params[i].key, key))
			return &cmd->params[i];
	return NULL;
}

static bool is_upper_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* xtext = *( xchar / hexchar ) (RFC 3461 4): xchar is "!".."~" except
 * "+" and "="; hexchar is "+" and two UPPER-case hex digits. */
bool smtp_xtext_valid(struct str s)
{
	for (size_t i = 0; i < s.len; i++) {
		int ch = (unsigned char)s.p[i];
		if (ch == '+') {
			if (s.len - i < 3 ||
			    !is_upper_hex((unsigned char)s.p[i + 1]) ||
			    !is_upper_hex((unsigned char)s.p[i + 2]))
				return false;
			i += 2;
		} else if (ch < 33 || ch > 126 || ch == '=') {
			return false;
		}
	}
	return true;
}

int smtp_xtext_encode(struct str s, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		int r = ch < 33 || ch > 126 || ch == '+' || ch == '=' ?
			buf_printf(out, "+%c%c", hex[ch >> 4], hex[ch & 15]) :
			buf_append_char(out, (char)ch);
		if (r < 0)
			return -1;
	}
	return 0;
}

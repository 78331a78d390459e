/* Arguments of STORE, STATUS, LIST/LSUB, SELECT/EXAMINE, APPEND, ID,
 * ENABLE and AUTHENTICATE (RFC 9051 6 and 9, with the extensions named at
 * each function). */
#include "imap/imap_parse_cmd.h"
#include "imap/imap_parse_private.h"

#include <stdlib.h>
#include <string.h>

static int fail(const char **error_r, const char *why)
{
	*error_r = why;
	return -1;
}

/* ---- STORE ---- */

/* store-modifiers = "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")" */
static int store_modifiers(const struct imap_arg *arg, struct imap_store *st)
{
	const struct imap_arg *m = arg->list;
	if (arg->list_count != 2 || !imap_arg_atom_is(&m[0], "UNCHANGEDSINCE") ||
	    imap_arg_get_number64(&m[1], &st->unchangedsince_modseq) < 0)
		return -1;
	st->unchangedsince = true;
	return 0;
}

/* ["+" / "-"] "FLAGS" [".SILENT"] */
static int store_att(const struct imap_arg *arg, struct imap_store *st)
{
	struct str a;
	if (!imap_arg_get_atom(arg, &a) || a.len == 0)
		return -1;
	st->mode = IMAP_STORE_REPLACE;
	if (a.p[0] == '+' || a.p[0] == '-') {
		st->mode = a.p[0] == '+' ? IMAP_STORE_ADD : IMAP_STORE_REMOVE;
		a = (struct str){ a.p + 1, a.len - 1 };
	}
	if (str_case_eq_cstr(a, "FLAGS.SILENT"))
		st->silent = true;
	else if (!str_case_eq_cstr(a, "FLAGS"))
		return -1;
	return 0;
}

int imap_parse_store(const struct imap_arg *args, struct imap_store **store_r,
		     const char **error_r)
{
	struct imap_store *st = calloc(1, sizeof *st);
	const struct imap_arg *a = args + 1;
	int ret = -1;

	if (st == NULL)
		return fail(error_r, "Out of memory");
	if (imap_arg_get_seqset(&args[0], true, &st->seqset, error_r) < 0)
		goto out;
	if (a->type == IMAP_ARG_LIST && store_modifiers(a++, st) < 0) {
		fail(error_r, "Invalid STORE modifier");
		goto out;
	}
	if (store_att(a++, st) < 0) {
		fail(error_r, "Invalid STORE item");
		goto out;
	}
	/* flag-list, or flag *(SP flag) (RFC 9051 9, "store-att-flags") */
	if (a->type == IMAP_ARG_LIST && a[1].type == IMAP_ARG_EOL)
		ret = imap_parse_flag_list(a, false, &st->flags, error_r);
	else if (a->type != IMAP_ARG_EOL)
		ret = imap_parse_flags(a, false, &st->flags, error_r);
	else
		fail(error_r, "Missing flags");
out:
	if (ret < 0)
		imap_store_free(&st);
	*store_r = st;
	return ret;
}

void imap_store_free(struct imap_store **store)
{
	if (*store == NULL)
		return;
	imap_seqset_free(&(*store)->seqset);
	imap_flags_free(&(*store)->flags);
	free(*store);
	*store = NULL;
}

/* ---- STATUS ---- */

int imap_parse_status_items(const struct imap_arg *arg, unsigned *items_r,
			    const char **error_r)
{
	static const struct { const char *name; unsigned bit; } items[] = {
		{ "MESSAGES", IMAP_STATUS_MESSAGES }, { "UIDNEXT", IMAP_STATUS_UIDNEXT },
		{ "UIDVALIDITY", IMAP_STATUS_UIDVALIDITY }, { "UNSEEN", IMAP_STATUS_UNSEEN },
		{ "DELETED", IMAP_STATUS_DELETED }, { "SIZE", IMAP_STATUS_SIZE },
		{ "RECENT", IMAP_STATUS_RECENT }, { "HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ },
		{ "APPENDLIMIT", IMAP_STATUS_APPENDLIMIT },
	};
	unsigned bits = 0;

	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0)
		return fail(error_r, "Status items expected");
	for (const struct imap_arg *a = arg->list; a->type != IMAP_ARG_EOL; a++) {
		size_t i = 0;
		while (i < sizeof items / sizeof items[0] && !imap_arg_atom_is(a, items[i].name))
			i++;
		if (i == sizeof items / sizeof items[0])
			return fail(error_r, "Unknown status item");
		bits |= items[i].bit;
	}
	*items_r = bits;
	return 0;
}

/* ---- LIST / LSUB ---- */

static int list_opts(const struct imap_arg *arg, const char *const *names, size_t n,
		     unsigned *bits_r)
{
	for (const struct imap_arg *a = arg->list; a->type != IMAP_ARG_EOL; a++) {
		size_t i = 0;
		while (i < n && !imap_arg_atom_is(a, names[i]))
			i++;
		if (i == n)
			return -1;
		*bits_r |= 1u << i;
	}
	return 0;
}

/* list-return-opts = "RETURN" SP "(" [opt *(SP opt)] ")", where STATUS
 * takes its item list (RFC 5819). */
static int list_return(const struct imap_arg *arg, struct imap_list *l, const char **error_r)
{
	static const char *const names[] = { "SUBSCRIBED", "CHILDREN", "SPECIAL-USE" };
	if (arg->type != IMAP_ARG_LIST)
		return fail(error_r, "Invalid LIST return options");
	for (const struct imap_arg *a = arg->list; a->type != IMAP_ARG_EOL; a++) {
		size_t i = 0;
		if (imap_arg_atom_is(a, "STATUS")) {
			if (imap_parse_status_items(++a, &l->status_items, error_r) < 0)
				return -1;
			l->ret |= IMAP_LIST_RET_STATUS;
			continue;
		}
		while (i < 3 && !imap_arg_atom_is(a, names[i]))
			i++;
		if (i == 3)
			return fail(error_r, "Unknown LIST return option");
		l->ret |= 1u << i;
	}
	return 0;
}

static int list_patterns(const struct imap_arg *a, struct imap_list *l)
{
	const struct imap_arg *p = a;
	size_t n = 1;
	if (a->type == IMAP_ARG_LIST) {
		l->extended = true;
		p = a->list;
		n = a->list_count;
	}
	if (n == 0 || n > IMAP_LIST_PATTERNS_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (imap_arg_get_list_mailbox(&p[i], &l->patterns[i]) < 0)
			return -1;
	l->pattern_count = n;
	return 0;
}

static int parse_list_args(const struct imap_arg *a, bool lsub, struct imap_list *l,
			   const char **error_r)
{
	static const char *const sel[] = { "SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE" };

	if (!lsub && a->type == IMAP_ARG_LIST) {
		l->extended = true;
		if (list_opts(a++, sel, 4, &l->select) < 0)
			return fail(error_r, "Unknown LIST selection option");
		/* RFC 5258 3: RECURSIVEMATCH needs another option to modify. */
		if (l->select == IMAP_LIST_SEL_RECURSIVEMATCH)
			return fail(error_r, "RECURSIVEMATCH alone");
	}
	if (!imap_arg_get_astring(a++, &l->reference))
		return fail(error_r, "Invalid reference");
	if (a->type == IMAP_ARG_EOL || (lsub && a->type == IMAP_ARG_LIST) ||
	    list_patterns(a++, l) < 0)
		return fail(error_r, "Invalid mailbox pattern");
	if (!lsub && imap_arg_atom_is(a, "RETURN")) {
		l->extended = true;
		if (list_return(++a, l, error_r) < 0)
			return -1;
		a++;
	}
	return a->type == IMAP_ARG_EOL ? 0 : fail(error_r, "Too many arguments");
}

int imap_parse_list(const struct imap_arg *args, bool lsub, struct imap_list **list_r,
		    const char **error_r)
{
	struct imap_list *l = calloc(1, sizeof *l);
	if (l == NULL)
		return fail(error_r, "Out of memory");
	if (parse_list_args(args, lsub, l, error_r) < 0) {
		imap_list_free(&l);
		return -1;
	}
	*list_r = l;
	return 0;
}

void imap_list_free(struct imap_list **list)
{
	free(*list);
	*list = NULL;
}

/* ---- SELECT / EXAMINE ---- */

static int known_set(const struct imap_arg *a, struct imap_seqset **set_r, const char **error_r)
{
	if (imap_arg_get_seqset(a, false, set_r, error_r) < 0)
		return -1;
	/* RFC 7162 3.2.5: "*" is not allowed in known UIDs or sequences. */
	for (size_t i = 0; i < (*set_r)->count; i++)
		if ((*set_r)->ranges[i].lo == IMAP_SEQ_STAR || (*set_r)->ranges[i].hi == IMAP_SEQ_STAR)
			return fail(error_r, "'*' not allowed here");
	return 0;
}

/* QRESYNC (uidvalidity modseq [known-uids] [(known-seqs known-uids)]) */
static int qresync(const struct imap_arg *arg, struct imap_select *s, const char **error_r)
{
	const struct imap_arg *q = arg->list;
	if (arg->type != IMAP_ARG_LIST || imap_arg_get_nz_number(&q[0], &s->uidvalidity) < 0 ||
	    imap_arg_get_modseq(&q[1], &s->modseq) < 0)
		return fail(error_r, "Invalid QRESYNC parameters");
	q += 2;
	if (q->type == IMAP_ARG_ATOM && known_set(q++, &s->known_uids, error_r) < 0)
		return -1;
	if (q->type == IMAP_ARG_LIST) {
		if (q->list_count != 2 || known_set(&q->list[0], &s->seq_match_seqs, error_r) < 0 ||
		    known_set(&q->list[1], &s->seq_match_uids, error_r) < 0)
			return fail(error_r, "Invalid QRESYNC sequence match data");
		q++;
	}
	s->qresync = true;
	return q->type == IMAP_ARG_EOL ? 0 : fail(error_r, "Invalid QRESYNC parameters");
}

static int select_params(const struct imap_arg *arg, struct imap_select *s, const char **error_r)
{
	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0)
		return fail(error_r, "Invalid SELECT parameters");
	for (const struct imap_arg *p = arg->list; p->type != IMAP_ARG_EOL; p++) {
		if (imap_arg_atom_is(p, "CONDSTORE") && !s->condstore) {
			s->condstore = true;
		} else if (imap_arg_atom_is(p, "QRESYNC") && !s->qresync) {
			if (qresync(++p, s, error_r) < 0)
				return -1;
		} else {
			return fail(error_r, "Unknown SELECT parameter");
		}
	}
	return 0;
}

int imap_parse_select(const struct imap_arg *args, struct imap_select **select_r,
		      const char **error_r)
{
	struct imap_select *s = calloc(1, sizeof *s);
	int ret = 0;
	if (s == NULL)
		return fail(error_r, "Out of memory");
	if (imap_arg_get_mailbox(&args[0], &s->mailbox) < 0)
		ret = fail(error_r, "Invalid mailbox name");
	else if (args[1].type != IMAP_ARG_EOL && select_params(&args[1], s, error_r) < 0)
		ret = -1;
	else if (args[1].type != IMAP_ARG_EOL && args[2].type != IMAP_ARG_EOL)
		ret = fail(error_r, "Too many arguments");
	if (ret < 0)
		imap_select_free(&s);
	*select_r = s;
	return ret;
}

void imap_select_free(struct imap_select **select)
{
	struct imap_select *s = *select;
	if (s == NULL)
		return;
	imap_seqset_free(&s->known_uids);
	imap_seqset_free(&s->seq_match_seqs);
	imap_seqset_free(&s->seq_match_uids);
	free(s);
	*select = NULL;
}

/* ---- APPEND ---- */

/* append-message = [SP flag-list] [SP date-time] SP append-data, one or
 * more of them (RFC 3502); append-data is a literal or literal8. */
static int append_msg(const struct imap_arg **pa, struct imap_append_msg *m,
		      const char **error_r)
{
	const struct imap_arg *a = *pa;
	if (a->type == IMAP_ARG_LIST && imap_parse_flag_list(a++, false, &m->flags, error_r) < 0)
		return -1;
	if (a->type == IMAP_ARG_STRING) {
		if (imap_arg_get_datetime(a++, &m->date) < 0)
			return fail(error_r, "Invalid date-time");
		m->has_date = true;
	}
	if (a->type != IMAP_ARG_LITERAL)
		return fail(error_r, "Message literal expected");
	/* RFC 3516 4.3: NUL only in literal8. */
	if (!a->literal8 && a->str.len > 0 && memchr(a->str.p, '\0', a->str.len) != NULL)
		return fail(error_r, "NUL in message literal");
	m->data = a->str;
	m->binary = a->literal8;
	*pa = a + 1;
	return 0;
}

int imap_parse_append(const struct imap_arg *args, struct imap_append **append_r,
		      const char **error_r)
{
	size_t n = 0;
	struct imap_append *ap;
	const struct imap_arg *a = args + 1;

	for (const struct imap_arg *p = args; p->type != IMAP_ARG_EOL; p++)
		n += p->type == IMAP_ARG_LITERAL;
	if (n == 0 || n > IMAP_APPEND_MESSAGES_MAX)
		return fail(error_r, n == 0 ? "Message literal expected" : "Too many messages");
	ap = calloc(1, sizeof *ap + n * sizeof ap->msgs[0]);
	if (ap == NULL)
		return fail(error_r, "Out of memory");
	if (imap_arg_get_mailbox(&args[0], &ap->mailbox) < 0) {
		imap_append_free(&ap);
		return fail(error_r, "Invalid mailbox name");
	}
	while (a->type != IMAP_ARG_EOL) {
		/* n literals bound the messages: each message takes one */
		int r = ap->msg_count == n ? fail(error_r, "Message literal expected") :
			append_msg(&a, &ap->msgs[ap->msg_count++], error_r);
		if (r < 0) {
			imap_append_free(&ap);
			return -1;
		}
	}
	if (ap->msg_count == 0) {
		imap_append_free(&ap);
		return fail(error_r, "Message literal expected");
	}
	*append_r = ap;
	return 0;
}

void imap_append_free(struct imap_append **append)
{
	struct imap_append *ap = *append;
	if (ap == NULL)
		return;
	for (size_t i = 0; i < ap->msg_count; i++)
		imap_flags_free(&ap->msgs[i].flags);
	free(ap);
	*append = NULL;
}

/* ---- ID, ENABLE, AUTHENTICATE ---- */

/* id-params-list = "(" *(string SP nstring) ")" / nil; RFC 2971 3.3
 * bounds: 30 pairs, fields of 30 octets, values of 1024. */
int imap_parse_id(const struct imap_arg *args, struct imap_id *id_r, const char **error_r)
{
	const struct imap_arg *p = args[0].list;
	id_r->count = 0;
	if (args[0].type == IMAP_ARG_NIL && args[1].type == IMAP_ARG_EOL)
		return 0;
	if (args[0].type != IMAP_ARG_LIST || args[1].type != IMAP_ARG_EOL ||
	    args[0].list_count % 2 != 0 || args[0].list_count / 2 > IMAP_ID_PAIRS_MAX)
		return fail(error_r, "Invalid ID parameters");
	for (size_t i = 0; i < args[0].list_count; i += 2) {
		size_t k = id_r->count;
		if (!imap_arg_get_string(&p[i], &id_r->pairs[k].field) ||
		    id_r->pairs[k].field.len > 30 ||
		    !imap_arg_get_nstring(&p[i + 1], &id_r->pairs[k].value) ||
		    id_r->pairs[k].value.len > 1024)
			return fail(error_r, "Invalid ID parameters");
		id_r->pairs[k].value_nil = p[i + 1].type == IMAP_ARG_NIL;
		id_r->count++;
	}
	return 0;
}

int imap_parse_enable(const struct imap_arg *args, struct imap_enable *enable_r,
		      const char **error_r)
{
	enable_r->count = 0;
	for (const struct imap_arg *a = args; a->type != IMAP_ARG_EOL; a++) {
		if (enable_r->count == IMAP_ENABLE_MAX)
			return fail(error_r, "Too many capabilities");
		if (a->type != IMAP_ARG_ATOM)
			return fail(error_r, "Invalid capability");
		enable_r->caps[enable_r->count++] = a->str;
	}
	return enable_r->count == 0 ? fail(error_r, "Missing capability") : 0;
}

static bool is_base64(struct str s)
{
	size_t pad = 0;
	if (s.len == 0 || s.len % 4 != 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		bool b = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '+' || c == '/';
		if (c == '=' && i + 2 >= s.len)
			pad++;
		else if (!b || pad > 0)
			return false;
	}
	return true;
}

/* authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]
 * initial-resp = (base64 / "=") (RFC 4959) */
int imap_parse_authenticate(const struct imap_arg *args, struct imap_authenticate *auth_r,
			    const char **error_r)
{
	*auth_r = (struct imap_authenticate){ { "", 0 }, false, { "", 0 } };
	if (args[0].type != IMAP_ARG_ATOM)
		return fail(error_r, "Invalid SASL mechanism");
	auth_r->mechanism = args[0].str;
	for (size_t i = 0; i < args[0].str.len; i++)
		if (!imap_is_atom_char((unsigned char)args[0].str.p[i]))
			return fail(error_r, "Invalid SASL mechanism");
	if (args[1].type == IMAP_ARG_EOL)
		return 0;
	if (args[1].type != IMAP_ARG_ATOM || args[2].type != IMAP_ARG_EOL)
		return fail(error_r, "Invalid initial response");
	auth_r->has_initial = true;
	if (args[1].str.len == 1 && args[1].str.p[0] == '=')
		return 0;
	if (!is_base64(args[1].str))
		return fail(error_r, "Invalid initial response");
	auth_r->initial = args[1].str;
	return 0;
}

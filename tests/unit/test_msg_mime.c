/* The MIME part tree: nesting, message/rfc822, RFC 2231, broken
 * boundaries, LF vs CRLF input, sections, and hostile structure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msg/imap_format.h"
#include "msg/mime.h"

static const char nested[] =
	"From: a@b.test\n"
	"Subject: nested\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\n"
	"\n"
	"preamble\n"
	"--outer\n"
	"Content-Type: multipart/alternative; boundary=inner\n"
	"\n"
	"--inner\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"\n"
	"Hello\n"
	"world\n"
	"--inner\n"
	"Content-Type: text/html; charset=utf-8\n"
	"\n"
	"<p>Hello</p>\n"
	"--inner--\n"
	"--outer\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: c@d.test\n"
	"Subject: inner\n"
	"Content-Type: multipart/mixed; boundary=x\n"
	"\n"
	"--x\n"
	"\n"
	"part one\n"
	"--x\n"
	"Content-Type: image/png\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"iVBORw0KGgo=\n"
	"--x--\n"
	"--outer--\n"
	"epilogue\n";

static char *to_crlf(const char *in, size_t n, size_t *len_r)
{
	char *out = malloc(n * 2 + 1);
	size_t k = 0;
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[k++] = '\r';
		out[k++] = in[i];
	}
	out[k] = '\0';
	*len_r = k;
	return out;
}

static struct msg_mime *parse(const char *msg, size_t len)
{
	struct msg_mime *m = NULL;
	const char *error = NULL;
	assert_int_equal(msg_mime_parse(msg, len, &m, &error), 0);
	assert_non_null(m);
	return m;
}

static char *bodystructure(const struct msg_mime *m)
{
	struct buf b;
	buf_init(&b, 1 << 26);
	assert_int_equal(msg_imap_write_body(&b, m->root, true, false), 0);
	return buf_steal(&b, NULL);
}

static void section(const struct msg_mime *m, const char *sec, const char *want)
{
	struct msg_section s;
	const char *error;
	if (want == NULL) {
		assert_int_equal(msg_mime_section(m, str_from(sec), &s, &error), -1);
		return;
	}
	assert_int_equal(msg_mime_section(m, str_from(sec), &s, &error), 0);
	if (s.size.octets != strlen(want) || memcmp(m->msg + s.offset, want, s.size.octets) != 0)
		fail_msg("section %s: got \"%.*s\"", sec, (int)s.size.octets, m->msg + s.offset);
}

static void test_nested_tree(void **state)
{
	struct msg_mime *m = parse(nested, sizeof nested - 1);
	const struct msg_part *r = m->root;
	assert_true(r->is_multipart);
	assert_int_equal(r->child_count, 2);
	const struct msg_part *alt = r->children, *rfc = alt->next;
	assert_int_equal(alt->child_count, 2);
	assert_true(str_case_eq_cstr(alt->children->subtype, "plain"));
	assert_int_equal(alt->children->body.octets, 11);
	assert_int_equal(alt->children->body.crlf_octets, 12);
	assert_int_equal(alt->children->body.lines, 1);
	assert_true(rfc->is_message_rfc822);
	assert_int_equal(rfc->child_count, 1);
	const struct msg_part *inner = rfc->children;
	assert_non_null(inner->envelope);
	assert_true(inner->is_multipart);
	assert_int_equal(inner->child_count, 2);
	assert_false(inner->children->type_explicit);
	assert_int_equal(inner->children->next->cte, MSG_CTE_BASE64);
	assert_int_equal(m->part_count, 8);

	section(m, "1.1", "Hello\nworld");
	section(m, "1.2", "<p>Hello</p>");
	section(m, "1.2.MIME", "Content-Type: text/html; charset=utf-8\n\n");
	section(m, "2.HEADER", "From: c@d.test\nSubject: inner\nContent-Type: multipart/mixed; boundary=x\n\n");
	section(m, "2.1", "part one");
	section(m, "2.2", "iVBORw0KGgo=");
	section(m, "2.2.MIME", "Content-Type: image/png\nContent-Transfer-Encoding: base64\n\n");
	section(m, "HEADER", "From: a@b.test\nSubject: nested\n"
		"Content-Type: multipart/mixed; boundary=\"outer\"\n\n");
	section(m, "", nested);
	section(m, "3", NULL);
	section(m, "1.1.1", NULL);
	section(m, "1.HEADER", NULL);   /* not a message/rfc822 */
	section(m, "MIME", NULL);
	section(m, "0", NULL);
	section(m, "1.", NULL);
	section(m, "1x", NULL);
	section(m, "99999999999", NULL);
	section(m, "2.TEXT", "--x\n\npart one\n--x\nContent-Type: image/png\n"
		"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--x--");

	struct msg_section s;
	const char *error;
	assert_int_equal(msg_mime_section(m, STR_LIT("2.HEADER.FIELDS (From To)"), &s, &error), 0);
	assert_int_equal(s.kind, MSG_SECTION_HEADER_FIELDS);
	assert_memory_equal(s.fields.p, "(From To)", 9);
	assert_int_equal(msg_mime_section(m, STR_LIT("header.fields.not (X)"), &s, &error), 0);
	assert_int_equal(s.kind, MSG_SECTION_HEADER_FIELDS_NOT);
	assert_ptr_equal(msg_mime_find_part(m, STR_LIT("2.2")), inner->children->next);
	assert_ptr_equal(msg_mime_find_part(m, STR_LIT("")), r);
	msg_mime_free(&m);
	assert_null(m);
}

static void test_crlf_same_as_lf(void **state)
{
	size_t n;
	char *crlf = to_crlf(nested, sizeof nested - 1, &n);
	struct msg_mime *a = parse(nested, sizeof nested - 1), *b = parse(crlf, n);
	char *sa = bodystructure(a), *sb = bodystructure(b);
	assert_string_equal(sa, sb);
	assert_int_equal(a->part_count, b->part_count);
	const char *error;
	const char *secs[] = { "", "TEXT", "HEADER", "1", "1.1", "2", "2.2.MIME", "2.TEXT" };
	for (size_t i = 0; i < sizeof secs / sizeof *secs; i++) {
		struct msg_section x, y;
		assert_int_equal(msg_mime_section(a, str_from(secs[i]), &x, &error), 0);
		assert_int_equal(msg_mime_section(b, str_from(secs[i]), &y, &error), 0);
		assert_int_equal(x.size.crlf_octets, y.size.crlf_octets);
		assert_int_equal(y.size.crlf_octets, y.size.octets);
		assert_int_equal(x.size.lines, y.size.lines);
	}
	free(sa);
	free(sb);
	free(crlf);
	msg_mime_free(&a);
	msg_mime_free(&b);
}

static void test_rfc2231(void **state)
{
	static const char msg[] =
		"Content-Type: application/x-stuff;\n"
		" title*0*=us-ascii'en'This%20is%20even%20more%20;\n"
		" title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n"
		" title*2=\"isn't it!\"\n"
		"Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.txt;\n"
		" size=12\n"
		"\n"
		"body";
	struct msg_mime *m = parse(msg, sizeof msg - 1);
	const struct msg_part *p = m->root;
	assert_int_equal(p->param_count, 1);
	assert_string_equal(p->params[0].name.p, "title*");
	assert_string_equal(p->params[0].value.p,
			    "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!");
	struct buf b;
	buf_init(&b, 1024);
	const struct msg_param *t = msg_param_find(p->params, p->param_count, "title");
	assert_non_null(t);
	assert_int_equal(msg_param_decode(t, &b), 0);
	assert_string_equal(b.data, "This is even more ***fun*** isn't it!");
	buf_reset(&b);
	const struct msg_param *f = msg_param_find(p->disp_params, p->disp_param_count, "filename");
	assert_non_null(f);
	assert_int_equal(msg_param_decode(f, &b), 0);
	assert_string_equal(b.data, "\xe2\x82\xac rates.txt");
	buf_reset(&b);
	/* A plain value with encoded words, as broken mailers send. */
	struct msg_param ew = { STR_LIT("name"), STR_LIT("=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=") };
	assert_int_equal(msg_param_decode(&ew, &b), 0);
	assert_string_equal(b.data, "r\xc3\xa9sum\xc3\xa9.pdf");
	buf_free(&b);
	msg_mime_free(&m);
}

static void test_missing_boundaries(void **state)
{
	/* The inner multipart never closes; the outer delimiter ends it. The
	 * outer never closes either: its last part runs to the end. */
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=o\n\n"
		"--o\n"
		"Content-Type: multipart/alternative; boundary=i\n\n"
		"--i\n\none\n"
		"--i\n\ntwo\n"
		"--o\n\nthree\n";
	struct msg_mime *m = parse(msg, sizeof msg - 1);
	assert_int_equal(m->root->child_count, 2);
	section(m, "1.1", "one");
	section(m, "1.2", "two");
	section(m, "2", "three\n");
	msg_mime_free(&m);

	/* The boundary never appears: no parts; BODYSTRUCTURE still valid. */
	static const char none[] = "Content-Type: multipart/mixed; boundary=zz\n\njust text\n";
	m = parse(none, sizeof none - 1);
	assert_int_equal(m->root->child_count, 0);
	char *bs = bodystructure(m);
	assert_string_equal(bs, "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
			    "NIL NIL NIL NIL) "
			    "\"mixed\" (\"boundary\" \"zz\") NIL NIL NIL)");
	free(bs);
	section(m, "1", NULL);
	msg_mime_free(&m);

	/* No boundary parameter: a leaf. A prefix of the boundary is not it. */
	static const char nob[] = "Content-Type: multipart/mixed\n\n--x\n\nbody\n";
	m = parse(nob, sizeof nob - 1);
	assert_false(m->root->is_multipart);
	msg_mime_free(&m);
	static const char pre[] = "Content-Type: multipart/mixed; boundary=ab\n\n"
				  "--ab\n\none\n--abc\n\nstill one\n--ab \t\n\ntwo\n--ab--";
	m = parse(pre, sizeof pre - 1);
	assert_int_equal(m->root->child_count, 2);
	section(m, "1", "one\n--abc\n\nstill one");
	section(m, "2", "two");
	msg_mime_free(&m);
}

static void test_single_part_sections(void **state)
{
	static const char msg[] = "Subject: x\n\nline1\nline2\n";
	struct msg_mime *m = parse(msg, sizeof msg - 1);
	section(m, "1", "line1\nline2\n");
	section(m, "TEXT", "line1\nline2\n");
	section(m, "1.MIME", "Subject: x\n\n");
	section(m, "2", NULL);
	section(m, "1.1", NULL);
	assert_int_equal(m->root->body.lines, 2);
	assert_int_equal(m->root->body.crlf_octets, 14);
	msg_mime_free(&m);
	/* Empty and header-only messages. */
	m = parse("", 0);
	assert_int_equal(m->root->body.octets, 0);
	section(m, "1", "");
	msg_mime_free(&m);
	m = parse("A: b", 4);
	assert_int_equal(m->root->header.octets, 4);
	msg_mime_free(&m);
}

static void test_digest_and_encoded_message(void **state)
{
	static const char msg[] =
		"Content-Type: multipart/digest; boundary=d\n\n"
		"--d\n\nSubject: one\n\nbody one\n"
		"--d\nContent-Type: text/plain\n\nnot a message\n"
		"--d\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==\n"
		"--d--\n";
	struct msg_mime *m = parse(msg, sizeof msg - 1);
	const struct msg_part *c = m->root->children;
	assert_true(c->is_message_rfc822);
	section(m, "1.HEADER", "Subject: one\n\n");
	assert_false(c->next->is_message_rfc822);
	assert_false(c->next->next->is_message_rfc822);   /* encoded: a leaf */
	char *bs = bodystructure(m);
	/* Still the message/rfc822 form, with an empty envelope and body,
	 * so that clients find what they expect there. */
	assert_non_null(strstr(bs, "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 16 "
				   "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
				   "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
				   "NIL NIL NIL NIL) 0 NIL NIL NIL NIL)"));
	free(bs);
	msg_mime_free(&m);
}

/* 10,000 nested multiparts: parsed to MSG_MIME_MAX_DEPTH, then leaves. */
static void test_deep_nesting(void **state)
{
	struct buf b;
	buf_init(&b, 1 << 24);
	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	buf_append_str(&b, "\nleaf\n");
	struct msg_mime *m = parse(b.data, b.len);
	const struct msg_part *p = m->root;
	unsigned depth = 0;
	while (p->children != NULL) {
		p = p->children;
		depth++;
	}
	assert_int_equal(depth, MSG_MIME_MAX_DEPTH);
	char *bs = bodystructure(m);
	assert_non_null(bs);
	free(bs);
	msg_mime_free(&m);

	/* message/rfc822 nesting likewise. */
	buf_reset(&b);
	for (int i = 0; i < 10000; i++)
		buf_append_str(&b, "Content-Type: message/rfc822\n\n");
	m = parse(b.data, b.len);
	bs = bodystructure(m);
	free(bs);
	struct buf env;
	buf_init(&env, 1 << 20);
	assert_int_equal(msg_imap_write_envelope(&env, m->root, false), 0);
	buf_free(&env);
	msg_mime_free(&m);
	buf_free(&b);
}

static void test_many_parts(void **state)
{
	struct buf b;
	buf_init(&b, 1 << 24);
	buf_append_str(&b, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (int i = 0; i < 20000; i++)
		buf_append_str(&b, "--p\n\nx\n");
	struct msg_mime *m = parse(b.data, b.len);
	assert_int_equal(m->part_count, MSG_MIME_MAX_PARTS);
	msg_mime_free(&m);
	buf_free(&b);
}

static void test_long_boundary_nul_huge_header(void **state)
{
	struct buf b;
	buf_init(&b, 1 << 24);
	char bd[201];
	memset(bd, 'q', 200);
	bd[200] = '\0';
	buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n\none\n--%s--\n",
		   bd, bd, bd);
	struct msg_mime *m = parse(b.data, b.len);
	assert_int_equal(m->root->child_count, 1);
	section(m, "1", "one");
	msg_mime_free(&m);

	static const char nul[] = "Subject: a\0b\nContent-Type: text/plain; name=\"x\0y\"\n\nbo\0dy";
	m = parse(nul, sizeof nul - 1);
	char *bs = bodystructure(m);
	assert_non_null(strstr(bs, "{3}\r\nx\x80y"));
	free(bs);
	msg_mime_free(&m);

	buf_reset(&b);
	buf_append_str(&b, "Content-Type: text/plain;");
	for (int i = 0; i < 100000; i++)
		buf_append_str(&b, " a=b;");
	buf_append_str(&b, "\n\nbody");
	m = parse(b.data, b.len);
	assert_int_equal(m->root->param_count, MSG_MIME_MAX_PARAMS);
	msg_mime_free(&m);
	buf_free(&b);
}

static void test_unbalanced_content_type(void **state)
{
	static const char *const values[] = {
		"text/plain; charset=\"utf-8", "text/plain (comment", "(((", "/", "text/",
		"multipart/mixed; boundary=", "multipart/mixed; boundary=\"\"",
		"text/plain; ;;; =; a; b=\"\\", "text/plain; title*0*=x; title*5=y; title*0=z",
		"text/plain; title*99999999999999=x; title*01=y",
	};
	for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
		struct buf b;
		buf_init(&b, 4096);
		buf_printf(&b, "Content-Type: %s\nContent-Disposition: %s\n"
			   "Content-Language: %s\n\nbody", values[i], values[i], values[i]);
		struct msg_mime *m = parse(b.data, b.len);
		char *bs = bodystructure(m);
		free(bs);
		msg_mime_free(&m);
		buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_tree),
		cmocka_unit_test(test_crlf_same_as_lf),
		cmocka_unit_test(test_rfc2231),
		cmocka_unit_test(test_missing_boundaries),
		cmocka_unit_test(test_single_part_sections),
		cmocka_unit_test(test_digest_and_encoded_message),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_many_parts),
		cmocka_unit_test(test_long_boundary_nul_huge_header),
		cmocka_unit_test(test_unbalanced_content_type),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The SMTP client session: the main paths as transcripts (see
 * test_smtp_client_common.h). */
#include "test_smtp_client_common.h"

#define ACCEPT "S:250 2.1.0 Ok\r\n"
#define BYE "S:221 2.0.0 Bye\r\n"

/* RFC 2920 3.1: MAIL, every RCPT and DATA in one write; each RCPT reply
 * decides its recipient (250 sent after the end of data, 450 deferred,
 * 550 bounced); the end of data decides the accepted ones. */
static void test_pipelined_rcpt_mix(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "alice@a.test", "bob@b.test,carol@b.test,dave@b.test", "Subject: hi\n\nHello\n");
	const char *script[] = {
		GREET, EHLO_FULL,
		"S:250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n450 4.2.0 <carol@b.test>: greylisted\r\n"
		"550 5.1.1 <dave@b.test>: Recipient address rejected\r\n354 go ahead\r\n",
		"S:250 2.0.0 Ok: queued as ABC\r\n", BYE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=19\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: RCPT TO:<carol@b.test>\n"
		   "C: RCPT TO:<dave@b.test>\n"
		   "C: DATA\n"
		   "E: rcpt carol@b.test defer rcpt 450 4.2.0 RCPT TO | 450 4.2.0 <carol@b.test>: greylisted\n"
		   "E: rcpt dave@b.test bounce rcpt 550 5.1.1 RCPT TO | 550 5.1.1 <dave@b.test>: Recipient address rejected\n"
		   "C: Subject: hi\n"
		   "C: \n"
		   "C: Hello\n"
		   "C: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 2.0.0 Ok: queued as ABC\n"
		   "E: msg 0 sent msg 250 2.0.0\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

/* Without PIPELINING, one command and then its reply; SIZE is sent when
 * offered, BODY=8BITMIME is not when not offered. */
static void test_one_at_a_time(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "", "bob@b.test,carol@b.test", "x\n")->eight_bit = true;
	const char *script[] = {
		GREET, EHLO_PLAIN, ACCEPT, "S:250 ok\r\n", "S:550 no\r\n", "S:354 go\r\n",
		"S:250 ok\r\n", BYE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<> SIZE=2\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: RCPT TO:<carol@b.test>\n"
		   "E: rcpt carol@b.test bounce rcpt 550 5.0.0 RCPT TO | 550 no\n"
		   "C: DATA\n"
		   "C: x\n"
		   "C: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: msg 0 sent msg 250 2.0.0\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

/* RFC 5321 3.2: a server that refuses EHLO gets HELO, and then no
 * extension at all. */
static void test_helo_fallback(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "alice@a.test", "bob@b.test", "x\n")->eight_bit = true;
	const char *script[] = {
		GREET, "S:502 5.5.2 Error: command not recognized\r\n", "S:250 mx.b.test\r\n",
		ACCEPT, ACCEPT, "S:354 go\r\n", "S:250 ok\r\n", BYE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: HELO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test>\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: DATA\n"
		   "C: x\n"
		   "C: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: msg 0 sent msg 250 2.0.0\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

/* RFC 2920 3.1: every recipient refused and DATA refused: no content;
 * the next message on the connection starts with RSET. */
static void test_all_refused_then_next(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "alice@a.test", "x@b.test", "one\n");
	add_msg(&f, "alice@a.test", "bob@b.test", "two\n");
	const char *script[] = {
		GREET, EHLO_FULL,
		"S:250 2.1.0 Ok\r\n550 5.1.1 no such user\r\n554 5.5.1 Error: no valid recipients\r\n",
		"S:250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n",
		"S:250 2.0.0 queued\r\n", BYE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=4\n"
		   "C: RCPT TO:<x@b.test>\n"
		   "C: DATA\n"
		   "E: rcpt x@b.test bounce rcpt 550 5.1.1 RCPT TO | 550 5.1.1 no such user\n"
		   "E: msg 0 bounce msg 554 5.5.1\n"
		   "C: RSET\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=4\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: DATA\n"
		   "C: two\n"
		   "C: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 2.0.0 queued\n"
		   "E: msg 1 sent msg 250 2.0.0\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

/* RFC 2920 3.1: a server that says 354 though it accepted nobody gets a
 * lone "." and no content. */
static void test_all_refused_but_354(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "alice@a.test", "x@b.test", "secret content\n");
	const char *script[] = {
		GREET, EHLO_FULL, "S:250 2.1.0 Ok\r\n550 5.1.1 no\r\n354 go\r\n",
		"S:250 2.0.0 empty\r\n", BYE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=15\n"
		   "C: RCPT TO:<x@b.test>\n"
		   "C: DATA\n"
		   "E: rcpt x@b.test bounce rcpt 550 5.1.1 RCPT TO | 550 5.1.1 no\n"
		   "E: msg 0 bounce msg 554 5.5.1\n"
		   "C: .\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

/* Without PIPELINING, no DATA at all when nobody was accepted. */
static void test_all_refused_one_at_a_time(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "alice@a.test", "x@b.test", "one\n");
	const char *script[] = {
		GREET, EHLO_PLAIN, ACCEPT, "S:550 5.1.1 no\r\n", BYE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=4\n"
		   "C: RCPT TO:<x@b.test>\n"
		   "E: rcpt x@b.test bounce rcpt 550 5.1.1 RCPT TO | 550 5.1.1 no\n"
		   "E: msg 0 bounce msg 554 5.5.1\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

/* A 4xx to MAIL defers every recipient (scope msg: next MX), RSET goes
 * before the next message on the same connection. */
static void test_mail_refused_then_next(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "alice@a.test", "bob@b.test,carol@b.test", "one\n");
	add_msg(&f, "alice@a.test", "bob@b.test", "two\n");
	const char *script[] = {
		GREET, EHLO_PLAIN, "S:451 4.3.0 try later\r\n", "S:250 ok\r\n", ACCEPT, ACCEPT,
		"S:354 go\r\n", "S:250 ok\r\n", BYE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=4\n"
		   "E: rcpt bob@b.test defer msg 451 4.3.0 MAIL FROM | 451 4.3.0 try later\n"
		   "E: rcpt carol@b.test defer msg 451 4.3.0 MAIL FROM | 451 4.3.0 try later\n"
		   "E: msg 0 defer msg 451 4.3.0\n"
		   "C: RSET\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=4\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: DATA\n"
		   "C: two\n"
		   "C: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: msg 1 sent msg 250 2.0.0\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

/* RFC 5321 3.8: a 421 ends the session; recipients without a fate are
 * deferred for the next MX; the one refused before keeps its 550. */
static void test_421_mid_session(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "alice@a.test", "bob@b.test,carol@b.test,dave@b.test", "x\n");
	const char *script[] = {
		GREET, EHLO_FULL,
		"S:250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no\r\n421 4.3.2 shutting down\r\n", NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=2\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: RCPT TO:<carol@b.test>\n"
		   "C: RCPT TO:<dave@b.test>\n"
		   "C: DATA\n"
		   "E: rcpt carol@b.test bounce rcpt 550 5.1.1 RCPT TO | 550 5.1.1 no\n"
		   "E: rcpt bob@b.test defer conn 421 4.3.2 | 421 4.3.2 shutting down\n"
		   "E: rcpt dave@b.test defer conn 421 4.3.2 | 421 4.3.2 shutting down\n"
		   "E: msg 0 defer conn 421 4.3.2\n"
		   "E: closed defer 421 4.3.2 | 421 4.3.2 shutting down\n");
	(void)state;
}

/* The end of data refused: 4xx defers, 5xx bounces the accepted ones. */
static void test_end_of_data_refused(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "alice@a.test", "bob@b.test", "x\n");
	add_msg(&f, "alice@a.test", "bob@b.test", "y\n");
	const char *script[] = {
		GREET, EHLO_FULL, "S:250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n",
		"S:552 5.3.4 too big\r\n", "S:250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n",
		"S:452 4.3.1 full\r\n", BYE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=2\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: DATA\n"
		   "C: x\n"
		   "C: .\n"
		   "E: rcpt bob@b.test bounce msg 552 5.3.4 end of data | 552 5.3.4 too big\n"
		   "E: msg 0 bounce msg 552 5.3.4\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=2\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: DATA\n"
		   "C: y\n"
		   "C: .\n"
		   "E: rcpt bob@b.test defer msg 452 4.3.1 end of data | 452 4.3.1 full\n"
		   "E: msg 1 defer msg 452 4.3.1\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

/* RFC 6531 3.4: a message that needs SMTPUTF8 fails with 5.6.7 without a
 * word to a server that lacks it; the next message still goes. */
static void test_smtputf8_not_offered(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "alice@a.test", "j\xc3\xb6rg@b.test", "x\n");
	add_msg(&f, "alice@a.test", "bob@b.test", "y\n")->smtputf8 = true;
	add_msg(&f, "alice@a.test", "bob@b.test", "z\n");
	const char *script[] = {
		GREET, EHLO_PLAIN, ACCEPT, ACCEPT, "S:354 go\r\n", "S:250 ok\r\n", BYE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "E: rcpt j\xc3\xb6rg@b.test bounce msg 554 5.6.7 | SMTPUTF8 is required, but was not offered by the host\n"
		   "E: msg 0 bounce msg 554 5.6.7\n"
		   "E: rcpt bob@b.test bounce msg 554 5.6.7 | SMTPUTF8 is required, but was not offered by the host\n"
		   "E: msg 1 bounce msg 554 5.6.7\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=2\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: DATA\n"
		   "C: z\n"
		   "C: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: msg 2 sent msg 250 2.0.0\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

/* RFC 1870 6: over the server's SIZE, 5.3.4 without sending; with
 * SMTPUTF8 and 8BITMIME offered, their parameters go on MAIL. */
static void test_size_and_params(void **state)
{
	struct fixture f;
	fixture_init(&f);
	add_msg(&f, "alice@a.test", "bob@b.test", "x\n")->size = 10001;
	struct smtp_client_msg *m = add_msg(&f, "al\xc3\xaf" "ce@a.test", "bob@b.test", "y\n");
	m->eight_bit = true;
	const char *script[] = {
		GREET, EHLO_FULL, "S:250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n", "S:250 ok\r\n",
		BYE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "E: rcpt bob@b.test bounce msg 552 5.3.4 | message size 10001 exceeds size limit 10000 of the host\n"
		   "E: msg 0 bounce msg 552 5.3.4\n"
		   "C: MAIL FROM:<al\xc3\xaf" "ce@a.test> SIZE=2 BODY=8BITMIME SMTPUTF8\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: DATA\n"
		   "C: y\n"
		   "C: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: msg 1 sent msg 250 2.0.0\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

static void dsn_msg(struct fixture *f)
{
	struct smtp_client_msg *m = add_msg(f, "alice@a.test", "bob@b.test,carol@b.test", "x\n");
	m->ret = SMTP_RET_HDRS;
	m->envid = "QQ+2B1";
	f->rcpts[f->nmsgs - 1][0].notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE;
	f->rcpts[f->nmsgs - 1][0].orcpt = "rfc822;bob@b.test";
	f->rcpts[f->nmsgs - 1][1].notify = SMTP_NOTIFY_NEVER;
}

/* RFC 3461 4: RET, ENVID, NOTIFY and ORCPT only to a server with DSN. */
static void test_dsn_params(void **state)
{
	struct fixture f;
	fixture_init(&f);
	dsn_msg(&f);
	const char *with[] = {
		GREET, EHLO_FULL, "S:250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n",
		"S:250 ok\r\n", BYE, NULL,
	};
	transcript(&f, with,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=2 RET=HDRS ENVID=QQ+2B1\n"
		   "C: RCPT TO:<bob@b.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@b.test\n"
		   "C: RCPT TO:<carol@b.test> NOTIFY=NEVER\n"
		   "C: DATA\n"
		   "C: x\n"
		   "C: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: rcpt carol@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: msg 0 sent msg 250 2.0.0\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	fixture_init(&f);
	dsn_msg(&f);
	const char *without[] = {
		GREET, "S:250-mx.b.test\r\n250 PIPELINING\r\n",
		"S:250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n", "S:250 ok\r\n",
		BYE, NULL,
	};
	transcript(&f, without,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test>\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: RCPT TO:<carol@b.test>\n"
		   "C: DATA\n"
		   "C: x\n"
		   "C: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: rcpt carol@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: msg 0 sent msg 250 2.0.0\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n");
	(void)state;
}

/* Malformed messages are the caller's bug: refused, no hook called. */
static void test_send_refuses_malformed(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.hold = true;
	f.c = smtp_client_new(&f.set, &hooks, &f, "t1", false);
	buf_init(&f.log, 1 << 16);
	struct smtp_client_msg *m = add_msg(&f, "alice@a.test", "bob@b.test", "x\n");
	smtp_client_input(f.c, "220 hi\r\n250 ok\r\n", 16);
	buf_reset(smtp_client_output(f.c));
	f.rcpts[0][0].address = "bob@b.test>\r\nRCPT TO:<evil@x.test";
	assert_int_equal(smtp_client_send(f.c, m), -1);
	f.rcpts[0][0].address = "bob@b.test";
	m->envid = "a b";
	assert_int_equal(smtp_client_send(f.c, m), -1);
	m->envid = NULL;
	f.rcpts[0][0].notify = SMTP_NOTIFY_NEVER | SMTP_NOTIFY_DELAY;
	assert_int_equal(smtp_client_send(f.c, m), -1);
	f.rcpts[0][0].notify = 0;
	m->rcpt_count = 0;
	assert_int_equal(smtp_client_send(f.c, m), -1);
	assert_int_equal(smtp_client_output(f.c)->len, 0);
	assert_int_equal(f.log.len, 0);
	m->rcpt_count = 1;
	assert_int_equal(smtp_client_send(f.c, m), 0);
	assert_int_equal(smtp_client_send(f.c, m), -1);   /* not idle any more */
	smtp_client_free(&f.c);
	buf_free(&f.log);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_rcpt_mix),
		cmocka_unit_test(test_one_at_a_time),
		cmocka_unit_test(test_helo_fallback),
		cmocka_unit_test(test_all_refused_then_next),
		cmocka_unit_test(test_all_refused_but_354),
		cmocka_unit_test(test_all_refused_one_at_a_time),
		cmocka_unit_test(test_mail_refused_then_next),
		cmocka_unit_test(test_421_mid_session),
		cmocka_unit_test(test_end_of_data_refused),
		cmocka_unit_test(test_smtputf8_not_offered),
		cmocka_unit_test(test_size_and_params),
		cmocka_unit_test(test_dsn_params),
		cmocka_unit_test(test_send_refuses_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

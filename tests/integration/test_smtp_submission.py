"""Message submission (RFC 6409) on [listen] submission (STARTTLS, RFC
3207) and submissions (implicit TLS, RFC 8314), with AUTH PLAIN and LOGIN
(RFC 4954), driven by python's smtplib, swaks and curl, and byte by byte
where the replies matter. See docs/submission.md."""

import base64
import os
import re
import smtplib
import subprocess
import time
import unittest

import pbtest
import test_auth_penalty

PW = pbtest.PASSWORD
ALICE = "alice@a.test"
BOB = "bob@a.test"


def tls_context():
    """The test certificate is trusted; smtplib checks it against the
    host it connected to (127.0.0.1), not mx.a.test, so only the name
    check is off."""
    ctx = pbtest.client_tls_context()
    ctx.check_hostname = False
    return ctx


def plain(user, pw):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()


class SubmissionCase(unittest.TestCase):
    # The penalty tests' small delays, so that failures cost little time.
    limits = test_auth_penalty.PenaltyCase.limits

    def setUp(self):
        # The clients are on loopback, which AUTH without TLS is allowed
        # from by default ([server] plaintext_auth_loopback): not here.
        self.srv = pbtest.Server(users=[ALICE, BOB], aliases={"sales@a.test": [ALICE]},
                                 services=["submission", "submissions"], limits=self.limits,
                                 server={"plaintext_auth_loopback": "no"})
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)
        self.port = self.srv.ports["submission"]
        self.sport = self.srv.ports["submissions"]

    def client(self, implicit=False):
        """A raw client on 587 after STARTTLS and EHLO, or on 465."""
        if implicit:
            c = pbtest.Client(self.sport, read_greeting=False)
            c.handshake()
            c.greeting = c.reply()
        else:
            c = pbtest.Client(self.port)
            c.ehlo()
            c.starttls()
        self.addCleanup(c.close)
        c.ehlo()
        return c

    def login(self, implicit=False):
        c = self.client(implicit)
        c.expect("AUTH PLAIN " + plain(ALICE, PW), 235, "2.7.0")
        return c

    def delivered(self, address=BOB, count=1):
        msgs = self.srv.maildir_messages(address)
        self.assertEqual(len(msgs), count, msgs)
        return msgs[-1][1]


class TestSubmissionClients(SubmissionCase):
    def test_smtplib_starttls_587(self):
        """RFC 3207 and RFC 4954 4: on 587 EHLO offers AUTH only after
        STARTTLS; smtplib logs in and submits. RFC 6409 8.2 and 8.3: the
        missing Date: and Message-ID: are added (the latter with the
        [server] hostname); RFC 3848 2: Received: says ESMTPSA."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=pbtest.IO_TIMEOUT) as s:
            s.ehlo("client.test")
            self.assertTrue(s.has_extn("starttls"))
            self.assertFalse(s.has_extn("auth"))
            s.starttls(context=tls_context())
            s.ehlo("client.test")
            self.assertEqual(s.esmtp_features["auth"].split(), ["PLAIN", "LOGIN"])
            code, _ = s.login(ALICE, PW)
            self.assertEqual(code, 235)
            s.sendmail(ALICE, [BOB], b"From: Alice <alice@a.test>\r\nTo: bob@a.test\r\n"
                                     b"Subject: no date\r\n\r\nhello\r\n")
        m = self.delivered()
        self.assertRegex(m, rb"\nDate: [A-Z][a-z][a-z], [0-9]+ [A-Z][a-z][a-z] 20[0-9][0-9] ")
        self.assertRegex(m, rb"\nMessage-ID: <[0-9A-Za-z]+@mx\.a\.test>\n")
        self.assertIn(b"(Authenticated sender: alice@a.test)\n", m)
        self.assertRegex(m, rb"with ESMTPSA id ")
        self.assertTrue(m.endswith(b"\nSubject: no date\n\nhello\n"), m)

    def test_smtplib_ssl_465(self):
        """RFC 8314 3.3: on 465 TLS starts at once; AUTH LOGIN is offered
        and works; the client's own Date: and Message-ID: are kept, none
        added (RFC 6409 8.2, 8.3 add only what is missing)."""
        with smtplib.SMTP_SSL("127.0.0.1", self.sport, timeout=pbtest.IO_TIMEOUT,
                              context=tls_context()) as s:
            s.ehlo("client.test")
            self.assertFalse(s.has_extn("starttls"))
            s.user, s.password = ALICE, PW
            code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
            self.assertEqual(code, 235)
            s.sendmail(ALICE, [BOB], b"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
                                     b"Message-ID: <mine@client.test>\r\nFrom: alice@a.test\r\n"
                                     b"Subject: own\r\n\r\nhi\r\n")
        m = self.delivered()
        self.assertEqual(m.count(b"\nDate: "), 1)
        self.assertIn(b"\nDate: Tue, 1 Dec 2026 10:00:00 +0000\n", m)
        self.assertEqual(m.count(b"Message-ID:"), 1)
        self.assertIn(b"\nMessage-ID: <mine@client.test>\n", m)

    def run_tool(self, args):
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace"))
        return p.stdout.decode(errors="replace")

    def test_swaks(self):
        """swaks with STARTTLS (--tls, RFC 3207) and AUTH PLAIN, then with
        implicit TLS (--tlsc, RFC 8314) and AUTH LOGIN (RFC 4954)."""
        common = ["swaks", "--from", ALICE, "--to", BOB, "--auth-user", ALICE,
                  "--auth-password", PW, "--helo", "client.test",
                  "--header", "From: alice@a.test"]
        out = self.run_tool(common + ["--server", "127.0.0.1:%d" % self.port, "--tls",
                                      "--auth", "PLAIN", "--header", "Subject: swaks 587"])
        self.assertIn("235 2.7.0", out)
        out = self.run_tool(common + ["--server", "127.0.0.1:%d" % self.sport, "--tlsc",
                                      "--auth", "LOGIN", "--header", "Subject: swaks 465"])
        self.assertIn("235 2.7.0", out)
        msgs = [m for _, m in self.srv.maildir_messages(BOB)]
        self.assertEqual(len(msgs), 2)
        self.assertIn(b"Subject: swaks 587", msgs[0])
        self.assertIn(b"Subject: swaks 465", msgs[1])

    def test_curl(self):
        """curl on smtp:// with --ssl-reqd (STARTTLS, RFC 3207) and on
        smtps:// (RFC 8314), verifying the certificate, with --user."""
        cert, _ = pbtest.cert_files()
        body = os.path.join(self.srv.tmp, "curl.eml")
        with open(body, "wb") as f:
            f.write(b"From: alice@a.test\r\nTo: bob@a.test\r\nSubject: curl\r\n\r\nhi\r\n")
        for url, port in (("smtp://%s:%d" % (pbtest.HOSTNAME, self.port), self.port),
                          ("smtps://%s:%d" % (pbtest.HOSTNAME, self.sport), self.sport)):
            args = ["curl", "-sS", "--max-time", "60", url, "--resolve",
                    "%s:%d:127.0.0.1" % (pbtest.HOSTNAME, port), "--cacert", cert,
                    "--user", "%s:%s" % (ALICE, PW), "--mail-from", ALICE,
                    "--mail-rcpt", BOB, "--upload-file", body]
            if url.startswith("smtp://"):
                args.append("--ssl-reqd")
            self.run_tool(args)
        self.assertEqual(len(self.srv.maildir_messages(BOB)), 2)


class TestSubmissionRules(SubmissionCase):
    def test_auth_before_starttls_refused(self):
        """RFC 4954 4 and RFC 8314 3: before TLS, EHLO does not offer AUTH
        and AUTH and MAIL get 530 5.7.0; nothing is delivered."""
        c = pbtest.Client(self.port)
        self.addCleanup(c.close)
        r = c.ehlo()
        self.assertIn("STARTTLS", r.lines)
        self.assertFalse([l for l in r.lines if l.startswith("AUTH")])
        c.expect("AUTH PLAIN " + plain(ALICE, PW), 530, "5.7.0")
        c.expect("MAIL FROM:<%s>" % ALICE, 530, "5.7.0")

    def test_mail_before_auth_refused(self):
        """RFC 6409 4.3, RFC 4954 6: under TLS but without AUTH, MAIL is
        530 5.7.0 Authentication required, on both ports."""
        for implicit in (False, True):
            c = self.client(implicit)
            r = c.expect("MAIL FROM:<%s>" % ALICE, 530, "5.7.0")
            self.assertIn("Authentication required", r.text)

    def test_auth_errors(self):
        """RFC 4954 4: "*" cancels with 501, undecodable base64 is 501
        5.5.2, a second AUTH after success 503 5.5.1."""
        c = self.client()
        c.expect("AUTH PLAIN", 334)
        c.expect("*", 501)
        c.expect("AUTH LOGIN", 334)
        c.expect("%%%", 501, "5.5.2")
        c.expect("AUTH PLAIN " + plain(ALICE, PW), 235, "2.7.0")
        c.expect("AUTH PLAIN " + plain(ALICE, PW), 503, "5.5.1")

    def test_wrong_password_penalty(self):
        """RFC 4954 6: wrong credentials are 535 5.7.8, under the penalties
        of IMAP and POP3 (test_auth_penalty.py): each answer waits longer
        than the one before, the third failure closes the connection
        (421), and each is the same log line with service=submission that
        the README's fail2ban filter matches."""
        c = self.client()
        took = []
        for i in range(3):
            t0 = time.monotonic()
            r = c.cmd("AUTH PLAIN " + plain(ALICE, "wrong-%d" % i))
            took.append(time.monotonic() - t0)
            self.assertEqual((r.code, r.enhanced()), (535, "5.7.8"), r.raw)
        self.assertGreater(took[1], took[0])
        self.assertGreater(took[2], took[1])
        self.assertEqual(c.reply().code, 421)
        c.wait_closed()
        log = self.srv.log_text()
        line = "auth failed: service=submission ip=127.0.0.1 user=<alice@a.test> reason=bad-password"
        self.assertEqual(log.count(line), 3)
        with open(os.path.join(test_auth_penalty.HERE, "..", "..", "README.md")) as f:
            rx = re.search(r"^failregex = (.*)$", f.read(), re.M).group(1)
        rx = re.compile(rx.replace("<HOST>", r"(?P<host>\S+)"))
        hits = [rx.search(l) for l in log.splitlines() if line in l]
        self.assertEqual([h.group("host") for h in hits if h], ["127.0.0.1"] * 3)
        # The right password still works from elsewhere.
        d = self.login()
        d.expect("MAIL FROM:<%s>" % ALICE, 250)

    def test_sender_mismatch(self):
        """RFC 6409 3.3 (authorized submission), by Postfix's
        reject_sender_login_mismatch: MAIL FROM another user's address or
        <> is 553 5.7.1; an alias of the user (postbox alias) is accepted.
        A From: the user does not own is refused after DATA with 550
        5.7.1; an alias in From: is delivered."""
        c = self.login()
        r = c.expect("MAIL FROM:<%s>" % BOB, 553, "5.7.1")
        self.assertIn("not owned by user alice@a.test", r.text)
        c.expect("MAIL FROM:<>", 553, "5.7.1")
        c.expect("MAIL FROM:<mallory@b.test>", 553, "5.7.1")
        r = c.send_message("sales@a.test", [BOB], b"From: Bob <bob@a.test>\r\n\r\nspoof\r\n",
                           ehlo=False)
        self.assertEqual((r.code, r.enhanced()), (550, "5.7.1"), r.raw)
        self.assertEqual(self.srv.maildir_messages(BOB), [])
        r = c.send_message("sales@a.test", [BOB],
                           b"From: Sales <sales@a.test>\r\nSubject: alias\r\n\r\nok\r\n",
                           ehlo=False)
        self.assertEqual(r.code, 250, r.raw)
        self.assertIn(b"Return-Path: <sales@a.test>\n", self.delivered())

    def test_remote_recipient_queued(self):
        """RFC 6409 3.1: a recipient elsewhere is relayed for the logged-in
        user: accepted, and after the final dot the message is in the
        outbound queue (with a local recipient delivered at once)."""
        c = self.login()
        c.expect("MAIL FROM:<%s>" % ALICE, 250)
        c.expect("RCPT TO:<carol@elsewhere.test>", 250)
        c.expect("RCPT TO:<%s>" % BOB, 250)
        c.expect("DATA", 354)
        c.send(b"From: alice@a.test\r\nSubject: relayed\r\n\r\nhi\r\n.\r\n")
        self.assertEqual(c.reply().code, 250)
        self.assertEqual(len(self.srv.maildir_messages(BOB)), 1)
        listing = self.srv.cli("queue", "list").stdout.decode()
        self.assertIn("carol@elsewhere.test", listing)
        self.assertNotIn(BOB, listing)

    def test_thirty_pipelined_messages(self):
        """RFC 2920 3.1: 30 whole transactions sent in one go, every reply
        read afterwards, in order; all 30 delivered (the client's "send
        everything in the outbox at once")."""
        c = self.login(implicit=True)
        batch = b""
        for i in range(30):
            batch += (b"MAIL FROM:<alice@a.test>\r\nRCPT TO:<bob@a.test>\r\nDATA\r\n"
                      b"From: alice@a.test\r\nSubject: n%d\r\n\r\nbody %d\r\n.\r\n" % (i, i))
        c.send(batch)
        codes = [r.code for r in c.replies(30 * 4)]
        self.assertEqual(codes, [250, 250, 354, 250] * 30)
        msgs = [m for _, m in self.srv.maildir_messages(BOB)]
        self.assertEqual(len(msgs), 30)
        self.assertEqual(sorted(re.search(rb"Subject: n([0-9]+)", m).group(1) for m in msgs),
                         sorted(b"%d" % i for i in range(30)))

    def test_mx_port_unchanged(self):
        """The role decides: the AUTH that 587 takes, the MX role (port
        25) neither offers nor takes (503 5.5.1, even under TLS), and it
        still refuses relaying (554 5.7.1): RFC 6409 3.1 keeps relay on
        25 apart from submission."""
        self.login().expect("RCPT TO:<carol@elsewhere.test>", 503, "5.5.1")
        c = self.srv.client()
        self.addCleanup(c.close)
        c.ehlo()
        c.starttls()
        r = c.ehlo()
        self.assertFalse([l for l in r.lines if l.startswith("AUTH")])
        c.expect("AUTH PLAIN " + plain(ALICE, PW), 503, "5.5.1")
        c.expect("MAIL FROM:<%s>" % ALICE, 250)
        c.expect("RCPT TO:<carol@elsewhere.test>", 554, "5.7.1")


if __name__ == "__main__":
    unittest.main()

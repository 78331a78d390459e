"""SMTP MX service (port 25 role): greeting, EHLO, the simple commands,
delivery into Maildir with smtplib, trace fields, durability, pipelining."""

import os
import re
import smtplib
import socket
import stat
import struct
import threading
import time
import unittest

import pbtest
from pbtest import HOSTNAME, split_trace, to_lf


MSG = (b"From: Sender <x@y.test>\r\n"
       b"To: v@a.test\r\n"
       b"Subject: hello\r\n"
       b"Message-ID: <1@y.test>\r\n"
       b"\r\n"
       b"line one\r\n"
       b"\r\n"
       b"  indented line with trailing space \r\n"
       b"\xc3\xa9 8-bit UTF-8 text\r\n"
       b"last line\r\n")


class TestGreetingAndEhlo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def test_greeting(self):
        """RFC 5321 4.2/4.3.1: the greeting is 220 and names the host."""
        with self.srv.client() as c:
            self.assertEqual(c.greeting.code, 220)
            self.assertTrue(c.greeting.lines[0].startswith(HOSTNAME + " "), c.greeting.raw)
            self.assertIn("ESMTP", c.greeting.lines[0])

    def test_ehlo_keywords(self):
        """RFC 5321 4.1.1.1 EHLO reply: PIPELINING (RFC 2920), SIZE n with the
        configured limit (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531),
        ENHANCEDSTATUSCODES (RFC 2034), STARTTLS (RFC 3207), CHUNKING (RFC 3030)."""
        with self.srv.client() as c:
            r = c.ehlo()
            self.assertEqual(r.lines[0].split()[0], HOSTNAME)
            kw = {l.split()[0].upper(): l.split()[1:] for l in r.lines[1:]}
            for k in ("PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                      "STARTTLS", "CHUNKING", "SIZE"):
                self.assertIn(k, kw, r.raw)
            self.assertEqual(kw["SIZE"], ["1000000"], r.raw)
            self.assertNotIn("AUTH", kw, "the MX role offers no AUTH: %r" % r.raw)

    def test_no_starttls_without_tls_config(self):
        """RFC 3207 2: STARTTLS is only advertised when the server can do it."""
        with pbtest.Server(tls=False) as srv, srv.client() as c:
            r = c.ehlo()
            self.assertNotIn("STARTTLS", r.text)
            r = c.cmd("STARTTLS")
            self.assertIn(r.code, (454, 502), r.raw)
            self.assertEqual(c.cmd("NOOP").code, 250)

    def test_every_reply_has_enhanced_code(self):
        """RFC 2034 3: after EHLO every 2xx/4xx/5xx reply except the greeting
        and the EHLO reply carries an RFC 3463 enhanced status code."""
        cmds = [
            "NOOP", "RSET", "VRFY v@a.test", "VRFY", "HELP", "EXPN v@a.test",
            "BOGUS", "RCPT TO:<v@a.test>", "DATA",
            "MAIL FROM:<x@y.test>", "MAIL FROM:<x@y.test>",
            "RCPT TO:<nobody@a.test>", "RCPT TO:<v@c.test>", "RCPT TO:<v@[127.0.0.1]>",
            "RCPT TO:<bad address>", "RCPT TO:<v@a.test> FOO=BAR",
            "RCPT TO:<v@a.test>", "RSET",
            "MAIL FROM:<x@y.test> SIZE=99999999", "MAIL FROM:<x@y.test> BODY=9BIT",
            "MAIL FROM:<x@y.test> FOO=BAR", "MAIL FROM:<bad", "AUTH PLAIN AGVhAGI=",
            "X" * 600, "QUIT",
        ]
        with self.srv.client() as c:
            c.ehlo()
            for line in cmds:
                r = c.cmd(line)
                if r.code == 354:
                    continue
                for l in r.lines:
                    self.assertRegex(l, pbtest.ENHANCED,
                                     "reply to %r lacks an enhanced code: %r" % (line[:40], r.raw))
                self.assertEqual(r.enhanced()[0], str(r.code)[0],
                                 "class of enhanced code differs: %r" % r.raw)


class TestSimpleCommands(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def test_helo(self):
        """RFC 5321 4.1.1.1: HELO gets a single 250 line naming the server,
        and a transaction can follow."""
        with self.srv.client() as c:
            r = c.cmd("HELO client.test")
            self.assertEqual(r.code, 250)
            self.assertEqual(len(r.lines), 1)
            self.assertTrue(r.lines[0].startswith(HOSTNAME), r.raw)
            self.assertEqual(c.cmd("MAIL FROM:<x@y.test>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<v@a.test>").code, 250)

    def test_mail_before_helo(self):
        """RFC 5321 4.1.4: MAIL before EHLO/HELO is a bad sequence (503)."""
        with self.srv.client() as c:
            r = c.cmd("MAIL FROM:<x@y.test>")
            self.assertEqual(r.code, 503, r.raw)
            self.assertEqual(r.enhanced(), "5.5.1")

    def test_rset(self):
        """RFC 5321 4.1.1.5: RSET aborts the transaction; RCPT then needs MAIL."""
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            r = c.expect("RSET", 250)
            self.assertEqual(r.enhanced(), "2.0.0")
            r = c.cmd("RCPT TO:<v@a.test>")
            self.assertEqual(r.code, 503, r.raw)
            r = c.cmd("DATA")
            self.assertEqual(r.code, 503, r.raw)
            c.expect("MAIL FROM:<x@y.test>", 250)

    def test_noop(self):
        """RFC 5321 4.1.1.9: NOOP gets 250 in any state, with or without an argument."""
        with self.srv.client() as c:
            self.assertEqual(c.cmd("NOOP").code, 250)
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            self.assertEqual(c.cmd("NOOP whatever").code, 250)
            c.expect("RCPT TO:<v@a.test>", 250)  # transaction intact

    def test_vrfy_252(self):
        """RFC 5321 3.5.3: VRFY answers 252 without telling whether a user exists."""
        with self.srv.client() as c:
            c.ehlo()
            a = c.cmd("VRFY v@a.test")
            b = c.cmd("VRFY nobody@a.test")
            self.assertEqual(a.code, 252, a.raw)
            self.assertEqual(a.raw, b.raw, "VRFY reveals which users exist")
            self.assertEqual(a.enhanced(), "2.5.2")

    def test_expn_502(self):
        """RFC 5321 3.5.2/7.3: EXPN is not offered (502), lists are not revealed."""
        with self.srv.client() as c:
            c.ehlo()
            r = c.cmd("EXPN v@a.test")
            self.assertEqual(r.code, 502, r.raw)
            self.assertEqual(r.enhanced(), "5.5.1")

    def test_help_214(self):
        """RFC 5321 4.1.1.8: HELP answers 214."""
        with self.srv.client() as c:
            c.ehlo()
            r = c.cmd("HELP")
            self.assertEqual(r.code, 214, r.raw)
            r = c.cmd("HELP MAIL")
            self.assertEqual(r.code, 214, r.raw)

    def test_quit_221_and_close(self):
        """RFC 5321 4.1.1.10: QUIT gets 221 and the server closes."""
        with self.srv.client() as c:
            c.ehlo()
            r = c.cmd("QUIT")
            self.assertEqual(r.code, 221, r.raw)
            self.assertEqual(r.enhanced(), "2.0.0")
            self.assertEqual(c.wait_closed(5), b"")

    def test_ehlo_helo_need_a_name(self):
        """RFC 5321 4.1.1.1: EHLO/HELO without a domain get 501; an address
        literal is a valid EHLO argument."""
        with self.srv.client() as c:
            for line in ("EHLO", "HELO"):
                r = c.cmd(line)
                self.assertEqual(r.code, 501, r.raw)
            self.assertEqual(c.cmd("EHLO [127.0.0.1]").code, 250)
            self.assertEqual(c.cmd("EHLO [IPv6:::1]").code, 250)
            self.assertEqual(c.cmd("MAIL FROM:<x@y.test>").code, 250)

    def test_ehlo_resets_transaction(self):
        """RFC 5321 4.1.4: a second EHLO ends the transaction in progress."""
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.ehlo()
            r = c.cmd("DATA")
            self.assertEqual(r.code, 503, r.raw)

    def test_unknown_command_500(self):
        """RFC 5321 4.2.4: an unrecognised command gets 500 5.5.2 and the
        session goes on."""
        with self.srv.client() as c:
            c.ehlo()
            r = c.cmd("FROBNICATE now")
            self.assertEqual(r.code, 500, r.raw)
            self.assertEqual(c.cmd("NOOP").code, 250)

    def test_verbs_case_insensitive(self):
        """RFC 5321 2.4: verbs and FROM:/TO: are case-insensitive."""
        with self.srv.client() as c:
            self.assertEqual(c.cmd("ehlo client.test").code, 250)
            self.assertEqual(c.cmd("mail from:<x@y.test>").code, 250)
            self.assertEqual(c.cmd("rCpT tO:<v@a.test>").code, 250)

    def test_null_sender_accepted(self):
        """RFC 5321 4.5.5: MAIL FROM:<> (bounces) must be accepted."""
        with self.srv.client() as c:
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<v@a.test>").code, 250)

    def test_postmaster_without_domain(self):
        """RFC 5321 4.5.1: RCPT TO:<Postmaster> must be accepted when a
        postmaster mailbox exists."""
        with pbtest.Server(users=["v@a.test", "postmaster@a.test"]) as srv, srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            r = c.cmd("RCPT TO:<Postmaster>")
            self.assertEqual(r.code, 250, r.raw)
            c.expect("DATA", 354)
            c.send(b"Subject: pm\r\n\r\nhi\r\n.\r\n")
            self.assertEqual(c.reply().code, 250)
            self.assertEqual(len(srv.maildir_messages("postmaster@a.test")), 1)


class TestDelivery(unittest.TestCase):
    def test_smtplib_delivery_byte_exact(self):
        """RFC 5321 4.4: delivered file starts with Return-Path: and our
        Received: (peer, hostname, "with ESMTP"); the message follows
        byte-exact with LF line ends (Maildir)."""
        with pbtest.Server() as srv:
            with smtplib.SMTP("127.0.0.1", srv.port, local_hostname="client.test",
                              timeout=10) as s:
                refused = s.sendmail("x@y.test", ["v@a.test"], MSG)
                self.assertEqual(refused, {})
            msgs = srv.maildir_messages("v@a.test")
            self.assertEqual(len(msgs), 1, srv.all_delivered())
            rp, received, rest = split_trace(msgs[0][1])
            self.assertEqual(rp, "Return-Path: <x@y.test>")
            self.assertIn("from client.test", received)
            self.assertIn("[127.0.0.1]", received)
            self.assertIn("by " + HOSTNAME, received)
            self.assertRegex(received, r"\bwith ESMTP\b")
            self.assertNotIn("ESMTPS", received)
            self.assertRegex(received, r"; .*\d{4} \d\d:\d\d:\d\d [+-]\d{4}")
            self.assertEqual(rest, to_lf(MSG))
            self.assertNotIn(b"\r", msgs[0][1])
            # Maildir: a unique name, nothing left in tmp/
            self.assertEqual(srv.maildir_messages("v@a.test", "tmp"), [])
            for sub in ("cur", "new", "tmp"):
                self.assertTrue(os.path.isdir(os.path.join(srv.maildir("v@a.test"), sub)))

    def test_helo_received_says_smtp(self):
        """RFC 3848: a HELO session is recorded "with SMTP"."""
        with pbtest.Server() as srv, srv.client() as c:
            c.expect("HELO old.client.test", 250)
            r = c.send_message("x@y.test", ["v@a.test"], b"Subject: s\r\n\r\nbody\r\n", ehlo=False)
            self.assertEqual(r.code, 250, r.raw)
            _, received, _ = split_trace(srv.maildir_messages("v@a.test")[0][1])
            self.assertRegex(received, r"\bwith SMTP\b")
            self.assertIn("old.client.test", received)

    def test_null_sender_return_path(self):
        """RFC 5321 4.4: a bounce (MAIL FROM:<>) gets Return-Path: <>."""
        with pbtest.Server() as srv, srv.client() as c:
            r = c.send_message("", ["v@a.test"], b"Subject: bounce\r\n\r\nb\r\n")
            self.assertEqual(r.code, 250, r.raw)
            content = srv.maildir_messages("v@a.test")[0][1]
            self.assertTrue(content.startswith(b"Return-Path: <>\n"), content[:80])

    def test_250_means_on_disk(self):
        """DESIGN.md durability, RFC 5321 4.1.1.4: when the 250 reply to
        the final dot arrives, the file is already in new/ (checked before
        QUIT)."""
        with pbtest.Server() as srv, srv.client() as c:
            for i in range(3):
                r = c.send_message("x@y.test", ["v@a.test"],
                                   b"Subject: %d\r\n\r\nbody %d\r\n" % (i, i), ehlo=(i == 0))
                self.assertEqual(r.code, 250, r.raw)
                self.assertEqual(r.enhanced(), "2.0.0")
                self.assertEqual(len(srv.maildir_messages("v@a.test")), i + 1)
            c.expect("QUIT", 221)

    def test_queue_id_in_reply_and_log(self):
        """The 250 reply names a queue id that the log's delivery line repeats."""
        with pbtest.Server() as srv, srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test"], b"Subject: s\r\n\r\nb\r\n")
            m = re.search(r"queued as (\S+)", r.text)
            self.assertIsNotNone(m, r.raw)
            c.expect("QUIT", 221)
            lines = [l for l in srv.log_text().splitlines() if m.group(1) in l]
            self.assertTrue(any("v@a.test" in l for l in lines),
                            "no log line names queue id %s and the recipient:\n%s"
                            % (m.group(1), srv.log_tail()))
            _, received, _ = split_trace(srv.maildir_messages("v@a.test")[0][1])
            self.assertIn(m.group(1), received)

    def test_several_messages_one_session(self):
        """RFC 5321 3.3: several transactions in one session each deliver."""
        with pbtest.Server() as srv:
            with smtplib.SMTP("127.0.0.1", srv.port, local_hostname="client.test",
                              timeout=10) as s:
                for i in range(5):
                    s.sendmail("x@y.test", ["v@a.test"], b"Subject: %d\r\n\r\nmsg %d\r\n" % (i, i))
            msgs = srv.maildir_messages("v@a.test")
            self.assertEqual(len(msgs), 5)
            bodies = sorted(split_trace(m)[2] for _, m in msgs)
            self.assertEqual(bodies, sorted(b"Subject: %d\n\nmsg %d\n" % (i, i) for i in range(5)))
            self.assertEqual(len(set(n for n, _ in msgs)), 5)

    def test_smtputf8_delivery(self):
        """RFC 6531 3.4: with SMTPUTF8 a UTF-8 sender is accepted and the
        message is delivered; Received says UTF8SMTP (RFC 6531 3.7.3)."""
        with pbtest.Server() as srv, srv.client() as c:
            c.ehlo()
            r = c.cmd("MAIL FROM:<j\u00f6rg@y.test> SMTPUTF8".encode())
            self.assertEqual(r.code, 250, r.raw)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.expect("DATA", 354)
            body = "Subject: gr\u00fc\u00dfe\r\n\r\nhall\u00f6\r\n".encode()
            c.send(body + b".\r\n")
            self.assertEqual(c.reply().code, 250)
            content = srv.maildir_messages("v@a.test")[0][1]
            rp, received, rest = split_trace(content)
            self.assertEqual(rp, "Return-Path: <j\u00f6rg@y.test>")
            self.assertIn("UTF8SMTP", received)
            self.assertEqual(rest, to_lf(body))

    def test_utf8_address_needs_smtputf8(self):
        """RFC 6531 3.4: a non-ASCII address without SMTPUTF8 is refused (553 5.6.7)."""
        with pbtest.Server() as srv, srv.client() as c:
            c.ehlo()
            r = c.cmd("MAIL FROM:<j\u00f6rg@y.test>".encode())
            self.assertEqual(r.code // 100, 5, r.raw)
            self.assertEqual(c.cmd("NOOP").code, 250)

    def test_8bitmime_body(self):
        """RFC 6152: BODY=8BITMIME is accepted and 8-bit octets arrive unchanged."""
        body = b"Subject: 8bit\r\n\r\n" + bytes(range(0x80, 0x100)) + b"\r\n"
        with pbtest.Server() as srv, srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test> BODY=8BITMIME", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.expect("DATA", 354)
            c.send(body + b".\r\n")
            self.assertEqual(c.reply().code, 250)
            self.assertEqual(split_trace(srv.maildir_messages("v@a.test")[0][1])[2], to_lf(body))

    def test_message_without_final_crlf(self):
        """RFC 5321 4.1.1.4: the CRLF before the final dot belongs to the
        message; a message whose last line is empty keeps it."""
        with pbtest.Server() as srv, srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.expect("DATA", 354)
            c.send(b"Subject: s\r\n\r\nlast\r\n\r\n.\r\n")
            self.assertEqual(c.reply().code, 250)
            self.assertEqual(split_trace(srv.maildir_messages("v@a.test")[0][1])[2],
                             b"Subject: s\n\nlast\n\n")

    def test_empty_message(self):
        """RFC 5321 4.1.1.4: an empty message (DATA then the dot) is a message."""
        with pbtest.Server() as srv, srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.expect("DATA", 354)
            c.send(b".\r\n")
            r = c.reply()
            self.assertIn(r.code, (250, 554), r.raw)
            self.assertEqual(c.cmd("NOOP").code, 250)


class TestRobustness(unittest.TestCase):
    def test_maildir_is_private(self):
        """The mail store is readable by the server's user only (files 0600,
        directories without group/other access), as Dovecot and Postfix do."""
        with pbtest.Server() as srv, srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test"], b"Subject: p\r\n\r\nprivate\r\n")
            self.assertEqual(r.code, 250)
            name = srv.maildir_messages("v@a.test")[0][0]
            root = srv.maildir("v@a.test")
            mode = stat.S_IMODE(os.stat(os.path.join(root, "new", name)).st_mode)
            self.assertEqual(mode & 0o077, 0, "message file mode %o" % mode)
            for d in (root, os.path.join(root, "new"), os.path.join(root, "tmp")):
                mode = stat.S_IMODE(os.stat(d).st_mode)
                self.assertEqual(mode & 0o077, 0, "%s mode %o" % (d, mode))

    def test_parallel_sessions_deliver_every_message_intact(self):
        """DESIGN.md durability/group commit: 8 sessions x 6 messages at once;
        every message lands once, each file holds exactly its own message."""
        with pbtest.Server(users=["v@a.test", "w@a.test"],
                           limits={"connections_per_ip": 20}) as srv:
            sent, errors = [], []

            def worker(n):
                try:
                    with srv.client() as c:
                        c.ehlo("client%d.test" % n)
                        for i in range(6):
                            body = (b"Subject: s%d m%d\r\n\r\n" % (n, i)
                                    + b"payload %d/%d\r\n" % (n, i) * (50 + 37 * i))
                            rcpts = ["v@a.test"] if i % 2 else ["v@a.test", "w@a.test"]
                            r = c.send_message("s%d@y.test" % n, rcpts, body, ehlo=False)
                            if r.code != 250:
                                errors.append(r.raw)
                            sent.append((body, rcpts))
                        c.expect("QUIT", 221)
                except Exception as e:  # reported below
                    errors.append(repr(e))

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            self.assertEqual(errors, [])
            for addr in ("v@a.test", "w@a.test"):
                want = sorted(pbtest.to_lf(b) for b, rc in sent if addr in rc)
                got = sorted(split_trace(m)[2] for _, m in srv.maildir_messages(addr))
                self.assertEqual(len(got), len(want), addr)
                self.assertEqual(got, want, addr)
            self.assertEqual(srv.maildir_messages("v@a.test", "tmp"), [])

    def test_client_vanishes_mid_data(self):
        """DESIGN.md: a connection lost in the middle of DATA delivers
        nothing and leaves nothing in tmp/; the server carries on."""
        with pbtest.Server() as srv:
            c = srv.client()
            c.ehlo()
            c.send(b"MAIL FROM:<x@y.test>\r\nRCPT TO:<v@a.test>\r\nDATA\r\n")
            c.replies(3)
            c.send(b"Subject: half\r\n\r\nhalf a message\r\n")
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            time.sleep(0.3)
            self.assertEqual(srv.all_delivered(), {})
            with srv.client() as c2:
                self.assertEqual(c2.ehlo().code, 250)

    def test_client_vanishes_right_after_dot(self):
        """DESIGN.md: a client that resets the connection right after the
        final dot (during the commit) does not hurt the server; the message,
        complete, is delivered at most once."""
        with pbtest.Server() as srv:
            for _ in range(5):
                c = srv.client()
                c.ehlo()
                c.send(b"MAIL FROM:<x@y.test>\r\nRCPT TO:<v@a.test>\r\nDATA\r\n")
                c.replies(3)
                c.send(b"Subject: gone\r\n\r\nbye\r\n.\r\n")
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
            time.sleep(0.5)
            self.assertLessEqual(len(srv.maildir_messages("v@a.test")), 5)
            self.assertEqual(srv.maildir_messages("v@a.test", "tmp"), [])
            with srv.client() as c2:
                self.assertEqual(c2.ehlo().code, 250)

    def test_reply_flood_client_reads_late(self):
        """RFC 2920 3.1/5: 50,000 pipelined NOOPs in one go each get their
        250, in order, while the client reads concurrently."""
        n = 50000
        with pbtest.Server() as srv, srv.client() as c:
            c.ehlo()
            got = []
            reader = threading.Thread(target=lambda: got.extend(c.replies(n, timeout=60)))
            reader.start()
            c.send(b"NOOP\r\n" * n)
            reader.join(120)
            self.assertEqual(len(got), n)
            self.assertEqual({r.code for r in got}, {250})


class TestPipelining(unittest.TestCase):
    def test_whole_transaction_in_one_send(self):
        """RFC 2920 3.1: a client may send EHLO-less groups of commands; all
        replies come back in order, one per command."""
        with pbtest.Server(users=["v@a.test", "w@a.test"]) as srv, srv.client() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<x@y.test>\r\n"
                   b"RCPT TO:<v@a.test>\r\n"
                   b"RCPT TO:<nobody@a.test>\r\n"
                   b"RCPT TO:<w@a.test>\r\n"
                   b"DATA\r\n")
            codes = [r.code for r in c.replies(5)]
            self.assertEqual(codes, [250, 250, 550, 250, 354])
            c.send(b"Subject: piped\r\n\r\nbody\r\n.\r\n"
                   b"MAIL FROM:<x2@y.test>\r\nRCPT TO:<v@a.test>\r\nDATA\r\n"
                   b"Subject: piped 2\r\n\r\nbody 2\r\n.\r\n"
                   b"NOOP\r\nQUIT\r\n")
            rs = c.replies(7)
            self.assertEqual([r.code for r in rs], [250, 250, 250, 354, 250, 250, 221],
                             [r.raw for r in rs])
            c.wait_closed(5)
            self.assertEqual(len(srv.maildir_messages("v@a.test")), 2)
            self.assertEqual(len(srv.maildir_messages("w@a.test")), 1)

    def test_everything_in_one_packet(self):
        """RFC 2920: EHLO through QUIT in a single send() still gets every
        reply in order."""
        with pbtest.Server() as srv, srv.client() as c:
            c.send(b"EHLO client.test\r\nMAIL FROM:<x@y.test>\r\nRCPT TO:<v@a.test>\r\n"
                   b"DATA\r\nSubject: one\r\n\r\nbody\r\n.\r\nQUIT\r\n")
            rs = c.replies(6)
            self.assertEqual([r.code for r in rs], [250, 250, 250, 354, 250, 221])
            c.wait_closed(5)
            self.assertEqual(len(srv.maildir_messages("v@a.test")), 1)

    def test_byte_at_a_time(self):
        """RFC 5321 2.3.8: line ends may arrive split over packets; sending
        one byte per packet still works."""
        with pbtest.Server() as srv, srv.client() as c:
            data = (b"EHLO client.test\r\nMAIL FROM:<x@y.test>\r\nRCPT TO:<v@a.test>\r\n"
                    b"DATA\r\nSubject: slow\r\n\r\nbody\r\n.\r\n")
            for i in range(len(data)):
                c.send(data[i:i + 1])
                time.sleep(0.002)
            rs = c.replies(5)
            self.assertEqual([r.code for r in rs], [250, 250, 250, 354, 250])
            self.assertEqual(split_trace(srv.maildir_messages("v@a.test")[0][1])[2],
                             b"Subject: slow\n\nbody\n")


if __name__ == "__main__":
    unittest.main()

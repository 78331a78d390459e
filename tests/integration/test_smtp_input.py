"""SMTP MX input hygiene: overlong command and text lines, SMTP smuggling
(bare CR/LF line ends in DATA), NUL bytes, dot-stuffing both ways, the
header-section limit, the Received: hop limit, message size limits, control
characters in command arguments (log and header injection), and the
too-many-errors cut-off."""

import re
import smtplib
import unittest

import pbtest
from pbtest import split_trace, to_lf

SMUGGLED = (b"MAIL FROM:<evil@x>\r\nRCPT TO:<v@a.test>\r\nDATA\r\n"
            b"From: evil@x\r\nSubject: smuggled\r\n\r\nsmuggled content\r\n")


class InputCase(unittest.TestCase):
    limits = {}

    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server(users=["v@a.test", "w@a.test"], limits=cls.limits).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def count(self, address="v@a.test"):
        return len(self.srv.maildir_messages(address))

    def start_data(self, c, rcpt="v@a.test", ehlo=True):
        if ehlo:
            c.ehlo()
        c.expect("MAIL FROM:<x@y.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)

    def assert_usable(self, c, rcpt="w@a.test"):
        """The session is still in sync: a whole transaction works."""
        before = self.count(rcpt)
        self.assertEqual(c.cmd("NOOP").code, 250, c.dump())
        c.expect("MAIL FROM:<x@y.test>", 250)
        c.expect("RCPT TO:<%s>" % rcpt, 250)
        c.expect("DATA", 354)
        c.send(b"Subject: after\r\n\r\nstill in sync\r\n.\r\n")
        r = c.reply()
        self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(self.count(rcpt), before + 1)


class TestCommandLines(InputCase):
    def test_512_octet_command_line_accepted(self):
        """RFC 5321 4.5.3.1.4: a command line of 512 octets with CRLF is legal."""
        with self.srv.client() as c:
            c.ehlo()
            line = b"NOOP " + b"x" * (512 - 5 - 2)
            self.assertEqual(len(line) + 2, 512)
            r = c.cmd(line)
            self.assertEqual(r.code, 250, r.raw)

    def test_513_octet_command_line_500_552(self):
        """RFC 5321 4.5.3.1.4: a 513-octet command line gets 500 5.5.2, one
        reply, and the next command on the connection works."""
        with self.srv.client() as c:
            c.ehlo()
            line = b"NOOP " + b"x" * (513 - 5 - 2)
            r = c.cmd(line)
            self.assertEqual((r.code, r.enhanced()), (500, "5.5.2"), r.raw)
            c.no_more(0.5)
            self.assert_usable(c)

    def test_huge_command_line_one_reply(self):
        """RFC 5321 4.5.3.1.4: a 100 KB line in several packets gets exactly
        one 500 5.5.2; a command hidden at its end is not executed."""
        with self.srv.client() as c:
            c.ehlo()
            c.send(b"NOOP ")
            for _ in range(10):
                c.send(b"y" * 10000)
            c.send(b" RSET\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (500, "5.5.2"), r.raw)
            c.no_more(0.5)
            self.assert_usable(c)

    def test_long_line_does_not_leak_into_next_command(self):
        """RFC 5321 4.5.3.1.4: the tail of an overlong MAIL line is not
        treated as a new command."""
        with self.srv.client() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<x@y.test> " + b"z" * 1200 + b"\r\nRCPT TO:<v@a.test>\r\n")
            r1, r2 = c.replies(2)
            self.assertEqual(r1.code, 500, r1.raw)
            self.assertEqual(r2.code, 503, "RCPT after a refused MAIL: %r" % r2.raw)

    def test_bare_lf_command_501_in_sync(self):
        """RFC 5321 2.3.8: only CRLF ends a command line. A command ended by
        a bare LF gets 501 5.5.2 and is not run (here: a MAIL and RCPT that
        would otherwise open a transaction); the next CRLF command is read
        as the next command."""
        with self.srv.client() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<x@y.test>\nRCPT TO:<v@a.test>\n")
            r1, r2 = c.replies(2)
            self.assertEqual((r1.code, r1.enhanced()), (501, "5.5.2"), r1.raw)
            self.assertEqual((r2.code, r2.enhanced()), (501, "5.5.2"), r2.raw)
            r = c.cmd("DATA")
            self.assertEqual(r.code, 503, "no transaction was opened: %r" % r.raw)
            c.send(b"NOOP\n")
            self.assertEqual(c.reply().code, 501)
            self.assert_usable(c)

    def test_bare_lf_split_across_packets(self):
        """The CR before the LF may come in an earlier packet; a lone LF in
        a later packet after a CR-less line is still refused."""
        with self.srv.client() as c:
            c.ehlo()
            c.send(b"NOOP\r")
            c.send(b"\n")
            self.assertEqual(c.reply().code, 250)
            c.send(b"NOO")
            c.send(b"P\n")
            self.assertEqual(c.reply().code, 501)


class TestPaths(InputCase):
    """Paths and parameters of MAIL and RCPT (RFC 5321 4.1.2, 4.5.3.1)."""

    def test_quoted_local_part_round_trips_into_return_path(self):
        """RFC 5321 4.1.2: a Quoted-string local part is written quoted
        again in Return-Path (RFC 5321 4.4), so it cannot turn into a
        different address there."""
        sender = '"ceo@bank.example>"@x.example'
        with self.srv.client() as c:
            c.send_message(sender, ["v@a.test"], b"Subject: q\r\n\r\nquoted\r\n")
        files = self.srv.maildir_messages("v@a.test")
        rp = [split_trace(f)[0] for _, f in files if b"\nquoted\n" in f]
        self.assertEqual(rp, ['Return-Path: <"ceo@bank.example>"@x.example>'])
        log = self.srv.log_text()
        self.assertIn('from=<"ceo@bank.example>"@x.example>', log)
        self.assertNotIn("from=<ceo@bank.example>@x.example>", log)

    def test_quoted_local_part_with_space_and_backslash(self):
        """Only '"' and '\\' are escaped; a quoted local part that is a
        valid Dot-string loses its needless quotes (same mailbox)."""
        for sender, want in (('"a b\\\\c"@x.example', '"a b\\\\c"@x.example'),
                             ('"a.b"@x.example', 'a.b@x.example')):
            tag = sender.encode()
            with self.srv.client() as c:
                c.send_message(sender, ["v@a.test"], b"Subject: q\r\n\r\n" + tag + b"\r\n")
            rp = [split_trace(f)[0] for _, f in self.srv.maildir_messages("v@a.test")
                  if b"\n" + tag + b"\n" in f]
            self.assertEqual(rp, ["Return-Path: <%s>" % want])

    def test_quoted_recipient_in_reply(self):
        """The 550 reply names the recipient with its quotes."""
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            r = c.cmd('RCPT TO:<"no body"@a.test>')
            self.assertEqual(r.code, 550, r.raw)
            self.assertIn('<"no body"@a.test>', r.text)

    def test_path_over_256_octets_refused(self):
        """RFC 5321 4.5.3.1.3: a path is at most 256 octets with its
        brackets; 256 is accepted, 257 and a 320-octet path are refused."""
        def path(n):
            domain_len = n - len("<a@>")
            labels = []
            while domain_len > 0:
                k = min(domain_len, 63)
                if domain_len - k == 1:
                    k -= 1
                labels.append("d" * k)
                domain_len -= k + 1
            return "<a@" + ".".join(labels) + ">"
        with self.srv.client() as c:
            c.ehlo()
            self.assertEqual(len(path(256)), 256)
            r = c.cmd("MAIL FROM:" + path(256))
            self.assertEqual(r.code, 250, r.raw)
            c.expect("RSET", 250)
            for n in (257, 320):
                self.assertEqual(len(path(n)), n)
                r = c.cmd("MAIL FROM:" + path(n))
                self.assertEqual((r.code, r.enhanced()), (501, "5.1.7"), r.raw)
            c.expect("MAIL FROM:<x@y.test>", 250)
            r = c.cmd("RCPT TO:" + path(300)[:-1] + ">")
            self.assertEqual((r.code, r.enhanced()), (501, "5.1.3"), r.raw)

    def test_duplicate_parameter_refused(self):
        """RFC 1870 / RFC 5321 4.1.2: SIZE given twice is a syntax error,
        not a choice between two declared sizes."""
        with self.srv.client() as c:
            c.ehlo()
            for line in ("MAIL FROM:<x@y.test> SIZE=10 SIZE=99999999999",
                         "MAIL FROM:<x@y.test> SIZE=10 size=20",
                         "MAIL FROM:<x@y.test> BODY=8BITMIME BODY=7BIT"):
                r = c.cmd(line)
                self.assertEqual((r.code, r.enhanced()), (501, "5.5.4"), r.raw)
            c.expect("MAIL FROM:<x@y.test> SIZE=10", 250)


class TestTextLines(InputCase):
    def test_1000_octet_text_line_accepted(self):
        """RFC 5321 4.5.3.1.6: a text line of 1000 octets with CRLF is legal
        and arrives byte-exact."""
        body = b"Subject: long\r\n\r\n" + b"a" * 998 + b"\r\nend\r\n"
        with self.srv.client() as c:
            before = self.count()
            r = c.send_message("x@y.test", ["v@a.test"], body)
            self.assertEqual(r.code, 250, r.raw)
            self.assertEqual(self.count(), before + 1)
            self.assertEqual(split_trace(self.srv.maildir_messages("v@a.test")[-1][1])[2],
                             to_lf(body))

    def test_1001_octet_text_line_rejected_in_sync(self):
        """RFC 5321 4.5.3.1.6, issue 2: a text line over 1000 octets is
        rejected (554 5.6.0) after the final dot, never split or truncated, and
        the session stays in sync."""
        with self.srv.client() as c:
            before = self.count()
            self.start_data(c)
            c.send(b"Subject: too long\r\n\r\n" + b"b" * 999 + b"\r\nmore\r\n.\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (554, "5.6.0"), r.raw)
            c.no_more(0.5)
            self.assertEqual(self.count(), before)
            self.assert_usable(c)

    def test_very_long_text_line_in_header(self):
        """RFC 5321 4.5.3.1.6: a 50 KB line in the header section, sent in
        pieces, gives exactly one rejection."""
        with self.srv.client() as c:
            before = self.count()
            self.start_data(c)
            c.send(b"Subject: ")
            for _ in range(5):
                c.send(b"c" * 10000)
            c.send(b"\r\n\r\nbody\r\n.\r\n")
            r = c.reply()
            self.assertEqual(r.code // 100, 5, r.raw)
            c.no_more(0.5)
            self.assertEqual(self.count(), before)
            self.assert_usable(c)


class TestSmuggling(InputCase):
    """SMTP smuggling (CVE-2023-51766 class, RFC 5321 2.3.8 and 4.1.1.4):
    only CRLF.CRLF ends DATA. Each variant of a false end followed by a
    smuggled transaction must give exactly one reply to the DATA (a
    rejection for the bare CR/LF) and deliver nothing."""

    def smuggle(self, false_end):
        with self.srv.client() as c:
            before = self.srv.all_delivered()
            self.start_data(c)
            c.send(b"From: x@y.test\r\nSubject: carrier\r\n\r\ncarrier text" + false_end
                   + SMUGGLED + b"\r\n.\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (554, "5.6.0"),
                             "false end %r: %r" % (false_end, r.raw))
            c.no_more(1.0)
            self.assertEqual(self.srv.all_delivered(), before,
                             "false end %r delivered something" % false_end)
            self.assert_usable(c)
            c.expect("QUIT", 221)
        for _, content in self.srv.maildir_messages("v@a.test"):
            self.assertNotIn(b"smuggled", content)

    def test_lf_dot_lf(self):
        r"""Smuggling: \n.\n is not an end of data."""
        self.smuggle(b"\n.\n")

    def test_cr_dot_cr(self):
        r"""Smuggling: \r.\r is not an end of data."""
        self.smuggle(b"\r.\r")

    def test_lf_dot_crlf(self):
        r"""Smuggling: \n.\r\n is not an end of data."""
        self.smuggle(b"\n.\r\n")

    def test_crlf_dot_lf(self):
        r"""Smuggling: \r\n.\n is not an end of data."""
        self.smuggle(b"\r\n.\n")

    def test_crlf_dot_cr(self):
        r"""Smuggling: \r\n.\r is not an end of data."""
        self.smuggle(b"\r\n.\r")

    def test_false_end_alone_keeps_reading(self):
        r"""RFC 5321 4.1.1.4: after \n.\n the server is still reading data
        (no reply), until the real CRLF.CRLF."""
        with self.srv.client() as c:
            self.start_data(c)
            c.send(b"Subject: s\r\n\r\ntext\n.\n")
            c.no_more(1.0)
            c.send(b"\r\n.\r\n")
            r = c.reply()
            self.assertEqual(r.code, 554, r.raw)
            self.assert_usable(c)

    def test_bare_lf_in_text_rejected(self):
        """Issue 2: a bare LF inside a line is rejected (554 5.6.0), not
        turned into a line end."""
        with self.srv.client() as c:
            before = self.count()
            self.start_data(c)
            c.send(b"Subject: s\r\n\r\nline\nX-Header: injected\r\n.\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (554, "5.6.0"), r.raw)
            self.assertEqual(self.count(), before)
            self.assert_usable(c)

    def test_bare_cr_in_text_rejected(self):
        """Issue 2: a bare CR inside a line is rejected (554 5.6.0)."""
        with self.srv.client() as c:
            before = self.count()
            self.start_data(c)
            c.send(b"Subject: s\r\n\r\nline\rmore\r\n.\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (554, "5.6.0"), r.raw)
            self.assertEqual(self.count(), before)
            self.assert_usable(c)

    def test_nul_in_data_rejected(self):
        """Issue 2: NUL bytes in DATA are rejected (554 5.6.0), session in sync."""
        with self.srv.client() as c:
            before = self.count()
            self.start_data(c)
            c.send(b"Subject: nul\r\n\r\nab\x00cd\r\n.\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (554, "5.6.0"), r.raw)
            self.assertEqual(self.count(), before)
            self.assert_usable(c)

    def test_nul_in_header_rejected(self):
        """Issue 2: a NUL in a header field is rejected too."""
        with self.srv.client() as c:
            before = self.count()
            self.start_data(c)
            c.send(b"Subject: a\x00b\r\n\r\nbody\r\n.\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (554, "5.6.0"), r.raw)
            self.assertEqual(self.count(), before)


class TestDotStuffing(InputCase):
    def test_unstuffing_exact(self):
        """RFC 5321 4.5.2: a leading dot is removed once; lines of ".",
        "..", "..." and ".text" arrive exactly as the sender wrote them."""
        original = (b"Subject: dots\r\n\r\n.\r\n..\r\n...\r\n.text\r\n..two\r\n"
                    b" .space\r\nmid.dle\r\n.\r\n")
        wire = pbtest.dot_stuff(original)
        self.assertIn(b"\r\n..\r\n...\r\n....\r\n", wire)
        with self.srv.client() as c:
            self.start_data(c)
            c.send(wire + b".\r\n")
            r = c.reply()
            self.assertEqual(r.code, 250, r.raw)
        got = split_trace(self.srv.maildir_messages("v@a.test")[-1][1])[2]
        self.assertEqual(got, to_lf(original))

    def test_unstuffed_leading_dot_removed(self):
        """RFC 5321 4.5.2: a line starting with one dot followed by other
        characters loses the dot (the sender forgot to stuff)."""
        with self.srv.client() as c:
            self.start_data(c)
            c.send(b"Subject: d\r\n\r\n.hello\r\n.\r\n")
            self.assertEqual(c.reply().code, 250)
        got = split_trace(self.srv.maildir_messages("v@a.test")[-1][1])[2]
        self.assertEqual(got, b"Subject: d\n\nhello\n")

    def test_smtplib_stuffing_round_trip(self):
        """RFC 5321 4.5.2: smtplib stuffs, postbox unstuffs; the file equals
        what smtplib was given."""
        msg = (b"From: x@y.test\r\nSubject: smtplib dots\r\n\r\n"
               b".\r\n..\r\n.leading\r\n...\r\nnormal\r\n.\r\n")
        with smtplib.SMTP("127.0.0.1", self.srv.port, local_hostname="client.test",
                          timeout=10) as s:
            self.assertEqual(s.sendmail("x@y.test", ["w@a.test"], msg), {})
        got = split_trace(self.srv.maildir_messages("w@a.test")[-1][1])[2]
        self.assertEqual(got, to_lf(msg))

    def test_dot_end_split_across_packets(self):
        """RFC 5321 4.1.1.4: CRLF.CRLF split over several packets still ends DATA."""
        with self.srv.client() as c:
            before = self.count()
            self.start_data(c)
            c.send(b"Subject: split\r\n\r\nbody\r")
            c.send(b"\n")
            c.send(b".")
            c.send(b"\r")
            c.send(b"\n")
            r = c.reply()
            self.assertEqual(r.code, 250, r.raw)
            self.assertEqual(self.count(), before + 1)


class TestHeadersAndLoops(InputCase):
    limits = {"message_size": 4000000}

    def received_block(self, n, name=b"Received"):
        return b"".join(b"%s: from h%d.test by h%d.test; Mon, 1 Jan 2024 00:00:%02d +0000\r\n"
                        % (name, i, i + 1, i % 60) for i in range(n))

    def test_50_received_accepted(self):
        """RFC 5321 6.3, issue 2: 50 Received: fields is not yet "more than
        50"; the delivered file has ours on top of them."""
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test"],
                               self.received_block(50) + b"Subject: hops\r\n\r\nok\r\n")
            self.assertEqual(r.code, 250, r.raw)
        content = self.srv.maildir_messages("v@a.test")[-1][1]
        self.assertEqual(len(re.findall(rb"(?m)^Received:", content)), 51)

    def test_51_received_554_546(self):
        """RFC 5321 6.3, issue 2: more than 50 Received: fields is a routing
        loop: 554 5.4.6, nothing delivered, session usable."""
        with self.srv.client() as c:
            before = self.count()
            self.start_data(c)
            c.send(self.received_block(51) + b"Subject: loop\r\n\r\nloop\r\n.\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (554, "5.4.6"), r.raw)
            self.assertEqual(self.count(), before)
            self.assert_usable(c)

    def test_received_count_case_insensitive(self):
        """RFC 5322 1.2.2: field names are case-insensitive; 51
        "received:" fields are a loop too."""
        with self.srv.client() as c:
            self.start_data(c)
            c.send(self.received_block(51, b"received") + b"Subject: loop\r\n\r\nx\r\n.\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (554, "5.4.6"), r.raw)

    def test_received_in_body_not_counted(self):
        """RFC 5321 6.3: only header fields count, not body text."""
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test"],
                               b"Subject: quoted\r\n\r\n" + self.received_block(60))
            self.assertEqual(r.code, 250, r.raw)

    def test_header_section_over_limit(self):
        """Issue 2: the header section is size-limited (1 MiB): a 1.2 MB
        header section is rejected (552 5.3.4) even though the message size limit
        (4 MB) would allow it; the session stays usable."""
        header = b"".join(b"X-Filler-%05d: %s\r\n" % (i, b"h" * 960) for i in range(1250))
        self.assertGreater(len(header), 1200000)
        with self.srv.client() as c:
            before = self.count()
            self.start_data(c)
            c.send(b"Subject: big header\r\n" + header + b"\r\nbody\r\n.\r\n")
            r = c.reply(timeout=30)
            self.assertEqual((r.code, r.enhanced()), (552, "5.3.4"), r.raw)
            c.no_more(0.5)
            self.assertEqual(self.count(), before)
            self.assert_usable(c)

    def test_large_body_small_header_accepted(self):
        """Issue 2: the header limit does not limit the body: 1.5 MB of body
        under a 4 MB message limit is accepted byte-exact."""
        body = b"Subject: big body\r\n\r\n" + b"".join(b"%07d %s\r\n" % (i, b"q" * 90)
                                                    for i in range(15000))
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test"], body)
            self.assertEqual(r.code, 250, r.raw)
        self.assertEqual(split_trace(self.srv.maildir_messages("v@a.test")[-1][1])[2],
                         to_lf(body))


class TestSize(InputCase):
    limits = {"message_size": 100000}

    def test_ehlo_announces_size(self):
        """RFC 1870 4: SIZE in EHLO shows the configured limit."""
        with self.srv.client() as c:
            self.assertIn("SIZE 100000", c.ehlo().lines)

    def test_size_param_over_limit(self):
        """RFC 1870 6.1: MAIL with SIZE= over the limit gets 552 5.3.4."""
        with self.srv.client() as c:
            c.ehlo()
            r = c.cmd("MAIL FROM:<x@y.test> SIZE=100001")
            self.assertEqual((r.code, r.enhanced()), (552, "5.3.4"), r.raw)
            r = c.cmd("MAIL FROM:<x@y.test> SIZE=99999999999999999999999")
            self.assertEqual(r.code // 100, 5, r.raw)
            r = c.cmd("MAIL FROM:<x@y.test> SIZE=100000")
            self.assertEqual(r.code, 250, r.raw)

    def test_size_boundary(self):
        """RFC 1870 4/6.3: the limit counts the message with CRLF line ends:
        exactly message_size octets is accepted, one more is refused."""
        head = b"Subject: boundary\r\n\r\n"
        for extra, code in ((0, 250), (1, 552)):
            left = 100000 + extra - len(head)
            lines = []
            while left > 0:
                k = max(min(left, 900), 2)
                lines.append(b"x" * (k - 2) + b"\r\n")
                left -= k
            body = head + b"".join(lines)
            self.assertEqual(len(body), 100000 + extra)
            with self.srv.client() as c:
                self.start_data(c)
                c.send(body + b".\r\n")
                r = c.reply()
                self.assertEqual(r.code, code, "%d octets: %r" % (len(body), r.raw))

    def test_actual_oversize_552_and_usable(self):
        """RFC 1870 6.3, RFC 5321 4.5.3.1.10: a body over the limit (with a
        lying SIZE=) gets 552 5.3.4 after the dot, nothing is delivered and
        the session stays usable."""
        body = b"Subject: big\r\n\r\n" + b"".join(b"%06d %s\r\n" % (i, b"o" * 90)
                                               for i in range(1200))
        self.assertGreater(len(body), 100000)
        with self.srv.client() as c:
            before = self.count()
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test> SIZE=1000", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.expect("DATA", 354)
            c.send(pbtest.dot_stuff(body) + b".\r\n")
            r = c.reply()
            self.assertEqual((r.code, r.enhanced()), (552, "5.3.4"), r.raw)
            c.no_more(0.5)
            self.assertEqual(self.count(), before)
            self.assert_usable(c)

    def test_smtplib_oversize(self):
        """RFC 1870: smtplib sees the SIZE limit and the server refuses."""
        with smtplib.SMTP("127.0.0.1", self.srv.port, local_hostname="client.test",
                          timeout=10) as s:
            with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
                s.sendmail("x@y.test", ["v@a.test"], b"Subject: x\r\n\r\n" + b"z" * 200000)
            self.assertEqual(cm.exception.smtp_code, 552)


class TestInjection(InputCase):
    FORGED = re.compile(rb"FORGED|X-Injected")
    LOG_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z postbox \w+: ")

    def test_control_chars_never_make_a_log_line(self):
        """Issue 2: CR, LF or NUL in a command argument or ESMTP parameter
        never starts a new line in the log."""
        payloads = [
            b"EHLO evil\rFORGED-1 postbox info: x",
            b"HELO a\x00FORGED-2",
            b"MAIL FROM:<x@y.test>\rFORGED-3",
            b"MAIL FROM:<x@y.test> SIZE=1\rFORGED-4",
            b"MAIL FROM:<x@y.test> BODY=8BITMIME\x00FORGED-5",
            b"RCPT TO:<v@a.test>\x00FORGED-6",
            b"RCPT TO:<FORGED-7\r@a.test>",
            b"RCPT TO:<v\rFORGED-8@c.test>",
            b"VRFY x\rFORGED-9",
            b"NOOP\rFORGED-10",
            b"BOGUS\rFORGED-11",
            b"\rFORGED-12",
            b"RCPT TO:<\x00FORGED-13@c.test>",
        ]
        with self.srv.client() as c:
            c.ehlo()
            for p in payloads:
                c.cmd(p)
            c.expect("RSET", 250)
            c.expect("QUIT", 221)
        log = self.srv.log_bytes()
        self.assertNotIn(b"\r", log)
        self.assertNotIn(b"\x00", log)
        for line in log.split(b"\n"):
            if self.FORGED.search(line):
                self.assertRegex(line, self.LOG_LINE, "forged log line: %r" % line)

    def test_helo_injection_never_reaches_a_header(self):
        """Issue 2: CR/NUL in EHLO never reaches the Received: field or the
        file; the message has no injected header line."""
        with self.srv.client() as c:
            for p in (b"EHLO evil\rX-Injected: yes", b"EHLO evil\x00X-Injected: yes",
                      b"EHLO evil\tX-Injected: yes"):
                r = c.cmd(p)
                if r.code == 250:
                    break
            else:
                c.ehlo("fallback.test")
            before = self.count()
            c.expect("MAIL FROM:<x@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.expect("DATA", 354)
            c.send(b"Subject: inj\r\n\r\nbody\r\n.\r\n")
            self.assertEqual(c.reply().code, 250)
            self.assertEqual(self.count(), before + 1)
        content = self.srv.maildir_messages("v@a.test")[-1][1]
        self.assertNotIn(b"\r", content)
        self.assertNotIn(b"\x00", content)
        self.assertIsNone(re.search(rb"(?m)^X-Injected", content), content[:400])
        rp, received, rest = split_trace(content)
        self.assertEqual(rest, b"Subject: inj\n\nbody\n")

    def test_sender_with_control_chars_refused(self):
        """Issue 2: a reverse-path with CR or NUL never becomes Return-Path."""
        with self.srv.client() as c:
            c.ehlo()
            for p in (b"MAIL FROM:<x\r@y.test>", b"MAIL FROM:<x\x00@y.test>",
                      b"MAIL FROM:<\"x\rReturn-Path: a\"@y.test>"):
                r = c.cmd(p)
                self.assertEqual(r.code // 100, 5, "%r: %r" % (p, r.raw))
            self.assertEqual(c.cmd("NOOP").code, 250)


class TestTooManyErrors(InputCase):
    def test_421_after_20_errors(self):
        """Issue 2 (Postfix smtpd_hard_error_limit): after 20 bad commands
        the server says 421 4.7.0 and closes."""
        with self.srv.client() as c:
            c.ehlo()
            for i in range(20):
                r = c.cmd("BOGUS%d" % i)
                self.assertEqual(r.code, 500, "command %d: %r" % (i + 1, r.raw))
            r = c.reply(timeout=5)
            self.assertEqual((r.code, r.enhanced()), (421, "4.7.0"), r.raw)
            self.assertEqual(c.wait_closed(5), b"")

    def test_good_commands_do_not_close(self):
        """The error limit counts errors only: 100 NOOPs are fine."""
        with self.srv.client() as c:
            c.ehlo()
            c.send(b"NOOP\r\n" * 100)
            self.assertEqual({r.code for r in c.replies(100)}, {250})


if __name__ == "__main__":
    unittest.main()

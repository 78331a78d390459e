"""SMTP MX STARTTLS (RFC 3207): delivery over TLS with smtplib, the
Received: field naming ESMTPS and the cipher, the plaintext-injection attack
(CVE-2011-0411 class), state reset after the handshake."""

import smtplib
import ssl
import unittest

import pbtest
from pbtest import HOSTNAME, split_trace, to_lf

MSG = b"From: x@y.test\r\nSubject: over tls\r\n\r\nsecret body\r\n.leading dot\r\n"


class TlsCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server(users=["v@a.test"]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)


class TestStartTls(TlsCase):
    def test_smtplib_starttls_delivery(self):
        """RFC 3207 4.2, RFC 5321 4.4, RFC 3848: after smtplib.starttls() the
        message is delivered; Received: says "with ESMTPS" and names the
        TLS version and cipher."""
        before = len(self.srv.maildir_messages("v@a.test"))
        with smtplib.SMTP("127.0.0.1", self.srv.port, local_hostname="client.test",
                          timeout=10) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"))
            # smtplib checks the name it connected to (127.0.0.1); the
            # chain is still verified against the test certificate.
            ctx = pbtest.client_tls_context()
            ctx.check_hostname = False
            code, _ = s.starttls(context=ctx)
            self.assertEqual(code, 220)
            version, cipher = s.sock.version(), s.sock.cipher()[0]
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"), "STARTTLS offered again over TLS")
            self.assertEqual(s.sendmail("x@y.test", ["v@a.test"], MSG), {})
        msgs = self.srv.maildir_messages("v@a.test")
        self.assertEqual(len(msgs), before + 1)
        rp, received, rest = split_trace(msgs[-1][1])
        self.assertEqual(rp, "Return-Path: <x@y.test>")
        self.assertRegex(received, r"\bwith ESMTPS\b")
        self.assertIn(version, received)
        self.assertIn(cipher, received)
        self.assertIn("by " + HOSTNAME, received)
        self.assertEqual(rest, to_lf(MSG))

    def test_certificate_is_the_configured_one(self):
        """RFC 3207 4.1: the server presents the [tls] cert (verifies against
        it as the only trust anchor, name mx.a.test)."""
        with self.srv.client() as c:
            c.ehlo()
            c.starttls()  # verifying context: raises on a wrong cert
            self.assertIn(c.sock.version(), ("TLSv1.2", "TLSv1.3"))

    def test_state_reset_after_tls(self):
        """RFC 3207 4.2: after the handshake the server forgets the EHLO and
        any transaction: MAIL needs a new EHLO (503)."""
        with self.srv.client() as c:
            c.ehlo()
            c.starttls()
            r = c.cmd("MAIL FROM:<x@y.test>")
            self.assertEqual(r.code, 503, r.raw)
            r = c.ehlo()
            self.assertNotIn("STARTTLS", r.text)
            self.assertIn("PIPELINING", r.text)
            r = c.send_message("x@y.test", ["v@a.test"], b"Subject: t\r\n\r\nt\r\n", ehlo=False)
            self.assertEqual(r.code, 250, r.raw)

    def test_starttls_pipelined_after_ehlo(self):
        """RFC 2920 3.1, RFC 3207 4.2: STARTTLS may end a pipelined group
        ("EHLO ...\r\nSTARTTLS\r\n" in one packet); both replies arrive in
        plaintext, then TLS works."""
        with self.srv.client() as c:
            c.send(b"EHLO client.test\r\nSTARTTLS\r\n")
            r1, r2 = c.replies(2)
            self.assertEqual((r1.code, r2.code), (250, 220), (r1.raw, r2.raw))
            c.handshake()
            r = c.ehlo()
            self.assertNotIn("STARTTLS", r.text)

    def test_starttls_twice_refused(self):
        """RFC 3207 4.2: STARTTLS over TLS is refused (503) and the session goes on."""
        with self.srv.client() as c:
            c.ehlo()
            c.starttls()
            c.ehlo()
            r = c.cmd("STARTTLS")
            self.assertEqual(r.code // 100, 5, r.raw)
            self.assertEqual(c.cmd("NOOP").code, 250)

    def test_starttls_in_transaction_refused(self):
        """RFC 3207 4: STARTTLS in the middle of a transaction is refused."""
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            r = c.cmd("STARTTLS")
            self.assertEqual(r.code, 503, r.raw)
            c.expect("RCPT TO:<v@a.test>", 250)

    def test_starttls_with_argument_refused(self):
        """RFC 3207 4: STARTTLS takes no parameters (501)."""
        with self.srv.client() as c:
            c.ehlo()
            r = c.cmd("STARTTLS now")
            self.assertEqual(r.code, 501, r.raw)
            self.assertEqual(c.cmd("NOOP").code, 250)

    def test_silent_after_starttls_times_out(self):
        """RFC 5321 4.5.3.2, RFC 3207: a client that gets 220 to STARTTLS and
        then never starts the handshake is disconnected after [limits]
        timeout_tls (else it holds a connection slot for ever)."""
        with pbtest.Server(limits={"timeout_tls": 2}) as srv, srv.client() as c:
            c.ehlo()
            self.assertEqual(c.cmd("STARTTLS").code, 220)
            c.wait_closed(12)

    def test_stalled_handshake_times_out(self):
        """RFC 5321 4.5.3.2: half a ClientHello and then silence is cut off
        by timeout_tls too."""
        with pbtest.Server(limits={"timeout_tls": 2}) as srv, srv.client() as c:
            c.ehlo()
            self.assertEqual(c.cmd("STARTTLS").code, 220)
            c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            c.wait_closed(12)

    def test_handshake_garbage(self):
        """RFC 3207: a client that sends garbage instead of a handshake is
        dropped without harming the server."""
        with self.srv.client() as c:
            c.ehlo()
            self.assertEqual(c.cmd("STARTTLS").code, 220)
            c.send(b"this is not a TLS ClientHello\r\n" * 10)
            c.wait_closed(10)
        with self.srv.client() as c:
            self.assertEqual(c.ehlo().code, 250)


class TestStartTlsInjection(TlsCase):
    def test_injected_command_discarded(self):
        """RFC 3207 4.2, CVE-2011-0411: "STARTTLS\\r\\nRSET\\r\\n" in one packet;
        the RSET sent in plaintext must be thrown away: the first reply read
        over TLS is the reply to our own next command (EHLO), not a 250 to
        the injected RSET."""
        with self.srv.client() as c:
            c.ehlo()
            c.send(b"STARTTLS\r\nRSET\r\n")
            r = c.reply()
            self.assertEqual(r.code, 220, r.raw)
            # Give the server time to (wrongly) answer the RSET in plaintext.
            c.no_more(0.5)
            c.handshake()
            c.send(b"EHLO client.test\r\n")
            r = c.reply()
            self.assertEqual(r.code, 250, r.raw)
            self.assertEqual(r.lines[0].split()[0], HOSTNAME,
                             "first reply over TLS was not the EHLO reply: %r" % r.raw)
            self.assertGreater(len(r.lines), 1, r.raw)
            c.send(b"NOOP\r\n")
            self.assertEqual(c.reply().code, 250)
            c.no_more(0.5)

    def test_injected_transaction_discarded(self):
        """CVE-2011-0411: a whole injected transaction after STARTTLS in the
        same packet delivers nothing and its replies never appear."""
        before = self.srv.all_delivered()
        with self.srv.client() as c:
            c.ehlo()
            c.send(b"STARTTLS\r\nEHLO evil\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@a.test>\r\n"
                   b"DATA\r\nSubject: injected\r\n\r\nx\r\n.\r\n")
            self.assertEqual(c.reply().code, 220)
            c.no_more(0.5)
            c.handshake()
            r = c.cmd("MAIL FROM:<x@y.test>")
            self.assertEqual(r.code, 503, "injected EHLO survived the handshake: %r" % r.raw)
            c.ehlo()
            c.expect("QUIT", 221)
        self.assertEqual(self.srv.all_delivered(), before)

    def test_injection_split_packets(self):
        """CVE-2011-0411: plaintext that arrives after the 220 but before the
        ClientHello makes the handshake fail rather than being executed."""
        with self.srv.client() as c:
            c.ehlo()
            c.send(b"STARTTLS\r\n")
            self.assertEqual(c.reply().code, 220)
            c.send(b"RSET\r\n")
            try:
                c.handshake()
            except (ssl.SSLError, OSError):
                return  # dropped: fine
            c.send(b"NOOP\r\n")
            try:
                r = c.reply()
            except pbtest.ProtocolError:
                return
            self.assertEqual(r.code, 250)
            c.no_more(0.5)


class TestSwaksTls(TlsCase):
    def test_swaks_tls(self):
        """RFC 3207: swaks --tls delivers; Received says ESMTPS."""
        import shutil
        import subprocess
        if shutil.which("swaks") is None:
            self.skipTest("swaks not installed")
        probe = subprocess.run(["perl", "-MNet::SSLeay", "-MIO::Socket::SSL", "-e", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if probe.returncode != 0:
            self.skipTest("swaks --tls needs Net::SSLeay and IO::Socket::SSL "
                          "(Debian libnet-ssleay-perl, libio-socket-ssl-perl)")
        before = len(self.srv.maildir_messages("v@a.test"))
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.srv.port, "--tls",
                            "--helo", "swaks.client.test", "--to", "v@a.test",
                            "--from", "x@y.test", "--body", "swaks over tls body"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace"))
        msgs = self.srv.maildir_messages("v@a.test")
        self.assertEqual(len(msgs), before + 1)
        _, received, rest = split_trace(msgs[-1][1])
        self.assertRegex(received, r"\bwith ESMTPS\b")
        self.assertIn(b"\nswaks over tls body\n", rest)


if __name__ == "__main__":
    unittest.main()

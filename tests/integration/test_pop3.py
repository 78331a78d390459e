"""POP3 and POP3S (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH PLAIN
RFC 5034) against a real postbox serve, with python3's poplib, curl and
fetchmail. Mail arrives over SMTP first, as it would in real life."""

import base64
import imaplib
import os
import poplib
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time
import unittest

import pbtest

PW = pbtest.PASSWORD


def deliver(srv, rcpt, subject, body="hello\r\n.dot line\r\n"):
    msg = "From: x@c.test\r\nTo: %s\r\nSubject: %s\r\n\r\n%s" % (rcpt, subject, body)
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.sendmail("x@c.test", [rcpt], msg.encode())
    return msg.encode()


class Pop3Case(unittest.TestCase):
    server_keys = {}

    def setUp(self):
        self.srv = pbtest.Server(users=["v@a.test", "w@a.test"],
                                 services=["pop3", "pop3s", "imaps"], server=self.server_keys)
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)
        # poplib cannot pass a server name: check the chain, not the name
        # (127.0.0.1 is not in the test certificate).
        self.ctx = pbtest.client_tls_context()
        self.ctx.check_hostname = False

    def pop3(self):
        return poplib.POP3("127.0.0.1", self.srv.ports["pop3"], timeout=10)

    def pop3s(self):
        return poplib.POP3_SSL("127.0.0.1", self.srv.ports["pop3s"], timeout=10,
                               context=self.ctx)

    def login(self, p, user="v@a.test"):
        p.user(user)
        p.pass_(PW)
        return p

    def login_when_unlocked(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            p = self.pop3s()
            try:
                return self.login(p)
            except poplib.error_proto as e:
                p.close()
                if b"[IN-USE]" not in e.args[0] or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


class TestPop3(Pop3Case):
    def test_session_over_pop3s(self):
        """RFC 1939 5-7: STAT, LIST, UIDL, TOP, RETR with the message
        byte-exact (CRLF, dot-stuffing undone by poplib), sizes counted
        with CRLF as sent."""
        sent = [deliver(self.srv, "v@a.test", "one"), deliver(self.srv, "v@a.test", "two")]
        p = self.login(self.pop3s())
        count, size = p.stat()
        self.assertEqual(count, 2)
        resp, listing, _ = p.list()
        sizes = [int(l.split()[1]) for l in listing]
        self.assertEqual(sum(sizes), size)
        for i in (1, 2):
            resp, lines, octets = p.retr(i)
            data = b"\r\n".join(lines) + b"\r\n"
            self.assertEqual(len(data), sizes[i - 1])
            self.assertTrue(data.endswith(sent[i - 1]), data)
            self.assertIn(b"\r\nReturn-Path: <x@c.test>", b"\r\n" + data)
        resp, lines, _ = p.top(1, 0)
        self.assertIn(b"Subject: one", lines)
        self.assertNotIn(b"hello", lines)
        p.quit()

    def test_uidl_stable_and_dele_at_quit(self):
        """RFC 1939 6/7: DELE takes effect only at QUIT (UPDATE state);
        UIDL identifiers stay the same across sessions; RSET undeletes."""
        for s in ("a", "b", "c"):
            deliver(self.srv, "v@a.test", s)
        p = self.login(self.pop3s())
        uidls = p.uidl()[1]
        p.dele(1)
        p.rset()
        p.dele(2)
        # Closing without QUIT: nothing is deleted, and the lock goes once
        # the server has seen the connection close.
        p.close()   # poplib's close: no QUIT
        p = self.login_when_unlocked()
        self.assertEqual(p.uidl()[1], uidls)
        p.dele(2)
        p.quit()
        p = self.login(self.pop3s())
        self.assertEqual(p.uidl()[1], [uidls[0], b"2 " + uidls[2].split()[1]])
        p.quit()
        self.assertEqual(len(self.srv.maildir_messages("v@a.test", "new")) +
                         len(self.srv.maildir_messages("v@a.test", "cur")), 2)

    def test_maildrop_locked_against_second_pop3_session(self):
        """RFC 1939 8: one POP3 session at a time: [IN-USE] (RFC 2449 8.1.1);
        IMAP keeps working on the same mailbox meanwhile (issue 3)."""
        deliver(self.srv, "v@a.test", "locked")
        p = self.login(self.pop3s())
        q = self.pop3s()
        q.user("v@a.test")
        with self.assertRaises(poplib.error_proto) as e:
            q.pass_(PW)
        self.assertIn(b"[IN-USE]", e.exception.args[0])
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"], ssl_context=self.ctx)
        m.login("v@a.test", PW)
        self.assertEqual(m.select("INBOX"), ("OK", [b"1"]))
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        self.assertIn(b"Subject: locked", data[0][1])
        m.logout()
        p.quit()
        self.login(q).quit()

    def test_bad_password_and_apop(self):
        """Failed logins get -ERR [AUTH] (RFC 3206 4) after a delay and are
        logged; APOP is refused (no clear-text passwords are kept)."""
        p = self.pop3s()
        p.user("v@a.test")
        with self.assertRaises(poplib.error_proto) as e:
            p.pass_("wrong")
        self.assertIn(b"[AUTH]", e.exception.args[0])
        with self.assertRaises(poplib.error_proto):
            p.apop("v@a.test", PW)
        self.login(p).quit()
        self.assertIn("auth failed: service=pop3 ip=127.0.0.1 user=<v@a.test>"
                      " reason=bad-password", self.srv.log_text())

    def test_stls_then_login(self):
        """RFC 2595 4: STLS upgrades the plaintext port; CAPA lists it."""
        p = self.pop3()
        self.assertIn("STLS", p.capa())
        p.stls(context=self.ctx)
        self.assertNotIn("STLS", p.capa())
        self.login(p).quit()

    def test_auth_plain(self):
        """RFC 5034: AUTH PLAIN with an initial response."""
        with socket.create_connection(("127.0.0.1", self.srv.ports["pop3s"]), 10) as raw:
            s = self.ctx.wrap_socket(raw, server_hostname=pbtest.HOSTNAME)
            f = s.makefile("rwb")
            self.assertTrue(f.readline().startswith(b"+OK"))
            ir = base64.b64encode(b"\0v@a.test\0" + PW.encode())
            f.write(b"AUTH PLAIN " + ir + b"\r\nSTAT\r\nQUIT\r\n")
            f.flush()
            self.assertTrue(f.readline().startswith(b"+OK Logged in"))
            self.assertTrue(f.readline().startswith(b"+OK 0 0"))


class TestPop3Plaintext(Pop3Case):
    server_keys = {"plaintext_auth_loopback": "no"}

    def test_no_plaintext_login_before_stls(self):
        """RFC 2595 4: USER/PASS and AUTH are refused on a plaintext
        connection until STLS, and CAPA does not offer them."""
        p = self.pop3()
        capa = p.capa()
        self.assertNotIn("USER", capa)
        with self.assertRaises(poplib.error_proto) as e:
            p.user("v@a.test")
        self.assertIn(b"[AUTH]", e.exception.args[0])
        p.stls(context=self.ctx)
        self.login(p).quit()


class TestPop3Clients(Pop3Case):
    def test_curl_lists_and_fetches_over_pop3s(self):
        """curl (libcurl's own POP3) lists and retrieves over pop3s://."""
        sent = deliver(self.srv, "v@a.test", "curl")
        cert, _ = pbtest.cert_files()
        base = ["curl", "-s", "--cacert", cert, "--user", "v@a.test:" + PW,
                "--resolve", "%s:%d:127.0.0.1" % (pbtest.HOSTNAME, self.srv.ports["pop3s"])]
        url = "pop3s://%s:%d/" % (pbtest.HOSTNAME, self.srv.ports["pop3s"])
        out = subprocess.run(base + [url], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, rb"^1 \d+\r\n")
        out = subprocess.run(base + [url + "1"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.endswith(sent), out.stdout)

    def test_fetchmail_downloads_over_pop3(self):
        """fetchmail (POP3 over implicit TLS, USER/PASS) downloads every
        message and, without --keep, deletes them on the server."""
        for s in ("f1", "f2"):
            deliver(self.srv, "v@a.test", s)
        cert, _ = pbtest.cert_files()
        with tempfile.TemporaryDirectory() as d:
            mbox = os.path.join(d, "mbox")
            rc = os.path.join(d, "fetchmailrc")
            with open(rc, "w") as f:
                f.write('poll 127.0.0.1 proto pop3 port %d\n'
                        '  user "v@a.test" password "%s"\n'
                        '  ssl sslcertck sslcertfile %s sslcommonname %s\n'
                        '  mda "/bin/sh -c \'cat >> %s\'"\n'
                        % (self.srv.ports["pop3s"], PW, cert, pbtest.HOSTNAME, mbox))
            os.chmod(rc, 0o600)
            env = dict(os.environ, HOME=d, FETCHMAILHOME=d)
            out = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "-v"], env=env,
                                 capture_output=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            data = open(mbox, "rb").read()
            self.assertIn(b"Subject: f1", data)
            self.assertIn(b"Subject: f2", data)
        p = self.login(self.pop3s())
        self.assertEqual(p.stat()[0], 0)
        p.quit()


class TestPop3Sizes(Pop3Case):
    # Each as APPENDed over IMAP: a first line in CRLF with bare LFs
    # further on (binary content), one whose last line has no line end,
    # one ending in a lone CR, one in LF alone, and a dot line.
    MESSAGES = [
        b"Subject: bin\r\n\r\nline1\nline2\r\n\x01\x02\nend\r\n",
        b"Subject: tail\r\n\r\nno line end at the end",
        b"Subject: cr\r\n\r\nends in a CR\r",
        b"Subject: lf\n\nall LF\n.dot line\n",
        b"Subject: mixed\r\n\r\n.dot\nlast\n",
    ]

    def test_list_and_stat_sizes_are_what_retr_sends(self):
        """RFC 1939 5: LIST gives "the exact size of the message in
        octets", STAT their sum, and RETR's +OK the same number: the
        octets RETR sends (every line end CRLF, the last line ended),
        dot-stuffing and the terminator aside. fetchmail relies on it."""
        self.append_all()
        self.check_sizes()

    def test_index_without_pop3_sizes_is_upgraded(self):
        """An index made before POP3 sizes were kept gets them, with its
        UIDs (and so UIDLs, RFC 1939 7) unchanged."""
        self.append_all()
        p = self.login(self.pop3s())
        _, before, _ = p.uidl()
        p.quit()
        self.srv.stop()
        db = sqlite3.connect(os.path.join(self.srv.maildir("v@a.test"), "index.db"))
        with db:
            db.execute("ALTER TABLE msgs DROP COLUMN psize")
        db.close()
        self.srv.start()
        p = self.check_sizes()
        self.assertEqual(p.uidl()[1], before)
        p.quit()

    def append_all(self):
        # Raw APPENDs: imaplib would turn every line end into CRLF. The
        # first is a BINARY literal (RFC 3516 4.4: stored byte for byte).
        raw = socket.create_connection(("127.0.0.1", self.srv.ports["imaps"]), 10)
        c = self.ctx.wrap_socket(raw)
        self.addCleanup(c.close)
        got = b""
        c.sendall(b'l LOGIN "v@a.test" "%s"\r\n' % PW.encode())
        for i, msg in enumerate(self.MESSAGES):
            c.sendall(b"a%d APPEND INBOX %s{%d+}\r\n%s\r\n"
                      % (i, b"~" if i == 0 else b"", len(msg), msg))
        while b"a%d " % (len(self.MESSAGES) - 1) not in got:
            chunk = c.recv(65536)
            self.assertTrue(chunk, got)
            got += chunk
        for i in range(len(self.MESSAGES)):
            self.assertIn(b"a%d OK [APPENDUID " % i, got)
        c.sendall(b"z LOGOUT\r\n")

    def check_sizes(self):
        p = self.login(self.pop3s())
        _, listing, _ = p.list()
        sizes = [int(l.split()[1]) for l in listing]
        self.assertEqual(len(sizes), len(self.MESSAGES))
        count, total = p.stat()
        self.assertEqual((count, total), (len(sizes), sum(sizes)))
        for i, size in enumerate(sizes, 1):
            resp, lines, octets = p.retr(i)   # octets: unstuffed, CRLF per line
            self.assertEqual(size, octets, (i, resp))
            self.assertEqual(resp, b"+OK %d octets" % size)
            self.assertEqual(p.list(i), b"+OK %d %d" % (i, size))
        return p


if __name__ == "__main__":
    unittest.main()

"""The IMAP session core against a real postbox serve: greeting and
CAPABILITY, STARTTLS and LOGINDISABLED, LOGIN and AUTHENTICATE PLAIN,
ID/ENABLE/NAMESPACE, state rules, SELECT/EXAMINE/CLOSE/UNSELECT, IDLE,
hostile input and the ways a session ends (RFC 9051, RFC 3501 for
IMAP4rev1 clients, RFC 2177, RFC 4959, RFC 7888, RFC 5530).

python3's imaplib where it can say what we want to check; a raw client
(class Raw) where the bytes matter: pipelining, literals, bad input."""

import base64
import imaplib
import os
import re
import signal
import smtplib
import socket
import ssl
import time
import unittest

import pbtest

PW = pbtest.PASSWORD
USER = "v@a.test"


def deliver(srv, rcpt, subject, body="hello\r\n"):
    msg = "From: x@c.test\r\nTo: %s\r\nSubject: %s\r\n\r\n%s" % (rcpt, subject, body)
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.sendmail("x@c.test", [rcpt], msg.encode())
    return msg.encode()


def tls_context():
    # 127.0.0.1 is not in the test certificate: check the chain only.
    ctx = pbtest.client_tls_context()
    ctx.check_hostname = False
    return ctx


def quiet_close(m):
    """imaplib's shutdown, for a cleanup: after LOGOUT the socket is gone."""
    try:
        m.shutdown()
    except OSError:
        pass


class Raw:
    """A byte-level IMAP client. read_line() returns one response line
    with any literals it announces folded in (as bytes, CRLF stripped
    from the end); cmd() sends "TAG TEXT" and returns (untagged, tagged)."""

    def __init__(self, port, tls=False, timeout=pbtest.IO_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            self.sock = tls_context().wrap_socket(self.sock)
        self.timeout = timeout
        self.buf = b""
        self.eof = False
        self.greeting = self.read_line()
        self.n = 0

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no response in time; have %r" % self.buf[:500])
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError("no response in time; have %r" % self.buf[:500])
        except (ConnectionResetError, ssl.SSLError):
            chunk = b""
        if not chunk:
            self.eof = True
            raise EOFError("connection closed; have %r" % self.buf[:500])
        self.buf += chunk

    def read_line(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill(deadline)
            i = self.buf.index(b"\r\n")
            line, self.buf = self.buf[:i], self.buf[i + 2:]
            out += line
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill(deadline)
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]

    def tag(self):
        self.n += 1
        return "t%d" % self.n

    def collect(self, tag, timeout=None):
        """Lines up to and including the tagged response of tag."""
        untagged = []
        while True:
            line = self.read_line(timeout)
            if line.startswith(tag.encode() + b" "):
                return untagged, line
            untagged.append(line)

    def cmd(self, text, timeout=None):
        t = self.tag()
        self.send("%s %s\r\n" % (t, text))
        return self.collect(t, timeout)

    def ok(self, text):
        u, t = self.cmd(text)
        if not re.match(rb"^\S+ OK", t):
            raise AssertionError("%s: %r %r" % (text, u, t))
        return u, t

    def login(self, user=USER, pw=PW):
        return self.ok('LOGIN "%s" "%s"' % (user, pw))

    def starttls(self):
        u, t = self.cmd("STARTTLS")
        if b" OK" not in t:
            raise AssertionError("STARTTLS: %r" % t)
        assert self.buf == b"", self.buf
        self.sock = tls_context().wrap_socket(self.sock)

    def wait_closed(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except EOFError:
            rest, self.buf = self.buf, b""
            return rest

    def no_more(self, wait=0.5):
        if self.buf:
            raise AssertionError("unexpected bytes: %r" % self.buf)
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        raise AssertionError("unexpected bytes: %r" % data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def caps_of(line):
    m = re.search(rb"CAPABILITY ([^\]\r\n]*)", line)
    assert m, line
    return set(m.group(1).decode().upper().split())


class ImapCase(unittest.TestCase):
    server_keys = {}

    def setUp(self):
        self.srv = pbtest.Server(users=[USER, "w@a.test"], services=["imap", "imaps"],
                                 server=self.server_keys)
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)

    def raw(self, tls=True):
        c = Raw(self.srv.ports["imaps" if tls else "imap"], tls=tls)
        self.addCleanup(c.close)
        return c

    def imaps(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"], ssl_context=tls_context(),
                              timeout=10)
        self.addCleanup(quiet_close, m)
        return m

    def assertTagged(self, line, status, code=None):
        m = re.match(rb"^\S+ (OK|NO|BAD)( \[([^\]]*)\])?", line)
        self.assertIsNotNone(m, line)
        self.assertEqual(m.group(1).decode(), status, line)
        if code is not None:
            self.assertIsNotNone(m.group(3), line)
            self.assertEqual(m.group(3).decode().split()[0], code, line)


class TestPlaintextPort(ImapCase):
    server_keys = {"plaintext_auth_loopback": "no"}

    def test_greeting_has_capability(self):
        """RFC 9051 7.1.1 / 7.1 CAPABILITY response code: the greeting is
        an untagged OK carrying the capabilities, IMAP4rev2 and IMAP4rev1
        both (RFC 9051 appendix E: one server for both)."""
        c = self.raw(tls=False)
        self.assertTrue(c.greeting.startswith(b"* OK [CAPABILITY "), c.greeting)
        caps = caps_of(c.greeting)
        for want in ("IMAP4REV2", "IMAP4REV1", "STARTTLS", "LITERAL+", "IDLE", "ID",
                     "ENABLE", "NAMESPACE", "UNSELECT", "SASL-IR"):
            self.assertIn(want, caps)
        u, t = c.ok("CAPABILITY")
        self.assertEqual(caps_of(u[0]), caps)

    def test_logindisabled_before_starttls(self):
        """RFC 9051 6.2.3 and 7.1: before STARTTLS on the plaintext port
        (plaintext_auth_loopback = no) the server says LOGINDISABLED,
        offers no AUTH= mechanism, and refuses LOGIN and AUTHENTICATE
        with NO [PRIVACYREQUIRED]; the session stays usable."""
        c = self.raw(tls=False)
        caps = caps_of(c.greeting)
        self.assertIn("LOGINDISABLED", caps)
        self.assertIn("STARTTLS", caps)
        self.assertFalse([x for x in caps if x.startswith("AUTH=")], caps)
        u, t = c.cmd('LOGIN "%s" "%s"' % (USER, PW))
        self.assertTagged(t, "NO", "PRIVACYREQUIRED")
        ir = base64.b64encode(b"\0" + USER.encode() + b"\0" + PW.encode()).decode()
        u, t = c.cmd("AUTHENTICATE PLAIN " + ir)
        self.assertTagged(t, "NO", "PRIVACYREQUIRED")
        u, t = c.cmd("SELECT INBOX")
        self.assertTagged(t, "BAD")
        c.ok("NOOP")

    def test_starttls_then_login(self):
        """RFC 9051 6.2.1: after STARTTLS the client must discard what it
        knew of the capabilities; the new list has AUTH=PLAIN, and neither
        STARTTLS nor LOGINDISABLED; LOGIN then works and its OK carries
        the capabilities of the authenticated state."""
        m = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=10)
        self.addCleanup(quiet_close, m)
        self.assertIn("LOGINDISABLED", m.capabilities)
        typ, _ = m.starttls(ssl_context=tls_context())
        self.assertEqual(typ, "OK")
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        self.assertNotIn("STARTTLS", m.capabilities)
        self.assertIn("AUTH=PLAIN", m.capabilities)
        typ, data = m.login(USER, PW)
        self.assertEqual(typ, "OK")
        self.assertIn(b"[CAPABILITY ", data[0])
        self.assertNotIn(b"AUTH=", data[0])
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        m.logout()

    def test_starttls_command_injection(self):
        """RFC 9051 6.2.1 / 11.1 (the CVE-2011-0411 class): commands sent
        in the same packet after STARTTLS are plaintext the attacker may
        have added; the server must throw them away, not run them under
        TLS."""
        c = self.raw(tls=False)
        c.send("a STARTTLS\r\nb CAPABILITY\r\nc LOGOUT\r\n")
        line = c.read_line()
        self.assertTrue(line.startswith(b"a OK"), line)
        self.assertEqual(c.buf, b"")
        c.sock = tls_context().wrap_socket(c.sock)
        u, t = c.cmd("NOOP")
        self.assertEqual(u, [], "a command pipelined before TLS was run: %r" % u)
        self.assertTagged(t, "OK")
        c.login()

    def test_starttls_twice_and_on_imaps(self):
        """RFC 9051 6.2.1: STARTTLS once TLS is on is a BAD; it is not
        valid after login either (not-authenticated state only)."""
        c = self.raw(tls=False)
        c.starttls()
        u, t = c.cmd("STARTTLS")
        self.assertTagged(t, "BAD")
        d = self.raw(tls=True)
        u, t = d.cmd("STARTTLS")
        self.assertTagged(t, "BAD")
        self.assertNotIn("STARTTLS", caps_of(d.greeting))
        d.login()
        u, t = d.cmd("STARTTLS")
        self.assertTagged(t, "BAD")


class TestAuth(ImapCase):
    def test_authenticate_plain_sasl_ir(self):
        """RFC 9051 6.2.2 with SASL-IR (RFC 4959): the initial response on
        the command line; RFC 4616 authzid equal to authcid is accepted."""
        c = self.raw()
        ir = base64.b64encode(USER.encode() + b"\0" + USER.encode() + b"\0" + PW.encode())
        u, t = c.cmd("AUTHENTICATE PLAIN " + ir.decode())
        self.assertTagged(t, "OK", "CAPABILITY")
        u, t = c.cmd("SELECT INBOX")
        self.assertTagged(t, "OK")

    def test_authenticate_plain_continuation(self):
        """RFC 9051 6.2.2: without an initial response the server sends an
        empty "+ " continuation and the response comes on its own line."""
        c = self.raw()
        c.send("a AUTHENTICATE PLAIN\r\n")
        line = c.read_line()
        self.assertTrue(line.startswith(b"+"), line)
        c.send(base64.b64encode(b"\0" + USER.encode() + b"\0" + PW.encode()) + b"\r\n")
        u, t = c.collect("a")
        self.assertTagged(t, "OK")

    def test_authenticate_with_imaplib(self):
        """RFC 9051 6.2.2 as imaplib does it (continuation, no SASL-IR)."""
        m = self.imaps()
        typ, _ = m.authenticate("PLAIN", lambda _: b"\0" + USER.encode() + b"\0" + PW.encode())
        self.assertEqual(typ, "OK")
        self.assertEqual(m.state, "AUTH")
        m.logout()

    def test_authenticate_cancel(self):
        """RFC 9051 6.2.2: a "*" line cancels the exchange with a tagged
        BAD; the session is still not authenticated and in sync."""
        c = self.raw()
        c.send("a AUTHENTICATE PLAIN\r\n")
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send("*\r\n")
        u, t = c.collect("a")
        self.assertTagged(t, "BAD")
        u, t = c.cmd("SELECT INBOX")
        self.assertTagged(t, "BAD")
        c.login()

    def test_authenticate_bad_responses(self):
        """RFC 4616 2: a response that is not base64, one without two NULs,
        a different authzid (no proxy logins) and an unknown mechanism all
        fail without logging in (RFC 9051 6.2.2 NO/BAD)."""
        c = self.raw()
        u, t = c.cmd("AUTHENTICATE PLAIN !!!notbase64")
        self.assertTagged(t, "BAD")
        u, t = c.cmd("AUTHENTICATE PLAIN " + base64.b64encode(b"just-text").decode())
        self.assertTagged(t, "NO")
        other = base64.b64encode(b"w@a.test\0" + USER.encode() + b"\0" + PW.encode())
        u, t = c.cmd("AUTHENTICATE PLAIN " + other.decode())
        self.assertTagged(t, "NO")
        u, t = c.cmd("AUTHENTICATE CRAM-MD5")
        self.assertTagged(t, "NO")
        u, t = c.cmd("SELECT INBOX")
        self.assertTagged(t, "BAD")

    def test_failed_login_delayed_and_logged(self):
        """RFC 9051 11 (password guessing) and RFC 5530 3: a failed LOGIN
        is answered NO [AUTHENTICATIONFAILED] only after a delay of about
        two seconds (issue 3), and it is logged; an unknown user looks the
        same as a wrong password."""
        c = self.raw()
        start = time.monotonic()
        u, t = c.cmd('LOGIN "%s" "wrong-password"' % USER, timeout=15)
        took = time.monotonic() - start
        self.assertTagged(t, "NO", "AUTHENTICATIONFAILED")
        self.assertGreaterEqual(took, 1.5)
        self.assertIn("auth failed: service=imap ip=127.0.0.1 user=<%s> reason=bad-password"
                      % USER, self.srv.log_text())
        start = time.monotonic()
        u, t = c.cmd('LOGIN "nobody@a.test" "x"', timeout=15)
        self.assertTagged(t, "NO", "AUTHENTICATIONFAILED")
        self.assertGreaterEqual(time.monotonic() - start, 1.5)
        c.login()

    def test_login_with_literals(self):
        """RFC 9051 4.3 and RFC 7888 (LITERAL+): a password in a
        synchronizing literal gets a "+" continuation first; a
        non-synchronizing one needs none."""
        c = self.raw()
        c.send('a LOGIN "%s" {%d}\r\n' % (USER, len(PW)))
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(PW + "\r\n")
        u, t = c.collect("a")
        self.assertTagged(t, "OK")
        d = self.raw()
        d.send('b LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n' % (len(USER), USER, len(PW), PW))
        u, t = d.collect("b")
        self.assertTagged(t, "OK")


class TestStates(ImapCase):
    def test_capability_in_each_state(self):
        """RFC 9051 6.1.1: CAPABILITY works in every state; AUTH= and
        STARTTLS belong to the not-authenticated state only."""
        c = self.raw()
        u, t = c.ok("CAPABILITY")
        na = caps_of(u[0])
        self.assertIn("AUTH=PLAIN", na)
        self.assertNotIn("LOGINDISABLED", na)
        c.login()
        u, t = c.ok("CAPABILITY")
        au = caps_of(u[0])
        self.assertFalse([x for x in au if x.startswith("AUTH=") or x == "STARTTLS"], au)
        self.assertIn("IMAP4REV2", au)
        c.ok("SELECT INBOX")
        u, t = c.ok("CAPABILITY")
        self.assertEqual(caps_of(u[0]), au)

    def test_commands_in_wrong_state(self):
        """RFC 9051 3 and 6: a command not valid in the current state gets
        BAD (or NO), never runs, and the session goes on."""
        c = self.raw()
        for cmd in ("SELECT INBOX", "EXAMINE INBOX", "CLOSE", "UNSELECT", "IDLE",
                    "ENABLE IMAP4rev2", "NAMESPACE", "UID FETCH 1 FLAGS", "FETCH 1 FLAGS",
                    "LIST \"\" *", "STATUS INBOX (MESSAGES)", "EXPUNGE"):
            u, t = c.cmd(cmd)
            self.assertRegex(t, rb"^\S+ (BAD|NO)", cmd)
        c.login()
        for cmd in ('LOGIN "%s" "%s"' % (USER, PW), "AUTHENTICATE PLAIN", "STARTTLS",
                    "CLOSE", "UNSELECT"):
            u, t = c.cmd(cmd)
            self.assertRegex(t, rb"^\S+ (BAD|NO)", cmd)
        u, t = c.ok("NOOP")

    def test_unknown_command(self):
        """RFC 9051 7.1.3: an unknown command is a tagged BAD."""
        c = self.raw()
        u, t = c.cmd("FROBNICATE now")
        self.assertTagged(t, "BAD")
        c.login()
        u, t = c.cmd("FROBNICATE")
        self.assertTagged(t, "BAD")
        c.ok("NOOP")

    def test_id(self):
        """RFC 2971 3.1/3.2: ID in any state, with NIL or a field list;
        the server answers with its own "* ID"."""
        c = self.raw()
        u, t = c.ok("ID NIL")
        self.assertTrue(u and u[0].startswith(b"* ID ("), u)
        u, t = c.ok('ID ("name" "test-client" "version" "1.0")')
        self.assertIn(b'"name" "postbox"', u[0])
        u, t = c.cmd("ID")
        self.assertTagged(t, "BAD")
        c.login()
        c.ok("ID NIL")

    def test_enable(self):
        """RFC 5161 3.1: ENABLE only after login; "* ENABLED" lists the
        extensions newly enabled, not unknown ones nor ones already on;
        RFC 9051 6.3.1 IMAP4rev2, RFC 6855 3 UTF8=ACCEPT."""
        c = self.raw()
        u, t = c.cmd("ENABLE IMAP4rev2")
        self.assertTagged(t, "BAD")
        c.login()
        u, t = c.ok("ENABLE IMAP4rev2 X-UNKNOWN")
        self.assertEqual(u, [b"* ENABLED IMAP4rev2"])
        u, t = c.ok("ENABLE IMAP4rev2")
        self.assertEqual([x.rstrip() for x in u], [b"* ENABLED"])
        u, t = c.ok("ENABLE UTF8=ACCEPT")
        self.assertEqual(u, [b"* ENABLED UTF8=ACCEPT"])
        u, t = c.cmd("ENABLE")
        self.assertTagged(t, "BAD")

    def test_namespace(self):
        """RFC 9051 6.3.10 (RFC 2342): one personal namespace "" with "/"
        as the hierarchy delimiter, no other users' or shared ones."""
        m = self.imaps()
        m.login(USER, PW)
        typ, data = m.namespace()
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0], b'(("" "/")) NIL NIL')


class TestSelect(ImapCase):
    def select_lines(self, c, cmd):
        u, t = c.cmd(cmd)
        self.assertTagged(t, "OK")
        return u, t

    def test_select_rev1(self):
        """RFC 3501 6.3.1 / 7.3.1-7.3.2 for an IMAP4rev1 client: EXISTS,
        RECENT, FLAGS, PERMANENTFLAGS with \\*, UIDVALIDITY, UIDNEXT and
        the tagged OK [READ-WRITE]."""
        for s in ("one", "two"):
            deliver(self.srv, USER, s)
        c = self.raw()
        c.login()
        u, t = self.select_lines(c, "SELECT INBOX")
        text = b"\n".join(u)
        self.assertIn(b"* 2 EXISTS", u)
        # RFC 3501 2.3.2: the first session to select after delivery
        # has them as \Recent.
        self.assertIn(b"* 2 RECENT", u)
        self.assertRegex(text, rb"\* FLAGS \([^)]*\\Seen[^)]*\)")
        self.assertRegex(text, rb"\* OK \[PERMANENTFLAGS \([^)]*\\Deleted[^)]*\\\*\)\]")
        self.assertRegex(text, rb"\* OK \[UIDVALIDITY [1-9][0-9]*\]")
        self.assertRegex(text, rb"\* OK \[UIDNEXT 3\]")
        self.assertTagged(t, "OK", "READ-WRITE")

    def test_select_rev2(self):
        """RFC 9051 6.3.2: after ENABLE IMAP4rev2, no RECENT (gone in
        rev2) but a LIST response for the mailbox's canonical name;
        "inbox" names INBOX in any case (RFC 9051 5.1)."""
        c = self.raw()
        c.login()
        c.ok("ENABLE IMAP4rev2")
        u, t = self.select_lines(c, "SELECT inbox")
        self.assertFalse([x for x in u if x.endswith(b"RECENT")], u)
        self.assertIn(b"* 0 EXISTS", u)
        self.assertIn(b'* LIST () "/" "INBOX"', u)
        self.assertTagged(t, "OK", "READ-WRITE")

    def test_examine_read_only(self):
        """RFC 9051 6.3.3: EXAMINE is SELECT read-only: [READ-ONLY] and no
        permanent flags; a message stays unseen (files stay in new/)."""
        deliver(self.srv, USER, "one")
        c = self.raw()
        c.login()
        u, t = self.select_lines(c, "EXAMINE INBOX")
        self.assertIn(b"* 1 EXISTS", u)
        self.assertIn(b"* OK [PERMANENTFLAGS ()] Read-only mailbox", u)
        self.assertTagged(t, "OK", "READ-ONLY")
        c.ok("CLOSE")
        self.assertEqual(len(self.srv.maildir_messages(USER, "new")), 1)

    def test_select_other_closes_previous(self):
        """RFC 9051 6.3.2 / 7.1 CLOSED: SELECT while a mailbox is selected
        closes it first and says so with OK [CLOSED]; a failed SELECT
        leaves the session in the authenticated state."""
        c = self.raw()
        c.login()
        c.ok("SELECT INBOX")
        u, t = self.select_lines(c, "EXAMINE Sent")
        self.assertTrue(u[0].startswith(b"* OK [CLOSED]"), u)
        u, t = c.cmd("SELECT Nonexistent")
        self.assertTagged(t, "NO", "NONEXISTENT")
        u, t = c.cmd("CLOSE")
        self.assertTagged(t, "BAD")

    def test_close_and_unselect(self):
        """RFC 9051 6.4.1 CLOSE and 6.4.2 UNSELECT (RFC 3691): both leave
        the selected state; then CLOSE is not valid any more."""
        m = self.imaps()
        m.login(USER, PW)
        m.select("INBOX")
        typ, _ = m.close()
        self.assertEqual(typ, "OK")
        self.assertEqual(m.state, "AUTH")
        m.select("INBOX")
        typ, _ = m.unselect()
        self.assertEqual(typ, "OK")
        with self.assertRaises(imaplib.IMAP4.error):
            m.close()

    def test_close_expunges_silently_unselect_does_not(self):
        """RFC 9051 6.4.1: CLOSE removes the \\Deleted messages without
        sending EXPUNGE responses, except when the mailbox was EXAMINEd;
        6.4.2 (RFC 3691): UNSELECT removes nothing."""
        for s in ("one", "two", "three"):
            deliver(self.srv, USER, s)
        c = self.raw()
        c.login()
        c.ok("SELECT INBOX")
        c.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
        u, t = c.ok("UNSELECT")
        self.assertEqual(u, [])
        u, t = c.ok("EXAMINE INBOX")
        self.assertIn(b"* 3 EXISTS", u)
        u, t = c.ok("CLOSE")
        self.assertEqual(u, [])
        u, t = c.ok("SELECT INBOX")
        self.assertIn(b"* 3 EXISTS", u)
        u, t = c.ok("CLOSE")
        self.assertEqual(u, [])
        u, t = c.ok("SELECT INBOX")
        self.assertIn(b"* 1 EXISTS", u)
        u, t = c.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"Subject: three", u[0])

    def test_select_mailbox_names(self):
        """RFC 3501 5.1.3 modified UTF-7: a broken encoding ("&Jjo" not
        closed, "&" alone, "&AGE-" which encodes ASCII) is refused with NO
        or BAD; a valid name for a missing mailbox is NO [NONEXISTENT];
        names that try to leave the Maildir are refused; the session stays
        usable."""
        c = self.raw()
        c.login()
        for name in ('"&Jjo"', '"&"', '"&AGE-"', '"&2D3eAA-"'):
            u, t = c.cmd("SELECT " + name)
            self.assertRegex(t, rb"^\S+ (NO|BAD)", name)
        u, t = c.cmd('SELECT "&ZeVnLIqe-"')
        self.assertTagged(t, "NO", "NONEXISTENT")
        for name in ('"../../etc"', '".."', '"INBOX/../x"', '"/etc/passwd"', '".hidden"'):
            u, t = c.cmd("SELECT " + name)
            self.assertRegex(t, rb"^\S+ NO", name)
        c.ok("SELECT INBOX")

    def test_create_rename_names_that_escape(self):
        """Issue 3 / RFC 9051 5.1 and 6.3.4: names with "..", a leading
        "/" or ".", or empty levels are refused by CREATE and
        RENAME with NO (or BAD), and nothing appears outside the user's
        Maildir; a valid hierarchical name works."""
        c = self.raw()
        c.login()
        bad = ['"../../escape"', '"a/../../escape"', '"/abs"', '".hidden"', '"a/./b"',
               '"a//b"', '"x/.."']
        for name in bad:
            u, t = c.cmd("CREATE " + name)
            self.assertRegex(t, rb"^\S+ (NO|BAD)", name)
            u, t = c.cmd("RENAME Trash " + name)
            self.assertRegex(t, rb"^\S+ (NO|BAD)", name)
        c.ok('CREATE "Projects/2024"')
        c.ok('SELECT "Projects/2024"')
        found = []
        for dirpath, dirnames, filenames in os.walk(self.srv.data_dir):
            found += [os.path.join(dirpath, d) for d in dirnames if "escape" in d or "abs" in d]
        self.assertEqual(found, [])
        self.assertTrue(os.path.isdir(os.path.join(self.srv.maildir(USER), ".Projects.2024")))

    def test_select_utf8_name_with_utf8_accept(self):
        """RFC 6855 3: after ENABLE UTF8=ACCEPT a UTF-8 name is taken as
        is; invalid UTF-8 is refused."""
        c = self.raw()
        c.login()
        c.ok("ENABLE UTF8=ACCEPT")
        u, t = c.cmd('SELECT "\u65e5\u672c"')
        self.assertTagged(t, "NO", "NONEXISTENT")
        c.send(b'x SELECT "\xff\xfe"\r\n')
        u, t = c.collect("x")
        self.assertRegex(t, rb"^x (NO|BAD)")
        c.ok("SELECT INBOX")


class TestIdle(ImapCase):
    def test_idle_reports_delivery_within_one_second(self):
        """RFC 2177 3 (RFC 9051 6.3.13): during IDLE a new message is
        reported as "* n EXISTS" without the client asking (issue 3:
        within one second of the delivery); DONE ends it with a tagged
        OK."""
        c = self.raw()
        c.login()
        c.ok("SELECT INBOX")
        c.send("i IDLE\r\n")
        self.assertTrue(c.read_line().startswith(b"+"))
        deliver(self.srv, USER, "idle one")
        t0 = time.monotonic()
        line = c.read_line(timeout=5)
        took = time.monotonic() - t0
        self.assertEqual(line, b"* 1 EXISTS")
        self.assertLess(took, 1.0, "EXISTS came %.2fs after the delivery" % took)
        # An IMAP4rev1 session: the new message is \Recent to it.
        self.assertEqual(c.read_line(timeout=5), b"* 1 RECENT")
        deliver(self.srv, USER, "idle two")
        self.assertEqual(c.read_line(timeout=5), b"* 2 EXISTS")
        self.assertEqual(c.read_line(timeout=5), b"* 2 RECENT")
        c.send("DONE\r\n")
        u, t = c.collect("i")
        self.assertTagged(t, "OK")
        c.ok("NOOP")

    def test_noop_reports_delivery(self):
        """RFC 9051 6.1.2 / 7.4.1: NOOP is the poll: it reports the new
        size of the mailbox before its tagged OK."""
        c = self.raw()
        c.login()
        c.ok("SELECT INBOX")
        deliver(self.srv, USER, "x")
        u, t = c.ok("NOOP")
        self.assertIn(b"* 1 EXISTS", u)

    def test_idle_in_authenticated_state_and_bad_end(self):
        """RFC 2177 3: IDLE is valid in the authenticated state too; a
        line other than DONE ends it with BAD (RFC 9051 6.3.13)."""
        c = self.raw()
        c.login()
        c.send("i IDLE\r\n")
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send("NOTDONE\r\n")
        u, t = c.collect("i")
        self.assertTagged(t, "BAD")
        c.send("j IDLE\r\n")
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send("done\r\n")
        u, t = c.collect("j")
        self.assertTagged(t, "OK")

    def test_idle_two_sessions(self):
        """RFC 2177 3 / RFC 9051 5.2: a delivery reaches two sessions of
        the same user IDLE on the same mailbox (one SELECTed, one
        EXAMINEd)."""
        a = self.raw()
        a.login()
        a.ok("SELECT INBOX")
        b = self.raw()
        b.login()
        b.ok("EXAMINE INBOX")
        a.send("i IDLE\r\n")
        b.send("j IDLE\r\n")
        self.assertTrue(a.read_line().startswith(b"+"))
        self.assertTrue(b.read_line().startswith(b"+"))
        deliver(self.srv, USER, "both")
        self.assertEqual(a.read_line(timeout=5), b"* 1 EXISTS")
        self.assertEqual(b.read_line(timeout=5), b"* 1 EXISTS")
        for c, tag in ((a, "i"), (b, "j")):
            c.send("DONE\r\n")
            u, t = c.collect(tag)
            self.assertTagged(t, "OK")

    def read_until(self, c, pred, timeout=5.0):
        """Lines until one matches pred; returns (all lines, seconds)."""
        t0 = time.monotonic()
        lines = []
        while True:
            left = timeout - (time.monotonic() - t0)
            self.assertGreater(left, 0, "no matching line; got %r" % lines)
            lines.append(c.read_line(timeout=left))
            if pred(lines[-1]):
                return lines, time.monotonic() - t0

    def test_idle_sees_other_session_flags_and_expunge(self):
        """RFC 2177 3, RFC 9051 7.4.1 and 7.5.2: changes made by another
        session reach an IDLE session within one second: a STORE as an
        untagged FETCH with the new FLAGS, an EXPUNGE as "* n EXPUNGE"."""
        for s in ("one", "two", "three"):
            deliver(self.srv, USER, s)
        a = self.raw()
        a.login()
        a.ok("SELECT INBOX")
        b = self.raw()
        b.login()
        b.ok("SELECT INBOX")
        a.send("i IDLE\r\n")
        self.assertTrue(a.read_line().startswith(b"+"))
        b.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
        lines, took = self.read_until(a, lambda l: l.startswith(b"* 1 FETCH"))
        self.assertRegex(lines[-1], rb"FLAGS \([^)]*\\Flagged")
        self.assertLess(took, 1.0, "FETCH came %.2fs after the STORE" % took)
        b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        b.ok("EXPUNGE")
        lines, took = self.read_until(a, lambda l: l == b"* 2 EXPUNGE")
        self.assertLess(took, 1.0, "EXPUNGE came %.2fs after the EXPUNGE" % took)
        a.send("DONE\r\n")
        u, t = a.collect("i")
        self.assertTagged(t, "OK")
        u, t = a.ok("FETCH 1:* (FLAGS)")
        self.assertEqual(len([x for x in u if b" FETCH " in x]), 2, u)

    def test_no_expunge_during_fetch_store_search(self):
        """RFC 9051 7.5.1: no EXPUNGE response while answering FETCH,
        STORE or SEARCH (sequence numbers must not shift under the
        client); the next NOOP reports it."""
        for s in ("one", "two"):
            deliver(self.srv, USER, s)
        a = self.raw()
        a.login()
        a.ok("SELECT INBOX")
        b = self.raw()
        b.login()
        b.ok("SELECT INBOX")
        b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        b.ok("EXPUNGE")
        for cmd in ("FETCH 1:* (FLAGS)", "STORE 2 +FLAGS (\\Seen)", "SEARCH ALL",
                    "UID FETCH 1:* (FLAGS)", "UID SEARCH ALL"):
            u, t = a.ok(cmd)
            self.assertFalse([x for x in u if x.endswith(b"EXPUNGE")], (cmd, u))
        u, t = a.ok("NOOP")
        self.assertIn(b"* 1 EXPUNGE", u)


class TestHostile(ImapCase):
    def rss_kib(self):
        with open("/proc/%d/status" % self.srv.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def test_huge_literal_refused_at_once(self):
        """RFC 9051 7.1 TOOBIG / issue 3: a synchronizing literal of 4 GiB
        gets a tagged NO [TOOBIG] (or BAD) at once, without a "+"
        continuation and without the server allocating it; the session is
        in sync after it."""
        c = self.raw()
        before = self.rss_kib()
        for cmd in ("a LOGIN {4294967296}\r\n", "b APPEND INBOX {4294967296}\r\n",
                    "c NOOP {99999999999999999999}\r\n",
                    "d LOGIN {18446744073709551615}\r\n"):
            c.send(cmd)
            line = c.read_line(timeout=5)
            self.assertRegex(line, rb"^[a-d] (NO|BAD)", cmd)
            self.assertFalse(line.startswith(b"+"), line)
        self.assertLess(self.rss_kib() - before, 64 * 1024)
        c.ok("NOOP")
        c.login()
        u, t = c.cmd("APPEND INBOX {4294967296}")
        self.assertTagged(t, "NO", "TOOBIG")
        c.ok("NOOP")

    def test_huge_non_synchronizing_literal(self):
        """RFC 7888 3-4: a 4 GiB non-synchronizing literal cannot be
        refused before its bytes come; the server reads and throws them
        away (never stores them); a client that hangs up mid-way leaves
        the server healthy."""
        c = self.raw()
        before = self.rss_kib()
        c.send("a LOGIN {4294967296+}\r\n")
        chunk = b"x" * 65536
        for _ in range(64):
            c.send(chunk)
        c.close()
        self.assertLess(self.rss_kib() - before, 64 * 1024)
        d = self.raw()
        d.ok("NOOP")

    def test_unbalanced_parentheses_and_quotes(self):
        """RFC 9051 9 (formal syntax): a list that is not closed, a ")"
        with no "(", an unterminated quoted string and a bad escape are
        BAD; the next command on the same connection works."""
        c = self.raw()
        c.login()
        c.ok("SELECT INBOX")
        for cmd in ('ID ("name" "x"', 'ID "name" "x")', 'ID (("a" "b")',
                    'LOGIN "abc', 'ID ("na\\me" "x")', 'SELECT "INBOX',
                    'FETCH 1 (FLAGS', 'STATUS INBOX (MESSAGES'):
            u, t = c.cmd(cmd)
            self.assertRegex(t, rb"^\S+ (BAD|NO)", cmd)
        c.ok("NOOP")

    def test_overlong_line(self):
        """RFC 9051 4 / 7.1.3 (and RFC 7162 4: lines of at least 8192
        octets are allowed): a command line over 64 KiB gets BAD; the
        server skips the rest of that line and the next command, in the
        same packet, is answered normally."""
        c = self.raw()
        c.send(b"a NOOP " + b"x" * 70000 + b"\r\nb NOOP\r\n")
        line = c.read_line()
        self.assertRegex(line, rb"^(a|\*) BAD")
        u, t = c.collect("b")
        self.assertTagged(t, "OK")
        # A long but acceptable line (RFC 7162 4 asks for 8192 octets).
        u, t = c.cmd("ID (%s)" % " ".join('"f%d" "%s"' % (i, "y" * 1000) for i in range(8)))
        self.assertTagged(t, "OK")
        # An overlong line without an end: sent in pieces.
        c.send(b"c NOOP ")
        for _ in range(20):
            c.send(b"z" * 8192)
        c.send(b"\r\nd NOOP\r\n")
        u, t = c.collect("d")
        self.assertTagged(t, "OK")

    def test_nul_and_8bit_bytes(self):
        """RFC 9051 4.3 / 9: NUL is never allowed outside literal8; 8-bit
        bytes are not valid in atoms: BAD, and the session goes on."""
        c = self.raw()
        for cmd in (b"a NO\0OP\r\n", b'b ID ("a\0" "b")\r\n', b"c LOGIN v@a.test\0 x\r\n",
                    b"d \xff\xfe\r\n", b"\0\0\0\r\n"):
            c.send(cmd)
            line = c.read_line()
            self.assertRegex(line, rb"^\S+ BAD", cmd)
        c.ok("NOOP")
        c.login()
        c.send(b'e ID ("a" {3}\r\n')
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(b"a\0b)\r\n")
        line = c.read_line()
        self.assertRegex(line, rb"^e (OK|BAD)")
        c.ok("NOOP")

    def test_too_many_bad_commands(self):
        """RFC 9051 7.1.5: after too many invalid commands in a row (20)
        the server sends BYE and closes; of 25 BAD commands sent at once
        at most 20 are answered. A command that succeeds in between starts
        the count again (a long-lived client may earn an occasional BAD)."""
        c = self.raw()
        for _ in range(2):
            c.send("".join("b%d FROB\r\n" % i for i in range(19)))
            for i in range(19):
                self.assertRegex(c.read_line(), rb"^b%d BAD" % i)
            c.ok("NOOP")
        c.send("".join("b%d FROB\r\n" % i for i in range(25)))
        rest = c.wait_closed()
        text = c.buf + rest
        self.assertIn(b"* BYE", text)
        self.assertLessEqual(text.count(b" BAD "), 20)
        self.assertTrue(c.eof)

    def test_tag_and_command_syntax(self):
        """RFC 9051 9: a line with a tag but no command, a tag with a
        forbidden character, a command without SP are BAD."""
        c = self.raw()
        for cmd in ("x\r\n", "x{ NOOP\r\n", "x+ NOOP\r\n", "x NOOP\r\n"):
            c.send(cmd)
            line = c.read_line()
            if cmd != "x NOOP\r\n":
                self.assertRegex(line, rb"^\S+ BAD", cmd)
            else:
                self.assertTagged(line, "OK")


class TestEnd(ImapCase):
    def test_logout(self):
        """RFC 9051 6.1.3: LOGOUT gets "* BYE" first, then the tagged OK,
        then the server closes the connection."""
        c = self.raw()
        c.login()
        c.send("z LOGOUT\r\n")
        self.assertTrue(c.read_line().startswith(b"* BYE"))
        u, t = c.collect("z")
        self.assertTagged(t, "OK")
        self.assertEqual(c.wait_closed(), b"")

    def test_logout_with_imaplib(self):
        """RFC 9051 6.1.3 as imaplib checks it (BYE expected)."""
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"], ssl_context=tls_context(),
                              timeout=10)
        m.login(USER, PW)
        typ, data = m.logout()
        self.assertEqual(typ, "BYE")

    def test_sigterm_sends_bye(self):
        """RFC 9051 7.1.5: a server shutting down sends an untagged BYE to
        open sessions, idle or not, and closes them; it exits cleanly."""
        a = self.raw()
        b = self.raw()
        b.login()
        b.ok("SELECT INBOX")
        b.send("i IDLE\r\n")
        self.assertTrue(b.read_line().startswith(b"+"))
        self.srv.signal(signal.SIGTERM)
        for c in (a, b):
            line = c.read_line(timeout=10)
            self.assertTrue(line.startswith(b"* BYE"), line)
            c.wait_closed()
        self.srv.stop()


if __name__ == "__main__":
    unittest.main()

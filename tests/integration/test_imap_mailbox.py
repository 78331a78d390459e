"""The IMAP mailbox commands against a real postbox serve: LIST (wildcards,
reference names, the delimiter request, LIST-EXTENDED RFC 5258, LIST-STATUS
RFC 5819, SPECIAL-USE RFC 6154, CHILDREN RFC 3348), LSUB, STATUS (RFC 8438
SIZE), CREATE, DELETE, RENAME (INBOX too), SUBSCRIBE, UNSUBSCRIBE, APPEND
(flags, date, literal8, MULTIAPPEND RFC 3502, UIDPLUS RFC 4315, TRYCREATE,
durability), CHECK; hostile and international mailbox names.

One server for the class; each test logs in as its own user, so the tests
do not see each other's folders. python3's imaplib where it says what we
check, a raw client where the bytes matter."""

import imaplib
import os
import re
import smtplib
import socket
import ssl
import time
import unittest

import pbtest

PW = pbtest.PASSWORD
USERS = ["u%d@a.test" % i for i in range(20)]


def tls_context():
    # 127.0.0.1 is not in the test certificate: check the chain only.
    ctx = pbtest.client_tls_context()
    ctx.check_hostname = False
    return ctx


def deliver(srv, rcpt, subject, body="hello\r\n"):
    msg = "From: x@c.test\r\nTo: %s\r\nSubject: %s\r\n\r\n%s" % (rcpt, subject, body)
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.sendmail("x@c.test", [rcpt], msg.encode())
    return msg.encode()


class Raw:
    """Byte-level client: cmd() sends "TAG TEXT" and returns (untagged
    lines with literals folded in, tagged line)."""

    def __init__(self, port):
        sock = socket.create_connection(("127.0.0.1", port), timeout=pbtest.IO_TIMEOUT)
        self.sock = tls_context().wrap_socket(sock)
        self.buf = b""
        self.n = 0
        self.read_line()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("closed; have %r" % self.buf)
        self.buf += chunk

    def read_line(self):
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            i = self.buf.index(b"\r\n")
            line, self.buf = self.buf[:i], self.buf[i + 2:]
            out += line
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def cmd(self, text):
        self.n += 1
        tag = b"t%d" % self.n
        self.send(tag + b" " + (text.encode() if isinstance(text, str) else text) + b"\r\n")
        return self.collect(tag)

    def collect(self, tag):
        untagged = []
        while True:
            line = self.read_line()
            if line.startswith(tag + b" "):
                return untagged, line
            untagged.append(line)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def list_names(lines, kind=b"LIST"):
    """{name: (attrs set, rest)} of "* LIST (attrs) "/" name [ext]" lines."""
    out = {}
    for line in lines:
        m = re.match(rb'^\* ' + kind + rb' \(([^)]*)\) "/" ("(?:[^"\\]|\\.)*"|\S+)(.*)$',
                     line, re.S)
        if not m:
            continue
        name = m.group(2)
        if name.startswith(b'"'):
            name = re.sub(rb"\\(.)", rb"\1", name[1:-1])
        out[name.decode()] = (set(m.group(1).decode().split()), m.group(3).decode())
    return out


class MailboxCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server(users=USERS, services=["imaps"])
        cls.srv.__enter__()
        cls.next_user = 0

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def setUp(self):
        self.user = USERS[type(self).next_user]
        type(self).next_user += 1

    def imaps(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"], ssl_context=tls_context(),
                              timeout=10)
        self.addCleanup(self._shutdown, m)
        m.login(self.user, PW)
        return m

    @staticmethod
    def _shutdown(m):
        try:
            m.shutdown()
        except OSError:
            pass

    def raw(self):
        c = Raw(self.srv.ports["imaps"])
        self.addCleanup(c.close)
        u, t = c.cmd('LOGIN "%s" "%s"' % (self.user, PW))
        self.assertIn(b" OK", t)
        return c

    def ok(self, c, text):
        u, t = c.cmd(text)
        self.assertRegex(t, rb"^\S+ OK", (text, u))
        return u

    def assertTagged(self, line, status, code=None):
        m = re.match(rb"^\S+ (OK|NO|BAD)( \[([^\]]*)\])?", line)
        self.assertIsNotNone(m, line)
        self.assertEqual(m.group(1).decode(), status, line)
        if code is not None:
            self.assertIsNotNone(m.group(3), line)
            self.assertEqual(m.group(3).decode().split()[0], code, line)

    def maildir(self):
        return self.srv.maildir(self.user)

    def folder_dirs(self):
        return sorted(d for d in os.listdir(self.maildir()) if d.startswith("."))


class TestList(MailboxCase):
    def test_capabilities(self):
        """The family's capabilities are advertised after login."""
        m = self.imaps()
        typ, data = m.capability()
        caps = set(data[0].decode().upper().split())
        for want in ("LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CHILDREN",
                     "STATUS=SIZE", "UIDPLUS", "MULTIAPPEND"):
            self.assertIn(want, caps)

    def test_defaults_and_delimiter(self):
        """RFC 9051 6.3.9: LIST "" "" gives the delimiter; a new user has
        INBOX and the RFC 6154 special-use folders, with CHILDREN
        attributes (RFC 3348)."""
        m = self.imaps()
        typ, data = m.list('""', '""')
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [b'(\\Noselect) "/" ""'])
        typ, data = m.list()
        names = list_names([b"* LIST " + d for d in data])
        self.assertEqual(set(names), {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"})
        self.assertEqual(list(names)[0], "INBOX")
        for n, use in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
                       ("Junk", "\\Junk"), ("Archive", "\\Archive")):
            self.assertIn(use, names[n][0])
            self.assertIn("\\HasNoChildren", names[n][0])
        self.assertNotIn("\\Subscribed", names["INBOX"][0])

    def test_wildcards_and_reference(self):
        """% stops at the delimiter, * does not; the reference is put in
        front of the pattern; INBOX matches in any case; hierarchy levels
        without a folder are \\Noselect."""
        c = self.raw()
        for name in ("a/b/c", "a/x", "ab", "q/r/s"):
            self.ok(c, 'CREATE "%s"' % name)
        top = list_names(self.ok(c, 'LIST "" "%"'))
        self.assertEqual(set(top), {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive",
                                    "a", "ab", "q"})
        self.assertIn("\\HasChildren", top["a"][0])
        self.assertIn("\\HasNoChildren", top["ab"][0])
        self.assertEqual(set(list_names(self.ok(c, 'LIST "" "a/%"'))), {"a/b", "a/x"})
        self.assertEqual(set(list_names(self.ok(c, 'LIST "a/" "%"'))), {"a/b", "a/x"})
        self.assertEqual(set(list_names(self.ok(c, 'LIST "" "a*"'))),
                         {"a", "a/b", "a/b/c", "a/x", "ab"})
        self.assertEqual(set(list_names(self.ok(c, 'LIST "" "*/c"'))), {"a/b/c"})
        self.assertEqual(set(list_names(self.ok(c, 'LIST "" "%/%/%"'))), {"a/b/c", "q/r/s"})
        self.assertEqual(set(list_names(self.ok(c, 'LIST "" "inbox"'))), {"INBOX"})
        self.assertEqual(set(list_names(self.ok(c, 'LIST "" "nothing*"'))), set())
        # CREATE made the superior names (RFC 9051 6.3.4 SHOULD): selectable
        self.assertNotIn("\\Noselect", top["q"][0])
        self.ok(c, 'DELETE "q/r"')
        mid = list_names(self.ok(c, 'LIST "" "q/%"'))
        self.assertIn("\\Noselect", mid["q/r"][0])
        self.assertIn("\\HasChildren", mid["q/r"][0])
        # a pathological pattern is answered quickly
        t0 = time.monotonic()
        self.ok(c, 'LIST "" "%s"' % ("*a" * 500 + "%b" * 500))
        self.assertLess(time.monotonic() - t0, 5)
        # several patterns (RFC 5258)
        self.assertEqual(set(list_names(self.ok(c, 'LIST "" ("Sent" "Junk")'))),
                         {"Sent", "Junk"})

    def test_subscriptions_and_lsub(self):
        """SUBSCRIBE/UNSUBSCRIBE; LSUB (IMAP4rev1) with \\Noselect for a
        parent that only has subscribed children; LIST (SUBSCRIBED)
        with \\NonExistent; RETURN (SUBSCRIBED); RECURSIVEMATCH gives
        CHILDINFO (RFC 5258 3)."""
        c = self.raw()
        self.ok(c, 'CREATE "p/kid"')
        self.ok(c, 'UNSUBSCRIBE "Junk"')
        self.ok(c, 'SUBSCRIBE "p/kid"')
        self.ok(c, 'SUBSCRIBE "gone"')
        lsub = list_names(self.ok(c, 'LSUB "" "*"'), b"LSUB")
        self.assertEqual(set(lsub), {"INBOX", "Sent", "Drafts", "Trash", "Archive",
                                     "p/kid", "gone"})
        lsub = list_names(self.ok(c, 'LSUB "" "%"'), b"LSUB")
        self.assertIn("p", lsub)
        self.assertEqual(lsub["p"][0], {"\\Noselect"})
        self.assertNotIn("p/kid", lsub)
        sub = list_names(self.ok(c, 'LIST (SUBSCRIBED) "" "*"'))
        self.assertEqual(sub["gone"][0], {"\\Subscribed", "\\NonExistent"})
        self.assertIn("\\Subscribed", sub["Sent"][0])
        self.assertNotIn("Junk", sub)
        self.assertNotIn("p", sub)
        rec = list_names(self.ok(c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'))
        self.assertNotIn("\\Subscribed", rec["p"][0])
        self.assertIn('("CHILDINFO" ("SUBSCRIBED"))', rec["p"][1])
        self.assertNotIn("p/kid", rec)
        ret = list_names(self.ok(c, 'LIST "" "*" RETURN (SUBSCRIBED CHILDREN)'))
        self.assertIn("\\Subscribed", ret["p/kid"][0])
        self.assertNotIn("\\Subscribed", ret["Junk"][0])
        self.assertNotIn("gone", ret)   # no \NonExistent without SUBSCRIBED
        self.ok(c, 'UNSUBSCRIBE "gone"')
        self.assertNotIn("gone", list_names(self.ok(c, 'LSUB "" "*"'), b"LSUB"))
        u, t = c.cmd('LIST (RECURSIVEMATCH) "" "*"')
        self.assertTagged(t, "BAD")
        u, t = c.cmd('LSUB "" ("a" "b")')
        self.assertTagged(t, "BAD")

    def test_special_use_and_list_status(self):
        """RFC 6154: LIST (SPECIAL-USE) selects the special folders;
        RFC 5819: RETURN (STATUS (...)) puts each folder's STATUS after
        its LIST line, none for \\Noselect."""
        c = self.raw()
        self.ok(c, 'CREATE "z/y"')
        self.ok(c, 'DELETE "z"')
        su = list_names(self.ok(c, 'LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)'))
        self.assertEqual(set(su), {"Sent", "Drafts", "Trash", "Junk", "Archive"})
        deliver(self.srv, self.user, "one")
        u = self.ok(c, 'LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
        for i, line in enumerate(u):
            if line.startswith(b"* STATUS"):
                self.assertTrue(u[i - 1].startswith(b"* LIST"), u)
        status = [l for l in u if l.startswith(b"* STATUS")]
        self.assertEqual(len(status), 7, u)   # not the \Noselect "z"
        inbox = [l for l in status if b'"INBOX"' in l][0]
        self.assertRegex(inbox, rb"MESSAGES 1 UNSEEN 1 SIZE \d+")

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
        # a pathological pattern is answered
        self.ok(c, 'LIST "" "%s"' % ("*a" * 500 + "%b" * 500))
        # many long patterns against long names: refused
        for i in range(8):
            self.ok(c, 'CREATE "%s%d"' % ("a" * 200, i))
        pats = " ".join('"%s"' % ("*a" * 500) for i in range(64))
        u, t = c.cmd('LIST "" (%s)' % pats)
        self.assertTagged(t, "NO", "LIMIT")
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
        # RFC 6154 3: CREATE with USE, possible only where the store has it
        u, t = c.cmd(r'CREATE "Other" (USE (\Sent))')
        self.assertTagged(t, "NO", "USEATTR")
        self.ok(c, "DELETE Trash")
        self.ok(c, r'CREATE "Trash" (USE (\Trash))')
        self.assertIn("\\Trash", list_names(self.ok(c, 'LIST "" "Trash"'))["Trash"][0])
        u, t = c.cmd(r'CREATE "x" (BOGUS)')
        self.assertTagged(t, "BAD")
        deliver(self.srv, self.user, "one")
        u = self.ok(c, 'LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
        for i, line in enumerate(u):
            if line.startswith(b"* STATUS"):
                self.assertTrue(u[i - 1].startswith(b"* LIST"), u)
        status = [l for l in u if l.startswith(b"* STATUS")]
        self.assertEqual(len(status), 7, u)   # not the \Noselect "z"
        inbox = [l for l in status if b'"INBOX"' in l][0]
        self.assertRegex(inbox, rb"MESSAGES 1 UNSEEN 1 SIZE \d+")


class TestFolders(MailboxCase):
    def test_create_delete(self):
        """CREATE (trailing delimiter, superior names, ALREADYEXISTS),
        DELETE (NONEXISTENT, INBOX refused, children kept as \\Noselect)."""
        m = self.imaps()
        self.assertEqual(m.create("Projects/")[0], "OK")
        self.assertIn(".Projects", self.folder_dirs())
        typ, data = m.create("Projects")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        typ, data = m.create("INBOX")
        self.assertEqual(typ, "NO")
        self.assertEqual(m.create("Projects/2024/Q1")[0], "OK")
        self.assertIn(".Projects.2024", self.folder_dirs())
        typ, data = m.delete("Nope")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NONEXISTENT]", data[0])
        typ, data = m.delete("INBOX")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[CANNOT]", data[0])
        self.assertEqual(m.delete("Projects")[0], "OK")
        names = list_names([b"* LIST " + d for d in m.list('""', "Proj*")[1]])
        self.assertIn("\\Noselect", names["Projects"][0])
        self.assertIn("Projects/2024/Q1", names)
        self.assertEqual(m.delete("Projects/2024/Q1")[0], "OK")
        self.assertNotIn(".Projects.2024.Q1", self.folder_dirs())

    def test_delete_selected(self):
        """Deleting the selected mailbox closes it (RFC 9051 7.1 CLOSED)."""
        c = self.raw()
        self.ok(c, "CREATE tmpbox")
        self.ok(c, "SELECT tmpbox")
        u = self.ok(c, "DELETE tmpbox")
        self.assertIn(b"* OK [CLOSED] Mailbox closed", u)
        u, t = c.cmd("CHECK")
        self.assertTagged(t, "BAD")   # back in the authenticated state

    def test_rename(self):
        """RENAME moves children along and keeps UIDVALIDITY; renaming to
        an existing name is ALREADYEXISTS; renaming INBOX moves its
        messages and leaves it empty (RFC 9051 6.3.6)."""
        m = self.imaps()
        m.create("old/child")
        uv = m.status("old", "(UIDVALIDITY)")[1][0]
        uv = re.search(rb"UIDVALIDITY (\d+)", uv).group(1)
        self.assertEqual(m.rename("old", "new")[0], "OK")
        names = list_names([b"* LIST " + d for d in m.list()[1]])
        self.assertIn("new/child", names)
        self.assertNotIn("old", names)
        # superior names of the new name are created (RFC 9051 6.3.6)
        self.assertEqual(m.rename("new/child", "deep/er/kid")[0], "OK")
        names = list_names([b"* LIST " + d for d in m.list()[1]])
        self.assertNotIn("\\Noselect", names["deep/er"][0])
        self.assertIn("deep/er/kid", names)
        self.assertEqual(m.rename("deep/er/kid", "new/child")[0], "OK")
        self.assertIn(b"UIDVALIDITY " + uv, m.status("new", "(UIDVALIDITY)")[1][0])
        typ, data = m.rename("new", "Sent")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        typ, data = m.rename("missing", "x")
        self.assertIn(b"[NONEXISTENT]", data[0])
        deliver(self.srv, self.user, "in inbox")
        deliver(self.srv, self.user, "in inbox 2")
        self.assertEqual(m.rename("INBOX", "Saved")[0], "OK")
        self.assertIn(b"MESSAGES 2", m.status("Saved", "(MESSAGES)")[1][0])
        self.assertIn(b"MESSAGES 0", m.status("INBOX", "(MESSAGES)")[1][0])

    def test_check(self):
        """CHECK (IMAP4rev1 6.4.1) works like NOOP in the selected state."""
        c = self.raw()
        u, t = c.cmd("CHECK")
        self.assertTagged(t, "BAD")
        self.ok(c, "SELECT INBOX")
        deliver(self.srv, self.user, "new")
        deadline = time.monotonic() + 5
        while True:
            u = self.ok(c, "CHECK")
            if b"* 1 EXISTS" in u or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertIn(b"* 1 EXISTS", u)


class TestStatus(MailboxCase):
    def test_status_items(self):
        """STATUS with every item, SIZE (RFC 8438) the sum of the
        messages' sizes; NONEXISTENT for a missing mailbox; BAD for an
        unknown item."""
        m = self.imaps()
        a = deliver(self.srv, self.user, "one")
        b = b"Subject: two\r\n\r\nbody\r\n"
        self.assertEqual(m.append("INBOX", "(\\Seen \\Deleted)", None, b)[0], "OK")
        typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE"
                                      " RECENT HIGHESTMODSEQ)")
        self.assertEqual(typ, "OK")
        line = data[0].decode()
        items = dict(re.findall(r"([A-Z]+) (\d+)", line.split("(", 1)[1]))
        self.assertEqual(items["MESSAGES"], "2")
        self.assertEqual(items["UIDNEXT"], "3")
        self.assertEqual(items["UNSEEN"], "1")
        self.assertEqual(items["DELETED"], "1")
        # RFC 3501 6.3.10: no session has selected INBOX since: both new.
        self.assertEqual(items["RECENT"], "2")
        self.assertGreater(int(items["UIDVALIDITY"]), 0)
        self.assertGreater(int(items["HIGHESTMODSEQ"]), 0)
        # Received: is added on delivery: at least the bytes sent
        self.assertGreaterEqual(int(items["SIZE"]), len(a) + len(b))
        typ, data = m.status("Nope", "(MESSAGES)")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NONEXISTENT]", data[0])
        c = self.raw()
        u, t = c.cmd("STATUS INBOX (BOGUS)")
        self.assertTagged(t, "BAD")
        u, t = c.cmd("STATUS INBOX ()")
        self.assertTagged(t, "BAD")
        u, t = c.cmd("STATUS INBOX")
        self.assertTagged(t, "BAD")


def cur_files(maildir, folder):
    d = os.path.join(maildir, "cur") if folder == "INBOX" else \
        os.path.join(maildir, "." + folder, "cur")
    return sorted(os.listdir(d))


class TestAppend(MailboxCase):
    def test_append_durable_with_flags_and_date(self):
        """APPEND with flags and a date: when OK arrives the message is a
        file in cur/ of that folder, with the Maildir flags and the date
        as its mtime; OK carries [APPENDUID uidvalidity uid] (RFC 4315)."""
        m = self.imaps()
        msg = b"From: a@b.test\r\nSubject: appended\r\n\r\nbody\r\n"
        typ, data = m.append("Sent", "(\\Seen \\Flagged $Work)",
                             '"17-Jul-1996 02:44:25 -0700"', msg)
        self.assertEqual(typ, "OK")
        mm = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
        self.assertIsNotNone(mm, data)
        self.assertEqual(mm.group(2), b"1")
        uv = m.status("Sent", "(UIDVALIDITY)")[1][0]
        self.assertIn(b"UIDVALIDITY " + mm.group(1), uv)
        files = cur_files(self.maildir(), "Sent")
        self.assertEqual(len(files), 1, files)
        self.assertTrue(files[0].endswith(":2,FS"), files)
        path = os.path.join(self.maildir(), ".Sent", "cur", files[0])
        with open(path, "rb") as f:
            self.assertEqual(f.read(), msg)
        self.assertEqual(int(os.stat(path).st_mtime), 837596665)
        self.assertEqual(cur_files(self.maildir(), "INBOX"), [])
        typ, data = m.append("Sent", None, None, msg)
        self.assertIn(b"[APPENDUID " + mm.group(1) + b" 2]", data[0])

    def test_trycreate_and_bad_input(self):
        """RFC 9051 6.3.12: a missing mailbox gets NO [TRYCREATE]; a bad
        date or flag is BAD; an empty message is refused."""
        c = self.raw()
        u, t = c.cmd(b"APPEND Nope {5+}\r\nhello")
        self.assertTagged(t, "NO", "TRYCREATE")
        u, t = c.cmd(b'APPEND INBOX "31-Feb-2020 00:00:00 +0000" {5+}\r\nhello')
        self.assertTagged(t, "BAD")
        u, t = c.cmd(b"APPEND INBOX (\\Bogus) {5+}\r\nhello")
        self.assertTagged(t, "BAD")
        u, t = c.cmd(b"APPEND INBOX (\\Recent) {5+}\r\nhello")
        self.assertTagged(t, "BAD")
        u, t = c.cmd(b"APPEND INBOX {0+}\r\n")
        self.assertTagged(t, "NO")
        u, t = c.cmd(b"APPEND INBOX")
        self.assertTagged(t, "BAD")
        self.assertEqual(cur_files(self.maildir(), "INBOX"), [])

    def test_multiappend_and_literal8(self):
        """RFC 3502: several messages in one APPEND, one APPENDUID set;
        all or nothing when one fails; RFC 3516 literal8 may hold NUL."""
        c = self.raw()
        u, t = c.cmd(b"APPEND Drafts (\\Draft) {6+}\r\nfirst\n {7+}\r\nsecond\n"
                     b' (\\Seen) "01-Jan-2024 10:00:00 +0000" {6+}\r\nthird\n')
        self.assertTagged(t, "OK", "APPENDUID")
        self.assertRegex(t, rb"\[APPENDUID \d+ 1:3\]")
        self.assertEqual(len(cur_files(self.maildir(), "Drafts")), 3)
        many = " ".join("kw%03d_%s" % (i, "x" * 20) for i in range(300))
        u, t = c.cmd(("APPEND Drafts {4+}\r\nok!\n (%s) {4+}\r\nbad\n" % many).encode())
        self.assertTagged(t, "NO")
        self.assertEqual(len(cur_files(self.maildir(), "Drafts")), 3)
        u = self.ok(c, "STATUS Drafts (MESSAGES)")
        self.assertIn(b"MESSAGES 3", u[0])
        u, t = c.cmd(b"APPEND Junk ~{7+}\r\nab\0cd\r\n")
        self.assertTagged(t, "OK", "APPENDUID")
        with open(os.path.join(self.maildir(), ".Junk", "cur",
                               cur_files(self.maildir(), "Junk")[0]), "rb") as f:
            self.assertEqual(f.read(), b"ab\0cd\r\n")
        u, t = c.cmd(b"APPEND Junk {7+}\r\nab\0cd\r\n")
        self.assertTagged(t, "BAD")

    def test_append_to_selected(self):
        """RFC 9051 6.3.12: appending to the selected mailbox reports the
        new message with EXISTS before the tagged OK."""
        c = self.raw()
        self.ok(c, "SELECT INBOX")
        u = self.ok(c, b"APPEND INBOX {6+}\r\nhello\n")
        self.assertIn(b"* 1 EXISTS", u)


HOSTILE = [b'"../x"', b'".hidden"', b'"a/../b"', b'"a//b"', b'"/abs"', b'"a/"',
           b'"a*b"', b'"a%b"', b'{3+}\r\nx\x01y', b'"&Jjo"', b'"&AGE-"', b'"&AOk-&AOk-"',
           b'"&AOk"', b'"x&-y/.."', b'"Entw\xc3\xbcrfe"', b'"."', b'".."']


class TestNames(MailboxCase):
    def test_hostile_names(self):
        """Names that try to leave the Maildir, control characters, list
        wildcards and malformed modified UTF-7 (RFC 3501 5.1.3) get NO
        from every command that takes a name; nothing appears on disk."""
        c = self.raw()
        root = self.maildir()
        parent = os.path.dirname(root)
        before = (sorted(os.listdir(root)), sorted(os.listdir(parent)))
        for name in HOSTILE:
            for cmd in (b"CREATE " + name, b"SUBSCRIBE " + name, b"STATUS " + name +
                        b" (MESSAGES)", b"SELECT " + name, b"DELETE " + name,
                        b"RENAME INBOX " + name, b"RENAME Sent " + name,
                        b"APPEND " + name + b" {3+}\r\nhi\n"):
                u, t = c.cmd(cmd)
                if name == b'"a/"' and cmd.startswith(b"CREATE"):
                    # a trailing delimiter is legal on CREATE (only)
                    self.assertTagged(t, "OK")
                    self.ok(c, "DELETE a")
                    continue
                self.assertTagged(t, "NO")
        after = (sorted(os.listdir(root)), sorted(os.listdir(parent)))
        self.assertEqual(before, after)
        self.assertEqual(list_names(self.ok(c, 'LSUB "" "*"'), b"LSUB").keys(),
                         {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"})
        # with UTF-8 on, control characters and escapes still fail
        self.ok(c, "ENABLE UTF8=ACCEPT")
        for name in (b'{3+}\r\nx\x01y', b'"../x"', b'"a\xc2\x85b"', b'"\xff"'):
            u, t = c.cmd(b"CREATE " + name)
            self.assertIn(t.split()[1], (b"NO", b"BAD"), (name, t))
        self.assertEqual(after, (sorted(os.listdir(root)), sorted(os.listdir(parent))))

    def test_international_names(self):
        """Modified UTF-7 for IMAP4rev1 clients, UTF-8 once UTF8=ACCEPT is
        enabled (RFC 6855): "Entw&APw-rfe" and "Entwürfe" are one folder."""
        c = self.raw()
        self.ok(c, 'CREATE "Entw&APw-rfe"')
        names = list_names(self.ok(c, 'LIST "" "Entw*"'))
        self.assertEqual(set(names), {"Entw&APw-rfe"})
        self.assertIn(".Entw&APw-rfe", self.folder_dirs())
        u = self.ok(c, b'APPEND "Entw&APw-rfe" {6+}\r\nhello\n')
        u8 = self.raw()
        self.ok(u8, "ENABLE UTF8=ACCEPT")
        names = list_names(self.ok(u8, 'LIST "" "*"'))
        self.assertIn("Entwürfe", names)
        u = self.ok(u8, 'STATUS "Entwürfe" (MESSAGES)'.encode())
        self.assertEqual(u, ['* STATUS "Entwürfe" (MESSAGES 1)'.encode()])
        self.ok(u8, 'CREATE "Brouillons/été"'.encode())
        u, t = u8.cmd('CREATE "Entwürfe"'.encode())
        self.assertTagged(t, "NO", "ALREADYEXISTS")
        names = list_names(self.ok(c, 'LIST "Brouillons/" "*"'))
        self.assertEqual(set(names), {"Brouillons/&AOk-t&AOk-"})
        self.ok(c, 'RENAME "Brouillons/&AOk-t&AOk-" "&ZeVnLIqe-"')
        self.assertIn("日本語", list_names(self.ok(u8, 'LIST "" "%"')))

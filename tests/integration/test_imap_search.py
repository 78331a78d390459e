"""SEARCH, SORT, THREAD, EXPUNGE, COPY and MOVE against a real postbox
serve (RFC 9051 6.4.3-6.4.8, RFC 3501 for IMAP4rev1 clients, RFC 4731
ESEARCH, RFC 4315 UIDPLUS, RFC 6851 MOVE, RFC 5256 SORT/THREAD, RFC 7162
MODSEQ).

Test mailboxes are built the way other programs do it: SMTP delivery, and
Maildir files written in place (flags in the ":2," names, internal dates
as mtimes), which the store picks up at SELECT. imaplib checks what a
client sees; a raw client checks the exact bytes and their order."""

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
USER = "v@a.test"


def tls_context():
    ctx = pbtest.client_tls_context()
    ctx.check_hostname = False
    return ctx


def deliver(srv, subject, body="hello\r\n", frm="x@c.test", extra=""):
    msg = "From: %s\r\nTo: %s\r\nSubject: %s\r\n%s\r\n%s" % (frm, USER, subject, extra, body)
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.sendmail("x@c.test", [USER], msg.encode())


class Maildir:
    """Writes messages straight into a Maildir, as mutt or a delivery
    agent would: cur/NAME:2,FLAGS with the internal date as mtime."""

    def __init__(self, root):
        self.root = root
        self.n = 0
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)

    def add(self, data, flags="", mtime=None):
        self.n += 1
        if isinstance(data, str):
            data = data.encode()
        name = "%d.M%dP%dQ%d.test:2,%s" % (1700000000 + self.n, self.n, os.getpid(), self.n,
                                            "".join(sorted(flags)))
        path = os.path.join(self.root, "cur", name)
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        if mtime is not None:
            os.utime(path + ".tmp", (mtime, mtime))
        os.rename(path + ".tmp", path)


def message(frm="Alice <alice@c.test>", to="v@a.test", subject="hi", date=None, body="body\n",
            headers=""):
    date = date or "Mon, 2 Feb 2026 10:00:00 +0000"
    return ("From: %s\nTo: %s\nSubject: %s\nDate: %s\n%s\n%s"
            % (frm, to, subject, date, headers, body))


class Raw:
    """A byte-level client: cmd() returns (untagged lines, tagged line)."""

    def __init__(self, port):
        sock = socket.create_connection(("127.0.0.1", port), timeout=pbtest.IO_TIMEOUT)
        self.sock = tls_context().wrap_socket(sock)
        self.buf = b""
        self.n = 0
        self.read_line()

    def read_line(self):
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError(self.buf)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            out += line
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                self.buf += self.sock.recv(65536)
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]

    def cmd(self, text):
        self.n += 1
        tag = "t%d" % self.n
        if isinstance(text, str):
            text = text.encode()
        self.sock.sendall(tag.encode() + b" " + text + b"\r\n")
        untagged = []
        while True:
            line = self.read_line()
            if line.startswith(tag.encode() + b" "):
                return untagged, line
            untagged.append(line)

    def ok(self, text):
        u, t = self.cmd(text)
        if b" OK" not in t.split(b"[")[0]:
            raise AssertionError("%s: %r %r" % (text[:200], u[:10], t))
        return u, t

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def search_numbers(untagged):
    for line in untagged:
        if line.startswith(b"* SEARCH"):
            return [int(x) for x in line[8:].split()]
    raise AssertionError("no SEARCH response: %r" % untagged)


class SearchCase(unittest.TestCase):
    def setUp(self):
        self.srv = pbtest.Server(users=[USER], services=["imaps"])
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)
        self.md = Maildir(self.srv.maildir(USER))

    def imap(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"], ssl_context=tls_context(),
                              timeout=30)
        self.addCleanup(m.shutdown)
        m.login(USER, PW)
        return m

    def raw(self, select="INBOX"):
        c = Raw(self.srv.ports["imaps"])
        self.addCleanup(c.close)
        c.ok('LOGIN "%s" "%s"' % (USER, PW))
        if select:
            c.ok("SELECT " + select)
        return c

    def search(self, m, *criteria, uid=False):
        if uid:
            typ, data = m.uid("SEARCH", *criteria)
        else:
            typ, data = m.search(None, *criteria)
        self.assertEqual(typ, "OK", data)
        return [int(x) for x in data[0].split()]


def noon(y, mo, d):
    return time.mktime((y, mo, d, 12, 0, 0, 0, 0, -1))


class TestSearchKeys(SearchCase):
    """Every search key of RFC 9051 6.4.4 on a small, varied mailbox."""

    def setUp(self):
        super().setUp()
        md = self.md
        md.add(message(frm="Alice <alice@c.test>", subject="Meeting tomorrow",
                       headers="Cc: carol@c.test\nMessage-ID: <m1@c.test>\n",
                       body="the quick brown fox\n"),
               flags="S", mtime=noon(2026, 2, 2))
        md.add(message(frm="=?utf-8?q?J=C3=B6rg?= <joerg@d.test>",
                       subject="=?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?=",
                       date="Thu, 5 Feb 2026 23:30:00 -0800",
                       headers="MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                               "Content-Transfer-Encoding: quoted-printable\n",
                       body="Caf=C3=A9 au lait\n"),
               flags="F", mtime=noon(2026, 2, 5))
        md.add(message(frm="bob@c.test", subject="Re: Meeting tomorrow",
                       date="10 Feb 2026 08:00:00 +0100",
                       headers="Bcc: secret@x.test\nX-Custom: Blue-Value\n"
                               "In-Reply-To: <m1@c.test>\nMIME-Version: 1.0\n"
                               "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n",
                       body="c2VjcmV0IGJhc2U2NCB3b3Jkcw==\n"),
               flags="RS", mtime=noon(2026, 2, 10))
        md.add(message(frm="dave@e.test", subject="draft", date="Wed, 1 Jan 2025 00:00:00 +0000",
                       body="x" * 5000 + "\n"),
               flags="DT", mtime=noon(2025, 1, 1))
        self.m = self.imap()
        self.m.select("INBOX")

    def test_flags(self):
        s = lambda *c: self.search(self.m, *c)
        self.assertEqual(s("ALL"), [1, 2, 3, 4])
        self.assertEqual(s("SEEN"), [1, 3])
        self.assertEqual(s("UNSEEN"), [2, 4])
        self.assertEqual(s("ANSWERED"), [3])
        self.assertEqual(s("UNANSWERED"), [1, 2, 4])
        self.assertEqual(s("FLAGGED"), [2])
        self.assertEqual(s("UNFLAGGED"), [1, 3, 4])
        self.assertEqual(s("DELETED"), [4])
        self.assertEqual(s("UNDELETED"), [1, 2, 3])
        self.assertEqual(s("DRAFT"), [4])
        self.assertEqual(s("UNDRAFT"), [1, 2, 3])
        # IMAP4rev1 keys (RFC 3501 6.4.4): this first session to select
        # has every message as \Recent; NEW is RECENT UNSEEN.
        self.assertEqual(s("RECENT"), [1, 2, 3, 4])
        self.assertEqual(s("NEW"), [2, 4])
        self.assertEqual(s("OLD"), [])

    def test_keyword(self):
        typ, _ = self.m.store("2", "+FLAGS", "($Work)")
        if typ != "OK":
            self.skipTest("STORE not available")
        self.assertEqual(self.search(self.m, "KEYWORD", "$Work"), [2])
        self.assertEqual(self.search(self.m, "KEYWORD", "$work"), [2])
        self.assertEqual(self.search(self.m, "UNKEYWORD", "$Work"), [1, 3, 4])

    def test_headers(self):
        s = lambda *c: self.search(self.m, *c)
        self.assertEqual(s("FROM", "alice"), [1])
        self.assertEqual(s("FROM", "C.TEST"), [1, 3])
        self.assertEqual(s("TO", "v@a.test"), [1, 2, 3, 4])
        self.assertEqual(s("CC", "carol"), [1])
        self.assertEqual(s("BCC", "secret@"), [3])
        self.assertEqual(s("SUBJECT", "meeting"), [1, 3])
        self.assertEqual(s("SUBJECT", '"re: MEETING"'), [3])
        self.assertEqual(s("HEADER", "X-Custom", "blue-val"), [3])
        self.assertEqual(s("HEADER", "X-Custom", '""'), [3])
        self.assertEqual(s("HEADER", "Message-ID", "m1@"), [1])
        self.assertEqual(s("HEADER", "X-Absent", '""'), [])

    def test_decoded_headers_utf8(self):
        """RFC 2047 words are decoded before matching; CHARSET UTF-8
        strings match case-insensitively beyond ASCII."""
        c = self.raw()
        u, t = c.ok(b"SEARCH CHARSET UTF-8 FROM {5+}\r\nJ\xc3\xb6rg")
        self.assertEqual(search_numbers(u), [2])
        u, t = c.ok(b"SEARCH CHARSET UTF-8 SUBJECT {5+}\r\nK\xc3\x96ln")
        self.assertEqual(search_numbers(u), [2])
        u, t = c.ok(b"SEARCH CHARSET UTF-8 BODY {5+}\r\nCAF\xc3\x89")
        self.assertEqual(search_numbers(u), [2])
        u, t = c.cmd("SEARCH CHARSET KOI8-R FROM x")
        self.assertRegex(t, rb"^t\d+ NO \[BADCHARSET \(UTF-8 US-ASCII\)\]")
        c.ok("SEARCH CHARSET US-ASCII ALL")

    def test_body_text(self):
        s = lambda *c: self.search(self.m, *c)
        self.assertEqual(s("BODY", '"QUICK brown"'), [1])
        self.assertEqual(s("BODY", '"secret base64"'), [3])   # base64 decoded
        self.assertEqual(s("BODY", "meeting"), [])           # headers are not body
        self.assertEqual(s("TEXT", "meeting"), [1, 3])
        self.assertEqual(s("TEXT", "fox"), [1])
        self.assertEqual(s("TEXT", "blue-value"), [3])

    def test_sizes(self):
        s = lambda *c: self.search(self.m, *c)
        self.assertEqual(s("LARGER", "3000"), [4])
        self.assertEqual(s("SMALLER", "3000"), [1, 2, 3])
        typ, data = self.m.fetch("1", "(RFC822.SIZE)")
        if typ == "OK" and data and data[0]:
            size = int(re.search(rb"RFC822\.SIZE (\d+)", data[0]).group(1))
            self.assertEqual(s("LARGER", str(size - 1), "SMALLER", str(size + 1)), [1])
            self.assertNotIn(1, s("LARGER", str(size)))

    def test_dates(self):
        s = lambda *c: self.search(self.m, *c)
        self.assertEqual(s("ON", "5-Feb-2026"), [2])
        self.assertEqual(s("BEFORE", "5-Feb-2026"), [1, 4])
        self.assertEqual(s("SINCE", "5-Feb-2026"), [2, 3])
        self.assertEqual(s("SINCE", '"10-Feb-2026"'), [3])
        # the Date: field as written, time and zone disregarded
        self.assertEqual(s("SENTON", "5-Feb-2026"), [2])
        self.assertEqual(s("SENTBEFORE", "2-Feb-2026"), [4])
        self.assertEqual(s("SENTSINCE", "5-Feb-2026"), [2, 3])
        self.assertEqual(s("SENTON", "10-Feb-2026"), [3])

    def test_sets_uid_and_logic(self):
        s = lambda *c: self.search(self.m, *c)
        self.assertEqual(s("2:3"), [2, 3])
        self.assertEqual(s("*"), [4])
        self.assertEqual(s("3:*"), [3, 4])
        self.assertEqual(s("1,4"), [1, 4])
        typ, data = self.m.uid("SEARCH", "ALL")
        uids = [int(x) for x in data[0].split()]
        self.assertEqual(len(uids), 4)
        self.assertEqual(self.search(self.m, "UID", "%d:%d" % (uids[1], uids[2])), [2, 3])
        self.assertEqual(self.search(self.m, "UID", "*", uid=True), [uids[3]])
        self.assertEqual(self.search(self.m, "SEEN", uid=True), [uids[0], uids[2]])
        self.assertEqual(s("OR", "FLAGGED", "DRAFT"), [2, 4])
        self.assertEqual(s("NOT", "SEEN"), [2, 4])
        self.assertEqual(s("NOT", "NOT", "SEEN"), [1, 3])
        self.assertEqual(s("OR", "(SEEN FROM bob)", "(NOT SEEN LARGER 3000)"), [3, 4])
        self.assertEqual(s("OR", "OR", "FROM alice", "FROM bob", "FROM dave"), [1, 3, 4])
        self.assertEqual(s("(OR SEEN FLAGGED)", "NOT", "2"), [1, 3])
        self.assertEqual(s("SEEN", "UNSEEN"), [])
        self.assertEqual(s("NOT", "BODY", "fox", "SEEN"), [3])

    def test_modseq(self):
        c = self.raw()
        u, t = c.ok("SEARCH MODSEQ 1")
        self.assertRegex(u[0], rb"^\* SEARCH 1 2 3 4 \(MODSEQ \d+\)$")
        u, t = c.ok("SEARCH MODSEQ 18446744073709551")
        self.assertEqual(u, [b"* SEARCH"])

    def test_esearch_min_max_modseq(self):
        """RFC 4731 3.2 / RFC 7162 3.1.5: with MIN or MAX alone, MODSEQ is
        that of the message returned (both: the higher of the two); with
        ALL or COUNT, the highest of all found."""
        c = self.raw()
        c.ok("STORE 2 +FLAGS (\\Answered)")    # 2 now has the highest modseq
        u, _ = c.ok("FETCH 1:4 (MODSEQ)")
        ms = {}
        for line in u:
            m = re.match(rb"^\* (\d+) FETCH \(MODSEQ \((\d+)\)\)$", line)
            if m:
                ms[int(m.group(1))] = int(m.group(2))
        self.assertEqual(sorted(ms), [1, 2, 3, 4])
        self.assertGreater(ms[2], max(ms[1], ms[4]))
        def esearch(ret):
            u, _ = c.ok("SEARCH RETURN (%s) MODSEQ 1" % ret)
            m = re.search(rb" MODSEQ (\d+)$", u[0])
            self.assertIsNotNone(m, u)
            return int(m.group(1))
        self.assertEqual(esearch("MIN"), ms[1])
        self.assertEqual(esearch("MAX"), ms[4])
        self.assertEqual(esearch("MIN MAX"), max(ms[1], ms[4]))
        self.assertEqual(esearch("COUNT"), max(ms.values()))
        self.assertEqual(esearch("MIN ALL"), max(ms.values()))


class TestSearchAddresses(SearchCase):
    """FROM, TO, CC and BCC search the parsed addresses (RFC 9051 6.4.4:
    "the specified string is in the FROM field"; RFC 5322 3.4 lets
    comments and folding sit inside an address), as Dovecot does: the
    display name and local@domain, without comments or quoting."""

    def test_from_matches_parsed_address(self):
        self.md.add(message(frm="<user (comment)@ (comment) domain.org>"))
        self.md.add(message(frm='"Doe, Jane" <jane@x.test>',
                            headers="Cc: Group: ann@(c) y.test, bob@y.test;\n"
                                    "Bcc: =?utf-8?q?J=C3=B6rg?= <j (x) @z.test>\n"))
        self.md.add(message(frm="plain@c.test", to="Someone <s@(home)d.test>"))
        m = self.imap()
        m.select("INBOX")
        s = lambda *c: self.search(m, *c)
        self.assertEqual(s("FROM", "user@domain.org"), [1])
        self.assertEqual(s("FROM", "USER@DOMAIN.ORG"), [1])
        self.assertEqual(s("FROM", '"Doe, Jane"'), [2])
        self.assertEqual(s("FROM", "jane@x.test"), [2])
        self.assertEqual(s("CC", "ann@y.test"), [2])
        self.assertEqual(s("BCC", "j@z.test"), [2])
        self.assertEqual(s("TO", "s@d.test"), [3])
        self.assertEqual(s("TO", '"someone <s@d.test>"'), [3])
        # HEADER still searches the text as written.
        self.assertEqual(s("HEADER", "From", '"(comment)"'), [1])
        self.assertEqual(s("FROM", '"(comment)"'), [])


class TestSearchResponses(SearchCase):
    def setUp(self):
        super().setUp()
        for i in range(6):
            self.md.add(message(subject="m%d" % i), flags="S" if i % 2 else "")

    def test_rev1_search_response(self):
        c = self.raw()
        u, t = c.ok("SEARCH UNSEEN")
        self.assertEqual(u, [b"* SEARCH 1 3 5"])
        self.assertRegex(t, rb"^t\d+ OK SEARCH completed")
        u, t = c.ok("SEARCH FROM nobody-here")
        self.assertEqual(u, [b"* SEARCH"])
        # WITHIN (RFC 5032): the files were written just now
        u, t = c.ok("SEARCH YOUNGER 3600")
        self.assertEqual(search_numbers(u), [1, 2, 3, 4, 5, 6])
        u, t = c.ok("SEARCH OLDER 3600")
        self.assertEqual(search_numbers(u), [])

    def test_esearch(self):
        """RFC 4731 3.1: RETURN options; the tag is quoted; UID marks a UID
        SEARCH; MIN/MAX/ALL are left out when nothing matched."""
        c = self.raw()
        u, t = c.ok("SEARCH RETURN (MIN MAX COUNT ALL) 1:4")
        self.assertEqual(u, [b'* ESEARCH (TAG "t3") MIN 1 MAX 4 COUNT 4 ALL 1:4'])
        u, t = c.ok("UID SEARCH RETURN () UNSEEN")
        self.assertRegex(u[0], rb'^\* ESEARCH \(TAG "t4"\) UID ALL \d+,\d+,\d+$')
        u, t = c.ok("SEARCH RETURN (COUNT) UNSEEN")
        self.assertEqual(u, [b'* ESEARCH (TAG "t5") COUNT 3'])
        u, t = c.ok("SEARCH RETURN (MIN MAX ALL COUNT) FROM nobody")
        self.assertEqual(u, [b'* ESEARCH (TAG "t6") COUNT 0'])
        u, t = c.ok("SEARCH RETURN (ALL) 1,2,3,5,6")
        self.assertEqual(u, [b'* ESEARCH (TAG "t7") ALL 1:3,5:6'])

    def test_searchres(self):
        """RFC 9051 6.4.4.1 / RFC 5182: RETURN (SAVE) keeps the result as
        "$" for later commands; alone it answers with no ESEARCH; with
        MIN/MAX only those are kept; expunged messages drop out; SELECT
        empties it; "$" is a set of messages in SEARCH, FETCH, STORE,
        COPY and UID EXPUNGE."""
        c = self.raw()
        u, t = c.ok("CAPABILITY")
        self.assertIn(b" SEARCHRES", u[0])
        u, t = c.ok("SEARCH RETURN (SAVE) UNSEEN")   # 1 3 5
        self.assertEqual(u, [])
        u, t = c.ok("FETCH $ (FLAGS)")
        self.assertEqual([x.split()[1] for x in u], [b"1", b"3", b"5"])
        u, t = c.ok("SEARCH $ SUBJECT m2")
        self.assertEqual(search_numbers(u), [3])
        u, t = c.ok("UID SEARCH RETURN (SAVE MIN MAX) UNSEEN")
        self.assertRegex(u[0], rb'^\* ESEARCH \(TAG "t\d+"\) UID MIN \d+ MAX \d+$')
        u, t = c.ok("SEARCH $")
        self.assertEqual(search_numbers(u), [1, 5])
        c.ok("STORE $ +FLAGS (\\Deleted)")
        c.ok("CREATE Saved")
        u, t = c.ok("COPY $ Saved")
        self.assertIn(b"COPYUID", t)
        u, t = c.ok("UID EXPUNGE $")
        self.assertEqual(u, [b"* 5 EXPUNGE", b"* 1 EXPUNGE"])
        u, t = c.ok("SEARCH $")   # expunged: gone from "$"
        self.assertEqual(search_numbers(u), [])
        c.ok("SEARCH RETURN (SAVE) ALL")
        u, t = c.ok("SEARCH $")
        self.assertEqual(search_numbers(u), [1, 2, 3, 4])
        c.ok("SELECT INBOX")   # RFC 5182 2.1: a new selection empties it
        u, t = c.ok("SEARCH $")
        self.assertEqual(search_numbers(u), [])
        # a failing SEARCH (SAVE) empties it too
        c.ok("SEARCH RETURN (SAVE) ALL")
        u, t = c.cmd("SEARCH RETURN (SAVE) CHARSET KOI8-R ALL")
        self.assertRegex(t, rb"^t\d+ NO \[BADCHARSET")
        u, t = c.ok("SEARCH $")
        self.assertEqual(search_numbers(u), [])

    def test_rev2_client_gets_esearch(self):
        c = self.raw(select=None)
        c.ok("ENABLE IMAP4rev2")
        c.ok("SELECT INBOX")
        u, t = c.ok("SEARCH SEEN")
        self.assertEqual([x for x in u if b"SEARCH" in x], [b'* ESEARCH (TAG "t4") ALL 2,4,6'])

    def test_hostile_input(self):
        c = self.raw()
        for bad in ("SEARCH (SEEN", "SEARCH SEEN)", "SEARCH ((((", "SEARCH", "SEARCH OR SEEN",
                    "SEARCH NOT", "SEARCH FROM", "SEARCH BEFORE 31-Feb-2026",
                    "SEARCH LARGER -1", "SEARCH BOGUSKEY", "SEARCH UID x:y",
                    "SEARCH RETURN (BOGUS) ALL", "SEARCH 0", "SEARCH LARGER 99999999999999999999",
                    "FETCH $$ FLAGS", "SEARCH $:3"):
            u, t = c.cmd(bad)
            self.assertRegex(t, rb"^t\d+ BAD", bad)
        u, t = c.cmd("SEARCH " + "NOT " * 1000 + "SEEN")
        self.assertRegex(t, rb"^t\d+ BAD")
        u, t = c.cmd("SEARCH " + "(" * 200 + "SEEN" + ")" * 200)
        self.assertRegex(t, rb"^t\d+ BAD")
        # a huge sequence set is fine, and cheap
        big = ",".join("%d:%d" % (i, i + 1) for i in range(1, 12000, 3))
        u, t = c.ok("SEARCH " + big)
        self.assertEqual(search_numbers(u), [1, 2, 4, 5])
        u, t = c.ok("UID SEARCH UID 1:4294967295")
        self.assertEqual(len(search_numbers(u)), 6)
        u, t = c.ok("SEARCH 4294967295")
        self.assertEqual(search_numbers(u), [])
        c.ok("NOOP")   # still in step


class TestExpungeCopyMove(SearchCase):
    def setUp(self):
        super().setUp()
        for i in range(6):
            self.md.add(message(subject="m%d" % (i + 1)), flags="T" if i in (1, 2, 4) else "")

    def uids(self, c):
        u, t = c.ok("UID SEARCH ALL")
        return search_numbers(u)

    def test_expunge_order(self):
        """RFC 9051 7.5.1: each EXPUNGE renumbers, so they come in
        descending order when several go."""
        c = self.raw()
        u, t = c.ok("EXPUNGE")
        self.assertEqual(u, [b"* 5 EXPUNGE", b"* 3 EXPUNGE", b"* 2 EXPUNGE"])
        u, t = c.ok("SEARCH ALL")
        self.assertEqual(search_numbers(u), [1, 2, 3])
        u, t = c.ok("EXPUNGE")
        self.assertEqual(u, [])

    def test_uid_expunge(self):
        c = self.raw()
        uids = self.uids(c)
        u, t = c.ok("UID EXPUNGE %d:%d" % (uids[0], uids[2]))   # 1 not \Deleted
        self.assertEqual(u, [b"* 3 EXPUNGE", b"* 2 EXPUNGE"])
        self.assertEqual(self.uids(c), [uids[0], uids[3], uids[4], uids[5]])

    def test_readonly_refuses(self):
        c = self.raw(select=None)
        c.ok("EXAMINE INBOX")
        for cmd in ("EXPUNGE", "UID EXPUNGE 1:*", "MOVE 1 Trash", "UID MOVE 1 Trash"):
            u, t = c.cmd(cmd)
            self.assertRegex(t, rb"^t\d+ NO \[READ-ONLY\]", cmd)
        c.ok("COPY 1 Trash")   # copying out of a read-only mailbox is fine

    def test_copy(self):
        c = self.raw()
        c.cmd("CREATE Dest")
        uids = self.uids(c)
        u, t = c.ok("COPY 2:4 Dest")
        m = re.match(rb"^t\d+ OK \[COPYUID (\d+) ([\d:,]+) ([\d:,]+)\] COPY completed$", t)
        self.assertIsNotNone(m, t)
        self.assertEqual(m.group(2), b"%d:%d" % (uids[1], uids[3]))
        u, t = c.ok("UID COPY %d,%d Dest" % (uids[5], uids[0]))
        self.assertRegex(t, rb"\[COPYUID \d+ \d+[,:]\d+ \d+[,:]\d+\]")
        u, t = c.cmd("COPY 1 NoSuchBox")
        self.assertRegex(t, rb"^t\d+ NO \[TRYCREATE\]")
        u, t = c.cmd("COPY 99 Dest")
        self.assertRegex(t, rb"^t\d+ BAD")
        u, t = c.ok("STATUS Dest (MESSAGES)")
        self.assertIn(b"MESSAGES 5", u[0])
        u, t = c.ok("UID COPY 999999 Dest")   # no such UID: nothing to do
        self.assertNotIn(b"COPYUID", t)

    def test_move(self):
        """RFC 6851 4.3: COPYUID in an untagged OK, then the EXPUNGEs, then
        the tagged OK."""
        c = self.raw()
        c.cmd("CREATE Dest")
        uids = self.uids(c)
        u, t = c.ok("MOVE 2,4:5 Dest")
        self.assertRegex(u[0], rb"^\* OK \[COPYUID \d+ %d,%d:%d \d+:\d+\]"
                         % (uids[1], uids[3], uids[4]))
        self.assertEqual(u[1:], [b"* 5 EXPUNGE", b"* 4 EXPUNGE", b"* 2 EXPUNGE"])
        self.assertRegex(t, rb"^t\d+ OK MOVE completed")
        self.assertEqual(self.uids(c), [uids[0], uids[2], uids[5]])
        u, t = c.ok("UID MOVE %d Dest" % uids[5])
        self.assertEqual(u[1:], [b"* 3 EXPUNGE"])
        u, t = c.ok("STATUS Dest (MESSAGES)")
        self.assertIn(b"MESSAGES 4", u[0])
        # the other mailbox sees them
        c.ok("SELECT Dest")
        u, t = c.ok("SEARCH SUBJECT m")
        self.assertEqual(search_numbers(u), [1, 2, 3, 4])

    def test_other_session_sees_move(self):
        """A second session with the folder selected learns of the move at
        its next NOOP: EXPUNGEs in descending order, numbers of its own
        view. A SEARCH in between keeps the old numbering (no EXPUNGE may
        come with it, RFC 9051 7.5.1); the gone messages match nothing."""
        a, b = self.raw(), self.raw()
        a.cmd("CREATE Dest")
        a.ok("MOVE 2:3 Dest")
        u, t = b.ok("SEARCH ALL")
        self.assertEqual(search_numbers(u), [1, 4, 5, 6])
        u, t = b.ok("NOOP")
        self.assertEqual([x for x in u if b"EXPUNGE" in x], [b"* 3 EXPUNGE", b"* 2 EXPUNGE"])
        u, t = b.ok("SEARCH ALL")
        self.assertEqual(search_numbers(u), [1, 2, 3, 4])

    def test_move_imaplib(self):
        m = self.imap()
        m.create("Dest")
        m.select("INBOX")
        typ, data = m._simple_command("MOVE", "1:2", "Dest")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(self.search(m, "ALL"), [1, 2, 3, 4])


class TestSortThread(SearchCase):
    def setUp(self):
        super().setUp()
        md = self.md
        md.add(message(frm="Zed <zed@c.test>", subject="Apples", date="Mon, 5 Jan 2026 10:00:00 +0000",
                       headers="Message-ID: <a@x>\nCc: bb@x\n", body="a" * 300))
        md.add(message(frm="adam@c.test", subject="Re: apples", date="Tue, 6 Jan 2026 10:00:00 +0000",
                       headers="Message-ID: <b@x>\nIn-Reply-To: <a@x>\nReferences: <a@x>\n"))
        md.add(message(frm="mike@c.test", subject="[list] Bananas (fwd)",
                       date="Sun, 4 Jan 2026 10:00:00 +0000", headers="Message-ID: <c@x>\n",
                       body="b" * 100))
        md.add(message(frm="bob@c.test", subject="Re: Re: apples",
                       date="Wed, 7 Jan 2026 10:00:00 +0000",
                       headers="Message-ID: <d@x>\nReferences: <a@x> <b@x>\n"))
        md.add(message(frm="carl@c.test", subject="Fwd: bananas", date="Thu, 8 Jan 2026 10:00:00 +0000",
                       headers="Message-ID: <e@x>\n"))
        self.c = self.raw()

    def sort(self, text):
        u, t = self.c.ok("SORT " + text)
        self.assertTrue(u[0].startswith(b"* SORT"), u)
        return [int(x) for x in u[0][6:].split()]

    def test_sort(self):
        self.assertEqual(self.sort("(ARRIVAL) UTF-8 ALL"), [1, 2, 3, 4, 5])
        self.assertEqual(self.sort("(DATE) UTF-8 ALL"), [3, 1, 2, 4, 5])
        self.assertEqual(self.sort("(REVERSE DATE) UTF-8 ALL"), [5, 4, 2, 1, 3])
        self.assertEqual(self.sort("(FROM) UTF-8 ALL"), [2, 4, 5, 3, 1])
        self.assertEqual(self.sort("(SUBJECT DATE) UTF-8 ALL"), [1, 2, 4, 3, 5])
        self.assertEqual(self.sort("(CC ARRIVAL) US-ASCII ALL")[-1], 1)
        self.assertEqual(self.sort("(REVERSE SIZE) UTF-8 ALL")[:2], [1, 3])
        self.assertEqual(self.sort("(SUBJECT) UTF-8 FROM adam"), [2])
        u, t = self.c.ok("SORT (DATE) UTF-8 MODSEQ 1")
        self.assertRegex(u[0], rb"^\* SORT 3 1 2 4 5 \(MODSEQ \d+\)$")
        u, t = self.c.ok("UID SORT (DATE) UTF-8 ALL")
        self.assertTrue(u[0].startswith(b"* SORT "), u)
        u, t = self.c.cmd("SORT (DATE) KOI8-R ALL")
        self.assertRegex(t, rb"^t\d+ NO \[BADCHARSET")
        u, t = self.c.cmd("SORT (BOGUS) UTF-8 ALL")
        self.assertRegex(t, rb"^t\d+ BAD")

    def test_sort_casemap_folds_to_upper(self):
        """RFC 5256 2.1 and 3: SUBJECT and FROM compare with
        i;ascii-casemap, which folds a-z to upper case (RFC 4790 9.2): "_"
        (0x5F), "^" (0x5E) and "[" (0x5B) sort after every letter."""
        for subj, frm in (("_under", "_u@c.test"), ("bee", "bee@c.test"),
                          ("[open", "^o@c.test"), ("Zulu", "Zu@c.test")):
            self.md.add(message(frm=frm, subject=subj, date="Fri, 9 Jan 2026 10:00:00 +0000"))
        self.c.ok("NOOP")
        # messages 6..9: _under, bee, [open, Zulu
        self.assertEqual(self.sort("(SUBJECT) UTF-8 6:9"), [7, 9, 8, 6])
        self.assertEqual(self.sort("(FROM) UTF-8 6:9"), [7, 9, 8, 6])

    def test_thread_references(self):
        u, t = self.c.ok("THREAD REFERENCES UTF-8 ALL")
        # both subjects are forwards: a dummy parent holds them (RFC 5256 3, 5C)
        self.assertEqual(u, [b"* THREAD ((3)(5))(1 2 4)"])

    def test_thread_orderedsubject(self):
        u, t = self.c.ok("THREAD ORDEREDSUBJECT UTF-8 ALL")
        self.assertEqual(u, [b"* THREAD (3 5)(1 (2)(4))"])
        u, t = self.c.ok("THREAD ORDEREDSUBJECT UTF-8 FROM nobody")
        self.assertEqual(u, [b"* THREAD"])

    def test_capabilities(self):
        u, t = self.c.ok("CAPABILITY")
        caps = set(u[0].decode().upper().split())
        for want in ("SORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT", "ESEARCH", "MOVE"):
            self.assertIn(want, caps)


class TestLargeMailbox(SearchCase):
    def test_uid_search_10000(self):
        """UID SEARCH by header over 10,000 messages answers from the
        index, right (bench/imap measures how fast)."""
        for i in range(10000):
            self.md.add("From: u%d@c.test\nSubject: number %d\n\nbody\n" % (i % 100, i),
                        flags="S" if i % 3 == 0 else "")
        c = self.raw(select=None)
        u, t = c.ok("SELECT INBOX")
        self.assertIn(b"* 10000 EXISTS", u)
        u, t = c.ok("UID SEARCH FROM u7@c.test")
        self.assertEqual(len(search_numbers(u)), 100)
        u, t = c.ok("SEARCH UNSEEN SUBJECT \"number 99\"")
        want = [i + 1 for i in range(10000) if str(i).startswith("99") and i % 3 != 0]
        self.assertEqual(search_numbers(u), want)
        u, t = c.ok("UID SEARCH RETURN (COUNT) ALL")
        self.assertIn(b"COUNT 10000", u[0])


if __name__ == "__main__":
    unittest.main()


class TestThreadHostile(SearchCase):
    def test_loops_and_deep_chains(self):
        """References that loop, point at themselves or chain 2,500 deep
        give a well-formed THREAD response, never a crash."""
        md = self.md
        md.add(message(subject="loop a", headers="Message-ID: <a@l>\nReferences: <b@l>\n"))
        md.add(message(subject="loop b", headers="Message-ID: <b@l>\nReferences: <a@l>\n"))
        md.add(message(subject="self", headers="Message-ID: <s@l>\nReferences: <s@l> <s@l>\n"))
        md.add(message(subject="dup", headers="Message-ID: <a@l>\n"))
        refs = ""
        for i in range(2500):
            md.add(message(subject="Re: chain", date="Mon, 2 Feb 2026 10:%02d:%02d +0000"
                           % (i // 60 % 60, i % 60),
                           headers="Message-ID: <c%d@l>\nIn-Reply-To: <c%d@l>\n"
                                   % (i, i - 1)))
        c = self.raw()
        for alg in ("REFERENCES", "ORDEREDSUBJECT"):
            u, t = c.ok("THREAD %s UTF-8 ALL" % alg)
            line = u[0]
            self.assertTrue(line.startswith(b"* THREAD ("), line[:100])
            self.assertEqual(line.count(b"("), line.count(b")"))
            nums = sorted(int(x) for x in re.findall(rb"\d+", line))
            self.assertEqual(nums, list(range(1, 2505)))
        u, t = c.ok("THREAD REFERENCES UTF-8 1:4")
        self.assertEqual(sorted(int(x) for x in re.findall(rb"\d+", u[0])), [1, 2, 3, 4])
        u, t = c.cmd("THREAD BOGUS UTF-8 ALL")
        self.assertRegex(t, rb"^t\d+ BAD")
        c.ok("NOOP")

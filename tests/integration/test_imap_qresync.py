"""QRESYNC (RFC 7162 3.2) against a real postbox serve: ENABLE QRESYNC
(and the CONDSTORE it brings), SELECT/EXAMINE (QRESYNC (...)) with
VANISHED (EARLIER) and the FETCH of changed flags, known UIDs, a
UIDVALIDITY that does not match, VANISHED instead of EXPUNGE, the
[CLOSED] boundary and UID FETCH (CHANGEDSINCE m VANISHED).

A raw client where the exact lines matter, imaplib where a real client's
view is the point."""

import imaplib
import re
import unittest

import pbtest
from test_imap_core import Raw, quiet_close, tls_context

PW = pbtest.PASSWORD
USER = "q@a.test"
OTHER = "r@a.test"


def message(i):
    return ("From: x@c.test\r\nTo: %s\r\nSubject: m%d\r\n\r\nbody %d\r\n"
            % (USER, i, i)).encode()


def has_line(lines, pattern):
    return [line for line in lines if re.match(pattern, line)]


class QresyncCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server(users=[USER, OTHER], services=["imaps"])
        cls.srv.__enter__()
        cls.boxes = 0

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def raw(self, user=USER):
        c = Raw(self.srv.ports["imaps"], tls=True)
        self.addCleanup(c.close)
        c.login(user, PW)
        return c

    def new_box(self, c, count=5):
        """A fresh folder with count messages (UIDs 1..count)."""
        type(self).boxes += 1
        name = "qr%d" % type(self).boxes
        c.ok("CREATE %s" % name)
        for i in range(1, count + 1):
            data = message(i)
            t = c.tag()
            c.send(b"%s APPEND %s {%d+}\r\n%s\r\n" % (t.encode(), name.encode(),
                                                       len(data), data))
            u, line = c.collect(t)
            self.assertIn(b" OK", line)
        return name

    def select_numbers(self, lines):
        uv = hm = None
        for line in lines:
            m = re.match(rb"^\* OK \[UIDVALIDITY (\d+)\]", line)
            if m:
                uv = int(m.group(1))
            m = re.match(rb"^\* OK \[HIGHESTMODSEQ (\d+)\]", line)
            if m:
                hm = int(m.group(1))
        self.assertIsNotNone(uv, lines)
        self.assertIsNotNone(hm, lines)
        return uv, hm

    def changed_box(self, c):
        """A folder the client saw at (uidvalidity, modseq), since then:
        message 2 \\Seen, UIDs 3 and 4 expunged. Leaves nothing selected."""
        name = self.new_box(c)
        u, t = c.ok("SELECT %s" % name)
        uv, hm = self.select_numbers(u)
        c.ok("STORE 2 +FLAGS.SILENT (\\Seen)")
        c.ok("STORE 3:4 +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        c.ok("UNSELECT")
        return name, uv, hm


class TestEnable(QresyncCase):
    def test_capability_advertised(self):
        c = self.raw()
        u, t = c.ok("CAPABILITY")
        caps = set(u[0].decode().upper().split())
        self.assertIn("QRESYNC", caps)
        self.assertIn("CONDSTORE", caps)

    def test_enable_qresync_implies_condstore(self):
        # RFC 7162 3.2.3: only QRESYNC is listed; CONDSTORE comes with it.
        c = self.raw()
        u, t = c.ok("ENABLE QRESYNC")
        self.assertEqual(u, [b"* ENABLED QRESYNC"])
        u, t = c.ok("ENABLE QRESYNC CONDSTORE")
        self.assertEqual(u, [b"* ENABLED"])
        name = self.new_box(c, 1)
        c.ok("SELECT %s" % name)
        u, t = c.ok("STORE 1 +FLAGS (\\Flagged)")
        self.assertTrue(has_line(u, rb"^\* 1 FETCH \(.*MODSEQ \(\d+\)"), u)

    def test_enable_both_lists_both(self):
        c = self.raw()
        u, t = c.ok("ENABLE CONDSTORE QRESYNC")
        self.assertEqual(u, [b"* ENABLED CONDSTORE QRESYNC"])

    def test_select_qresync_needs_enable(self):
        # RFC 7162 3.2.5: BAD without ENABLE QRESYNC first.
        c = self.raw()
        name = self.new_box(c, 1)
        u, t = c.cmd("SELECT %s (QRESYNC (1 1))" % name)
        self.assertRegex(t, rb"^\S+ BAD")
        u, t = c.cmd("NOOP")
        self.assertIn(b" OK", t)
        u, t = c.cmd("FETCH 1 FLAGS")
        self.assertRegex(t, rb"^\S+ BAD", "nothing was selected")


class TestSelect(QresyncCase):
    def test_select_reports_vanished_and_changes(self):
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name, uv, hm = self.changed_box(c)
        u, t = c.ok("SELECT %s (QRESYNC (%d %d))" % (name, uv, hm))
        self.assertIn(b"[READ-WRITE]", t)
        self.assertIn(b"* 3 EXISTS", u)
        self.assertIn(b"* VANISHED (EARLIER) 3:4", u)
        fetches = has_line(u, rb"^\* \d+ FETCH")
        self.assertEqual(len(fetches), 1, u)
        self.assertRegex(fetches[0], rb"^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$")
        # RFC 7162 3.2.5.1: after the SELECT responses, VANISHED first.
        vi = u.index(b"* VANISHED (EARLIER) 3:4")
        self.assertLess(u.index(has_line(u, rb"^\* OK \[HIGHESTMODSEQ")[0]), vi)
        self.assertLess(vi, u.index(fetches[0]))

    def test_up_to_date_client_gets_nothing(self):
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name, uv, hm = self.changed_box(c)
        u, t = c.ok("SELECT %s" % name)
        uv, hm = self.select_numbers(u)
        c.ok("UNSELECT")
        u, t = c.ok("SELECT %s (QRESYNC (%d %d))" % (name, uv, hm))
        self.assertFalse(has_line(u, rb"^\* VANISHED"), u)
        self.assertFalse(has_line(u, rb"^\* \d+ FETCH"), u)

    def test_uidvalidity_mismatch(self):
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name, uv, hm = self.changed_box(c)
        u, t = c.ok("SELECT %s (QRESYNC (%d %d))" % (name, uv + 1, hm))
        self.assertFalse(has_line(u, rb"^\* VANISHED"), u)
        self.assertFalse(has_line(u, rb"^\* \d+ FETCH"), u)
        self.assertIn(b"* 3 EXISTS", u)

    def test_known_uids_limit_vanished(self):
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name, uv, hm = self.changed_box(c)
        u, t = c.ok("SELECT %s (QRESYNC (%d %d 1:3))" % (name, uv, hm))
        self.assertIn(b"* VANISHED (EARLIER) 3", u)
        self.assertEqual(len(has_line(u, rb"^\* VANISHED")), 1, u)
        c.ok("UNSELECT")
        u, t = c.ok("SELECT %s (QRESYNC (%d %d 1,2,5))" % (name, uv, hm))
        self.assertFalse(has_line(u, rb"^\* VANISHED"), u)
        self.assertTrue(has_line(u, rb"^\* 2 FETCH \(UID 2 "), u)
        c.ok("UNSELECT")
        # seq-match-data is accepted (and not needed: expunges are kept).
        u, t = c.ok("SELECT %s (QRESYNC (%d %d 1:5 (1:3 1:3)))" % (name, uv, hm))
        self.assertIn(b"* VANISHED (EARLIER) 3:4", u)

    def test_examine_with_qresync(self):
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name, uv, hm = self.changed_box(c)
        u, t = c.ok("EXAMINE %s (QRESYNC (%d %d))" % (name, uv, hm))
        self.assertIn(b"[READ-ONLY]", t)
        self.assertIn(b"* VANISHED (EARLIER) 3:4", u)
        self.assertTrue(has_line(u, rb"^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ"), u)

    def test_closed_between_mailboxes(self):
        # RFC 7162 3.2.11: [CLOSED] parts the old mailbox's responses from
        # the new one's.
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name, uv, hm = self.changed_box(c)
        c.ok("SELECT INBOX")
        u, t = c.ok("SELECT %s (QRESYNC (%d %d))" % (name, uv, hm))
        self.assertTrue(u[0].startswith(b"* OK [CLOSED]"), u)
        self.assertIn(b"* VANISHED (EARLIER) 3:4", u)

    def test_bad_qresync_parameters(self):
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name = self.new_box(c, 1)
        for params in ["(QRESYNC)", "(QRESYNC (0 1))", "(QRESYNC (1))",
                       "(QRESYNC (1 1 1:*))", "(QRESYNC (1 1 x))"]:
            u, t = c.cmd("SELECT %s %s" % (name, params))
            self.assertRegex(t, rb"^\S+ BAD", params)


class TestVanished(QresyncCase):
    def test_expunge_reports_vanished(self):
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name = self.new_box(c)
        c.ok("SELECT %s" % name)
        c.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        u, t = c.ok("EXPUNGE")
        self.assertEqual(u, [b"* VANISHED 2,4"])
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        u, t = c.ok("UID EXPUNGE 1:5")
        self.assertEqual(u, [b"* VANISHED 1"])

    def test_move_reports_vanished(self):
        # RFC 6851 4.3: MOVE under QRESYNC reports VANISHED, not EXPUNGE.
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name = self.new_box(c, 3)
        dest = self.new_box(c, 0)
        c.ok("SELECT %s" % name)
        u, t = c.ok("UID MOVE 2 %s" % dest)
        self.assertIn(b"* VANISHED 2", u)
        self.assertFalse(has_line(u, rb"^\* \d+ EXPUNGE"), u)

    def test_other_session_expunge_seen_at_noop(self):
        a = self.raw()
        a.ok("ENABLE QRESYNC")
        name = self.new_box(a)
        a.ok("SELECT %s" % name)
        b = self.raw()
        b.ok("SELECT %s" % name)
        b.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
        u, t = b.ok("EXPUNGE")
        self.assertEqual(u, [b"* 3 EXPUNGE", b"* 1 EXPUNGE"], "no QRESYNC in b")
        u, t = a.ok("NOOP")
        self.assertIn(b"* VANISHED 1,3", u)
        self.assertFalse(has_line(u, rb"^\* \d+ EXPUNGE"), u)
        u, t = a.ok("FETCH 1:* (UID)")
        self.assertEqual(has_line(u, rb"^\* \d+ FETCH"),
                         [b"* 1 FETCH (UID 2)", b"* 2 FETCH (UID 4)", b"* 3 FETCH (UID 5)"])

    def test_close_sends_no_vanished(self):
        # RFC 7162 3.2.7 / RFC 9051 6.4.1: CLOSE expunges silently.
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name = self.new_box(c, 2)
        c.ok("SELECT %s" % name)
        c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        u, t = c.ok("CLOSE")
        self.assertEqual(u, [])
        u, t = c.ok("STATUS %s (MESSAGES)" % name)
        self.assertIn(b"(MESSAGES 1)", u[0])


class TestUidFetchVanished(QresyncCase):
    def test_uid_fetch_changedsince_vanished(self):
        c = self.raw()
        c.ok("ENABLE QRESYNC")
        name, uv, hm = self.changed_box(c)
        c.ok("SELECT %s" % name)
        u, t = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hm)
        self.assertEqual(u[0], b"* VANISHED (EARLIER) 3:4")
        self.assertEqual(len(u), 2, u)
        self.assertRegex(u[1], rb"^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$")
        # Only UIDs of the set are reported.
        u, t = c.ok("UID FETCH 4:5 (FLAGS) (CHANGEDSINCE %d VANISHED)" % hm)
        self.assertEqual(u, [b"* VANISHED (EARLIER) 4"])
        u, t = c.ok("UID FETCH 1,2 (FLAGS) (CHANGEDSINCE %d VANISHED)" % hm)
        self.assertFalse(has_line(u, rb"^\* VANISHED"), u)

    def test_vanished_rules(self):
        c = self.raw()
        name = self.new_box(c, 2)
        c.ok("SELECT %s" % name)
        # Not enabled; not UID FETCH; no CHANGEDSINCE: BAD (RFC 7162 3.2.6).
        u, t = c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        self.assertRegex(t, rb"^\S+ BAD")
        c.ok("ENABLE QRESYNC")
        u, t = c.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        self.assertRegex(t, rb"^\S+ BAD")
        u, t = c.cmd("UID FETCH 1:* (FLAGS) (VANISHED)")
        self.assertRegex(t, rb"^\S+ BAD")
        u, t = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        self.assertFalse(has_line(u, rb"^\* VANISHED"), u)


class TestImaplib(QresyncCase):
    def test_imaplib_resync(self):
        c = self.raw()
        name, uv, hm = self.changed_box(c)
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"],
                              ssl_context=tls_context(), timeout=10)
        self.addCleanup(quiet_close, m)
        m.login(USER, PW)
        self.assertIn("QRESYNC", m.capabilities)
        typ, data = m.enable("QRESYNC")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.response("ENABLED"), ("ENABLED", [b"QRESYNC"]))
        typ, data = m._simple_command("SELECT", "%s (QRESYNC (%d %d))" % (name, uv, hm))
        self.assertEqual(typ, "OK")
        self.assertEqual(m.untagged_responses.get("VANISHED"), [b"(EARLIER) 3:4"])
        fetch = m.untagged_responses.get("FETCH")
        self.assertEqual(len(fetch), 1, fetch)
        self.assertRegex(fetch[0], rb"^2 \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$")
        m.logout()


if __name__ == "__main__":
    unittest.main()

"""IMAP IDLE (RFC 2177, RFC 9051 6.3.13) against a real postbox serve:
every kind of change reaches an IDLE client within one second (changes
made by deliveries, by other sessions and by other programs working on
the Maildir), and IDLE sessions cost nothing while nothing changes (the
server waits for the kernel to report changes instead of polling).

test_imap_core.TestIdle has the basics (deliveries, flags, expunges)."""

import os
import time
import unittest

import pbtest
import test_imap_core
from test_imap_core import USER, ImapCase, deliver

PW_MSG = b"From: x@c.test\r\nTo: v@a.test\r\nSubject: %s\r\n\r\nbody\r\n"


class IdleCase(ImapCase):
    def idle(self, c, tag="i"):
        c.send("%s IDLE\r\n" % tag)
        self.assertTrue(c.read_line().startswith(b"+"))

    def done(self, c, tag="i"):
        c.send("DONE\r\n")
        u, t = c.collect(tag)
        self.assertTagged(t, "OK")
        return u

    # Lines until one matches pred; returns (all lines, seconds). Taken
    # through the module so that TestIdle's tests do not run here too.
    read_until = test_imap_core.TestIdle.read_until

    def within_one_second(self, c, pred, what):
        lines, took = self.read_until(c, pred)
        self.assertLess(took, 1.0, "%s came %.2fs after the change" % (what, took))
        return lines

    def selected(self, folder="INBOX"):
        c = self.raw()
        c.login()
        c.ok('SELECT "%s"' % folder)
        return c


class TestIdleSees(IdleCase):
    def test_keyword_from_other_session(self):
        """A keyword changes only the index (no file is renamed): another
        session's STORE of one reaches an IDLE session within a second."""
        deliver(self.srv, USER, "one")
        a = self.selected()
        b = self.selected()
        self.idle(a)
        b.ok("STORE 1 +FLAGS.SILENT ($Important)")
        lines = self.within_one_second(a, lambda l: l.startswith(b"* 1 FETCH"), "FETCH")
        self.assertIn(b"$Important", lines[-1])
        self.done(a)

    def test_file_dropped_into_new(self):
        """A program that writes a message straight into new/ (as a
        delivery agent other than postbox would): EXISTS within a second."""
        a = self.selected()
        self.idle(a)
        path = os.path.join(self.srv.maildir(USER), "new", "%d.M1P1.elsewhere" % time.time())
        with open(path, "wb") as f:
            f.write(PW_MSG % b"dropped")
        self.within_one_second(a, lambda l: l == b"* 1 EXISTS", "EXISTS")
        self.done(a)

    def test_mutt_style_rename(self):
        """mutt marks a message read by renaming its file in cur/ (":2,S"):
        the IDLE session gets the new FLAGS within a second."""
        deliver(self.srv, USER, "one")
        a = self.selected()           # moves the file to cur/
        cur = os.path.join(self.srv.maildir(USER), "cur")
        (name,) = os.listdir(cur)
        self.idle(a)
        base = name.split(":2,")[0]
        os.rename(os.path.join(cur, name), os.path.join(cur, base + ":2,FS"))
        lines = self.within_one_second(a, lambda l: l.startswith(b"* 1 FETCH"), "FETCH")
        self.assertIn(b"\\Seen", lines[-1])
        self.assertIn(b"\\Flagged", lines[-1])
        self.done(a)

    def test_file_removed_by_another_program(self):
        """A file deleted by another program is an expunge: within a second."""
        deliver(self.srv, USER, "one")
        deliver(self.srv, USER, "two")
        a = self.selected()
        cur = os.path.join(self.srv.maildir(USER), "cur")
        self.idle(a)
        for n in os.listdir(cur):
            if b"Subject: one" in open(os.path.join(cur, n), "rb").read():
                os.unlink(os.path.join(cur, n))
        self.within_one_second(a, lambda l: l == b"* 1 EXPUNGE", "EXPUNGE")
        self.done(a)

    def test_other_folder_append_copy_move(self):
        """An IDLE session on a folder other than INBOX sees another
        session's APPEND, COPY and MOVE into it within a second."""
        a = self.selected("Archive")
        b = self.selected()
        self.idle(a)
        b.ok("APPEND Archive {%d+}\r\n%s" % (len(PW_MSG % b"x"), (PW_MSG % b"x").decode()))
        self.within_one_second(a, lambda l: l == b"* 1 EXISTS", "EXISTS after APPEND")
        deliver(self.srv, USER, "one")
        b.ok("NOOP")
        b.ok("COPY 1 Archive")
        self.within_one_second(a, lambda l: l == b"* 2 EXISTS", "EXISTS after COPY")
        b.ok("MOVE 1 Archive")
        self.within_one_second(a, lambda l: l == b"* 3 EXISTS", "EXISTS after MOVE")
        self.done(a)

    def test_delivery_after_idle_again(self):
        """IDLE, DONE, IDLE again (what clients do after each change):
        each IDLE sees the next delivery within a second."""
        a = self.selected()
        for n in range(1, 4):
            self.idle(a)
            deliver(self.srv, USER, "n%d" % n)
            self.within_one_second(a, lambda l: l == b"* %d EXISTS" % n, "EXISTS")
            self.done(a)


class TestIdleSharing(IdleCase):
    def test_one_session_leaves_the_other_still_sees(self):
        """Sessions on the same folder share the kernel's watches: one
        leaving IDLE (DONE, UNSELECT, LOGOUT) must not blind the other."""
        a = self.selected()
        b = self.selected()
        c = self.selected()
        self.idle(a)
        self.idle(b)
        self.idle(c)
        self.done(b)
        b.ok("UNSELECT")
        self.done(c)
        c.ok("LOGOUT")
        deliver(self.srv, USER, "one")
        self.within_one_second(a, lambda l: l == b"* 1 EXISTS", "EXISTS")
        self.done(a)

    def test_select_of_another_folder(self):
        """After SELECT of another folder, IDLE follows the new one."""
        a = self.selected()
        self.idle(a)
        self.done(a)
        a.ok("SELECT Archive")
        b = self.selected()
        self.idle(a)
        b.ok("APPEND Archive {%d+}\r\n%s" % (len(PW_MSG % b"x"), (PW_MSG % b"x").decode()))
        self.within_one_second(a, lambda l: l == b"* 1 EXISTS", "EXISTS")
        self.done(a)

    def test_folder_deleted_under_idle(self):
        """The selected folder deleted by another session: the IDLE
        session goes on (it polls), and ends IDLE normally."""
        b = self.selected()
        b.ok("CREATE Gone")
        a = self.selected("Gone")
        self.idle(a)
        b.ok("DELETE Gone")
        time.sleep(0.5)
        a.send("DONE\r\n")
        u, t = a.collect("i")
        self.assertRegex(t, rb"^i (OK|NO|BAD)")
        u, t = a.cmd("NOOP")
        self.assertRegex(t, rb"^\S+ (OK|NO|BAD)")


def context_switches(pid):
    """Context switches of every thread of the process so far."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if "ctxt_switches" in line:
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


class TestIdleCost(IdleCase):
    def setUp(self):
        self.srv = pbtest.Server(users=[USER], services=["imap", "imaps"],
                                 limits={"connections_per_ip": 100})
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)

    def test_quiet_idle_sessions_do_not_wake_the_server(self):
        """50 sessions IDLE on a quiet folder: the server sleeps. Polling
        every 400 ms, as postbox used to, woke its threads hundreds of
        times in these two seconds; waiting for the kernel's reports,
        it does not wake at all (the safety look is every 30 s)."""
        deliver(self.srv, USER, "one")
        conns = [self.selected() for _ in range(50)]
        for c in conns:
            self.idle(c)
        time.sleep(0.5)        # the one look after each IDLE starts
        before = context_switches(self.srv.proc.pid)
        time.sleep(2.0)
        woke = context_switches(self.srv.proc.pid) - before
        self.assertLess(woke, 20, "the server woke %d times in 2 s" % woke)
        # And they still hear of a change.
        deliver(self.srv, USER, "two")
        for c in conns:
            self.within_one_second(c, lambda l: l == b"* 2 EXISTS", "EXISTS")


if __name__ == "__main__":
    unittest.main()

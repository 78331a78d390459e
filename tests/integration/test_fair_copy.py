"""Fair work (issue 7) for COPY, MOVE, EXPUNGE and CLOSE: each runs in
slices of imap_slice messages, each slice its own worker job, so that
other users' commands are answered before a big one ends (an order of
answers, never a duration). COPY stays all or nothing across its slices
(RFC 9051 6.4.7): a client that leaves in the middle leaves no copy and
no file behind; MOVE (RFC 6851) sends COPYUID before its expunges."""

import imaplib
import os
import re
import sqlite3
import subprocess
import time
import unittest

import pbtest
from test_fair_work import HEAVY, OTHER, PW, FairCase, fill

N = 3000
USERS = ["h%d@a.test" % i for i in range(4)]


def info_of(i):
    """Maildir flags of the i-th filled message: a mix, across slices."""
    return "".join(f for f, k in (("F", 3), ("R", 5), ("S", 2)) if i % k == 0)


def fill_flagged(srv, address, n, deleted=lambda i: False, distinct=(0, 49, 50)):
    """n messages in cur/ with flags (info_of; T = \\Deleted where
    deleted(i)). Those in distinct (and the last) have their own bytes;
    the others are hard links of the first: several thousand messages in
    a few hundredths of a second."""
    md = srv.maildir(address)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    first = None
    for i in range(n):
        info = "".join(sorted(info_of(i) + ("T" if deleted(i) else "")))
        path = os.path.join(md, "cur", "1700000000.M%06dP1.fill:2,%s" % (i, info))
        if first is not None and i not in distinct and i != n - 1:
            os.link(first, path)
            continue
        with open(path, "w") as f:
            f.write("From: a%d@b.test\r\nTo: %s\r\nSubject: s%d\r\nX-Tag: t%d\r\n\r\n"
                    "body %d\r\n" % (i, address, i, i, i))
        first = first or path


def quick_password(srv, address):
    """Gives the user a SHA-512 crypt hash of the same password (the
    server takes "$6$" hashes): its check then takes milliseconds, not
    the second a yescrypt check takes under ASan on a loaded machine, so
    LOGIN's answer waits only for its job on the shared workers, which is
    what these tests are about."""
    h = subprocess.run(["openssl", "passwd", "-6", "-salt", "quicksalt", PW],
                       capture_output=True, text=True, check=True).stdout.strip()
    db = sqlite3.connect(os.path.join(srv.data_dir, "postbox.db"))
    with db:
        n = db.execute("UPDATE users SET hash = ? WHERE address = ?", (h, address)).rowcount
    db.close()
    assert n == 1, address


def files(srv, address, folder, sub):
    d = os.path.join(srv.maildir(address), "." + folder if folder else "", sub)
    return os.listdir(d)


class SliceCase(FairCase):
    # Small slices so that each command is many worker jobs (the default
    # is 1,000 messages): 60 per command here.
    limits = {"connections_per_ip": 100, "imap_slice": 50}
    users = [OTHER] + USERS

    def setUp(self):
        self.srv = pbtest.Server(users=self.users, services=["imap"], limits=self.limits)
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)
        for user in self.users:
            quick_password(self.srv, user)

    def beside(self, commands):
        """Four sessions (four users: one folder each, filled before) send
        the commands at once (as many as there are worker threads);
        another user's LOGIN, SELECT and NOOP must all be answered before
        any of them ends. Returns each command's (untagged, tagged)."""
        fill(self.srv, OTHER, 3)
        cs = []
        for user in USERS:
            c = self.imap(user)
            self.assertIn("OK", c.cmd("s", "SELECT INBOX")[1])
            cs.append(c)
        w = self.imap()
        for c, command in zip(cs, commands):
            c.send("q " + command)
        time.sleep(0.1)   # the commands are running
        self.assertIn("OK", w.cmd("a", 'LOGIN "%s" "%s"' % (OTHER, PW))[1])
        self.assertIn("OK", w.cmd("b", "SELECT INBOX")[1])
        self.assertIn("OK", w.cmd("c", "NOOP")[1])
        # Untagged responses may come slice by slice: what counts is
        # whether the tagged reply has come.
        ended = [c.has_tagged("q") for c in cs]
        results = [c.tagged("q") for c in cs]
        self.assertEqual(ended, [False] * 4,
                         "a command ended before the other user's NOOP: %r" % commands)
        return results

    def uid_flags(self, user, folder):
        """{UID: sorted flags} of a folder, through imaplib."""
        m = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"])
        self.addCleanup(m.logout)
        m.login(user, PW)
        typ, _ = m.select(folder, readonly=True)
        self.assertEqual(typ, "OK")
        typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
        self.assertEqual(typ, "OK")
        out = {}
        for item in data:
            if item is None:
                continue
            uid = int(re.search(rb"UID (\d+)", item).group(1))
            fl = re.search(rb"FLAGS \(([^)]*)\)", item).group(1).decode().split()
            out[uid] = sorted(f for f in fl if f != "\\Recent")
        m.close()
        return out


def flags_of(i):
    return sorted({"F": "\\Flagged", "R": "\\Answered", "S": "\\Seen"}[f]
                  for f in info_of(i))


class TestCopyMoveSlices(SliceCase):
    def test_heavy_copy_beside_other_users(self):
        """Four sessions COPY 1:* of 3,000 messages each; another user's
        LOGIN, SELECT and NOOP are answered first. Each COPY's COPYUID
        (RFC 4315 3) names every message, and each copy has its source's
        bytes and flags (RFC 9051 6.4.7)."""
        for user in USERS:
            fill_flagged(self.srv, user, N)
        results = self.beside(["COPY 1:* Archive"] * 4)
        for untagged, t in results:
            self.assertRegex(t, r"^q OK \[COPYUID \d+ 1:%d 1:%d\] COPY completed$" % (N, N))
        user = USERS[0]
        dst = self.uid_flags(user, "Archive")
        self.assertEqual(dst, {i + 1: flags_of(i) for i in range(N)})
        # The bytes, from messages of different slices.
        m = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"])
        self.addCleanup(m.logout)
        m.login(user, PW)
        m.select("Archive", readonly=True)
        for i in (0, 1, 49, 50, N - 1):
            name = "1700000000.M%06dP1.fill:2," % i
            with open(os.path.join(self.srv.maildir(user), "cur", name + info_of(i)),
                      "rb") as f:
                want = f.read()
            typ, data = m.uid("FETCH", str(i + 1), "(BODY.PEEK[])")
            self.assertEqual(data[0][1], want)
        self.assertEqual(files(self.srv, user, "Archive", "tmp"), [])

    def test_heavy_move_beside_other_users(self):
        """Four sessions MOVE 1:* of 3,000 messages each; another user's
        LOGIN, SELECT and NOOP are answered first. RFC 6851 3.3 and 4.3:
        the COPYUID comes in an untagged OK before the first EXPUNGE, every
        moved message gets an EXPUNGE, the tagged OK follows; the source
        is empty and the destination holds every message with its flags."""
        for user in USERS:
            fill_flagged(self.srv, user, N)
        results = self.beside(["MOVE 1:* Archive"] * 4)
        for untagged, t in results:
            self.assertEqual(t, "q OK MOVE completed")
            ok = [i for i, l in enumerate(untagged) if l.startswith("* OK [COPYUID ")]
            exp = [i for i, l in enumerate(untagged) if re.match(r"^\* \d+ EXPUNGE$", l)]
            self.assertEqual(len(ok), 1, untagged[:5])
            self.assertRegex(untagged[ok[0]], r"^\* OK \[COPYUID \d+ 1:%d 1:%d\] " % (N, N))
            self.assertEqual(len(exp), N)
            self.assertLess(ok[0], exp[0])
        user = USERS[1]
        self.assertEqual(self.uid_flags(user, "Archive"),
                         {i + 1: flags_of(i) for i in range(N)})
        self.assertEqual(files(self.srv, user, "", "cur"), [])
        self.assertEqual(self.uid_flags(user, "INBOX"), {})


class TestCopyOneUser(SliceCase):
    users = [HEAVY]

    def test_move_vanished_slice_by_slice(self):
        """RFC 6851 3.3 with QRESYNC (RFC 7162 3.2.10): VANISHED, never
        EXPUNGE, after the untagged COPYUID; one VANISHED per slice of 50,
        together naming every UID moved."""
        fill_flagged(self.srv, HEAVY, 120)
        c = self.imap(HEAVY)
        self.assertIn("OK", c.cmd("e", "ENABLE QRESYNC")[1])
        self.assertIn("OK", c.cmd("s", "SELECT INBOX")[1])
        untagged, t = c.cmd("m", "UID MOVE 1:* Archive")
        self.assertEqual(t, "m OK UID MOVE completed")
        self.assertRegex(untagged[0], r"^\* OK \[COPYUID \d+ 1:120 1:120\] ")
        self.assertEqual(untagged[1:], ["* VANISHED 1:50", "* VANISHED 51:100",
                                        "* VANISHED 101:120"])

    def test_copy_client_gone_leaves_nothing(self):
        """A client that disconnects in the middle of a sliced COPY
        (its files half prepared in the destination's tmp/) leaves the
        destination as it was: no message, and no file in tmp/ once the
        server has noticed. COPY is all or nothing (RFC 9051 6.4.7)."""
        n = 3000
        fill_flagged(self.srv, HEAVY, n)
        c = self.imap(HEAVY)
        self.assertIn("OK", c.cmd("s", "SELECT INBOX")[1])
        c.send("q COPY 1:* Archive")
        tmp = os.path.join(self.srv.maildir(HEAVY), ".Archive", "tmp")
        while not os.listdir(tmp):
            self.assertFalse(c.has_tagged("q"), "the COPY ended before it was cut")
            time.sleep(0.001)
        c.sock.close()
        # "Once the server notices": it has nothing to tell, so wait (a
        # bounded while) for tmp/ to empty, then look.
        for _ in range(3000):
            if not os.listdir(tmp):
                break
            time.sleep(0.02)
        self.assertEqual(os.listdir(tmp), [])
        d = self.imap(HEAVY)
        untagged, t = d.cmd("t", "STATUS Archive (MESSAGES UIDNEXT)")
        self.assertEqual(untagged, ['* STATUS "Archive" (MESSAGES 0 UIDNEXT 1)'])
        self.assertEqual(files(self.srv, HEAVY, "Archive", "cur"), [])
        self.assertEqual(files(self.srv, HEAVY, "Archive", "new"), [])
        self.assertEqual(len(files(self.srv, HEAVY, "", "cur")), n)


class TestExpungeSlices(SliceCase):
    def test_heavy_expunge_beside_other_users(self):
        """EXPUNGE, UID EXPUNGE (RFC 4315 2.1) and CLOSE (RFC 9051 6.4.1)
        of 3,000 messages, 9 in 10 of them \\Deleted, in four sessions at
        once; another user's LOGIN, SELECT and NOOP are answered first.
        EXPUNGE and UID EXPUNGE report every expunged message once (RFC
        9051 7.5.1), CLOSE none; the others are left, UIDs unchanged."""
        for user in USERS:
            fill_flagged(self.srv, user, N, deleted=lambda i: i % 10 != 0)
        commands = ["EXPUNGE", "UID EXPUNGE 1:*", "CLOSE", "EXPUNGE"]
        results = self.beside(commands)
        gone = N - N // 10
        for (untagged, t), command in zip(results, commands):
            self.assertEqual(t, "q OK %s completed" % command.split(" 1")[0])
            exp = [l for l in untagged if re.match(r"^\* \d+ EXPUNGE$", l)]
            self.assertEqual(len(exp), 0 if command == "CLOSE" else gone, command)
        for user in USERS:
            left = self.uid_flags(user, "INBOX")
            self.assertEqual(sorted(left), list(range(1, N + 1, 10)))
            self.assertEqual(len(files(self.srv, user, "", "cur")), N // 10)


if __name__ == "__main__":
    unittest.main()

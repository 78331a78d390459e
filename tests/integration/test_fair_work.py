"""Fair work (issue 7, "Starvation"): heavy SEARCHes and STOREs run in
slices and give the workers up between them, a SEARCH past the cost cap is refused
with NO [LIMIT] (RFC 5530 3), and password checks have threads of their
own, so a login flood does not hold up mail access. What is asserted is
an order of answers, never a duration."""

import os
import select
import socket
import threading
import time
import unittest

import pbtest

PW = pbtest.PASSWORD
HEAVY = "v@a.test"   # the searcher's folder
OTHER = "w@a.test"
MESSAGES = 500


def fill(srv, address, n):
    """n messages dropped straight into the Maildir's new/ (as a local
    delivery agent would), each with an X-Tag header that every HEADER
    key of the heavy search matches, so no AND stops early."""
    md = srv.maildir(address)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    for i in range(n):
        with open(os.path.join(md, "new", "1700000000.M%06dP1.fill" % i), "w") as f:
            f.write("From: a%d@b.test\r\nTo: %s\r\nSubject: s%d\r\nX-Tag: t%d\r\n\r\nbody\r\n"
                    % (i, address, i, i))


class Imap:
    """A minimal IMAP client on a raw socket (plaintext on loopback)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.buf = b""
        self.line()

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("closed; have %r" % self.buf[-300:])
            self.buf += chunk
        i = self.buf.index(b"\r\n")
        out, self.buf = self.buf[:i], self.buf[i + 2:]
        return out.decode(errors="replace")

    def cmd(self, tag, text):
        self.send("%s %s" % (tag, text))
        return self.tagged(tag)

    def tagged(self, tag):
        untagged = []
        while True:
            l = self.line()
            if l.startswith(tag + " "):
                return untagged, l
            untagged.append(l)

    def answered(self):
        """Whether anything has arrived that was not read yet."""
        if self.buf:
            return True
        r, _, _ = select.select([self.sock], [], [], 0)
        return bool(r)

    def has_tagged(self, tag):
        """Whether tag's reply has arrived (reads what has come, keeps it)."""
        while select.select([self.sock], [], [], 0)[0]:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                break
            self.buf += chunk
        return (b"\r\n" + tag.encode() + b" ") in b"\r\n" + self.buf

    def close(self):
        self.sock.close()


class FairCase(unittest.TestCase):
    limits = {"connections_per_ip": 100}

    def setUp(self):
        self.srv = pbtest.Server(users=[HEAVY, OTHER], services=["imap", "pop3"],
                                 limits=self.limits)
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)

    def imap(self, user=None):
        c = Imap(self.srv.ports["imap"])
        self.addCleanup(c.close)
        if user:
            self.assertIn("OK", c.cmd("l", 'LOGIN "%s" "%s"' % (user, PW))[1])
        return c


class TestSearchSlices(FairCase):
    def test_heavy_search_beside_other_users(self):
        """Four sessions each SEARCH with 800 HEADER keys over 500
        messages (as many as there are worker threads); another user's
        LOGIN, SELECT and NOOP are all answered before any SEARCH ends."""
        fill(self.srv, HEAVY, MESSAGES)
        fill(self.srv, OTHER, 3)
        searchers = []
        for i in range(4):
            c = self.imap(HEAVY)
            self.assertIn("OK", c.cmd("s", "SELECT INBOX")[1])
            searchers.append(c)
        keys = " ".join(["HEADER X-Tag t"] * 800)
        for c in searchers:
            c.send("q UID SEARCH " + keys)
        time.sleep(0.2)   # the searches are running
        w = self.imap()
        self.assertIn("OK", w.cmd("a", 'LOGIN "%s" "%s"' % (OTHER, PW))[1])
        self.assertIn("OK", w.cmd("b", "SELECT INBOX")[1])
        self.assertIn("OK", w.cmd("c", "NOOP")[1])
        ended = [c.answered() for c in searchers]
        for c in searchers:
            untagged, t = c.tagged("q")
            self.assertIn("OK", t)
            # Every message once, in order, across the slices.
            uids = [int(x) for x in untagged[-1].split()[2:]]
            self.assertEqual(len(uids), MESSAGES)
            self.assertEqual(uids, sorted(set(uids)))
        self.assertEqual(ended, [False] * 4, "a SEARCH ended before the other user's NOOP")

    def test_search_past_the_cap(self):
        """RFC 5530 3: keys x messages past the cap (10^7 by default) is
        NO [LIMIT] at once; the session goes on; SORT and THREAD too."""
        fill(self.srv, HEAVY, 1400)
        c = self.imap(HEAVY)
        self.assertIn("OK", c.cmd("s", "SELECT INBOX")[1])
        # 8,000 keys (about the most arguments a command may have) over
        # 1,400 messages.
        keys = " ".join(["ALL"] * 8000)
        for cmd in ("UID SEARCH ", "SORT (DATE) UTF-8 ", "THREAD REFERENCES UTF-8 "):
            untagged, t = c.cmd("x", cmd + keys)
            self.assertTrue(t.startswith("x NO [LIMIT] "), t)
        self.assertIn("OK", c.cmd("n", "NOOP")[1])
        untagged, t = c.cmd("y", "UID SEARCH HEADER X-Tag t1")
        self.assertIn("OK", t)


class TestStoreSlices(FairCase):
    # Small slices so that each STORE is many worker jobs (the default
    # is 1,000 messages): 30 per STORE here.
    limits = {"connections_per_ip": 100, "imap_slice": 50}
    STORERS = ["h%d@a.test" % i for i in range(4)]

    def setUp(self):
        self.srv = pbtest.Server(users=[HEAVY, OTHER] + self.STORERS, services=["imap"],
                                 limits=self.limits)
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)

    def test_heavy_store_beside_other_users(self):
        """Four sessions (four users: one folder each) each STORE 1:*
        +FLAGS on 1,500 messages (as many as there are worker threads);
        another user's SELECT and NOOP are both answered before any
        STORE ends; every STORE reports every message once, in order
        (RFC 9051 6.4.6), and the flag is then set on all of them."""
        n = 1500
        fill(self.srv, OTHER, 3)
        storers = []
        for user in self.STORERS:
            fill(self.srv, user, n)
            c = self.imap(user)
            self.assertIn("OK", c.cmd("s", "SELECT INBOX")[1])
            storers.append(c)
        # Logged in first: a password check has threads of its own, and
        # takes longer under ASan than a whole STORE.
        w = self.imap(OTHER)
        for c in storers:
            c.send("q STORE 1:* +FLAGS (\\Flagged)")
        time.sleep(0.1)   # the STOREs are running
        self.assertIn("OK", w.cmd("b", "SELECT INBOX")[1])
        self.assertIn("OK", w.cmd("c", "NOOP")[1])
        # The FETCH responses come slice by slice: what counts is
        # whether the tagged reply has come.
        ended = [c.has_tagged("q") for c in storers]
        for c in storers:
            untagged, t = c.tagged("q")
            self.assertEqual(t, "q OK STORE completed")
            seqs = [int(l.split()[1]) for l in untagged
                    if l == "* %s FETCH (FLAGS (\\Flagged \\Recent))" % l.split()[1]]
            self.assertEqual(seqs, list(range(1, n + 1)))
        self.assertEqual(ended, [False] * 4, "a STORE ended before the other user's NOOP")
        for c in storers:
            untagged, t = c.cmd("f", "SEARCH UNFLAGGED")
            self.assertEqual((untagged, t), (["* SEARCH"], "f OK SEARCH completed"))

    def test_stores_on_one_folder(self):
        """Four sessions of one user STORE 1:* a flag each on the same
        1,000 messages at once, their slices interleaved: every STORE
        reports every message, every flag ends on every message, and no
        message is expunged and entered again under a new UID (the sync
        of one session once took another's renames, seen half-way in
        its listing, for an expunge plus a new file, or put the old name
        back)."""
        n = 1000
        flags = ("\\Seen", "\\Flagged", "\\Answered", "\\Draft")
        fill(self.srv, HEAVY, n)
        cs = []
        for flag in flags:
            c = self.imap(HEAVY)
            self.assertIn("OK", c.cmd("s", "SELECT INBOX")[1])
            cs.append(c)
        for c, flag in zip(cs, flags):
            c.send("q STORE 1:* +FLAGS (%s)" % flag)
        for c, flag in zip(cs, flags):
            untagged, t = c.tagged("q")
            self.assertEqual(t, "q OK STORE completed")
            self.assertEqual(sum(1 for l in untagged if " FETCH " in l and flag in l), n)
        c = self.imap(HEAVY)
        untagged, t = c.cmd("s", "SELECT INBOX")
        self.assertIn("* %d EXISTS" % n, untagged)
        self.assertIn("* OK [UIDNEXT %d] Predicted next UID" % (n + 1), untagged)
        untagged, t = c.cmd("f", "SEARCH OR OR OR UNSEEN UNFLAGGED UNANSWERED UNDRAFT")
        self.assertEqual((untagged, t), (["* SEARCH"], "f OK SEARCH completed"))

    def test_unchangedsince_across_slices(self):
        """RFC 7162 3.1.3: MODIFIED lists the messages changed since
        UNCHANGEDSINCE in every slice, not only the last one's."""
        n = 350
        fill(self.srv, HEAVY, n)
        c = self.imap(HEAVY)
        untagged, t = c.cmd("s", "SELECT INBOX (CONDSTORE)")
        self.assertIn("OK", t)
        hm = [l for l in untagged if "HIGHESTMODSEQ" in l][0]
        modseq = int(hm.split("HIGHESTMODSEQ ")[1].split("]")[0])
        # Changed after that modseq: one message in each of three slices.
        for seq in (5, 150, 340):
            self.assertIn("OK", c.cmd("p", "STORE %d +FLAGS (\\Flagged)" % seq)[1])
        untagged, t = c.cmd("u", "STORE 1:* (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Seen)"
                            % modseq)
        self.assertEqual(t, "u OK [MODIFIED 5,150,340] Conditional STORE failed")
        untagged, t = c.cmd("f", "FETCH 1:* FLAGS")
        seen = [l for l in untagged if "\\Seen" in l]
        self.assertEqual(len(seen), n - 3)


class Flood(threading.Thread):
    """n POP3 connections that guess a password again as soon as each
    guess is answered; .answers counts the answers."""

    def __init__(self, port, n):
        super().__init__(daemon=True)
        self.socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=120)
            s.recv(1024)
            self.socks.append(s)
        self.answers = 0
        self.stop = threading.Event()

    def guess(self, s):
        s.sendall(b"USER " + HEAVY.encode() + b"\r\nPASS guess\r\n")

    def run(self):
        for s in self.socks:
            self.guess(s)
        while not self.stop.is_set():
            r, _, _ = select.select(self.socks, [], [], 0.1)
            for s in r:
                data = s.recv(4096)
                self.answers += data.count(b"-ERR [AUTH]")
                if b"-ERR" in data:
                    self.guess(s)

    def close(self):
        self.stop.set()
        self.join(30)
        for s in self.socks:
            s.close()


class TestLoginFlood(FairCase):
    limits = {"connections_per_ip": 100, "auth_delay": "0", "auth_failures": 100000}

    def test_flood_beside_mail_access(self):
        """40 POP3 connections guess passwords without pause; a user
        already logged in over IMAP gets SELECT and FETCH answered before
        the flood has had one more answer per connection: the checks queue
        on threads of their own, not in front of mail access."""
        fill(self.srv, OTHER, 3)
        w = self.imap(OTHER)
        flood = Flood(self.srv.ports["pop3"], 40)
        self.addCleanup(flood.close)
        flood.start()
        while flood.answers < 40:
            time.sleep(0.05)
        before = flood.answers
        self.assertIn("OK", w.cmd("b", "SELECT INBOX")[1])
        untagged, t = w.cmd("c", "FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn("OK", t)
        during = flood.answers - before
        flood.close()
        self.assertLess(during, 40, "SELECT and FETCH waited behind a round of guesses")


if __name__ == "__main__":
    unittest.main()

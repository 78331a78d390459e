"""Authentication penalties (issue 7, "Brute force"): a failed login's
answer waits longer with each failure from the address, the connection is
closed after a few, each failure is one log line that the README's
fail2ban filter matches, and nobody else waits meanwhile. Delays are
made small ([limits] auth_delay) so the tests run fast; what is asserted
is an order of answers, never a duration."""

import base64
import os
import re
import socket
import threading
import time
import unittest

import pbtest

PW = pbtest.PASSWORD
USER = "v@a.test"
OTHER = "w@a.test"
HERE = os.path.dirname(os.path.abspath(__file__))


class Line:
    """A line-based client (IMAP or POP3) on loopback, from a chosen
    source address (127.0.0.0/8 is all loopback)."""

    def __init__(self, port, source="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(pbtest.IO_TIMEOUT)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""
        self.greeting = self.line()

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed; have %r" % self.buf)
            self.buf += chunk
        i = self.buf.index(b"\r\n")
        out, self.buf = self.buf[:i], self.buf[i + 2:]
        return out.decode(errors="replace")

    def tagged(self, tag):
        """Lines up to and including the tagged one: (untagged, tagged)."""
        lines = []
        while True:
            l = self.line()
            if l.startswith(tag + " "):
                return lines, l
            lines.append(l)

    def closed(self):
        """True when the server closes the connection (after any lines)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


class PenaltyCase(unittest.TestCase):
    limits = {"auth_delay": "300ms", "auth_delay_max": "3s", "auth_failures": 3}

    def setUp(self):
        self.srv = pbtest.Server(users=[USER, OTHER], services=["imap", "pop3"],
                                 limits=self.limits)
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)

    def conn(self, svc, source="127.0.0.1"):
        c = Line(self.srv.ports[svc], source)
        self.addCleanup(c.close)
        return c

    def imap_login(self, c, tag, user=USER, pw=PW):
        c.send('%s LOGIN "%s" "%s"' % (tag, user, pw))
        return c.tagged(tag)[1]


class TestPenalties(PenaltyCase):
    def test_imap_delays_grow_then_close(self):
        """Each failed LOGIN from the address waits longer than the one
        before (300, 600, 1200 ms here); the third is followed by BYE and
        the close (RFC 9051 7.1.5); another user's session is answered
        all the while."""
        other = self.conn("imap")
        self.assertIn("OK", self.imap_login(other, "o1", OTHER))
        c = self.conn("imap")
        took = []
        for i in range(3):
            t0 = time.monotonic()
            c.send('a%d LOGIN "%s" "wrong-%d"' % (i, USER, i))
            # While the answer waits, the other session works.
            other.send("n%d NOOP" % i)
            self.assertIn("OK", other.tagged("n%d" % i)[1])
            untagged, t = c.tagged("a%d" % i)
            took.append(time.monotonic() - t0)
            self.assertIn("NO [AUTHENTICATIONFAILED]", t)
        self.assertGreater(took[1], took[0])
        self.assertGreater(took[2], took[1])
        self.assertEqual(c.line(), "* BYE Too many authentication failures")
        self.assertTrue(c.closed())
        log = self.srv.log_text()
        self.assertEqual(log.count("auth failed: service=imap ip=127.0.0.1 user=<v@a.test>"
                                   " reason=bad-password"), 3)

    def test_pop3_close_after_failures(self):
        """POP3 USER/PASS and AUTH PLAIN count alike (RFC 5034); the third
        failure's -ERR [AUTH] ends the session."""
        c = self.conn("pop3")
        c.send("USER " + USER)
        self.assertTrue(c.line().startswith("+OK"))
        c.send("PASS nope")
        self.assertTrue(c.line().startswith("-ERR [AUTH]"))
        plain = base64.b64encode(b"\0" + USER.encode() + b"\0nope2").decode()
        c.send("AUTH PLAIN " + plain)
        self.assertTrue(c.line().startswith("-ERR [AUTH]"))
        c.send("AUTH LOGIN")
        self.assertEqual(c.line(), "+ VXNlcm5hbWU6")
        c.send(base64.b64encode(USER.encode()).decode())
        self.assertEqual(c.line(), "+ UGFzc3dvcmQ6")
        c.send(base64.b64encode(b"nope3").decode())
        self.assertTrue(c.line().startswith("-ERR [AUTH]"))
        self.assertTrue(c.closed())
        self.assertEqual(self.srv.log_text().count(
            "auth failed: service=pop3 ip=127.0.0.1 user=<v@a.test> reason=bad-password"), 3)

    def test_keyed_by_address_gently_by_user(self):
        """Failures from 127.0.0.1 against v@a.test: a login of v@a.test
        from 127.0.0.2 waits at most the user's gentle level (600 ms
        here), so it is answered before the next failure from 127.0.0.1
        (1200 ms), sent first. A success forgives both."""
        a = self.conn("imap")
        for i in range(2):
            self.assertIn("NO", self.imap_login(a, "a%d" % i, USER, "bad"))
        a.send('a2 LOGIN "%s" "bad"' % USER)
        time.sleep(0.05)   # a2 is sent first (its answer waits 1200 ms)
        b = self.conn("imap", source="127.0.0.2")
        order = []
        lock = threading.Lock()

        def answer(conn, tag, name):
            t = conn.tagged(tag)[1]
            with lock:
                order.append((name, t))

        th = threading.Thread(target=answer, args=(a, "a2", "attacker"))
        th.start()
        b.send('b1 LOGIN "%s" "%s"' % (USER, PW))
        answer(b, "b1", "user")
        th.join(30)
        self.assertEqual([n for n, _ in order], ["user", "attacker"], order)
        self.assertIn("OK", order[0][1])
        self.assertIn("NO", order[1][1])

    def test_close_while_checked_or_waiting(self):
        """Connections that go while their password is being checked, or
        while the failure's answer waits, are freed cleanly (the server
        is checked for sanitizer reports when it stops); the server still
        answers a good login after them."""
        for i in range(6):
            c = Line(self.srv.ports["imap" if i % 2 else "pop3"])
            if i % 2:
                c.send('a LOGIN "%s" "bad"' % USER)
            else:
                c.send("USER %s\r\nPASS bad" % USER)
            if i >= 3:
                time.sleep(0.2)   # now in the delay, not the check
            c.close()
        time.sleep(1.5)   # every delay is over
        ok = self.conn("imap", source="127.0.0.3")
        self.assertIn("OK", self.imap_login(ok, "z"))

    def test_stop_does_not_check_queued_passwords(self):
        """DESIGN.md: SIGTERM stops promptly. Password checks still queued
        at the stop are dropped, not run (each costs a hash): after the
        "stopping" line at most the checks already running (AUTH_THREADS
        = 2) finish. Before, every queued check ran first, and a login
        flood held the stop past the harness's 10 s."""
        conns = []
        for i in range(40):
            c = Line(self.srv.ports["pop3"], source="127.0.1.%d" % (i + 1))
            conns.append(c)
            c.send("USER %s" % USER)
        for c in conns:
            self.assertTrue(c.line().startswith("+OK"))
        for c in conns:
            c.send("PASS wrong")
        deadline = time.monotonic() + 30
        while "auth failed:" not in self.srv.log_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(self.srv.stop(), 0)
        log = self.srv.log_text()
        self.assertIn("stopping", log)
        after = log[log.index("stopping"):]
        self.assertLessEqual(after.count("auth failed:"), 2, after)
        self.assertLess(log.count("auth failed:"), 40)
        for c in conns:
            c.close()

    def test_fail2ban_filter_matches(self):
        """The README's failregex (with fail2ban's <HOST> as a named group)
        matches every failure line of a real log, finds the address, and
        matches nothing else."""
        c = self.conn("pop3")
        c.send("USER " + USER)
        c.line()
        c.send("PASS wrong")
        c.line()
        d = self.conn("imap")
        self.imap_login(d, "x", "nobody@a.test", "x")
        self.imap_login(d, "y", USER, PW)
        with open(os.path.join(HERE, "..", "..", "README.md")) as f:
            readme = f.read()
        m = re.search(r"^failregex = (.*)$", readme, re.M)
        self.assertIsNotNone(m, "README has no failregex")
        rx = re.compile(m.group(1).replace("<HOST>", r"(?P<host>\S+)"))
        lines = self.srv.log_text().splitlines()
        hits = [rx.search(l) for l in lines]
        fails = [l for l in lines if "auth failed:" in l]
        self.assertEqual(len(fails), 2)
        self.assertEqual([h.group("host") for h in hits if h], ["127.0.0.1"] * 2)
        self.assertEqual(sum(1 for h in hits if h), len(fails))


if __name__ == "__main__":
    unittest.main()

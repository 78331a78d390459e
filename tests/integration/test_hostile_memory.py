"""Hostile clients against memory (issue 7, "What to build" 1): a client
that sends commands without reading the replies, on each protocol, and
connections that never log in sending literal after literal. The server's
peak resident size is read from outside (/proc/PID/status VmHWM) and must
stay within its idle size (VmRSS) + BOUND_KIB; another client is served
meanwhile.

The bound is per connection CONN_INPUT_MAX + CONN_OUTPUT_MAX plus one
chunk's replies (src/net/conn.h), and 8 KiB of literals per command before
login (imap_session.c): see docs/postbox.conf.5.md, "Memory"."""

import socket
import unittest

import pbtest

USER = "v@a.test"
BOUND_KIB = 32 * 1024


class FloodCase(unittest.TestCase):
    def setUp(self):
        # message_size: an APPEND may be 10 MB, so before login it is not
        # that cap that stops a literal.
        self.srv = pbtest.Server(users=[USER], services=["imap", "pop3"],
                                 limits={"connections_per_ip": 50, "message_size": 10000000},
                                 env=pbtest.memory_env())
        self.srv.__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)
        # Idle, after one session of each kind has come and gone.
        for svc, bye in (("imap", b"z LOGOUT\r\n"), ("pop3", b"QUIT\r\n")):
            c = self.raw(svc)
            c.line()
            c.send(bye)
            c.wait_closed()
        with self.srv.client() as c:
            c.cmd("QUIT")
        self.idle = self.srv.rss_kib()

    def raw(self, svc):
        c = pbtest.Client(self.srv.ports[svc] if svc != "smtp" else self.srv.port,
                          read_greeting=False)
        self.addCleanup(c.close)
        return c

    def grown(self):
        """KiB the server's peak (VmHWM) is over its idle size."""
        return self.srv.status_kib("VmHWM") - self.idle

    def over(self):
        return self.grown() > BOUND_KIB

    def flood(self, c, command):
        sent, stopped = c.flood(command * 4096, self.over)
        grown = self.grown()
        self.assertLessEqual(grown, BOUND_KIB,
                             "%d KiB over idle after %d bytes of %r" % (grown, sent, command))
        self.assertTrue(stopped, "the server took all %d bytes of %r without them being read"
                        % (sent, command))

    def test_smtp_help_without_reading(self):
        """A client sending HELP without reading the 214s is no longer read
        once its replies pile up; the server stays small and serves
        another client."""
        c = self.raw("smtp")
        c.line()
        self.flood(c, b"HELP\r\n")
        with self.srv.client() as other:
            other.ehlo()
            self.assertEqual(other.cmd("NOOP").code, 250)

    def flood_line_protocol(self, svc, command, greeting, probe, answer):
        """Floods svc with command; then another client is greeted and
        gets its answer to probe."""
        c = self.raw(svc)
        c.line()
        self.flood(c, command)
        other = self.raw(svc)
        self.assertTrue(other.line().startswith(greeting))
        other.send(probe)
        self.assertTrue(other.line().startswith(answer))

    def test_imap_capability_without_reading(self):
        self.flood_line_protocol("imap", b"a CAPABILITY\r\n", b"* OK", b"b NOOP\r\n",
                                 b"b OK NOOP")

    def test_pop3_capa_without_reading(self):
        self.flood_line_protocol("pop3", b"CAPA\r\n", b"+OK", b"CAPA\r\n", b"+OK")

    def test_prelogin_literal_flood(self):
        """RFC 7888 3: LITERAL+ lets a client send a literal unasked. Before
        login a command's literals are limited to a few KiB: 40
        connections sending 64 KiB non-synchronizing literals without
        ending their command make the server hold nothing of them (the
        literals are read and thrown away, the command gets BAD)."""
        conns = []
        for _ in range(40):
            c = self.raw("imap")
            c.line()
            c.send(b"a LOGIN {65536+}\r\n")
            conns.append(c)
        chunk = b"x" * 65536 + b" {65536+}\r\n"
        for _ in range(24):
            for c in conns:
                c.send(chunk)
            if self.over():
                break
        # The last literal, the end of the command, and one more: every
        # byte so far is read once the NOOP is answered.
        for c in conns:
            c.send(b"x" * 65536 + b"\r\nb NOOP\r\n")
        for c in conns:
            line = c.line()
            while not line.startswith(b"b "):
                self.assertTrue(line.startswith((b"a BAD", b"a NO")), line)
                line = c.line()
            self.assertEqual(line, b"b OK NOOP completed")
        self.assertLessEqual(self.grown(), BOUND_KIB, "%d KiB over idle" % self.grown())

    def test_id_logged_bounded(self):
        """RFC 2971 3.3: ID values of up to 1024 octets, 30 pairs. Before
        login anybody may send them, as often as it likes: each ID command
        is one log line, with at most 8 pairs and 64 octets of each field,
        quotes and control characters escaped, "..." after a cut."""
        c = self.raw("imap")
        c.line()
        # Each value is v<i>" x="y and 900 z: IMAP quoted, with escapes.
        pairs = " ".join('"f%d" "%s"' % (i, r'v%d\" x=\"y' % i + "z" * 900)
                         for i in range(30))
        c.send(("a ID (%s)\r\n" % pairs).encode())
        line = c.line()
        while not line.startswith(b"a "):
            line = c.line()
        self.assertTrue(line.startswith(b"a OK"), line)
        c.send(b"b LOGOUT\r\n")
        c.wait_closed()
        lines = [l for l in self.srv.log_text().splitlines() if ": ID " in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn('f0="v0\\x22 x=\\x22y' + "z" * 56 + '..."', lines[0])
        self.assertNotIn("f8=", lines[0])
        self.assertLess(len(lines[0]), 2048)


if __name__ == "__main__":
    unittest.main()

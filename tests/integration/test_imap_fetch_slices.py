"""FETCH answers that take several slices (src/imap/imap_cmd_fetch.c makes
about 1 MiB at a time, and src/net/conn.c hands big output to the socket
without copying it): over plain IMAP and over IMAPS, to a client that
reads at once and to one that lets the output pile up first. Every
message must come whole and in order, and the connection must go on
working after the answer."""

import imaplib
import os
import re
import socket
import time
import unittest

import pbtest

PW = pbtest.PASSWORD
USER = "v@a.test"
N = 3000
BODY = b"0123456789abcdef" * 100      # 1.6 KB: N of them are about 5 slices


class TestFetchSlices(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = pbtest.Server(users=[USER], services=["imap", "imaps"])
        cls.srv.__enter__()
        d = cls.srv.maildir(USER)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        for i in range(N):
            name = "%d.M%dP%d.slices" % (1700000000 + i, i, os.getpid())
            with open(os.path.join(d, "cur", name + ":2,S"), "wb") as f:
                f.write(b"From: s%d@x.test\nSubject: msg %d\n\nbody %d\n%s\n" % (i, i, i, BODY))

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def check_texts(self, data):
        lits = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(len(lits), N)
        for i, lit in enumerate(lits):
            self.assertEqual(lit, b"body %d\r\n%s\r\n" % (i, BODY))

    def session(self, m):
        m.login(USER, PW)
        self.assertEqual(m.select("INBOX", readonly=True)[0], "OK")
        typ, data = m.fetch("1:*", "(BODY.PEEK[TEXT])")
        self.assertEqual(typ, "OK")
        self.check_texts(data)
        # The session goes on, with a small answer and then a big one.
        typ, data = m.fetch("7", "(FLAGS)")
        self.assertEqual(data, [b"7 (FLAGS (\\Seen))"])
        typ, data = m.fetch("1:*", "(UID BODY.PEEK[TEXT])")
        self.check_texts(data)
        m.logout()

    def test_plain(self):
        self.session(imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=60))

    def test_tls(self):
        ctx = pbtest.client_tls_context()
        ctx.check_hostname = False    # the certificate names mx.a.test, not 127.0.0.1
        self.session(imaplib.IMAP4_SSL("127.0.0.1", self.srv.ports["imaps"], timeout=60,
                                       ssl_context=ctx))

    def test_slow_reader(self):
        """The client reads nothing for a while: the server stops making
        slices, then goes on once the client reads."""
        s = socket.create_connection(("127.0.0.1", self.srv.ports["imap"]), timeout=60)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a LOGIN %s %s\r\nb EXAMINE INBOX\r\nc FETCH 1:* (BODY.PEEK[TEXT])\r\n"
                  % (USER.encode(), PW.encode()))
        time.sleep(1.5)
        texts = []
        while True:
            line = f.readline()
            self.assertTrue(line, "connection closed")
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                texts.append(f.read(int(m.group(1))))
                continue
            if line.startswith(b"c "):
                self.assertTrue(line.startswith(b"c OK"), line)
                break
        self.assertEqual(len(texts), N)
        self.assertTrue(all(t == b"body %d\r\n%s\r\n" % (i, BODY) for i, t in enumerate(texts)))
        s.sendall(b"d NOOP\r\n")
        self.assertTrue(f.readline().startswith(b"d OK"))
        s.close()


if __name__ == "__main__":
    unittest.main()

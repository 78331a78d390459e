"""Hostile clients against time and connection slots (issue 7, "What to
build" 6 and 8): deadlines that bytes trickled in do not move, a TLS
handshake that never ends, per-service and per-address caps, clients that
hang up and come back, and IPv6 listeners beside IPv4 ones.

Deadlines are set to a second or two ([limits] timeout_*); a test waits
far longer before it calls a connection alive (pbtest.IO_TIMEOUT and the
byte counts below), so a loaded machine only makes them slower."""

import socket
import subprocess
import threading
import time
import unittest

import pbtest

USER = "v@a.test"


def trickle(c, data, interval=0.25):
    """Sends data one byte at a time until the server says something or
    closes; returns what it said (b"" when it let every byte in)."""
    for i in range(len(data)):
        try:
            c.send(data[i:i + 1])
        except OSError:
            break
        try:
            if c._fill(interval):
                return c.buf
            return b"<closed>"
        except socket.timeout:
            pass
    return c.buf


class TestSlowSenders(unittest.TestCase):
    def server(self, **limits):
        srv = pbtest.Server(users=[USER], services=["imap", "pop3", "imaps"], limits=limits)
        srv.__enter__()
        self.addCleanup(srv.__exit__, None, None, None)
        return srv

    def test_smtp_data_trickle_cut(self):
        """RFC 5321 4.5.3.2.6 gives 3 minutes per chunk of DATA, which a
        sender of a byte a second never uses up; [limits] min_data_rate
        does: the deadline counts from the 354 and grows by a byte's
        time per byte only. 421 4.4.2, then the connection closes."""
        srv = self.server(timeout_data=1)
        with srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@c.test>", 250)
            c.expect("RCPT TO:<%s>" % USER, 250)
            c.expect("DATA", 354)
            said = trickle(c, b"Subject: slow\r\n\r\n" + b"x" * 60)
            self.assertTrue(said.startswith(b"421 4.4.2 "), said)
            c.wait_closed()

    def test_smtp_command_trickle_cut(self):
        """RFC 5321 4.5.3.2.7: timeout_command is for the whole next
        command, not for each of its bytes."""
        srv = self.server(timeout_command=1)
        with srv.client() as c:
            said = trickle(c, b"EHLO " + b"a" * 60)
            self.assertTrue(said.startswith(b"421 4.4.2 "), said)
            c.wait_closed()

    def prelogin_trickle(self, service, greeting, command, reply):
        """A client that trickles its command before login is cut off
        after timeout_login with the service's goodbye."""
        srv = self.server(timeout_login=1)
        c = pbtest.Client(srv.ports[service], read_greeting=False)
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith(greeting))
        said = trickle(c, command)
        self.assertTrue(said.startswith(reply), said)
        c.wait_closed()

    def test_imap_prelogin_trickle_bye(self):
        """RFC 9051 7.1.5: the server may close with BYE. Before login a
        client has timeout_login, however it trickles its commands."""
        self.prelogin_trickle("imap", b"* OK", b"b CAPABILITY" + b" " * 60, b"* BYE ")

    def test_pop3_prelogin_trickle_err(self):
        self.prelogin_trickle("pop3", b"+OK", b"USER " + b"a" * 60, b"-ERR ")

    def test_stalled_tls_handshake_dropped(self):
        """An IMAPS client that connects and never finishes its handshake
        (here: never starts it, then sends half a record) is dropped
        after [limits] timeout_tls."""
        srv = self.server(timeout_tls=1)
        for first in (b"", b"\x16\x03\x01\x02\x00\x01"):
            c = pbtest.Client(srv.ports["imaps"], read_greeting=False)
            self.addCleanup(c.close)
            if first:
                said = trickle(c, first, interval=0.3)
                self.assertIn(said, (b"", b"<closed>"))
            self.assertEqual(c.wait_closed(), b"")
        self.assertIn("timeout from [127.0.0.1] in TLS handshake", srv.log_text())

    def test_imap_literal_trickle_after_login(self):
        """A logged-in session waits 31 minutes for a command (RFC 9051
        5.4), but once a command has begun it has timeout_command, and a
        literal min_data_rate: an APPEND whose literal comes a byte at a
        time is cut off with BYE."""
        srv = self.server(timeout_command=1)
        c = pbtest.Client(srv.ports["imap"], read_greeting=False)
        self.addCleanup(c.close)
        c.line()
        c.send(b"a LOGIN %s %s\r\n" % (USER.encode(), pbtest.PASSWORD.encode()))
        while not c.line().startswith(b"a "):
            pass
        c.send(b"b APPEND INBOX {200}\r\n")
        self.assertTrue(c.line().startswith(b"+ "))
        said = trickle(c, b"Subject: slow\r\n\r\n" + b"x" * 182)
        self.assertTrue(said.startswith(b"* BYE "), said)
        c.wait_closed()


class TestCaps(unittest.TestCase):
    def test_idle_imap_does_not_shut_out_smtp(self):
        """[limits] connections_per_ip counts each service apart: IMAP
        connections up to their cap from one address leave SMTP
        untouched, while one more IMAP connection is refused with BYE
        (RFC 9051 7.1.5)."""
        with pbtest.Server(services=["imap"], limits={"connections_per_ip": 4}) as srv:
            idle = []
            for _ in range(4):
                c = pbtest.Client(srv.ports["imap"], read_greeting=False)
                idle.append(c)
                self.assertTrue(c.line().startswith(b"* OK"))
            try:
                extra = pbtest.Client(srv.ports["imap"], read_greeting=False)
                self.assertEqual(extra.line(), b"* BYE Too many connections")
                extra.close()
                with srv.client() as s:
                    self.assertEqual(s.greeting.code, 220, s.greeting.raw)
                    s.ehlo()
                    self.assertEqual(s.cmd("NOOP").code, 250)
            finally:
                for c in idle:
                    c.close()

    def test_connections_per_service(self):
        """[limits] connections_per_service: IMAP from many addresses stops
        at its own cap, and SMTP still has room under connections."""
        limits = {"connections": 6, "connections_per_service": 3, "connections_per_ip": 6}
        with pbtest.Server(services=["imap"], limits=limits) as srv:
            idle = []
            try:
                for i in range(3):
                    idle.append(pbtest.Client(srv.ports["imap"], read_greeting=False))
                    self.assertTrue(idle[-1].line().startswith(b"* OK"))
                extra = pbtest.Client(srv.ports["imap"], read_greeting=False)
                self.assertEqual(extra.line(), b"* BYE Too many connections")
                extra.close()
                with srv.client() as s:
                    s.ehlo()
            finally:
                for c in idle:
                    c.close()

    def test_reconnect_loop_not_refused(self):
        """Issue 7: 50 clients that log out and come back at once were
        refused as "too many connections from this address" though no
        more than 50 were open: a closing connection (LOGOUT answered or
        not, work in flight or not) counts no more. 60 clients, each with
        one connection at a time, 10 rounds, connections_per_ip 60: none
        refused."""
        n, rounds = 60, 10
        with pbtest.Server(services=["imap"], limits={"connections_per_ip": n}) as srv:
            refused = []

            def loop():
                for i in range(rounds):
                    with socket.create_connection(("127.0.0.1", srv.ports["imap"]),
                                                  timeout=pbtest.IO_TIMEOUT) as s:
                        f = s.makefile("rb")
                        greeting = f.readline()
                        if not greeting.startswith(b"* OK"):
                            refused.append(greeting)
                        else:
                            # The client says goodbye and hangs up without
                            # waiting for the answer, as many do.
                            s.sendall(b"z LOGOUT\r\n")
                        f.close()

            threads = [threading.Thread(target=loop) for _ in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(refused, [])
            self.assertNotIn("too many connections", srv.log_text())


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(have_ipv6_loopback(), "no IPv6 loopback on this machine")
class TestIpv6(unittest.TestCase):
    def test_ipv4_and_ipv6_on_one_port(self):
        """docs/smtp-mx.md: "smtp = 0.0.0.0:25 [::]:25" binds both: IPv6
        listeners are IPV6_V6ONLY, so [::] does not take the IPv4 port
        (here beside 127.0.0.1, which overlaps a dual-stack [::] too)."""
        with pbtest.Server(listen={"smtp": ["[::]:{port}"]}) as srv:
            with srv.client() as c4:
                c4.ehlo()
            with pbtest.Client(srv.port, host="::1") as c6:
                self.assertEqual(c6.greeting.code, 220)
                c6.ehlo()
            self.assertIn("listening on [::]:%d" % srv.port, srv.log_text())

    def test_bind_error_keeps_brackets(self):
        """A failed bind names the address as it is written, [::1]:port."""
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as taken:
            taken.bind(("::1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            srv = pbtest.Server(start=False, listen={"smtp": ["[::1]:%d" % port]})
            with srv:
                p = subprocess.run([pbtest.postbox_bin(), "serve", "-c", srv.conf],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
                err = p.stderr.decode(errors="replace")
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("cannot listen on [::1]:%d for smtp" % port, err)


if __name__ == "__main__":
    unittest.main()
